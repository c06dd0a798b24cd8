/* SPDX-License-Identifier: MIT */
/*
 * monotonic.h - the writer's quick TIME_MONOTONIC test (lib/writer.c): is
 * a new line at or ahead of the old one over the whole publish window?
 *
 * The exact check (monotonic_gap() in writer.c) evaluates both lines at
 * both ends of the window as struct vmclock_instant and measures the gap,
 * about 250 instructions.  When the answer is "no gap", which is nearly
 * always, this gives it with one product per line and end and no gap:
 * each line's time at a counter is computed exactly as a 192-bit number
 * of 2^-128 s units (the 2^-64 s fraction and the sub-unit remainder
 * rem / 2^shift = (rem << (64 - shift)) / 2^64, exact), and the numbers
 * are compared.  Being exact, it agrees with vmclock_line_eval() and
 * vmclock_instant_cmp() on every input; it declines (returns 0) whenever
 * a time falls outside [0, 2^64) s or the new line is behind, and the
 * exact check then decides, errors included.  tests/unit/test_writer.c
 * compares the two on random and near-equal lines.
 */
#ifndef VMCLOCK_LIB_MONOTONIC_H
#define VMCLOCK_LIB_MONOTONIC_H

#include <stdint.h>

#include <vmclock/vmclock-arith.h>

/* A time in units of 2^-128 s: hi = seconds:fraction, lo = below 2^-64 s. */
struct vmc_t192 {
	unsigned __int128 hi;
	uint64_t lo;
};

/* @l's exact time at counter @c; 0, or -1 outside [0, 2^64) s. */
static inline int vmc_line_at(const struct vmclock_line *l, uint64_t c,
			      struct vmc_t192 *t)
{
	uint64_t d = c - l->counter_value, ticks = d >> 63 ? -d : d;
	unsigned __int128 x = (unsigned __int128)ticks * l->period_frac;
	unsigned __int128 base = (unsigned __int128)l->time_sec << 64 |
				 l->time_frac, q;
	uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x, below;
	unsigned int s = l->shift;

	if (s > 63)
		return -1;
	/*
	 * ticks * period / 2^s in 2^-64 s: q, and below / 2^64 of a unit.
	 * (v << 1) << (63 - s) is v << (64 - s), and 0 for s = 0.
	 */
	q = (unsigned __int128)(hi >> s) << 64 |
	    (lo >> s | (hi << 1) << (63 - s));
	below = (lo << 1) << (63 - s);
	if (!(d >> 63)) {
		t->hi = base + q;
		t->lo = below;
		return t->hi < base ? -1 : 0;
	}
	/* base - (q + below / 2^64): borrow a unit for the part below. */
	q += below != 0;
	t->hi = base - q;
	t->lo = -below;
	return q > base ? -1 : 0;
}

static inline int vmc_t192_lt(const struct vmc_t192 *a, const struct vmc_t192 *b)
{
	return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

/*
 * From @c to @c + @w the time of a line grows by w * period / 2^shift,
 * exactly, when its signed counter distance does not wrap on the way
 * (|d| < 2^62, w <= 2^40) and no time leaves [0, 2^64) s (at @c below
 * 2^63 s; the growth is below 2^40 s).  Then two lines of one shift that
 * are in order at @c stay in order at @c + @w if the new one is not
 * slower, and otherwise iff their distance at @c covers
 * w * (slower period difference) / 2^shift: one product, not two
 * evaluations.
 */
static inline int vmc_linear(const struct vmclock_line *l, uint64_t c,
			     const struct vmc_t192 *t, uint64_t w)
{
	uint64_t d = c - l->counter_value;

	return w <= 1ull << 40 && d + (1ull << 62) < 1ull << 63 &&
	       !(uint64_t)(t->hi >> 127);
}

static inline int vmc_still_ahead(const struct vmc_t192 *to,
				  const struct vmc_t192 *tn, uint64_t po,
				  uint64_t pn, unsigned int s, uint64_t w)
{
	unsigned __int128 x, dhi, need_hi;
	uint64_t dlo, need_lo;

	if (pn >= po)
		return 1;
	/* tn - to, and w (po - pn) / 2^s, both in 2^-128 s. */
	dlo = tn->lo - to->lo;
	dhi = tn->hi - to->hi - (tn->lo < to->lo);
	x = (unsigned __int128)w * (po - pn);
	need_hi = x >> s;
	need_lo = (uint64_t)((uint64_t)x << 1) << (63 - s);
	return dhi > need_hi || (dhi == need_hi && dlo >= need_lo);
}

/*
 * 1 when @nl gives a time at or after @old's at both @c and @c + @window
 * (so over the whole window: the lines differ linearly), every time in
 * range; 0 when not so or not sure, for the exact check to decide.
 */
static inline int vmc_not_behind(const struct vmclock_line *old,
				 const struct vmclock_line *nl, uint64_t c,
				 uint64_t window)
{
	struct vmc_t192 to, tn;

	if (vmc_line_at(old, c, &to) || vmc_line_at(nl, c, &tn) ||
	    vmc_t192_lt(&tn, &to))
		return 0;
	if (old->shift == nl->shift && vmc_linear(old, c, &to, window) &&
	    vmc_linear(nl, c, &tn, window))
		return vmc_still_ahead(&to, &tn, old->period_frac,
				       nl->period_frac, nl->shift, window);
	c += window;
	if (vmc_line_at(old, c, &to) || vmc_line_at(nl, c, &tn) ||
	    vmc_t192_lt(&tn, &to))
		return 0;
	return 1;
}

#endif /* VMCLOCK_LIB_MONOTONIC_H */
