/* SPDX-License-Identifier: MIT */
/*
 * reference.h - the host reference: the host clock against the CPU
 * counter, as a line with honest error bounds.
 *
 * Each update takes a burst of bracketed samples (counter, clock, counter)
 * and keeps the narrowest; the last few kept samples are fitted by least
 * squares.  The error budget (docs/daemon.md):
 *
 *	time maxerror   = kernel maxerror + fit residual + bracket half-width
 *			  + rounding (+ any slew gap, + unknown leap seconds)
 *	period maxerror = fit uncertainty + frequency tolerance (+ slew)
 *
 * ref_line() turns a fit into a page calibration that never goes behind
 * the previously published line: a gap is closed by slewing, never by
 * stepping back, and the gap is added to the errors until it is closed.
 */
#ifndef VMCLOCK_DAEMON_REFERENCE_H
#define VMCLOCK_DAEMON_REFERENCE_H

#include <stdint.h>
#include <time.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>

#include "clock.h"

#define REF_MAX_POINTS 64
/* A sample further than this from the fit means the clock was stepped. */
#define REF_STEP_NS 1000000

/**
 * struct ref_point - the narrowest sample of one burst
 * @counter: counter at the middle of the bracket.
 * @ns: clock reading, ns since its epoch.
 * @width: bracket width, counter ticks.
 */
struct ref_point {
	uint64_t counter;
	int64_t ns;
	uint64_t width;
};

/**
 * struct ref_fit - the line through the points, and how good it is
 * @n: points used (0: no fit yet).
 * @counter: anchor counter (the newest point).
 * @ns: fitted clock time at @counter, ns.
 * @period_ns: ns per tick.
 * @period_frac, @shift: the period in page units.
 * @resid_max_ns: largest |residual|, rounded up.
 * @resid_rms_ns: root mean square residual, rounded up.
 * @half_width_ns: half the anchor's bracket, rounded up.
 * @period_unc_ppb: bound on the fitted period's relative error.
 */
struct ref_fit {
	unsigned int n;
	uint64_t counter;
	int64_t ns;
	long double period_ns;
	uint64_t period_frac;
	uint8_t shift;
	uint64_t resid_max_ns;
	uint64_t resid_rms_ns;
	uint64_t half_width_ns;
	uint64_t period_unc_ppb;
};

struct reference {
	const struct clock_ops *ops;
	unsigned int samples;
	unsigned int fit_points;
	struct ref_point pts[REF_MAX_POINTS];
	unsigned int npts;
	struct ref_fit fit;
	unsigned int steps;
};

/**
 * struct ref_budget - what the line is published with
 * @kernel_max_ns, @kernel_est_ns: the host clock's own errors.
 * @extra_max_ns: added to the time maxerror (unknown leap seconds).
 * @offset_sec: added to the clock's seconds (TAI - UTC when sampling
 *	CLOCK_REALTIME for a TAI page; 0 otherwise).
 * @freq_tol_ppb: frequency tolerance added to the period maxerror.
 * @max_slew_ppb: fastest slew that closes a backward gap.
 * @interval_ns: time until the next update (the slew target).
 * @window_ticks: the writer's publish window.
 */
struct ref_budget {
	uint64_t kernel_max_ns;
	uint64_t kernel_est_ns;
	uint64_t extra_max_ns;
	int64_t offset_sec;
	uint64_t freq_tol_ppb;
	uint64_t max_slew_ppb;
	uint64_t interval_ns;
	uint64_t window_ticks;
};

/**
 * struct ref_published - what ref_line() did
 * @gap_ns: how far behind the previous line the fit was (0: not).
 * @slew_ppb: the slew applied to close it.
 */
struct ref_published {
	uint64_t gap_ns;
	uint64_t slew_ppb;
};

void ref_init(struct reference *r, const struct clock_ops *ops,
	      unsigned int samples, unsigned int fit_points);
/* Take a burst on @clk, keep its narrowest sample. */
int ref_sample(struct reference *r, clockid_t clk, struct ref_point *p);
/* Add a point and refit; 1 when the point showed a clock step. */
int ref_add(struct reference *r, const struct ref_point *p);
/* Forget the points (a clock step, a new clock id). */
void ref_reset(struct reference *r);
/* Least-squares fit of @pts into @fit; -EINVAL with fewer than 2 points. */
int ref_fit_points(const struct ref_point *pts, unsigned int n,
		   struct ref_fit *fit);
/*
 * The calibration to publish at counter @now: from @fit, with @b's errors,
 * not behind @prev (NULL: none) over [now, now + window].
 */
int ref_line(const struct ref_fit *fit, const struct ref_budget *b,
	     const struct vmclock_line *prev, uint64_t now,
	     struct vmclock_calibration *cal, struct ref_published *pub);

#endif /* VMCLOCK_DAEMON_REFERENCE_H */
