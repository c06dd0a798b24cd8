/* SPDX-License-Identifier: MIT */
/*
 * page.h - the pure computation behind every read (page.c).
 */
#ifndef VMCLOCK_LIB_PAGE_H
#define VMCLOCK_LIB_PAGE_H

#include <vmclock/vmclock.h>
#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-fast.h>

/*
 * The page's line premultiplied into nanoseconds, for the hot path:
 *
 *	T(cv + d) = base_ns + (base_frac + d * P) / 2^64 ns,
 *	P = p_int * 2^64 + p_frac (+ bits below, dropped)
 *
 * with the error growths likewise as 2^-64 ns per tick.  The bits dropped
 * from P and the rates are below one unit per tick, so over d ticks they
 * add less than d units to the low word: whenever that word is further
 * than d from a rounding boundary, the floor (or ceiling, or nearest) is
 * the exact one, bit for bit.  The few readings that are not, and any
 * counter outside [cv, cv + d_max), take the exact path (vmc_eval()).
 * vmc_decode() chooses d_max so that nothing in that range overflows,
 * saturates, reaches the exact path's range limits or an announced leap.
 */
struct vmc_fast {
	uint64_t cv;	      /* counter_value */
	uint64_t d_max;	      /* 0: no fast path for this snapshot */
	int64_t base_ns;      /* floor(T(cv)) in the page's time scale */
	int64_t base_utc;     /* the same in UTC (when UTC is known) */
	uint64_t base_frac;   /* T(cv) below the nanosecond, 2^-64 ns */
	uint64_t p_int;	      /* whole ns per tick */
	uint64_t p_frac;      /* ns per tick below 1, 2^-64 ns */
	uint64_t max_k;	      /* max error growth, 2^-64 ns per tick */
	uint64_t max_k1;      /* max_k, plus 1 when it dropped bits */
	uint64_t est_k;	      /* est error growth, likewise */
	uint64_t max_inexact; /* ~0 when max_k dropped bits, else 0 */
	uint64_t est_inexact;
	int est_nearest;      /* the estimate rounds to nearest, else up */
	uint32_t valid;	      /* VMCLOCK_VALID_* of every fast reading */
	int64_t tai_adj;      /* TAI = time + this (with VMCLOCK_VALID_TAI) */
	int64_t utc_adj;      /* UTC = time + this (with VMCLOCK_VALID_UTC) */
	int64_t ref_adj;      /* earliest/latest around time + this */
};

/*
 * The bounded read's line over the whole fast range: UTC and its max error
 * continued back to counter 0, in 2^-64 ns modulo 2^128,
 *
 *	UTC(c) = (t + c * P) / 2^64,  maxerror(c) = (m + c * k1) / 2^64
 *
 * for c in [cv, cv + d_max), m holding 2^64 - 1 so that its high word is
 * the ceiling.  vmclock_reader_bounds() evaluates it (vmc_bline_eval());
 * applications evaluate its window of 2^32 ticks (struct vmclock_fastline,
 * vmc_fastline_window()).
 */
struct vmc_bline {
	uint8_t clock_status;
	uint64_t cv;
	uint64_t d_max;	    /* 0: the line answers nothing */
	uint64_t t_lo, t_hi;
	uint64_t p_frac, p_int; /* P: one tick in 2^-64 ns, bits below dropped */
	uint64_t m_lo, m_hi;
	uint64_t k1;	    /* the max error's growth per tick, rounded up */
	uint64_t k_inexact; /* ~0 when k1 was rounded up, else 0 */
	uint64_t tick_ns;
};

/*
 * A snapshot decoded once: everything a read needs that does not depend on
 * the counter.  The reader keeps one per handle and reuses it for as long as
 * seq_count does not move, so a read is then two loads of seq_count, the
 * counter, and vmc_eval().
 */
struct vmc_decoded {
	struct vmclock_reading tmpl; /* the page's fields; no time yet */
	struct vmclock_line line;
	int reason;		     /* 0, or -ENOTSUP: no precise time */
	int have_off;		     /* TAI_OFFSET_VALID */
	int64_t off_ns;		     /* tai_offset_sec in ns */
	int have_utc;		     /* UTC known: a UTC page, or TAI + offset */
	int64_t utc_adj_ns;	     /* UTC = time + this, unless @leap_utc */
	int leap_utc;		     /* TAI page near a leap: UTC by the rules */
	uint64_t max_base;	     /* time max error, or VMCLOCK_ERROR_UNKNOWN */
	uint64_t est_base;	     /* time est error, or VMCLOCK_ERROR_UNKNOWN */
	/* Growth factors: the rate per tick times 10^9 (or the drift in ppb). */
	struct vmclock_u128 max_k;
	struct vmclock_u128 est_k;
	int est_round;		     /* VMCLOCK_ROUND_NEAREST, or _UP as a max */
	/*
	 * One counter tick in ns, rounded up: a reading C means the instant
	 * lies in [T(C), T(C+1)), so the late side of the bound is one tick
	 * further out than the early side.
	 */
	uint64_t tick_ns;
	struct vmc_fast fast;
	/*
	 * The bounded read's line (vmclock-fast.h): UTC and the max error of
	 * @fast continued back to counter 0; d_max 0 when the page has no UTC
	 * or no max error.  The reader publishes windows of it to inline
	 * readers.
	 */
	struct vmc_bline bline;
};

/* Decode a consistent snapshot (little-endian bytes). */
void vmc_decode(const struct vmclock_abi *pg, uint32_t drift_ppb,
		struct vmc_decoded *d);

/*
 * vmc_eval() - a reading at @counter from a decoded snapshot.
 * Return: 0 with time, or why there is none: -ENOTSUP (no precise time
 * usable) or -ERANGE (counter too far from the calibration).  The reading
 * is filled either way; events are left 0.
 */
int vmc_eval(const struct vmc_decoded *d, uint64_t counter,
	     struct vmclock_reading *out);

/*
 * vmc_eval_bounds() - UTC and its bound at @counter from a decoded snapshot
 * that has UTC and a max error (the caller checked).
 * Return: 0, -ERANGE (counter too far), or -ENODATA (the bound overflows).
 */
int vmc_eval_bounds(const struct vmc_decoded *d, uint64_t counter,
		    struct vmclock_bounds *out);

/*
 * An error grown over @d ticks at @k (2^-64 ns per tick, @inexact ~0 when
 * bits were dropped from it), rounded up or to nearest as the exact path
 * rounds.  The dropped bits add less than @d (or exactly 0) to the low
 * word: *@ok is cleared when that could cross the rounding boundary.
 */
static inline __attribute__((always_inline)) uint64_t
vmc_fast_grow(uint64_t d, uint64_t k, uint64_t inexact, int nearest, int *ok)
{
	unsigned __int128 g = (unsigned __int128)d * k;
	uint64_t lo = (uint64_t)g, hi = (uint64_t)(g >> 64), slack = d & inexact;

	if (nearest) {
		*ok &= (lo >> 63) ? lo <= ~slack : lo + slack <= 1ull << 63;
		return hi + (lo >> 63);
	}
	*ok &= lo <= ~slack;
	return hi + ((lo | slack) != 0);
}

/*
 * @base plus the ceiling of a max error grown over @d ticks at @k1: the
 * rate in 2^-64 ns per tick, plus one unit when bits were dropped from it
 * (@inexact ~0).  Then d * k1 = d * k + d lies above the true product, by
 * less than d units, so the ceilings agree unless adding those d units
 * wrapped the low word: *@ok is cleared when it did.  The ceiling itself
 * is the high word of d * k1 + 2^64 - 1: one add with carry, folding
 * @base in.
 */
static inline __attribute__((always_inline)) uint64_t
vmc_fast_ceil(uint64_t d, uint64_t k1, uint64_t inexact, uint64_t base, int *ok)
{
	unsigned __int128 g = (unsigned __int128)d * k1;

	*ok &= (uint64_t)g >= (d & inexact);
	return (uint64_t)((g + ((unsigned __int128)base << 64 | VMCLOCK_U64_MAX)) >> 64);
}

/*
 * The time at counter distance @d, with @base in place of @f->base_ns (its
 * UTC, say): 1 when exact, 0 when the exact path must decide.  The bits
 * dropped from P add less than d units to the low word, so the floor is
 * exact unless they could carry out of it.
 */
static inline __attribute__((always_inline)) int
vmc_fast_time(const struct vmc_fast *f, uint64_t d, int64_t base, int64_t *t)
{
	unsigned __int128 p = (unsigned __int128)d * f->p_frac +
		((unsigned __int128)((uint64_t)base + d * f->p_int) << 64 | f->base_frac);

	*t = (int64_t)(uint64_t)(p >> 64);
	return (uint64_t)p <= ~d;
}

/*
 * vmc_bline_eval() - the bounded line at @counter: 1 with @out's times and
 * max error, the floor and the ceiling the exact path computes, whenever
 * the bits dropped from P and from the growth (less than one unit per
 * tick, so less than d units over d ticks) cannot carry across a
 * nanosecond; 0, @out untouched, when the exact path must decide.
 */
static inline __attribute__((always_inline)) int
vmc_bline_eval(const struct vmc_bline *b, uint64_t counter,
	       struct vmclock_bounds *out)
{
	uint64_t d = counter - b->cv;
	unsigned __int128 m = (unsigned __int128)counter * b->k1 +
		((unsigned __int128)b->m_hi << 64 | b->m_lo);
	unsigned __int128 t = (unsigned __int128)counter * b->p_frac +
		((unsigned __int128)(b->t_hi + counter * b->p_int) << 64 | b->t_lo);
	uint64_t utc = (uint64_t)(t >> 64), max = (uint64_t)(m >> 64);

	/*
	 * In range (unsigned: a counter before cv is out of it); the time's
	 * low word at least d below a carry; the max error's ceiling the same
	 * for the true growth, which lies within d units below c * k1: its
	 * low word (here one less, for the 2^64 - 1) is 0 or at least d.
	 */
	if (__builtin_expect(d >= b->d_max || (uint64_t)t > ~d ||
			     (uint64_t)m < ((d - 1) & b->k_inexact), 0))
		return 0;
	out->utc_ns = (int64_t)utc;
	out->maxerror_ns = max;
	out->earliest_ns = (int64_t)(utc - max);
	out->latest_ns = (int64_t)(utc + b->tick_ns + max);
	return 1;
}

/*
 * vmc_fast_bounds() - vmc_eval_bounds() on the fast path: the bounded
 * read's line (applications evaluate windows of it inline).
 * Return: 1 with @out filled, exactly as vmc_eval_bounds() would; 0 with
 * @out untouched when the exact path must decide, and always on a snapshot
 * without UTC or a max error (its line has d_max 0).
 */
static inline __attribute__((always_inline)) int
vmc_fast_bounds(const struct vmc_decoded *dc, uint64_t counter,
		struct vmclock_bounds *out)
{
	return vmc_bline_eval(&dc->bline, counter, out);
}

/*
 * vmc_fastline_window() - the inline readers' line: @b's window of the
 * counters whose high half is @hi.  Its checks are made for the window's
 * furthest counter D ticks from the calibration, so it answers every
 * counter there as vmc_bline_eval() does, or declines (near a rounding
 * boundary, within D rather than d units of it); at that furthest counter
 * it declines exactly where vmc_bline_eval() declines.  Fills every field
 * but @fl's seq, seq_value and tscp; lo_len 0 when the window holds none of
 * @b's range, or @b's tick is 1 ns or more.
 */
void vmc_fastline_window(const struct vmc_bline *b, uint32_t hi,
			 struct vmclock_fastline *fl);

/*
 * vmc_fast_eval() - vmc_eval() on the fast path
 * Return: 1 with @out filled exactly as vmc_eval() would (returning 0);
 * 0 with @out untouched when the exact path must decide.
 */
static inline __attribute__((always_inline)) int
vmc_fast_eval(const struct vmc_decoded *dc, uint64_t counter,
	      struct vmclock_reading *out)
{
	const struct vmc_fast *f = &dc->fast;
	uint64_t d = counter - f->cv, max, est;
	int64_t t, ref;
	int ok;

	if (__builtin_expect(d >= f->d_max, 0))
		return 0;
	ok = vmc_fast_time(f, d, f->base_ns, &t);
	max = vmc_fast_ceil(d, f->max_k1, f->max_inexact, dc->max_base, &ok);
	est = dc->est_base + vmc_fast_grow(d, f->est_k, f->est_inexact,
					   f->est_nearest, &ok);
	if (__builtin_expect(!ok, 0))
		return 0;
	*out = dc->tmpl;
	out->counter = counter;
	out->valid = f->valid;
	out->time_ns = t;
	if (f->valid & VMCLOCK_VALID_TAI)
		out->tai_ns = t + f->tai_adj;
	if (f->valid & VMCLOCK_VALID_UTC)
		out->utc_ns = t + f->utc_adj;
	if (f->valid & VMCLOCK_VALID_ESTERROR)
		out->esterror_ns = est;
	if (f->valid & VMCLOCK_VALID_MAXERROR) {
		ref = t + f->ref_adj;
		out->maxerror_ns = max;
		out->earliest_ns = ref - (int64_t)max;
		out->latest_ns = ref + (int64_t)(max + dc->tick_ns);
	}
	return 1;
}

#endif /* VMCLOCK_LIB_PAGE_H */
