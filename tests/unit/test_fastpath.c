// SPDX-License-Identifier: MIT
/*
 * test_fastpath.c - the reader's premultiplied line (lib/page.h,
 * vmc_fast_*()) against the exact path (vmc_eval(), vmc_eval_bounds()).
 *
 * The fast path may decline (then the exact path decides), but whenever it
 * answers, the answer must be the exact path's, bit for bit: same time,
 * same floor, same rounded errors, same validity.  Pages are random in
 * every field that matters, realistic and hostile; counters are drawn near
 * the calibration, at the fast range's edges and far away; and the low
 * words are steered onto the rounding boundaries, where only the fallback
 * keeps the answer exact.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock.h>

#include "../../lib/page.h"
#include "../harness/test.h"

#define NS 1000000000ull

/* Readings are equal in every field the exact path defines. */
static int same_reading(const struct vmclock_reading *a,
			const struct vmclock_reading *b)
{
	return a->counter == b->counter && a->valid == b->valid &&
	       a->time_ns == b->time_ns && a->tai_ns == b->tai_ns &&
	       a->utc_ns == b->utc_ns && a->maxerror_ns == b->maxerror_ns &&
	       a->esterror_ns == b->esterror_ns &&
	       a->earliest_ns == b->earliest_ns && a->latest_ns == b->latest_ns &&
	       a->flags == b->flags && a->seq_count == b->seq_count &&
	       a->disruption_marker == b->disruption_marker &&
	       a->vm_generation_counter == b->vm_generation_counter &&
	       a->tai_offset_sec == b->tai_offset_sec &&
	       a->clock_status == b->clock_status &&
	       a->leap_indicator == b->leap_indicator &&
	       a->counter_id == b->counter_id && a->time_type == b->time_type;
}

static void report(const struct vmclock_abi *pg, uint64_t c,
		   const struct vmclock_reading *f, const struct vmclock_reading *e)
{
	test_fail(__FILE__, __LINE__,
		  "fast != exact at counter %" PRIu64 " (cv %" PRIu64
		  " period %" PRIu64 " shift %u sec %" PRIu64 " frac %" PRIu64
		  "): time %" PRId64 "/%" PRId64 " max %" PRIu64 "/%" PRIu64
		  " est %" PRIu64 "/%" PRIu64 " valid %x/%x tai %" PRId64 "/%" PRId64
		  " utc %" PRId64 "/%" PRId64 " early %" PRId64 "/%" PRId64
		  " late %" PRId64 "/%" PRId64 " type %u",
		  c, pg->counter_value, pg->counter_period_frac_sec,
		  pg->counter_period_shift, pg->time_sec, pg->time_frac_sec,
		  f->time_ns, e->time_ns, f->maxerror_ns, e->maxerror_ns,
		  f->esterror_ns, e->esterror_ns, f->valid, e->valid, f->tai_ns,
		  e->tai_ns, f->utc_ns, e->utc_ns, f->earliest_ns, e->earliest_ns,
		  f->latest_ns, e->latest_ns, pg->time_type);
}

struct tally {
	unsigned long fast, declined, bounds, bdeclined, window, wdeclined;
};

/* @b, a fast path's bounds at @c, are the exact path's (@what says which). */
static void check_exact_bounds(const struct vmc_decoded *d, uint64_t c,
			       const struct vmclock_bounds *b, const char *what)
{
	struct vmclock_bounds eb;

	memset(&eb, 0, sizeof(eb));
	CHECK_MSG(vmc_eval_bounds(d, c, &eb) == 0 && b->utc_ns == eb.utc_ns &&
			  b->maxerror_ns == eb.maxerror_ns &&
			  b->earliest_ns == eb.earliest_ns &&
			  b->latest_ns == eb.latest_ns,
		  "%s != exact at %" PRIu64 ": utc %" PRId64 "/%" PRId64
		  " max %" PRIu64 "/%" PRIu64,
		  what, c, b->utc_ns, eb.utc_ns, b->maxerror_ns, eb.maxerror_ns);
}

/*
 * The inline readers' window of the bounded line for @c: when it answers,
 * the exact path and the bounded line (@want, NULL when it declined)
 * answer alike; at the window's furthest counter from the calibration it
 * declines exactly where the line declines (a tick under 1 ns).
 */
static void window_at(const struct vmc_decoded *d, uint64_t c,
		      const struct vmclock_bounds *want, struct tally *t)
{
	struct vmclock_fastline fl;
	struct vmclock_bounds wb;
	int last;

	memset(&fl, 0x5a, sizeof(fl));
	vmc_fastline_window(&d->bline, (uint32_t)(c >> 32), &fl);
	last = fl.lo_len && (uint32_t)c == (uint32_t)(fl.lo_start + fl.lo_len - 1);
	memset(&wb, 0, sizeof(wb));
	if (!vmclock_fastline_eval(&fl, c, &wb)) {
		if (want && !d->bline.p_int) {
			t->wdeclined++;
			CHECK_MSG(!last, "the window declined its last counter %" PRIu64, c);
		}
		return;
	}
	t->window++;
	check_exact_bounds(d, c, &wb, "window");
	CHECK_MSG(want != NULL, "the window answered %" PRIu64 ", the line did not", c);
}

/*
 * One counter: if a fast path answers (the reading's, the bounded line's),
 * it answers as the exact one.
 */
static void compare_at(const struct vmclock_abi *pg, const struct vmc_decoded *d,
		       uint64_t c, struct tally *t)
{
	struct vmclock_reading fr, er;
	struct vmclock_bounds fb, eb;
	int err, fast;

	memset(&fr, 0, sizeof(fr));
	memset(&er, 0, sizeof(er));
	fast = vmc_fast_eval(d, c, &fr);
	err = vmc_eval(d, c, &er);
	if (!fast) {
		t->declined++;
	} else {
		t->fast++;
		if (err != 0 || !same_reading(&fr, &er)) {
			CHECK_MSG(err == 0, "fast path answered where exact says %d", err);
			report(pg, c, &fr, &er);
		}
	}
	/* The bounded read, where the page gives UTC and a max error. */
	if (!d->have_utc || d->max_base == VMCLOCK_ERROR_UNKNOWN)
		return;
	memset(&fb, 0, sizeof(fb));
	memset(&eb, 0, sizeof(eb));
	fast = vmc_fast_bounds(d, c, &fb);
	window_at(d, c, fast ? &fb : NULL, t);
	if (!fast) {
		t->bdeclined++;
		return;
	}
	t->bounds++;
	check_exact_bounds(d, c, &fb, "bounds fast");
	/* And the bounds agree with the full reading. */
	CHECK(err == 0 && fb.utc_ns == er.utc_ns && fb.latest_ns == er.latest_ns);
}

/* A valid, synchronised page of @time_type with a @hz counter, no errors. */
static void page_base(struct vmclock_abi *pg, uint8_t time_type, uint64_t hz)
{
	memset(pg, 0, sizeof(*pg));
	pg->magic = VMCLOCK_MAGIC;
	pg->size = sizeof(*pg);
	pg->version = 1;
	pg->counter_id = VMCLOCK_COUNTER_X86_TSC;
	pg->time_type = time_type;
	pg->seq_count = 2;
	pg->clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	vmclock_period_for_hz(hz, &pg->counter_period_frac_sec,
			      &pg->counter_period_shift);
}

static uint64_t pick(const uint64_t *v, size_t n)
{
	return v[test_rand_below(n)];
}

/* A random page: realistic most of the time, hostile some of it. */
static void random_page(struct vmclock_abi *pg)
{
	static const uint64_t hz[] = { 24000000ull,   19200000ull,
				       1000000000ull, 2596146000ull,
				       3000000000ull, 4999999999ull,
				       100000ull,     12345678901ull };
	static const uint8_t types[] = { VMCLOCK_TIME_TAI, VMCLOCK_TIME_UTC,
					 VMCLOCK_TIME_MONOTONIC };
	uint64_t flags = 0, period;
	uint8_t shift;

	page_base(pg, types[test_rand_below(3)], 1000000000ull);
	pg->tai_offset_sec = (int16_t)(test_rand_below(4) ? 37 : test_rand());
	pg->leap_indicator = (uint8_t)test_rand_below(8) == 0 ?
				     (uint8_t)test_rand_below(7) : 0;
	if (test_rand_below(4)) {
		vmclock_period_for_hz(pick(hz, sizeof(hz) / sizeof(hz[0])) +
					      test_rand_below(1000000),
				      &period, &shift);
		/* A measured period is off the nominal one in its low bits. */
		period ^= test_rand_below(1ull << 20);
	} else {
		period = test_rand() | 1;
		shift = (uint8_t)test_rand_below(64);
	}
	pg->counter_period_frac_sec = period;
	pg->counter_period_shift = shift;
	pg->counter_value = test_rand_below(3) ? test_rand() >> test_rand_below(64) :
						 test_rand();
	pg->time_sec = test_rand_below(4) ? 1700000000 + test_rand_below(1u << 30) :
					    test_rand() >> test_rand_below(64);
	pg->time_frac_sec = test_rand();
	if (test_rand_below(2)) {
		pg->counter_period_maxerror_rate_frac_sec =
			period >> (10 + test_rand_below(40));
		flags |= VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	} else if (test_rand_below(4) == 0) {
		pg->counter_period_maxerror_rate_frac_sec = test_rand();
		flags |= VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	}
	if (test_rand_below(2)) {
		pg->counter_period_esterror_rate_frac_sec =
			period >> (10 + test_rand_below(50));
		flags |= VMCLOCK_FLAG_PERIOD_ESTERROR_VALID;
	}
	pg->time_maxerror_nanosec = test_rand_below(4) ? test_rand_below(1000000) :
							 test_rand() >> test_rand_below(64);
	pg->time_esterror_nanosec = test_rand_below(1000);
	if (test_rand_below(8))
		flags |= VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	if (test_rand_below(2))
		flags |= VMCLOCK_FLAG_TIME_ESTERROR_VALID;
	if (test_rand_below(8))
		flags |= VMCLOCK_FLAG_TAI_OFFSET_VALID;
	pg->flags = flags;
}

/* Counters near the calibration, at the fast range's edges, and anywhere. */
static uint64_t random_counter(const struct vmc_decoded *d)
{
	uint64_t cv = d->line.counter_value, dm = d->fast.d_max;

	switch (test_rand_below(8)) {
	case 0:
		return cv - test_rand_below(1000);
	case 1:
		return test_rand();
	case 2:
		return cv + dm - 1 - test_rand_below(3);
	case 3:
		return cv + dm + test_rand_below(3);
	case 4:
		return cv + test_rand_below(4);
	default:
		return cv + (test_rand() >> test_rand_below(64));
	}
}

TEST(fast_path_is_exact_on_random_pages)
{
	struct tally t = { 0 };
	struct vmclock_abi pg;
	struct vmc_decoded d;
	int i, j;

	for (i = 0; i < 20000; i++) {
		random_page(&pg);
		vmc_decode(&pg, VMCLOCK_DEFAULT_DRIFT_PPB, &d);
		for (j = 0; j < 50; j++)
			compare_at(&pg, &d, random_counter(&d), &t);
	}
	if (test_verbose())
		printf("# fast %lu, declined %lu, bounds %lu\n", t.fast,
		       t.declined, t.bounds);
	/*
	 * The fast path must be there to be checked.  A third of the counters
	 * are drawn outside its range, and hostile pages have none; about half
	 * the pages give UTC and a max error, for the bounded line.
	 */
	CHECK_MSG(t.fast > (t.fast + t.declined) / 4, "fast %lu declined %lu",
		  t.fast, t.declined);
	CHECK_MSG(t.bounds > t.fast / 4, "fast %lu bounds %lu", t.fast, t.bounds);
	/*
	 * The window declines more than the line only within D units of a
	 * boundary, D up to the range: the max error's low word near the
	 * calibration, on pages whose error grows by less than 2^-32 ns a
	 * tick (realistic pages: fast_path_covers_a_precise_page).
	 */
	if (test_verbose())
		printf("# window %lu, declined %lu\n", t.window, t.wdeclined);
	CHECK_MSG(t.window > t.bounds / 4 && t.wdeclined < t.bounds / 10,
		  "bounds %lu window %lu declined %lu", t.bounds, t.window, t.wdeclined);
}

/* The realistic page every host publishes takes the fast path. */
TEST(fast_path_covers_a_precise_page)
{
	struct vmclock_abi pg;
	struct vmc_decoded d;
	struct vmclock_reading rd;

	page_base(&pg, VMCLOCK_TIME_TAI, 2596146000ull);
	pg.tai_offset_sec = 37;
	pg.counter_period_maxerror_rate_frac_sec = pg.counter_period_frac_sec / 100000;
	pg.counter_period_esterror_rate_frac_sec = pg.counter_period_frac_sec / 1000000;
	pg.counter_value = 123456789012345ull;
	pg.time_sec = 1795000000;
	pg.time_frac_sec = 0x123456789abcdef0ull;
	pg.time_maxerror_nanosec = 1000;
	pg.time_esterror_nanosec = 100;
	pg.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID | VMCLOCK_FLAG_PERIOD_ESTERROR_VALID |
		   VMCLOCK_FLAG_PERIOD_MAXERROR_VALID |
		   VMCLOCK_FLAG_TIME_ESTERROR_VALID | VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	vmc_decode(&pg, VMCLOCK_DEFAULT_DRIFT_PPB, &d);
	memset(&rd, 0, sizeof(rd));
	/* A day of counter at 2.6 GHz, at least. */
	CHECK(d.fast.d_max >= 86400ull * 2596146000ull);
	/*
	 * Not a round second: 10 ppm of exactly 2596146000 ticks lies within
	 * a few 2^-64 ns of 10 us, where only the exact path can round.
	 */
	CHECK(vmc_fast_eval(&d, pg.counter_value + 2596146000ull + 12345, &rd) == 1);
	CHECK(rd.valid == (VMCLOCK_VALID_TIME | VMCLOCK_VALID_TAI | VMCLOCK_VALID_UTC |
			   VMCLOCK_VALID_MAXERROR | VMCLOCK_VALID_ESTERROR));
	/* Before the calibration the exact path decides. */
	CHECK(vmc_fast_eval(&d, pg.counter_value - 1, &rd) == 0);
	/*
	 * Over that day the inline readers' windows answer every counter the
	 * bounded line answers, and as it does.
	 */
	{
		struct tally t = { 0 };
		int i;

		for (i = 0; i < 100000; i++) {
			uint64_t c = pg.counter_value + test_rand_below(86400ull * 2596146000ull);
			struct vmclock_bounds b;

			memset(&b, 0, sizeof(b));
			if (vmc_fast_bounds(&d, c, &b)) {
				t.bounds++;
				window_at(&d, c, &b, &t);
			}
		}
		CHECK(t.bounds > 99000);
		CHECK_EQ_U64(t.window, t.bounds);
	}
}

/* x with x * 1953125 == 1 (mod 2^64): Newton's iteration. */
static uint64_t inverse_odd(uint64_t a)
{
	uint64_t x = a;
	int i;

	for (i = 0; i < 6; i++)
		x *= 2 - a * x;
	return x;
}

/*
 * time_frac whose low word of time_frac * 10^9 is @want (rounded down to a
 * multiple of 2^9, the most 10^9 = 2^9 * 1953125 allows).
 */
static uint64_t frac_with_low_word(uint64_t want)
{
	uint64_t f = ((want >> 9) * inverse_odd(1953125)) & ((1ull << 55) - 1);

	return f | (test_rand() << 55);
}

/*
 * The time's low word steered onto its wrap (where the dropped bits of the
 * period could carry into the nanoseconds): the fast path must decline or
 * agree, and it must have been asked on both sides.
 */
TEST(fast_path_declines_at_the_nanosecond_boundary)
{
	struct tally t = { 0 };
	struct vmclock_abi pg;
	struct vmc_decoded d;
	int i;

	for (i = 0; i < 20000; i++) {
		uint64_t dist, low, want;
		unsigned __int128 p;

		random_page(&pg);
		pg.time_sec = 1700000000;
		vmc_decode(&pg, VMCLOCK_DEFAULT_DRIFT_PPB, &d);
		if (!d.fast.d_max)
			continue;
		dist = 1 + test_rand_below(d.fast.d_max < 1000000 ? d.fast.d_max : 1000000);
		if (dist >= d.fast.d_max)
			continue;
		p = (unsigned __int128)dist * d.fast.p_frac;
		low = (uint64_t)p;
		/* Land the sum's low word within a few d of 2^64 (or just past). */
		want = (0 - dist * test_rand_below(4) - test_rand_below(2048)) - low;
		pg.time_frac_sec = frac_with_low_word(want);
		vmc_decode(&pg, VMCLOCK_DEFAULT_DRIFT_PPB, &d);
		/* Half the time end the line there: the window's last counter. */
		if (d.bline.d_max > dist && test_rand_below(2))
			d.bline.d_max = dist + 1;
		compare_at(&pg, &d, pg.counter_value + dist, &t);
	}
	if (test_verbose())
		printf("# fast %lu, declined %lu; bounds %lu, declined %lu\n",
		       t.fast, t.declined, t.bounds, t.bdeclined);
	CHECK(t.fast > 0 && t.declined > 0);
	CHECK(t.bounds > 0 && t.bdeclined > 0);
	if (test_verbose())
		printf("# window %lu, declined %lu\n", t.window, t.wdeclined);
	CHECK(t.window > 0 && t.wdeclined > 0);
}

/*
 * The bounded line's max error (vmclock_fastline_eval()) grown over @dist
 * ticks at @k1 from a random counter_value, less its base of 1000 ns: 1
 * when the line answers.
 */
static int line_max(uint64_t dist, uint64_t k1, uint64_t inexact, uint64_t *max)
{
	struct vmc_bline bl;
	struct vmclock_fastline fl;
	struct vmclock_bounds b, wb;
	unsigned __int128 m;
	uint64_t c;
	int w;

	memset(&bl, 0, sizeof(bl));
	bl.cv = test_rand() >> 2;
	bl.d_max = dist + 1;
	bl.k1 = k1;
	bl.k_inexact = inexact;
	bl.tick_ns = 1;
	m = ((unsigned __int128)1000 << 64 | VMCLOCK_U64_MAX) -
	    (unsigned __int128)k1 * bl.cv;
	bl.m_lo = (uint64_t)m;
	bl.m_hi = (uint64_t)(m >> 64);
	c = bl.cv + dist;
	memset(&wb, 0, sizeof(wb));
	/* The window of c, whose furthest counter is c: the same verdict. */
	vmc_fastline_window(&bl, (uint32_t)(c >> 32), &fl);
	w = vmclock_fastline_eval(&fl, c, &wb);
	if (!vmc_bline_eval(&bl, c, &b)) {
		CHECK_MSG(!w, "window answered d=%" PRIu64 " k=%" PRIu64, dist, k1);
		return 0;
	}
	CHECK_MSG(w && wb.maxerror_ns == b.maxerror_ns &&
			  wb.latest_ns == b.latest_ns && wb.earliest_ns == b.earliest_ns,
		  "window d=%" PRIu64 " k=%" PRIu64 ": %d %" PRIu64 "/%" PRIu64,
		  dist, k1, w, wb.maxerror_ns, b.maxerror_ns);
	*max = b.maxerror_ns - 1000;
	return 1;
}

/*
 * vmc_fast_ceil() (max errors) and vmc_fast_grow() (estimates, to
 * nearest) against vmclock_growth() with the low word steered onto every
 * boundary of both roundings: 0, 2^63 and 2^64; and the bounded line's max
 * error (line_max()) likewise.
 */
TEST(fast_growth_rounds_as_the_exact_growth)
{
	unsigned long answered = 0, declined = 0;
	int i;

	for (i = 0; i < 200000; i++) {
		unsigned int s = (unsigned int)test_rand_below(64);
		uint64_t dist = (test_rand() >> test_rand_below(64)) | 1;
		uint64_t target, k, low, inexact, fast, exact;
		struct vmclock_u128 kf;
		int nearest = (int)test_rand_below(2), ok = 1, line_ok = 0;
		uint64_t line = 0;

		if (dist >= 1ull << 58)
			dist >>= 6;
		switch (test_rand_below(4)) {
		case 0:
			target = 0 + test_rand_below(3) * dist - dist;
			break;
		case 1:
			target = (1ull << 63) - dist + test_rand_below(2 * dist + 1);
			break;
		case 2:
			target = 0 - test_rand_below(2 * dist + 1);
			break;
		default:
			target = test_rand();
			break;
		}
		/* k with dist * k == target (mod 2^64): dist is odd. */
		k = target * inverse_odd(dist);
		/* Keep the growth factor below 1 ns per tick, as decoded. */
		low = s ? test_rand() & ((1ull << s) - 1) : 0;
		if (test_rand_below(4) == 0)
			low = 0;
		kf.hi = s ? k >> (64 - s) : 0;
		kf.lo = s ? (k << s) | low : k;
		inexact = low ? VMCLOCK_U64_MAX : 0;
		if (nearest) {
			fast = vmc_fast_grow(dist, k, inexact, nearest, &ok);
		} else {
			/* The max error's form: k + 1 when inexact, a base. */
			if (low && k == VMCLOCK_U64_MAX)
				continue; /* vmc_decode() gives no fast path */
			fast = vmc_fast_ceil(dist, k + (low != 0), inexact, 1000,
					     &ok) - 1000;
			/* And the general form agrees wherever it answers. */
			{
				int ok2 = 1;
				uint64_t g = vmc_fast_grow(dist, k, inexact, 0, &ok2);

				CHECK(!ok2 || !ok || g == fast);
			}
			line_ok = line_max(dist, k + (low != 0), inexact, &line);
			/* The line declines no more often than vmc_fast_ceil(). */
			CHECK(line_ok || !ok);
		}
		exact = vmclock_growth(dist, kf, s,
				       nearest ? VMCLOCK_ROUND_NEAREST : VMCLOCK_ROUND_UP);
		if (!ok) {
			declined++;
			continue;
		}
		answered++;
		if (exact == VMCLOCK_U64_MAX)
			continue; /* saturated: outside any fast range */
		CHECK_MSG(nearest || !line_ok || line == exact,
			  "line d=%" PRIu64 " k=%" PRIu64 " s=%u low=%" PRIu64
			  ": line %" PRIu64 " exact %" PRIu64,
			  dist, k, s, low, line, exact);
		CHECK_MSG(fast == exact,
			  "grow d=%" PRIu64 " k=%" PRIu64 " s=%u low=%" PRIu64
			  " nearest=%d: fast %" PRIu64 " exact %" PRIu64,
			  dist, k, s, low, nearest, fast, exact);
	}
	CHECK(answered > 0 && declined > 0);
}

/* An announced leap: the fast range ends before it, UTC is exact up to it. */
TEST(fast_path_stops_before_an_announced_leap)
{
	struct tally t = { 0 };
	struct vmclock_abi pg;
	struct vmc_decoded d;
	int i, j;

	for (i = 0; i < 400; i++) {
		page_base(&pg, VMCLOCK_TIME_TAI, 1000000000ull);
		pg.tai_offset_sec = 36;
		pg.leap_indicator = i & 1 ? VMCLOCK_LEAP_PRE_POS : VMCLOCK_LEAP_PRE_NEG;
		pg.counter_value = 1ull << 40;
		/* 2017-01-01 00:00:00 UTC is 1483228800; start up to 2 days before. */
		pg.time_sec = 1483228800ull + 36 - 1 - test_rand_below(2 * 86400);
		pg.time_frac_sec = test_rand();
		pg.time_maxerror_nanosec = 100;
		pg.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID | VMCLOCK_FLAG_TIME_MAXERROR_VALID;
		vmc_decode(&pg, VMCLOCK_DEFAULT_DRIFT_PPB, &d);
		CHECK(d.leap_utc);
		/* The range ends before 23:59:60 (or the deleted 23:59:59). */
		CHECK(d.fast.d_max <= (1483228800ull + 36 - pg.time_sec) * NS);
		for (j = 0; j < 200; j++)
			compare_at(&pg, &d,
				   pg.counter_value +
					   test_rand_below(d.fast.d_max + 3 * NS),
				   &t);
	}
	CHECK(t.fast > 0 && t.declined > 0);
}

/*
 * The bounded line is continued back to counter 0, which is exact only
 * while the counter does not wrap past 2^64: its range stops there.
 */
TEST(bounded_line_stops_where_the_counter_wraps)
{
	struct vmclock_bounds fb, eb;
	struct vmclock_abi pg;
	struct vmc_decoded d;
	uint64_t i;

	/* Not 1 GHz, whose period rounded down puts every low word near a carry. */
	page_base(&pg, VMCLOCK_TIME_TAI, 2596146000ull);
	pg.tai_offset_sec = 37;
	pg.time_sec = 1700000000;
	pg.time_frac_sec = 0x123456789abcdef0ull;
	pg.time_maxerror_nanosec = 1000;
	pg.counter_period_maxerror_rate_frac_sec = pg.counter_period_frac_sec / 100000;
	pg.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID | VMCLOCK_FLAG_TIME_MAXERROR_VALID |
		   VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	pg.counter_value = 0 - 1000ull;
	vmc_decode(&pg, VMCLOCK_DEFAULT_DRIFT_PPB, &d);
	CHECK(d.fast.d_max > 1000);
	CHECK_EQ_U64(d.bline.d_max, 1000);
	for (i = 990; i < 1000; i++) {
		REQUIRE(vmc_fast_bounds(&d, pg.counter_value + i, &fb) == 1);
		REQUIRE(vmc_eval_bounds(&d, pg.counter_value + i, &eb) == 0);
		CHECK_EQ_INT(fb.utc_ns, eb.utc_ns);
		CHECK_EQ_U64(fb.maxerror_ns, eb.maxerror_ns);
	}
	/* Counter 0 and on, past the wrap: the exact path decides. */
	for (i = 1000; i < 1010; i++)
		CHECK(vmc_fast_bounds(&d, pg.counter_value + i, &fb) == 0);
}
