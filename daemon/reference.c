// SPDX-License-Identifier: MIT
/*
 * reference.c - sampling, fit and error budget of the host reference.
 *
 * The fit works in long double relative to the newest point (differences
 * of at most a minute of ticks and ns, so 64 mantissa bits lose nothing
 * that matters); everything that reaches the page goes through the exact
 * integer arithmetic of vmclock-arith.h, rounded outward.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "reference.h"

#define PPB 1000000000ull

void ref_init(struct reference *r, const struct clock_ops *ops,
	      unsigned int samples, unsigned int fit_points)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->samples = samples ? samples : 1;
	r->fit_points = fit_points < 2 ? 2 :
			fit_points > REF_MAX_POINTS ? REF_MAX_POINTS : fit_points;
}

int ref_sample(struct reference *r, clockid_t clk, struct ref_point *p)
{
	const struct clock_ops *o = r->ops;
	uint64_t best = UINT64_MAX;
	unsigned int i;

	for (i = 0; i < r->samples; i++) {
		uint64_t c1, c2;
		int64_t ns;
		int ret;

		c1 = o->counter(o->ctx);
		ret = o->gettime(o->ctx, clk, &ns);
		c2 = o->counter(o->ctx);
		if (ret)
			return ret;
		if (c2 < c1 || c2 - c1 >= best)
			continue;
		best = c2 - c1;
		p->counter = c1 + best / 2;
		p->ns = ns;
		p->width = best;
	}
	return best == UINT64_MAX ? -EAGAIN : 0;
}

void ref_reset(struct reference *r)
{
	r->npts = 0;
}

static uint64_t ceil_ns(long double v)
{
	if (v <= 0)
		return 0;
	if (v >= 1.8e19L)
		return UINT64_MAX;
	return (uint64_t)ceill(v);
}

/* Period fields from ns per tick: ns/tick * 2^40 keeps 12 decimal digits. */
static int period_fields(long double period_ns, struct ref_fit *fit)
{
	const uint64_t ticks = 1ull << 40;
	long double ns = period_ns * (long double)ticks;

	if (!(ns >= 1) || ns >= 1.8e19L)
		return -ERANGE;
	return vmclock_period_from_ns((uint64_t)llroundl(ns), ticks,
				      &fit->period_frac, &fit->shift);
}

struct sums {
	long double mx, my, sxx, sxy, xmin, xmax;
};

static void fit_sums(const struct ref_point *pts, unsigned int n,
		     struct sums *s)
{
	const struct ref_point *a = &pts[n - 1];
	unsigned int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		long double x = (long double)(int64_t)(pts[i].counter - a->counter);

		s->mx += x / n;
		s->my += (long double)(pts[i].ns - a->ns) / n;
		if (x < s->xmin)
			s->xmin = x;
		if (x > s->xmax)
			s->xmax = x;
	}
	for (i = 0; i < n; i++) {
		long double x = (long double)(int64_t)(pts[i].counter - a->counter);
		long double y = (long double)(pts[i].ns - a->ns);

		s->sxx += (x - s->mx) * (x - s->mx);
		s->sxy += (x - s->mx) * (y - s->my);
	}
}

static void fit_residuals(const struct ref_point *pts, unsigned int n,
			  long double slope, long double y0,
			  struct ref_fit *fit, long double *hmax)
{
	const struct ref_point *a = &pts[n - 1];
	long double rmax = 0, rss = 0;
	unsigned int i;

	*hmax = 0;
	for (i = 0; i < n; i++) {
		long double x = (long double)(int64_t)(pts[i].counter - a->counter);
		long double r = (long double)(pts[i].ns - a->ns) - (y0 + slope * x);
		long double h = pts[i].width * slope / 2 + 1;

		rmax = fabsl(r) > rmax ? fabsl(r) : rmax;
		rss += r * r;
		*hmax = h > *hmax ? h : *hmax;
	}
	fit->resid_max_ns = ceil_ns(rmax);
	fit->resid_rms_ns = ceil_ns(sqrtl(rss / n));
	/* +1: clock_gettime truncates to whole ns. */
	fit->half_width_ns = ceil_ns(a->width * slope / 2 + 1);
}

int ref_fit_points(const struct ref_point *pts, unsigned int n,
		   struct ref_fit *fit)
{
	long double slope, y0, hmax, base;
	struct sums s;

	if (n < 2)
		return -EINVAL;
	fit_sums(pts, n, &s);
	if (s.sxx <= 0)
		return -EINVAL;
	slope = s.sxy / s.sxx;
	if (!(slope > 0))
		return -ERANGE;
	y0 = s.my - slope * s.mx;
	if (period_fields(slope, fit))
		return -ERANGE;
	fit_residuals(pts, n, slope, y0, fit, &hmax);
	fit->n = n;
	fit->counter = pts[n - 1].counter;
	fit->ns = pts[n - 1].ns + (int64_t)llroundl(y0);
	fit->period_ns = slope;
	/* Lines within hmax + rmax of both ends differ in slope by this. */
	base = (s.xmax - s.xmin) * slope;
	fit->period_unc_ppb = ceil_ns(2 * (hmax + fit->resid_max_ns) * 1e9L /
				      base);
	return 0;
}

/* Keep the last fit's period, move its anchor to a lone point. */
static void refit_single(struct reference *r, const struct ref_point *p)
{
	struct ref_fit *f = &r->fit;

	f->n = 1;
	f->counter = p->counter;
	f->ns = p->ns;
	f->resid_max_ns = 0;
	f->resid_rms_ns = 0;
	f->half_width_ns = ceil_ns(p->width * f->period_ns / 2 + 1);
}

int ref_add(struct reference *r, const struct ref_point *p)
{
	int stepped = 0;

	if (r->fit.n) {
		long double pred = (long double)(int64_t)(p->counter - r->fit.counter) *
				   r->fit.period_ns;
		long double off = (long double)(p->ns - r->fit.ns) - pred;

		if (fabsl(off) > REF_STEP_NS) {
			r->npts = 0;
			r->steps++;
			stepped = 1;
		}
	}
	if (r->npts == r->fit_points) {
		memmove(r->pts, r->pts + 1, (r->npts - 1) * sizeof(r->pts[0]));
		r->npts--;
	}
	r->pts[r->npts++] = *p;
	if (r->npts >= 2) {
		struct ref_fit f;

		if (!ref_fit_points(r->pts, r->npts, &f))
			r->fit = f;
	} else if (r->fit.n) {
		refit_single(r, p);
	}
	return stepped;
}

/* ceil(@period * @ppb / 10^9): a relative error in page units. */
static uint64_t rate_of(uint64_t period, uint64_t ppb)
{
	unsigned __int128 v = (unsigned __int128)period * ppb + PPB - 1;

	v /= PPB;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static void base_calibration(const struct ref_fit *fit,
			     const struct ref_budget *b, uint64_t now,
			     struct vmclock_calibration *cal)
{
	int64_t t = fit->ns + b->offset_sec * 1000000000;

	memset(cal, 0, sizeof(*cal));
	cal->counter_value = fit->counter;
	cal->time_sec = (uint64_t)(t / 1000000000);
	cal->time_frac = vmclock_nsec_to_frac((uint32_t)(t % 1000000000));
	cal->period_frac = fit->period_frac;
	cal->period_shift = fit->shift;
	cal->period_esterror_rate = rate_of(fit->period_frac,
					    fit->period_unc_ppb);
	cal->period_maxerror_rate = rate_of(fit->period_frac,
					    fit->period_unc_ppb +
					    b->freq_tol_ppb);
	/* +1 ns: the fitted time is rounded to whole ns. */
	cal->time_maxerror_ns = vmclock_add_sat(
		vmclock_add_sat(b->kernel_max_ns, b->extra_max_ns),
		fit->resid_max_ns + fit->half_width_ns + 1);
	cal->time_esterror_ns = vmclock_add_sat(b->kernel_est_ns,
		fit->resid_rms_ns + fit->half_width_ns / 2 + 1);
	cal->valid = VMCLOCK_CAL_PERIOD_ESTERROR | VMCLOCK_CAL_PERIOD_MAXERROR |
		     VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR;
	cal->switch_counter = now;
}

static int behind_at(const struct vmclock_line *prev,
		     const struct vmclock_line *nl, uint64_t c, uint64_t *ns)
{
	struct vmclock_instant to, tn;
	struct vmclock_span sp;

	if (vmclock_line_eval(prev, c, &to, &sp) ||
	    vmclock_line_eval(nl, c, &tn, &sp))
		return -ERANGE;
	*ns = vmclock_scale(vmclock_instant_gap(&to, &tn), VMCLOCK_NSEC_PER_SEC,
			    64, VMCLOCK_ROUND_UP);
	return 0;
}

/* Meet @prev at @c and run slower by @slew until the fit catches up. */
static int slew_line(const struct vmclock_line *prev, uint64_t c,
		     uint64_t slew, uint64_t growth,
		     struct vmclock_calibration *cal)
{
	uint64_t r = rate_of(cal->period_frac, slew);
	struct vmclock_instant t;
	struct vmclock_span sp;

	if (vmclock_line_eval(prev, c, &t, &sp))
		return -ERANGE;
	cal->counter_value = c;
	cal->time_sec = t.sec;
	/* Round the meeting point up: never behind the old line. */
	cal->time_frac = t.frac + (t.rem != 0);
	cal->time_sec += cal->time_frac == 0 && t.rem != 0;
	cal->period_frac -= r;
	cal->period_esterror_rate = vmclock_add_sat(cal->period_esterror_rate, r);
	cal->period_maxerror_rate = vmclock_add_sat(cal->period_maxerror_rate, r);
	cal->time_maxerror_ns = vmclock_add_sat(cal->time_maxerror_ns, growth);
	return 0;
}

int ref_line(const struct ref_fit *fit, const struct ref_budget *b,
	     const struct vmclock_line *prev, uint64_t now,
	     struct vmclock_calibration *cal, struct ref_published *pub)
{
	struct vmclock_line nl;
	uint64_t g1, g2, gap, slew, c = now + b->window_ticks;

	memset(pub, 0, sizeof(*pub));
	if (!fit->n)
		return -EAGAIN;
	base_calibration(fit, b, now, cal);
	if (!prev || !prev->period_frac)
		return 0;
	nl = (struct vmclock_line){ cal->counter_value, cal->period_frac,
				    cal->time_sec, cal->time_frac,
				    cal->period_shift };
	if (behind_at(prev, &nl, now, &g1) || behind_at(prev, &nl, c, &g2))
		return 0; /* not comparable: the writer decides */
	gap = g1 > g2 ? g1 : g2;
	if (!gap)
		return 0;
	slew = (gap * 1000000000ull + b->interval_ns - 1) /
	       (b->interval_ns ? b->interval_ns : 1);
	if (gap > UINT64_MAX / 1000000000ull || slew > b->max_slew_ppb)
		slew = b->max_slew_ppb;
	pub->gap_ns = gap;
	pub->slew_ppb = slew;
	/* The anchor moves from the fit's counter to c: its error grows. */
	return slew_line(prev, c, slew,
			 vmclock_add_sat(gap, vmclock_growth_ns(
				c - fit->counter, cal->period_maxerror_rate,
				cal->period_shift, VMCLOCK_NSEC_PER_SEC,
				VMCLOCK_ROUND_UP)), cal);
}
