/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * vmclock-arith.h - exact fixed-point arithmetic of the VMClock page.
 *
 * The one copy of the time arithmetic, shared by the reader, the writer, the
 * kernel module, the simulator and the fuzzers.  Header-only, integers only:
 * no libc calls, no floating point, no allocation, so it builds in the
 * kernel and in userspace alike.
 *
 * The page says that at counter reading C the time is
 *
 *	T(C) = time_sec + time_frac_sec / 2^64
 *	       + (C - counter_value) * counter_period_frac_sec / 2^(64 + shift)
 *
 * seconds.  vmclock_line_eval() computes T(C) exactly: the result keeps the
 * bits below 2^-64 s that the product produces, so the conversion to
 * nanoseconds is the floor of the exact value, not of a truncated one.  The
 * counter delta is signed: a reading taken slightly before counter_value
 * gives an earlier time, never one 2^64 ticks ahead.
 *
 * Error bounds round outward: a maximum error is rounded up, so it is never
 * understated; an estimated error is rounded to nearest.
 *
 * Functions return 0 or a negative errno (-EINVAL, -ERANGE) and never invoke
 * undefined behaviour, whatever the page holds.
 */
#ifndef VMCLOCK_VMCLOCK_ARITH_H
#define VMCLOCK_VMCLOCK_ARITH_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <stdint.h>
#include <errno.h>
#endif

#define VMCLOCK_NSEC_PER_SEC 1000000000u
#define VMCLOCK_U64_MAX	     (~(uint64_t)0)

/* Largest seconds value whose nanoseconds still fit in an int64_t. */
#define VMCLOCK_SEC_MAX_NS 9223372035ull

/* Default drift bound when the page has no valid period max error: 50 ppm. */
#define VMCLOCK_DEFAULT_DRIFT_PPB 50000u

/**
 * struct vmclock_u128 - an unsigned 128-bit value as two halves
 * @hi: bits 64..127.
 * @lo: bits 0..63.
 */
struct vmclock_u128 {
	uint64_t hi;
	uint64_t lo;
};

/**
 * struct vmclock_line - a calibration in native byte order
 * @counter_value: counter reading at @time_sec + @time_frac.
 * @period_frac: tick length in units of 2^-(64 + @shift) s.
 * @time_sec: seconds at @counter_value.
 * @time_frac: fraction of a second at @counter_value, units 2^-64 s.
 * @shift: counter_period_shift; valid values are 0..63.
 */
struct vmclock_line {
	uint64_t counter_value;
	uint64_t period_frac;
	uint64_t time_sec;
	uint64_t time_frac;
	uint8_t shift;
};

/**
 * struct vmclock_instant - an exact time
 * @sec: whole seconds.
 * @frac: fraction in units of 2^-64 s.
 * @rem: what lies below 2^-64 s, in units of 2^-(64 + @shift) s.
 * @shift: scale of @rem (0..63).
 *
 * The value is @sec + (@frac + @rem / 2^@shift) / 2^64 seconds.
 */
struct vmclock_instant {
	uint64_t sec;
	uint64_t frac;
	uint64_t rem;
	uint8_t shift;
};

/**
 * struct vmclock_span - the counter distance evaluated by vmclock_line_eval()
 * @ticks: |C - counter_value|.
 * @negative: 1 when C is before counter_value.
 */
struct vmclock_span {
	uint64_t ticks;
	int negative;
};

/* Rounding modes of vmclock_scale(). */
#define VMCLOCK_ROUND_DOWN    0
#define VMCLOCK_ROUND_UP      1
#define VMCLOCK_ROUND_NEAREST 2

/* (hi:lo) = a * b, exact. */
static inline struct vmclock_u128 vmclock_mul64(uint64_t a, uint64_t b)
{
	struct vmclock_u128 r;
#ifdef __SIZEOF_INT128__
	__extension__ typedef unsigned __int128 u128;
	u128 p = (u128)a * b;

	r.hi = (uint64_t)(p >> 64);
	r.lo = (uint64_t)p;
#else
	uint64_t al = a & 0xffffffffu, ah = a >> 32;
	uint64_t bl = b & 0xffffffffu, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);

	r.lo = (mid << 32) | (ll & 0xffffffffu);
	r.hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
	return r;
}

/* x >> s for s in 0..63. */
static inline struct vmclock_u128 vmclock_shr128(struct vmclock_u128 x,
						 unsigned int s)
{
	struct vmclock_u128 r;

	if (s == 0)
		return x;
	r.hi = x.hi >> s;
	r.lo = (x.lo >> s) | (x.hi << (64 - s));
	return r;
}

/* Low @s bits of @v, for s in 0..63. */
static inline uint64_t vmclock_low_bits(uint64_t v, unsigned int s)
{
	return s ? v & ((1ull << s) - 1) : 0;
}

/**
 * vmclock_scale() - (@x * @mul) / 2^@sh, rounded as asked, saturating
 * @x: a 128-bit value.
 * @mul: multiplier.
 * @sh: right shift, 0..127.
 * @round: VMCLOCK_ROUND_DOWN, _UP or _NEAREST (half up).
 *
 * Return: the result, or VMCLOCK_U64_MAX when it does not fit in 64 bits.
 */
static inline uint64_t vmclock_scale(struct vmclock_u128 x, uint32_t mul,
				     unsigned int sh, int round)
{
	struct vmclock_u128 a = vmclock_mul64(x.lo, mul);
	struct vmclock_u128 b = vmclock_mul64(x.hi, mul);
	uint64_t w0 = a.lo, w1 = a.hi + b.lo, w2 = b.hi + (w1 < a.hi);
	uint64_t q, below, half;
	int inexact;

	/* The 192-bit product is w2:w1:w0; w2 < 2^32 since mul < 2^32. */
	if (sh >= 64) {
		unsigned int s = sh - 64;

		if (s && (w2 >> s) != 0)
			return VMCLOCK_U64_MAX;
		if (!s && w2)
			return VMCLOCK_U64_MAX;
		q = s ? (w1 >> s) | (w2 << (64 - s)) : w1;
		below = vmclock_low_bits(w1, s);
		inexact = below != 0 || w0 != 0;
		half = s ? (w1 >> (s - 1)) & 1 : w0 >> 63;
	} else {
		if (w2 || (sh && (w1 >> sh) != 0) || (!sh && w1))
			return VMCLOCK_U64_MAX;
		q = sh ? (w0 >> sh) | (w1 << (64 - sh)) : w0;
		inexact = vmclock_low_bits(w0, sh) != 0;
		half = sh ? (w0 >> (sh - 1)) & 1 : 0;
	}
	if ((round == VMCLOCK_ROUND_UP && inexact) ||
	    (round == VMCLOCK_ROUND_NEAREST && half)) {
		if (q == VMCLOCK_U64_MAX)
			return VMCLOCK_U64_MAX;
		q++;
	}
	return q;
}

/* a + b, saturating at VMCLOCK_U64_MAX. */
static inline uint64_t vmclock_add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? VMCLOCK_U64_MAX : a + b;
}

/**
 * vmclock_line_eval() - the exact time a calibration gives a counter reading
 * @l: the calibration.
 * @counter: the counter reading.
 * @t: the time at @counter.
 * @span: |counter - l->counter_value| and its sign, for the error bounds.
 *
 * Return: 0; -EINVAL when l->shift > 63; -ERANGE when the time falls before
 * 0 or beyond 2^64 seconds.
 */
static inline int vmclock_line_eval(const struct vmclock_line *l,
				    uint64_t counter, struct vmclock_instant *t,
				    struct vmclock_span *span)
{
	uint64_t d = counter - l->counter_value, carry, frac;
	struct vmclock_u128 x, q;
	unsigned int s = l->shift;

	/* Outputs are defined on every path, errors included. */
	t->sec = 0;
	t->frac = 0;
	t->rem = 0;
	t->shift = 0;
	span->ticks = 0;
	span->negative = 0;
	if (s > 63)
		return -EINVAL;
	span->negative = (int)(d >> 63);
	span->ticks = span->negative ? l->counter_value - counter : d;
	x = vmclock_mul64(span->ticks, l->period_frac);
	q = vmclock_shr128(x, s);
	t->rem = vmclock_low_bits(x.lo, s);
	t->shift = (uint8_t)s;
	if (!span->negative) {
		frac = l->time_frac + q.lo;
		carry = frac < q.lo;
		t->sec = l->time_sec + q.hi + carry;
		if (t->sec < l->time_sec || (t->sec == l->time_sec && q.hi))
			return -ERANGE;
		t->frac = frac;
		return 0;
	}
	/* T1 - (q + rem/2^s): borrow one 2^-64 unit when rem is non-zero. */
	if (t->rem) {
		t->rem = (1ull << s) - t->rem;
		q.lo++;
		q.hi += q.lo == 0;
	}
	carry = l->time_frac < q.lo;
	t->frac = l->time_frac - q.lo;
	if (q.hi > l->time_sec || (q.hi == l->time_sec && carry))
		return -ERANGE;
	t->sec = l->time_sec - q.hi - carry;
	return 0;
}

/**
 * vmclock_instant_nsec() - nanoseconds within the second, floor of exact
 * @t: the time.
 *
 * Return: floor((@t->frac + @t->rem / 2^@t->shift) * 10^9 / 2^64), < 10^9.
 */
static inline uint32_t vmclock_instant_nsec(const struct vmclock_instant *t)
{
	struct vmclock_u128 p = vmclock_mul64(t->frac, VMCLOCK_NSEC_PER_SEC);
	struct vmclock_u128 lhs, rhs;
	uint64_t gap;

	/*
	 * p.hi is the floor without the remainder.  The remainder adds
	 * rem/2^s * 10^9 < 10^9 to the low word, so it can carry one more
	 * nanosecond only when the low word is within 10^9 of 2^64.
	 */
	if (__builtin_expect(!t->rem || p.lo <= VMCLOCK_U64_MAX - VMCLOCK_NSEC_PER_SEC, 1))
		return (uint32_t)p.hi;
	gap = 0 - p.lo; /* 2^64 - p.lo, in 1..10^9 */
	lhs = vmclock_mul64(t->rem, VMCLOCK_NSEC_PER_SEC);
	rhs = vmclock_mul64(gap, 1ull << t->shift);
	if (lhs.hi > rhs.hi || (lhs.hi == rhs.hi && lhs.lo >= rhs.lo))
		return (uint32_t)(p.hi + 1);
	return (uint32_t)p.hi;
}

/**
 * vmclock_instant_to_ns() - nanoseconds since the epoch, floor of exact
 * @t: the time.
 * @ns: the result.
 *
 * Return: 0, or -ERANGE when the result does not fit in an int64_t.
 */
static inline int vmclock_instant_to_ns(const struct vmclock_instant *t,
					int64_t *ns)
{
	if (t->sec > VMCLOCK_SEC_MAX_NS)
		return -ERANGE;
	*ns = (int64_t)(t->sec * VMCLOCK_NSEC_PER_SEC) +
	      (int64_t)vmclock_instant_nsec(t);
	return 0;
}

/**
 * vmclock_growth_factor() - an error rate premultiplied for vmclock_growth()
 * @rate: an error per tick, units 2^-(64 + shift) s.
 * @mul: 10^9 to turn @rate into ns; a drift in ppb when @rate is the period.
 *
 * Return: @rate * @mul (below 2^96): computed once per calibration, so each
 * read costs two multiplications instead of three.
 */
static inline struct vmclock_u128 vmclock_growth_factor(uint64_t rate,
							uint32_t mul)
{
	return vmclock_mul64(rate, mul);
}

/**
 * vmclock_growth() - an error rate applied over a counter distance
 * @ticks: |C - counter_value|.
 * @k: vmclock_growth_factor() of the rate.
 * @shift: counter_period_shift (0..63).
 * @round: VMCLOCK_ROUND_UP for a maximum, _NEAREST for an estimate.
 *
 * Return: ticks * k / 2^(64 + shift) in ns, rounded, saturating at
 * VMCLOCK_U64_MAX.
 */
static inline uint64_t vmclock_growth(uint64_t ticks, struct vmclock_u128 k,
				      unsigned int shift, int round)
{
	struct vmclock_u128 a = vmclock_mul64(ticks, k.lo);
	struct vmclock_u128 b = vmclock_mul64(ticks, k.hi);
	uint64_t w1 = a.hi + b.lo, w2 = b.hi + (w1 < a.hi), q;
	int bump;

	/* ticks * k is w2:w1:a.lo; the result is (w2:w1) >> shift. */
	if (shift ? (w2 >> shift) != 0 : w2 != 0)
		return VMCLOCK_U64_MAX;
	q = shift ? (w1 >> shift) | (w2 << (64 - shift)) : w1;
	if (round == VMCLOCK_ROUND_UP)
		bump = a.lo != 0 || vmclock_low_bits(w1, shift) != 0;
	else if (round == VMCLOCK_ROUND_NEAREST)
		bump = (int)(shift ? (w1 >> (shift - 1)) & 1 : a.lo >> 63);
	else
		bump = 0;
	if (bump && q == VMCLOCK_U64_MAX)
		return VMCLOCK_U64_MAX;
	return q + (uint64_t)bump;
}

/**
 * vmclock_growth_ns() - an error rate applied over a counter distance
 * @ticks: |C - counter_value|.
 * @rate: an error per tick, units 2^-(64 + @shift) s.
 * @shift: counter_period_shift (0..63).
 * @mul: 10^9 to turn @rate into ns; a drift in ppb when @rate is the period.
 * @round: VMCLOCK_ROUND_UP for a maximum, _NEAREST for an estimate.
 *
 * Return: ticks * rate * mul / 2^(64 + shift), rounded, saturating.
 */
static inline uint64_t vmclock_growth_ns(uint64_t ticks, uint64_t rate,
					 unsigned int shift, uint32_t mul,
					 int round)
{
	return vmclock_growth(ticks, vmclock_growth_factor(rate, mul), shift,
			      round);
}

/**
 * vmclock_div_u192() - floor(n / d) and the remainder, exact
 * @n: numerator, three words, n[0] the highest.
 * @d: divisor, non-zero.
 * @rem: remainder (may be NULL).
 *
 * One hardware division for a 64-bit divisor; otherwise bitwise long
 * division (up to 192 steps; the kernel build always takes this path).
 * Meant for producers, never for the read path.
 *
 * Return: the quotient, or VMCLOCK_U64_MAX with *@rem untouched when it needs
 * more than 64 bits or @d is zero.
 */
static inline uint64_t vmclock_div_u192(const uint64_t n[3],
					struct vmclock_u128 d,
					struct vmclock_u128 *rem)
{
	struct vmclock_u128 r = { 0, 0 };
	uint64_t q = 0;
	int i, top;

	if (!d.hi && !d.lo)
		return VMCLOCK_U64_MAX;
#if defined(__SIZEOF_INT128__) && !defined(__KERNEL__)
	/* A 64-bit divisor: one 128/64 division when the quotient fits. */
	if (!d.hi) {
		__extension__ typedef unsigned __int128 u128;
		u128 x = ((u128)n[1] << 64) | n[2];

		if (n[0] || n[1] >= d.lo)
			return VMCLOCK_U64_MAX;
		if (rem) {
			rem->hi = 0;
			rem->lo = (uint64_t)(x % d.lo);
		}
		return (uint64_t)(x / d.lo);
	}
#endif
	/* Leading zero bits of n leave r at 0: start at the first one. */
	for (i = 0; i < 191 && !((n[i / 64] >> (63 - i % 64)) & 1); i++)
		;
	for (; i < 192; i++) {
		uint64_t bit = (n[i / 64] >> (63 - i % 64)) & 1;

		top = (int)(r.hi >> 63);
		r.hi = (r.hi << 1) | (r.lo >> 63);
		r.lo = (r.lo << 1) | bit;
		if (q >> 63)
			return VMCLOCK_U64_MAX;
		q <<= 1;
		if (top || r.hi > d.hi || (r.hi == d.hi && r.lo >= d.lo)) {
			r.hi -= d.hi + (r.lo < d.lo);
			r.lo -= d.lo;
			q |= 1;
		}
	}
	if (rem)
		*rem = r;
	return q;
}

/**
 * vmclock_period_from_ns() - period fields for a measured tick rate
 * @ns: a duration in nanoseconds ...
 * @ticks: ... and the counter ticks it took.
 * @period: counter_period_frac_sec, rounded to nearest.
 * @shift: counter_period_shift: the largest (up to 63) that keeps the
 *	period below 2^64, which keeps the most significant bits.
 *
 * For a 1 GHz counter (ns == ticks) this gives shift 29 and period
 * 0x89705F4136B4A597.
 *
 * Return: 0; -EINVAL for zero arguments; -ERANGE when a tick is 1 s or
 * longer (no shift can represent it).
 */
static inline int vmclock_period_from_ns(uint64_t ns, uint64_t ticks,
					 uint64_t *period, uint8_t *shift)
{
	struct vmclock_u128 d = vmclock_mul64(ticks, VMCLOCK_NSEC_PER_SEC);
	struct vmclock_u128 r = { 0, 0 };
	int s;

	*period = 0;
	*shift = 0;

	if (!ns || !ticks)
		return -EINVAL;
	if (d.hi == 0 && ns >= d.lo)
		return -ERANGE;
	for (s = 63; s >= 0; s--) {
		/* n = ns * 2^(64 + s), split over three words. */
		uint64_t n[3] = { s ? ns >> (64 - s) : 0, ns << s, 0 };
		uint64_t q = vmclock_div_u192(n, d, &r);

		if (q == VMCLOCK_U64_MAX)
			continue;
		/* Round half up: 2r >= d. */
		if ((r.hi >> 63) || (r.hi << 1 | r.lo >> 63) > d.hi ||
		    ((r.hi << 1 | r.lo >> 63) == d.hi && r.lo << 1 >= d.lo)) {
			if (q == VMCLOCK_U64_MAX - 1)
				continue;
			q++;
		}
		*period = q;
		*shift = (uint8_t)s;
		return 0;
	}
	return -ERANGE;
}

/**
 * vmclock_period_for_hz() - period fields for a counter frequency
 * @hz: ticks per second, at least 2.
 * @period: counter_period_frac_sec.
 * @shift: counter_period_shift.
 *
 * Return: as vmclock_period_from_ns().
 */
static inline int vmclock_period_for_hz(uint64_t hz, uint64_t *period,
					uint8_t *shift)
{
	return vmclock_period_from_ns(VMCLOCK_NSEC_PER_SEC, hz, period, shift);
}

/**
 * vmclock_nsec_to_frac() - time_frac_sec for a nanosecond within a second
 * @nsec: 0..999999999.
 *
 * Return: ceil(nsec * 2^64 / 10^9): the smallest fraction whose floor in
 * nanoseconds is @nsec again.
 */
static inline uint64_t vmclock_nsec_to_frac(uint32_t nsec)
{
	uint64_t n[3] = { 0, nsec, 0 };
	struct vmclock_u128 d = { 0, VMCLOCK_NSEC_PER_SEC }, r = { 0, 0 };
	uint64_t q = vmclock_div_u192(n, d, &r);

	return q + (r.lo != 0);
}

/**
 * vmclock_instant_cmp() - compare two exact times
 * @a: a time.
 * @b: another.
 *
 * Return: -1, 0 or 1 as @a is earlier than, equal to or later than @b.
 */
static inline int vmclock_instant_cmp(const struct vmclock_instant *a,
				      const struct vmclock_instant *b)
{
	struct vmclock_u128 ra, rb;

	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	if (a->frac != b->frac)
		return a->frac < b->frac ? -1 : 1;
	/* rem_a / 2^sa vs rem_b / 2^sb: cross-multiply (both < 2^127). */
	ra = vmclock_mul64(a->rem, 1ull << b->shift);
	rb = vmclock_mul64(b->rem, 1ull << a->shift);
	if (ra.hi != rb.hi)
		return ra.hi < rb.hi ? -1 : 1;
	if (ra.lo != rb.lo)
		return ra.lo < rb.lo ? -1 : 1;
	return 0;
}

/**
 * vmclock_instant_gap() - how far @a is ahead of @b, rounded up
 * @a: the later time.
 * @b: the earlier time.
 *
 * Return: an upper bound of (@a - @b) in units of 2^-64 s (0 when @a is not
 * later), as a 128-bit value: the difference of the whole units plus one
 * unit for @a's remainder, saturating at 2^128 - 1.
 */
static inline struct vmclock_u128
vmclock_instant_gap(const struct vmclock_instant *a,
		    const struct vmclock_instant *b)
{
	struct vmclock_u128 g = { 0, 0 };

	if (vmclock_instant_cmp(a, b) <= 0)
		return g;
	g.lo = a->frac - b->frac;
	g.hi = a->sec - b->sec - (a->frac < b->frac);
	/* Round up for a's remainder, saturating rather than wrapping to 0. */
	if (a->rem && (g.lo != VMCLOCK_U64_MAX || g.hi != VMCLOCK_U64_MAX)) {
		g.lo++;
		g.hi += g.lo == 0;
	}
	return g;
}

#endif /* VMCLOCK_VMCLOCK_ARITH_H */
