// SPDX-License-Identifier: MIT
/*
 * test_arith.c - vmclock-arith.h against an independent exact computation.
 *
 * Every result of the fixed-point code is recomputed with the schoolbook
 * big integers of bignum.h, straight from the page's definition
 *	T(C) = time_sec + time_frac/2^64 + (C - counter_value) * P / 2^(64+s)
 * and compared bit for bit.
 */
#include <vmclock/vmclock-arith.h>

#include "../harness/bignum.h"
#include "../harness/test.h"

#define ITERATIONS 200000

/* A random value with a random bit length: covers small and huge alike. */
static uint64_t rand_bits(void)
{
	unsigned int bits = (unsigned int)test_rand_below(65);

	if (bits == 0)
		return 0;
	return test_rand() >> (64 - bits);
}

/*
 * Reference: the exact time in units of 2^-(64+s) s, or -1 when it is
 * negative.  @line_ok is what vmclock_line_eval() must return.
 */
static int ref_value(const struct vmclock_line *l, uint64_t c, struct bn *v,
		     uint64_t *ticks)
{
	struct bn t = bn_shl(bn_u64(l->time_sec), 64u + l->shift);
	struct bn f = bn_shl(bn_u64(l->time_frac), l->shift);
	struct bn d, p, e;
	int negative;

	t = bn_add(t, &f);
	/* Signed distance: C before counter_value by less than 2^63. */
	negative = c - l->counter_value >= (1ull << 63);
	*ticks = negative ? l->counter_value - c : c - l->counter_value;
	d = bn_u64(*ticks);
	p = bn_u64(l->period_frac);
	e = bn_mul(&d, &p);
	if (!negative) {
		*v = bn_add(t, &e);
		return 0;
	}
	if (bn_cmp(&t, &e) < 0)
		return -1;
	*v = bn_sub(t, &e);
	return 0;
}

/* Check line_eval + instant_to_ns against the reference at one point. */
static void check_point(const struct vmclock_line *l, uint64_t c)
{
	struct vmclock_instant t;
	struct vmclock_span span;
	struct bn v, sec, ns;
	uint64_t ticks, want_sec, want_ns;
	int64_t got_ns;
	int err = vmclock_line_eval(l, c, &t, &span);
	int neg = ref_value(l, c, &v, &ticks);

	if (neg) {
		CHECK_EQ_INT(err, -ERANGE);
		return;
	}
	sec = bn_shr(v, 64u + l->shift, NULL);
	if (!bn_to_u64(&sec, &want_sec)) {
		CHECK_EQ_INT(err, -ERANGE);
		return;
	}
	REQUIRE(err == 0);
	CHECK_EQ_U64(span.ticks, ticks);
	CHECK_EQ_U64(t.sec, want_sec);
	ns = bn_shr(bn_mul_u32(v, 1000000000u), 64u + l->shift, NULL);
	err = vmclock_instant_to_ns(&t, &got_ns);
	if (want_sec > VMCLOCK_SEC_MAX_NS) {
		CHECK_EQ_INT(err, -ERANGE);
		return;
	}
	REQUIRE(err == 0);
	REQUIRE(bn_to_u64(&ns, &want_ns));
	CHECK_MSG((uint64_t)got_ns == want_ns,
		  "shift %u period %#llx cv %#llx c %#llx: ns %lld, exact %llu",
		  l->shift, (unsigned long long)l->period_frac,
		  (unsigned long long)l->counter_value, (unsigned long long)c,
		  (long long)got_ns, (unsigned long long)want_ns);
}

static struct vmclock_line random_line(void)
{
	struct vmclock_line l;

	l.shift = (uint8_t)test_rand_below(64);
	l.period_frac = test_rand_below(4) ? test_rand() | (1ull << 63) : rand_bits();
	l.counter_value = test_rand();
	/* Mostly plausible epochs, sometimes anything. */
	l.time_sec = test_rand_below(8) ? 1700000000 + test_rand_below(1u << 30) :
					  rand_bits();
	l.time_frac = test_rand();
	return l;
}

TEST(eval_random_pages_match_exact_reference)
{
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		struct vmclock_line l = random_line();
		uint64_t delta = rand_bits();

		check_point(&l, l.counter_value + (test_rand_below(2) ? delta : -delta));
	}
}

TEST(spec_1ghz_example)
{
	struct vmclock_line l = { 1000, 0, 1700000000, 0, 0 };
	uint64_t period;
	uint8_t shift;

	REQUIRE(vmclock_period_for_hz(1000000000, &period, &shift) == 0);
	CHECK_EQ_INT(shift, 29);
	CHECK_EQ_U64(period, 0x89705F4136B4A597ull);
	l.period_frac = period;
	l.shift = shift;
	/* 1.5e9 ticks of a 1 GHz counter: 1.5 s, less the period's rounding. */
	check_point(&l, 1000 + 1500000000ull);
	check_point(&l, 1000 + 1);
	check_point(&l, 1000 - 1);
}

TEST(negative_delta_gives_earlier_time)
{
	struct vmclock_line l = { 1000000, 0, 1700000000, 0, 0 };
	struct vmclock_instant before, at;
	struct vmclock_span span;
	int64_t ns_before, ns_at;

	vmclock_period_for_hz(2500000000ull, &l.period_frac, &l.shift);
	REQUIRE(vmclock_line_eval(&l, 1000000 - 2500, &before, &span) == 0);
	CHECK(span.negative);
	CHECK_EQ_U64(span.ticks, 2500);
	REQUIRE(vmclock_line_eval(&l, 1000000, &at, &span) == 0);
	vmclock_instant_to_ns(&before, &ns_before);
	vmclock_instant_to_ns(&at, &ns_at);
	/* 2500 ticks at 2.5 GHz = 1 us earlier, floor of the exact value. */
	CHECK(ns_at - ns_before == 1000 || ns_at - ns_before == 1001);
	CHECK(vmclock_instant_cmp(&before, &at) < 0);
	check_point(&l, 1000000 - 2500);
	check_point(&l, 0);
}

TEST(negative_delta_before_epoch_is_range_error)
{
	struct vmclock_line l = { 1ull << 40, 1ull << 63, 1, 0, 0 };
	struct vmclock_instant t;
	struct vmclock_span span;

	CHECK_EQ_INT(vmclock_line_eval(&l, 0, &t, &span), -ERANGE);
	check_point(&l, 0);
}

TEST(shift_0_and_63)
{
	int i;

	for (i = 0; i < 20000; i++) {
		struct vmclock_line l = random_line();
		uint64_t c = l.counter_value + rand_bits();

		l.shift = (uint8_t)(i & 1 ? 63 : 0);
		check_point(&l, c);
		check_point(&l, l.counter_value - rand_bits());
	}
}

TEST(shift_over_63_is_rejected)
{
	struct vmclock_line l = { 0, 1, 0, 0, 64 };
	struct vmclock_instant t;
	struct vmclock_span span;

	CHECK_EQ_INT(vmclock_line_eval(&l, 5, &t, &span), -EINVAL);
	l.shift = 255;
	CHECK_EQ_INT(vmclock_line_eval(&l, 5, &t, &span), -EINVAL);
}

TEST(delta_near_representable_limit)
{
	/* Period ~1 s (shift 0): each tick adds a second. */
	struct vmclock_line l = { 0, UINT64_MAX, 0, 0, 0 };
	struct vmclock_instant t;
	struct vmclock_span span;
	int64_t ns;

	/* 2^63 - 1 ticks of ~1 s fit in 64-bit seconds... */
	REQUIRE(vmclock_line_eval(&l, (1ull << 63) - 1, &t, &span) == 0);
	check_point(&l, (1ull << 63) - 1);
	/* ...but not in int64 nanoseconds. */
	CHECK_EQ_INT(vmclock_instant_to_ns(&t, &ns), -ERANGE);
	/* Seconds overflow: time_sec near 2^64. */
	l.time_sec = UINT64_MAX - 5;
	CHECK_EQ_INT(vmclock_line_eval(&l, 10, &t, &span), -ERANGE);
	check_point(&l, 10);
	check_point(&l, 5);
	/* The largest time in int64 ns, and one second past it. */
	l.time_sec = VMCLOCK_SEC_MAX_NS;
	l.time_frac = UINT64_MAX;
	check_point(&l, 0);
	check_point(&l, 1);
}

TEST(carry_into_seconds)
{
	struct vmclock_line l = { 100, 1ull << 62, 1700000000, UINT64_MAX - 10, 0 };
	struct vmclock_instant t;
	struct vmclock_span span;

	/* One tick is 1/4 s: the fraction wraps into the next second. */
	REQUIRE(vmclock_line_eval(&l, 101, &t, &span) == 0);
	CHECK_EQ_U64(t.sec, 1700000001);
	CHECK_EQ_U64(t.frac, (1ull << 62) - 11);
	check_point(&l, 101);
	/* And borrows back out of it. */
	l.time_frac = 5;
	REQUIRE(vmclock_line_eval(&l, 99, &t, &span) == 0);
	CHECK_EQ_U64(t.sec, 1699999999);
	check_point(&l, 99);
}

/*
 * The nanosecond floor must see the bits below 2^-64 s.  They matter only
 * when frac * 10^9 lands within 10^9 of a multiple of 2^64, so build such
 * fractions on purpose: nsec_to_frac(k) - 1 is just below the boundary of
 * nanosecond k, and a remainder decides which side the exact value is on.
 */
TEST(floor_uses_bits_below_2_64)
{
	int i, up = 0, down = 0;

	for (i = 0; i < 20000; i++) {
		struct vmclock_line l = random_line();
		uint32_t k = 1 + (uint32_t)test_rand_below(999999999u);
		uint64_t target = vmclock_nsec_to_frac(k) - 1;
		struct vmclock_instant t;
		struct vmclock_span span;
		int64_t ns;

		l.shift = 63;
		l.period_frac = test_rand() | 1; /* one tick: frac += P >> 63 */
		l.time_frac = target - (l.period_frac >> 63);
		REQUIRE(vmclock_line_eval(&l, l.counter_value + 1, &t, &span) == 0);
		REQUIRE(t.frac == target && t.rem != 0);
		if (vmclock_instant_to_ns(&t, &ns))
			continue;
		if ((uint32_t)(ns % 1000000000) == k)
			up++;
		else
			down++;
		check_point(&l, l.counter_value + 1);
	}
	/* Both outcomes must have been exercised. */
	CHECK(up > 100 && down > 100);
	if (test_verbose())
		printf("  %d rounded up by the remainder, %d not\n", up, down);
}

static uint64_t ref_scale(struct bn x, uint32_t mul, unsigned int sh, int round)
{
	struct bn p = bn_mul_u32(x, mul), q;
	int inexact;
	uint64_t v;

	if (round == VMCLOCK_ROUND_NEAREST) {
		struct bn half = bn_shl(bn_u64(1), sh - 1);

		if (sh)
			p = bn_add(p, &half);
	}
	q = bn_shr(p, sh, &inexact);
	if (round == VMCLOCK_ROUND_UP && inexact) {
		struct bn one = bn_u64(1);

		q = bn_add(q, &one);
	}
	return bn_to_u64(&q, &v) ? v : UINT64_MAX;
}

TEST(scale_matches_reference_in_every_rounding)
{
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		uint64_t a = rand_bits(), b = rand_bits();
		struct vmclock_u128 x = vmclock_mul64(a, b);
		struct bn bx = bn_u64(a), bb = bn_u64(b);
		uint32_t mul = (uint32_t)(test_rand_below(3) ? 1000000000u : test_rand());
		unsigned int sh = (unsigned int)test_rand_below(128);
		int round = (int)test_rand_below(3);

		bx = bn_mul(&bx, &bb);
		CHECK_EQ_U64(vmclock_scale(x, mul, sh, round),
			     ref_scale(bx, mul, sh, round));
	}
}

TEST(mul64_matches_reference)
{
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		uint64_t a = rand_bits(), b = rand_bits(), hi, lo;
		struct vmclock_u128 x = vmclock_mul64(a, b);
		struct bn ba = bn_u64(a), bb = bn_u64(b), p = bn_mul(&ba, &bb), h;

		h = bn_shr(p, 64, NULL);
		REQUIRE(bn_to_u64(&h, &hi));
		lo = ((uint64_t)p.l[1] << 32) | p.l[0];
		CHECK_EQ_U64(x.hi, hi);
		CHECK_EQ_U64(x.lo, lo);
	}
}

/* Errors: ceil for max, nearest for est, against the reference. */
TEST(growth_rounds_outward)
{
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		uint64_t ticks = rand_bits(), rate = rand_bits();
		unsigned int s = (unsigned int)test_rand_below(64);
		struct bn bt = bn_u64(ticks), br = bn_u64(rate), x = bn_mul(&bt, &br);

		CHECK_EQ_U64(vmclock_growth_ns(ticks, rate, s, 1000000000u,
					       VMCLOCK_ROUND_UP),
			     ref_scale(x, 1000000000u, 64 + s, VMCLOCK_ROUND_UP));
		CHECK_EQ_U64(vmclock_growth_ns(ticks, rate, s, 1000000000u,
					       VMCLOCK_ROUND_NEAREST),
			     ref_scale(x, 1000000000u, 64 + s, VMCLOCK_ROUND_NEAREST));
	}
	/* One tick of the smallest rate is a tiny error, never zero for max. */
	CHECK_EQ_U64(vmclock_growth_ns(1, 1, 63, 1000000000u, VMCLOCK_ROUND_UP), 1);
	CHECK_EQ_U64(vmclock_growth_ns(1, 1, 63, 1000000000u, VMCLOCK_ROUND_NEAREST), 0);
	CHECK_EQ_U64(vmclock_growth_ns(0, 12345, 3, 1000000000u, VMCLOCK_ROUND_UP), 0);
}

/* period_from_ns: nearest rounding, and the largest shift that fits. */
TEST(period_choice_is_exact_and_maximal)
{
	int i;

	for (i = 0; i < 5000; i++) {
		uint64_t ticks = 1 + rand_bits(), ns = 1 + rand_bits() % (ticks * 8 + 1);
		struct bn d = bn_mul_u32(bn_u64(ticks), 1000000000u), num, q2;
		uint64_t period;
		uint8_t shift;
		int err = vmclock_period_from_ns(ns, ticks, &period, &shift);

		if (ticks > UINT64_MAX / 1000000000u || (uint64_t)ns >= ticks * 1000000000u) {
			if (err)
				continue;
		}
		REQUIRE(err == 0);
		/* want = round(ns * 2^(65+shift) / d / 2) computed by division-free check:
		 * |period * d - ns * 2^(64+shift)| <= d/2 */
		num = bn_shl(bn_u64(ns), 64u + shift);
		q2 = bn_mul_u32(bn_u64(period), 1);
		q2 = bn_mul(&q2, &d);
		{
			struct bn diff = bn_cmp(&q2, &num) >= 0 ? bn_sub(q2, &num) :
								 bn_sub(num, &q2);
			struct bn twice = bn_add(diff, &diff);

			CHECK(bn_cmp(&twice, &d) <= 0);
		}
		/* With one more shift the period would not fit in 64 bits. */
		if (shift < 63) {
			struct bn next = bn_shl(bn_u64(ns), 65u + shift), big;

			big = bn_shl(bn_u64(1), 64);
			big = bn_mul(&big, &d);
			/* round(ns*2^(65+s)/d) >= 2^64  <=>  2*num + d >= 2*2^64*d */
			next = bn_add(next, &next);
			next = bn_add(next, &d);
			big = bn_add(big, &big);
			CHECK(bn_cmp(&next, &big) >= 0);
		}
	}
}

TEST(period_from_ns_rejects_bad_input)
{
	uint64_t p;
	uint8_t s;

	CHECK_EQ_INT(vmclock_period_from_ns(0, 5, &p, &s), -EINVAL);
	CHECK_EQ_INT(vmclock_period_from_ns(5, 0, &p, &s), -EINVAL);
	/* A tick of one second or more cannot be represented. */
	CHECK_EQ_INT(vmclock_period_for_hz(1, &p, &s), -ERANGE);
	CHECK_EQ_INT(vmclock_period_from_ns(1000000000u, 1, &p, &s), -ERANGE);
	CHECK_EQ_INT(vmclock_period_for_hz(2, &p, &s), 0);
	CHECK_EQ_INT(s, 0);
	CHECK_EQ_U64(p, 1ull << 63);
}

TEST(nsec_to_frac_round_trips)
{
	uint32_t ns;
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		struct vmclock_instant t = { 0, 0, 0, 0 };

		ns = (uint32_t)test_rand_below(1000000000u);
		if (i < 2)
			ns = i ? 999999999u : 0;
		t.frac = vmclock_nsec_to_frac(ns);
		CHECK_EQ_U64(vmclock_instant_nsec(&t), ns);
		/* The smallest such fraction: one unit less floors lower. */
		if (t.frac) {
			t.frac--;
			CHECK(vmclock_instant_nsec(&t) == ns - 1);
		}
	}
}

TEST(instant_cmp_and_gap)
{
	struct vmclock_instant a = { 10, 5, 1, 1 }, b = { 10, 5, 0, 0 };
	struct vmclock_instant c = { 10, 5, 2, 2 };
	struct vmclock_u128 g;

	CHECK(vmclock_instant_cmp(&a, &b) > 0);
	CHECK(vmclock_instant_cmp(&b, &a) < 0);
	CHECK(vmclock_instant_cmp(&a, &c) == 0); /* 1/2 == 2/4 */
	g = vmclock_instant_gap(&a, &b);
	CHECK(g.hi == 0 && g.lo == 1);
	b.sec = 9;
	b.frac = 7;
	g = vmclock_instant_gap(&a, &b);
	CHECK_EQ_U64(g.hi, 0);
	CHECK_EQ_U64(g.lo, (uint64_t)0 - 2 + 1);
	g = vmclock_instant_gap(&b, &a);
	CHECK(g.hi == 0 && g.lo == 0);
}

/* Found by the reliability work: the +1 for a's remainder wrapped to 0. */
TEST(instant_gap_saturates)
{
	struct vmclock_instant a = { UINT64_MAX, UINT64_MAX, 1, 1 };
	struct vmclock_instant b = { 0, 0, 0, 0 };
	struct vmclock_u128 g = vmclock_instant_gap(&a, &b);

	CHECK_EQ_U64(g.hi, UINT64_MAX);
	CHECK_EQ_U64(g.lo, UINT64_MAX);
}

/* Both paths of the division (64-bit and 128-bit divisors) vs the bignum. */
TEST(div_u192_matches_reference)
{
	int i;

	for (i = 0; i < 50000; i++) {
		uint64_t n[3] = { rand_bits() >> test_rand_below(64), rand_bits(),
				  rand_bits() };
		struct vmclock_u128 d = { test_rand_below(2) ? rand_bits() : 0,
					  rand_bits() | 1 };
		struct vmclock_u128 r = { 7, 7 };
		struct bn bn_n = bn_shl(bn_u64(n[0]), 128), bn_d, t, q, rr, limit;
		uint64_t got = vmclock_div_u192(n, d, &r);

		t = bn_shl(bn_u64(n[1]), 64);
		bn_n = bn_add(bn_n, &t);
		t = bn_u64(n[2]);
		bn_n = bn_add(bn_n, &t);
		bn_d = bn_shl(bn_u64(d.hi), 64);
		t = bn_u64(d.lo);
		bn_d = bn_add(bn_d, &t);
		/* The quotient fits in 64 bits iff n < 2^64 * d. */
		limit = bn_shl(bn_d, 64);
		if (bn_cmp(&bn_n, &limit) >= 0) {
			CHECK_EQ_U64(got, UINT64_MAX);
			continue;
		}
		/* q * d <= n < (q + 1) * d, and r = n - q * d. */
		t = bn_u64(got);
		q = bn_mul(&t, &bn_d);
		REQUIRE(bn_cmp(&q, &bn_n) <= 0);
		rr = bn_sub(bn_n, &q);
		CHECK(bn_cmp(&rr, &bn_d) < 0);
		CHECK_EQ_U64(r.lo, ((uint64_t)rr.l[1] << 32) | rr.l[0]);
		CHECK_EQ_U64(r.hi, ((uint64_t)rr.l[3] << 32) | rr.l[2]);
	}
}
