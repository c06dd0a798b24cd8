// SPDX-License-Identifier: MIT
/*
 * test_reference.c - the host reference on fake clock ops: a simulated
 * counter and a clock that is an exact line of it (plus the time each read
 * takes), so the fit, its error budget, the slew that keeps the published
 * line monotonic, and step detection can be checked against the truth.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include <vmclock/vmclock-arith.h>

#include "../../daemon/reference.h"
#include "../harness/test.h"

struct fake {
	uint64_t counter;
	uint64_t c0;
	int64_t t0;
	long double ns_per_tick;
	int64_t offset_ns;
	unsigned int jitter;
	unsigned int late; /* extra ticks after the clock read */
};

static struct fake fk;

static long double true_ns(uint64_t c)
{
	return (long double)fk.t0 + (long double)(c - fk.c0) * fk.ns_per_tick +
	       fk.offset_ns;
}

static uint64_t f_counter(void *ctx)
{
	(void)ctx;
	fk.counter += 10 + test_rand_below(fk.jitter + 1);
	return fk.counter;
}

static int f_gettime(void *ctx, clockid_t id, int64_t *ns)
{
	(void)ctx;
	(void)id;
	/* The clock is read somewhere inside the bracket. */
	fk.counter += 5 + test_rand_below(fk.jitter + 1);
	*ns = (int64_t)floorl(true_ns(fk.counter));
	fk.counter += 5 + fk.late + test_rand_below(fk.jitter + 1);
	return 0;
}

static int f_ntp(void *ctx, struct clock_ntp *n)
{
	(void)ctx;
	memset(n, 0, sizeof(*n));
	return 0;
}

static const struct clock_ops fake_ops = { f_gettime, f_counter, f_ntp, NULL };

static void fake_init(long double hz, unsigned int jitter)
{
	fk = (struct fake){ .counter = 1ull << 42, .c0 = 1ull << 42,
			    .t0 = 1795000000ll * 1000000000ll,
			    .ns_per_tick = 1e9L / hz, .jitter = jitter };
}

static void run_updates(struct reference *r, int n, long double seconds)
{
	struct ref_point p;
	int i;

	for (i = 0; i < n; i++) {
		REQUIRE(!ref_sample(r, CLOCK_REALTIME, &p));
		ref_add(r, &p);
		fk.counter += (uint64_t)(seconds * 1e9L / fk.ns_per_tick);
	}
}

static struct ref_budget budget(void)
{
	struct ref_budget b = { .kernel_max_ns = 1000, .kernel_est_ns = 100,
				.freq_tol_ppb = 500000, .max_slew_ppb = 500000,
				.interval_ns = 1000000000, .window_ticks = 1000 };
	return b;
}

static int64_t eval_ns(const struct vmclock_calibration *cal, uint64_t c)
{
	struct vmclock_line l = { cal->counter_value, cal->period_frac,
				  cal->time_sec, cal->time_frac,
				  cal->period_shift };
	struct vmclock_instant t;
	struct vmclock_span sp;
	int64_t ns = 0;

	vmclock_line_eval(&l, c, &t, &sp);
	vmclock_instant_to_ns(&t, &ns);
	return ns;
}

/* |line(c) - truth(c)| is within the published bound at c. */
static void check_bound(const struct vmclock_calibration *cal, uint64_t c,
			uint64_t kernel_ns)
{
	long double err = fabsl((long double)eval_ns(cal, c) - true_ns(c));
	uint64_t d = c > cal->counter_value ? c - cal->counter_value :
					      cal->counter_value - c;
	uint64_t bound = cal->time_maxerror_ns - kernel_ns +
			 vmclock_growth_ns(d, cal->period_maxerror_rate,
					   cal->period_shift, 1000000000u,
					   VMCLOCK_ROUND_UP);

	CHECK_MSG(err <= bound, "error %.1Lf ns > bound %llu ns", err,
		  (unsigned long long)bound);
}

TEST(fit_recovers_period_within_its_uncertainty)
{
	struct reference r;
	long double rel;

	fake_init(2600000000.0L, 30);
	ref_init(&r, &fake_ops, 32, 8);
	run_updates(&r, 10, 1.0L);
	REQUIRE(r.fit.n == 8);
	rel = fabsl(r.fit.period_ns - fk.ns_per_tick) / fk.ns_per_tick;
	CHECK_MSG(rel * 1e9L <= r.fit.period_unc_ppb, "rel %.3Lf ppb > %llu",
		  rel * 1e9L, (unsigned long long)r.fit.period_unc_ppb);
	CHECK(r.fit.period_unc_ppb < 100);
	CHECK(fabsl((long double)r.fit.ns - true_ns(r.fit.counter)) <=
	      r.fit.resid_max_ns + r.fit.half_width_ns + 1);
	CHECK_EQ_INT(r.steps, 0);
}

TEST(line_bound_holds_over_the_interval)
{
	struct vmclock_calibration cal;
	struct ref_published pub;
	struct ref_budget b = budget();
	struct reference r;
	uint64_t now, step;
	int i;

	fake_init(2600000000.0L, 30);
	ref_init(&r, &fake_ops, 32, 8);
	run_updates(&r, 8, 1.0L);
	now = f_counter(NULL);
	REQUIRE(!ref_line(&r.fit, &b, NULL, now, &cal, &pub));
	CHECK_EQ_U64(pub.gap_ns, 0);
	CHECK(cal.valid == 0xf);
	CHECK(cal.time_maxerror_ns >= 1000 && cal.time_maxerror_ns < 1100);
	step = (uint64_t)(0.1e9L / fk.ns_per_tick);
	for (i = 0; i < 20; i++)
		check_bound(&cal, now + (uint64_t)i * step, 1000);
}

TEST(one_sided_bracket_is_covered_by_half_width)
{
	struct vmclock_calibration cal;
	struct ref_published pub;
	struct ref_budget b = budget();
	struct reference r;
	uint64_t now;

	/* Every clock read sits at the start of its bracket: no residual. */
	fake_init(2600000000.0L, 0);
	fk.late = 400;
	ref_init(&r, &fake_ops, 8, 8);
	run_updates(&r, 8, 1.0L);
	now = f_counter(NULL);
	REQUIRE(!ref_line(&r.fit, &b, NULL, now, &cal, &pub));
	CHECK(r.fit.resid_max_ns <= 1);
	check_bound(&cal, now, 1000);
	check_bound(&cal, r.fit.counter, 1000);
}

TEST(random_rates_and_noise)
{
	int k;

	for (k = 0; k < 30; k++) {
		struct vmclock_calibration cal;
		struct ref_published pub;
		struct ref_budget b = budget();
		struct reference r;
		uint64_t now;

		fake_init(1e7L + (long double)test_rand_below(5000000000ull),
			  (unsigned int)test_rand_below(400));
		ref_init(&r, &fake_ops, 1 + (unsigned int)test_rand_below(64),
			 2 + (unsigned int)test_rand_below(10));
		run_updates(&r, 12, 0.2L + (long double)test_rand_below(1000) / 1000);
		now = f_counter(NULL);
		REQUIRE(!ref_line(&r.fit, &b, NULL, now, &cal, &pub));
		check_bound(&cal, now, 1000);
		check_bound(&cal, now + (uint64_t)(1e9L / fk.ns_per_tick), 1000);
	}
}

TEST(gap_is_slewed_never_stepped_back)
{
	struct vmclock_calibration cal, prev_cal;
	struct vmclock_line prev;
	struct ref_published pub;
	struct ref_budget b = budget();
	struct reference r;
	uint64_t now, c;

	fake_init(2600000000.0L, 30);
	ref_init(&r, &fake_ops, 32, 8);
	run_updates(&r, 8, 1.0L);
	now = f_counter(NULL);
	REQUIRE(!ref_line(&r.fit, &b, NULL, now, &prev_cal, &pub));
	/* The previous line is 5 us ahead of the truth. */
	prev = (struct vmclock_line){ prev_cal.counter_value, prev_cal.period_frac,
				      prev_cal.time_sec,
				      prev_cal.time_frac + vmclock_nsec_to_frac(5000),
				      prev_cal.period_shift };
	REQUIRE(!ref_line(&r.fit, &b, &prev, now, &cal, &pub));
	CHECK(pub.gap_ns >= 5000 && pub.gap_ns <= 5002);
	CHECK(pub.slew_ppb >= 5000 && pub.slew_ppb <= 5003);
	CHECK(cal.period_frac < prev_cal.period_frac);
	CHECK(cal.time_maxerror_ns >= prev_cal.time_maxerror_ns + 5000);
	/* Not behind the old line anywhere in the publish window. */
	for (c = now; c <= now + b.window_ticks; c += 100) {
		struct vmclock_calibration old = prev_cal;

		old.time_frac = prev.time_frac;
		CHECK(eval_ns(&cal, c) >= eval_ns(&old, c));
	}
	/* Still a true bound, and back on the truth after one interval. */
	check_bound(&cal, now, 1000);
	c = now + b.window_ticks + (uint64_t)(1e9L / fk.ns_per_tick);
	CHECK(fabsl((long double)eval_ns(&cal, c) - true_ns(c)) < 50);
}

TEST(large_gap_slews_at_the_limit)
{
	struct vmclock_calibration cal, prev_cal;
	struct vmclock_line prev;
	struct ref_published pub;
	struct ref_budget b = budget();
	struct reference r;
	uint64_t now;

	fake_init(2600000000.0L, 30);
	ref_init(&r, &fake_ops, 32, 8);
	run_updates(&r, 8, 1.0L);
	now = f_counter(NULL);
	REQUIRE(!ref_line(&r.fit, &b, NULL, now, &prev_cal, &pub));
	prev = (struct vmclock_line){ prev_cal.counter_value, prev_cal.period_frac,
				      prev_cal.time_sec + 2, prev_cal.time_frac,
				      prev_cal.period_shift };
	REQUIRE(!ref_line(&r.fit, &b, &prev, now, &cal, &pub));
	CHECK(pub.gap_ns >= 2000000000ull);
	CHECK_EQ_U64(pub.slew_ppb, b.max_slew_ppb);
	CHECK(cal.time_maxerror_ns >= 2000000000ull);
	check_bound(&cal, now, 1000);
}

TEST(step_is_detected_and_period_kept)
{
	struct ref_point p;
	struct reference r;
	long double period;

	fake_init(2600000000.0L, 30);
	ref_init(&r, &fake_ops, 32, 8);
	run_updates(&r, 6, 1.0L);
	period = r.fit.period_ns;
	fk.offset_ns = 5000000; /* the host clock jumps 5 ms */
	REQUIRE(!ref_sample(&r, CLOCK_REALTIME, &p));
	CHECK_EQ_INT(ref_add(&r, &p), 1);
	CHECK_EQ_INT(r.steps, 1);
	CHECK_EQ_INT(r.npts, 1);
	CHECK_EQ_INT(r.fit.n, 1);
	CHECK(r.fit.period_ns == period);
	CHECK(fabsl((long double)r.fit.ns - true_ns(r.fit.counter)) < 100);
}

TEST(fit_needs_two_points)
{
	struct ref_point p = { 100, 1000, 10 };
	struct ref_fit f;

	CHECK(ref_fit_points(&p, 1, &f) < 0);
}
