// SPDX-License-Identifier: MIT
/*
 * fuzz_arith.c - vmclock-arith.h with arbitrary inputs.
 *
 * Input: one op byte, then 64-bit little-endian words (zero past the end).
 * Each op calls one function of the header and checks it against the slow
 * exact computation of ref.h / tests/harness/bignum.h: the result, the
 * rounding, the saturation and every error return.  UBSan (shifts,
 * overflow) and ASan watch the header itself.  The portable 64x64 multiply
 * (the path taken without __int128) is checked too, built in
 * arith_portable.c.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-arith.h>

#include "fuzz.h"
#include "ref.h"

struct vmclock_u128 fuzz_mul64_portable(uint64_t a, uint64_t b);

static struct bn bn_u128(uint64_t hi, uint64_t lo)
{
	struct bn h = bn_shl(bn_u64(hi), 64), l = bn_u64(lo);

	return bn_add(h, &l);
}

/* An instant as an integer in units of 2^-(64 + 63) s. */
static struct bn bn_instant(const struct vmclock_instant *t)
{
	struct bn v = bn_shl(bn_u128(t->sec, t->frac), 63);
	struct bn r = bn_shl(bn_u64(t->rem), 63u - t->shift);

	return bn_add(v, &r);
}

static void op_line_eval(const uint64_t *w)
{
	struct vmclock_line l = { w[0], w[1], w[2], w[3], (uint8_t)w[4] };
	struct vmclock_instant t;
	struct vmclock_span span;
	uint64_t ticks;
	int64_t ns = 0, want_ns = 0;
	int err, want, neg, e2;

	err = vmclock_line_eval(&l, w[5], &t, &span);
	if (l.shift > 63) {
		PROP(err == -EINVAL);
		return;
	}
	want = ref_time_ns(l.counter_value, l.period_frac, l.shift, l.time_sec,
			   l.time_frac, w[5], &want_ns, &ticks, &neg);
	PROP(span.ticks == ticks && span.negative == neg);
	if (want == -1 || want == -2) {
		PROP(err == -ERANGE);
		return;
	}
	PROP(err == 0);
	PROP(t.shift == l.shift &&
	     (t.shift == 0 ? t.rem == 0 : t.rem >> t.shift == 0));
	{
		/* The instant is exact: (T << s) +- ticks * period. */
		struct bn a = bn_u64(ticks), b = bn_u64(l.period_frac), x, tt,
			  got;

		x = bn_mul(&a, &b);
		tt = bn_shl(bn_u128(l.time_sec, l.time_frac), l.shift);
		tt = neg ? bn_sub(tt, &x) : bn_add(tt, &x);
		got = bn_shl(bn_u128(t.sec, t.frac), t.shift);
		a = bn_u64(t.rem);
		got = bn_add(got, &a);
		PROP(bn_cmp(&got, &tt) == 0);
	}
	PROP(vmclock_instant_nsec(&t) < 1000000000u);
	e2 = vmclock_instant_to_ns(&t, &ns);
	if (want == -3) {
		PROP(e2 == -ERANGE);
		return;
	}
	PROP(e2 == 0 && ns == want_ns);
}

static void op_scale(const uint64_t *w)
{
	struct vmclock_u128 x = { w[0], w[1] };
	uint32_t mul = (uint32_t)w[2];
	unsigned int sh = (unsigned int)(w[3] % 128);
	int round = (int)(w[4] % 3);
	uint64_t got = vmclock_scale(x, mul, sh, round), want;
	struct bn v = bn_mul_u32(bn_u128(x.hi, x.lo), mul), q, one = bn_u64(1);
	int inexact, half = 0;

	if (sh)
		half = (int)((bn_shr(v, sh - 1, NULL).l[0]) & 1);
	q = bn_shr(v, sh, &inexact);
	if ((round == VMCLOCK_ROUND_UP && inexact) ||
	    (round == VMCLOCK_ROUND_NEAREST && half))
		q = bn_add(q, &one);
	want = ref_sat(&q);
	PROP(got == want);
}

static void op_growth(const uint64_t *w)
{
	unsigned int s = (unsigned int)(w[2] % 64);
	uint32_t mul = (uint32_t)w[3];
	uint64_t up = vmclock_growth_ns(w[0], w[1], s, mul, VMCLOCK_ROUND_UP);
	uint64_t near =
		vmclock_growth_ns(w[0], w[1], s, mul, VMCLOCK_ROUND_NEAREST);
	uint64_t down =
		vmclock_growth_ns(w[0], w[1], s, mul, VMCLOCK_ROUND_DOWN);

	PROP(up == ref_growth(w[0], w[1], s, mul, 1));
	PROP(near == ref_growth(w[0], w[1], s, mul, 0));
	PROP(down <= near && near <= up);
	PROP(up - down <= 1 || up == VMCLOCK_U64_MAX);
}

static void op_period(const uint64_t *w)
{
	uint64_t ns = w[0], ticks = w[1], period = 1;
	uint8_t shift = 1;
	int err = vmclock_period_from_ns(ns, ticks, &period, &shift);
	struct bn d, b, a, p, lhs, rhs, top, two_d;

	if (!ns || !ticks) {
		PROP(err == -EINVAL && period == 0 && shift == 0);
		return;
	}
	d = bn_mul_u32(bn_u64(ticks), 1000000000u);
	b = bn_u64(ns);
	if (bn_cmp(&b, &d) >= 0) { /* a tick of 1 s or more */
		PROP(err == -ERANGE);
		return;
	}
	PROP(err == 0 && shift <= 63);
	/* Rounded to nearest, half up: -D <= 2(B - A) < D, B = ns 2^(64+s). */
	b = bn_shl(bn_u64(ns), 64u + shift);
	p = bn_u64(period);
	a = bn_mul(&p, &d);
	lhs = bn_shl(a, 1);
	rhs = bn_add(bn_shl(b, 1), &d);
	PROP(bn_cmp(&lhs, &rhs) <= 0); /* 2A <= 2B + D */
	lhs = bn_shl(b, 1);
	rhs = bn_add(bn_shl(a, 1), &d);
	PROP(bn_cmp(&lhs, &rhs) < 0); /* 2B < 2A + D */
	/* The largest shift: one more would not fit below 2^64 - 1. */
	if (shift < 63) {
		b = bn_shl(bn_u64(ns), 65u + shift);
		lhs = bn_add(bn_shl(b, 1), &d);
		top = bn_u64(VMCLOCK_U64_MAX);
		two_d = bn_shl(d, 1);
		rhs = bn_mul(&two_d, &top);
		PROP(bn_cmp(&lhs, &rhs) >= 0);
	}
}

static void op_nsec_frac(const uint64_t *w)
{
	uint32_t nsec = (uint32_t)(w[0] % 1000000000u);
	uint64_t frac = vmclock_nsec_to_frac(nsec);
	struct bn v = bn_mul_u32(bn_u64(frac), 1000000000u), q;
	struct bn lo = bn_mul_u32(bn_u64(frac - 1), 1000000000u);
	uint64_t got;

	/* floor(frac 10^9 / 2^64) == nsec, and frac is the smallest such. */
	q = bn_shr(v, 64, NULL);
	PROP(bn_to_u64(&q, &got) && got == nsec);
	if (frac) {
		q = bn_shr(lo, 64, NULL);
		PROP(bn_to_u64(&q, &got) && got < nsec);
	}
	(void)vmclock_nsec_to_frac((uint32_t)w[1]); /* any value: no UB */
}

static void instant_from(const uint64_t *w, struct vmclock_instant *t)
{
	t->sec = w[0];
	t->frac = w[1];
	t->shift = (uint8_t)(w[3] % 64);
	t->rem = t->shift ? w[2] & ((1ull << t->shift) - 1) : 0;
}

static void op_cmp_gap(const uint64_t *w)
{
	struct vmclock_instant a, b;
	struct bn ea, eb, diff, g, two = bn_shl(bn_u64(1), 64);
	struct vmclock_u128 gap;
	int c, want;

	instant_from(w, &a);
	instant_from(w + 4, &b);
	if (w[8] & 1)
		b.sec = a.sec; /* equal seconds are the interesting case */
	if (w[8] & 2)
		b.frac = a.frac;
	c = vmclock_instant_cmp(&a, &b);
	ea = bn_instant(&a);
	eb = bn_instant(&b);
	want = bn_cmp(&ea, &eb);
	PROP(c == want);
	gap = vmclock_instant_gap(&a, &b);
	if (want <= 0) {
		PROP(gap.hi == 0 && gap.lo == 0);
		return;
	}
	/*
	 * exact <= gap < exact + 2 units of 2^-64 s: the whole units, plus
	 * one for a's remainder (b's remainder makes it at most one less).
	 */
	diff = bn_sub(ea, &eb);
	g = bn_shl(bn_u128(gap.hi, gap.lo), 63);
	/* Saturated at 2^128 - 1 units when the true gap is larger. */
	if (gap.hi == VMCLOCK_U64_MAX && gap.lo == VMCLOCK_U64_MAX)
		return;
	PROP(bn_cmp(&diff, &g) <= 0);
	PROP(gap.hi || gap.lo);
	g = bn_shl(bn_u128(gap.hi, gap.lo), 63);
	diff = bn_add(diff, &two);
	PROP(bn_cmp(&g, &diff) < 0);
}

static void op_div(const uint64_t *w)
{
	const uint64_t n[3] = { w[0], w[1], w[2] };
	struct vmclock_u128 d = { w[3], w[4] }, rem = { 0x5a5a, 0xa5a5 };
	uint64_t q = vmclock_div_u192(n, d, &rem);
	struct bn lo = bn_u64(n[2]);
	struct bn bn_n = bn_add(bn_shl(bn_u128(n[0], n[1]), 64), &lo);
	struct bn bd = bn_u128(d.hi, d.lo), bq = bn_u64(q), prod, br;

	if (!d.hi && !d.lo) {
		PROP(q == VMCLOCK_U64_MAX && rem.hi == 0x5a5a &&
		     rem.lo == 0xa5a5);
		return;
	}
	prod = bn_mul(&bq, &bd);
	if (q == VMCLOCK_U64_MAX) {
		/* Overflow (or a quotient of exactly 2^64 - 1): n >= q d. */
		PROP(bn_cmp(&bn_n, &prod) >= 0);
		return;
	}
	br = bn_u128(rem.hi, rem.lo);
	prod = bn_add(prod, &br);
	PROP(bn_cmp(&prod, &bn_n) == 0 && bn_cmp(&br, &bd) < 0);
}

static void op_mul_shr(const uint64_t *w)
{
	unsigned __int128 p = (unsigned __int128)w[0] * w[1];
	struct vmclock_u128 a = vmclock_mul64(w[0], w[1]);
	struct vmclock_u128 b = fuzz_mul64_portable(w[0], w[1]);
	unsigned int s = (unsigned int)(w[2] % 64);
	struct vmclock_u128 r = vmclock_shr128(a, s);

	PROP(a.hi == (uint64_t)(p >> 64) && a.lo == (uint64_t)p);
	PROP(b.hi == a.hi && b.lo == a.lo);
	PROP(r.hi == (uint64_t)((p >> s) >> 64) && r.lo == (uint64_t)(p >> s));
	PROP(vmclock_low_bits(w[3], s) ==
	     (w[3] & ((((unsigned __int128)1) << s) - 1)));
	PROP(vmclock_add_sat(w[0], w[1]) ==
	     (w[0] + w[1] < w[0] ? VMCLOCK_U64_MAX : w[0] + w[1]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t w[9];
	unsigned int op, i;

	if (!size)
		return 0;
	op = data[0];
	data++;
	size--;
	for (i = 0; i < 9; i++)
		w[i] = fuzz_take(&data, &size, 8);
	switch (op % 8) {
	case 0:
		op_line_eval(w);
		break;
	case 1:
		op_scale(w);
		break;
	case 2:
		op_growth(w);
		break;
	case 3:
		op_period(w);
		break;
	case 4:
		op_nsec_frac(w);
		break;
	case 5:
		op_cmp_gap(w);
		break;
	case 6:
		op_div(w);
		break;
	default:
		op_mul_shr(w);
		break;
	}
	return 0;
}
