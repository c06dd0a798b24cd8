/* SPDX-License-Identifier: MIT */
/*
 * ref.h - the slow reference for the fuzzers: what a page says at a counter
 * value, computed from the ABI's formulas with the naive big integers of
 * tests/harness/bignum.h (no code shared with vmclock-arith.h).
 */
#ifndef VMCLOCK_FUZZ_REF_H
#define VMCLOCK_FUZZ_REF_H

#include <stdint.h>

#include "../tests/harness/bignum.h"

#define REF_U64_MAX    (~(uint64_t)0)
/* The reader's limit: seconds whose nanoseconds surely fit an int64_t. */
#define REF_SEC_MAX_NS 9223372035ull

/* A big integer as u64, or REF_U64_MAX when it does not fit. */
static inline uint64_t ref_sat(const struct bn *a)
{
	uint64_t v;

	return bn_to_u64(a, &v) ? v : REF_U64_MAX;
}

/*
 * ticks * rate * mul / 2^(64 + shift), rounded up (@up) or to nearest
 * (half up), saturating at REF_U64_MAX.
 */
static inline uint64_t ref_growth(uint64_t ticks, uint64_t rate,
				  unsigned int shift, uint32_t mul, int up)
{
	struct bn a = bn_u64(ticks), b = bn_u64(rate), v, half;
	int inexact;

	v = bn_mul(&a, &b);
	v = bn_mul_u32(v, mul);
	if (!up) {
		half = bn_shl(bn_u64(1), 63 + shift);
		v = bn_add(v, &half);
	}
	v = bn_shr(v, 64 + shift, &inexact);
	if (up && inexact) {
		struct bn one = bn_u64(1);

		v = bn_add(v, &one);
	}
	return ref_sat(&v);
}

/*
 * The exact time of a line at @counter, as ns: 0 with *ns set; -1 when it
 * falls before 0; -2 when its seconds reach 2^64; -3 when they exceed
 * REF_SEC_MAX_NS.  *ticks and *neg give the magnitude and sign of
 * counter - cv as a signed 64-bit difference.
 */
static inline int ref_time_ns(uint64_t cv, uint64_t period, unsigned int shift,
			      uint64_t sec, uint64_t frac, uint64_t counter,
			      int64_t *ns, uint64_t *ticks, int *neg)
{
	struct bn t = bn_shl(bn_u64(sec), 64), f = bn_u64(frac), x, a, b, s;
	uint64_t v;

	/* The counter delta is signed (docs/abi.md): it wraps at 2^63. */
	*neg = (counter - cv) >> 63 != 0;
	*ticks = *neg ? cv - counter : counter - cv;
	t = bn_add(t, &f);
	t = bn_shl(t, shift);
	a = bn_u64(*ticks);
	b = bn_u64(period);
	x = bn_mul(&a, &b);
	if (*neg) {
		if (bn_cmp(&x, &t) > 0)
			return -1;
		t = bn_sub(t, &x);
	} else {
		t = bn_add(t, &x);
	}
	s = bn_shr(t, 64 + shift, NULL);
	if (!bn_to_u64(&s, &v))
		return -2;
	if (v > REF_SEC_MAX_NS)
		return -3;
	t = bn_mul_u32(t, 1000000000u);
	t = bn_shr(t, 64 + shift, NULL);
	bn_to_u64(&t, &v);
	*ns = (int64_t)v;
	return 0;
}

#endif /* VMCLOCK_FUZZ_REF_H */
