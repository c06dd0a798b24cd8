/* SPDX-License-Identifier: MIT */
/*
 * bignum.h - a deliberately naive unsigned big integer (32-bit limbs,
 * schoolbook operations) for tests: the independent exact computation the
 * fixed-point arithmetic is checked against.  It shares no code and no
 * technique with vmclock-arith.h: no 128-bit types, no shifts of halves.
 */
#ifndef VMCLOCK_TESTS_HARNESS_BIGNUM_H
#define VMCLOCK_TESTS_HARNESS_BIGNUM_H

#include <stdint.h>
#include <string.h>

#define BN_LIMBS 16 /* 512 bits */

struct bn {
	uint32_t l[BN_LIMBS]; /* little-endian limbs */
};

static inline struct bn bn_u64(uint64_t v)
{
	struct bn r;

	memset(&r, 0, sizeof(r));
	r.l[0] = (uint32_t)v;
	r.l[1] = (uint32_t)(v >> 32);
	return r;
}

static inline int bn_cmp(const struct bn *a, const struct bn *b)
{
	int i;

	for (i = BN_LIMBS - 1; i >= 0; i--)
		if (a->l[i] != b->l[i])
			return a->l[i] < b->l[i] ? -1 : 1;
	return 0;
}

static inline struct bn bn_add(struct bn a, const struct bn *b)
{
	uint64_t c = 0;
	int i;

	for (i = 0; i < BN_LIMBS; i++) {
		c += (uint64_t)a.l[i] + b->l[i];
		a.l[i] = (uint32_t)c;
		c >>= 32;
	}
	return a;
}

/* a - b, for a >= b. */
static inline struct bn bn_sub(struct bn a, const struct bn *b)
{
	int64_t c = 0;
	int i;

	for (i = 0; i < BN_LIMBS; i++) {
		c += (int64_t)a.l[i] - (int64_t)b->l[i];
		a.l[i] = (uint32_t)c;
		c = c < 0 ? -1 : 0;
	}
	return a;
}

static inline struct bn bn_mul_u32(struct bn a, uint32_t m)
{
	uint64_t c = 0;
	int i;

	for (i = 0; i < BN_LIMBS; i++) {
		c += (uint64_t)a.l[i] * m;
		a.l[i] = (uint32_t)c;
		c >>= 32;
	}
	return a;
}

static inline struct bn bn_mul(const struct bn *a, const struct bn *b)
{
	struct bn r;
	int i, j;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < BN_LIMBS; i++) {
		uint64_t c = 0;

		for (j = 0; i + j < BN_LIMBS; j++) {
			c += (uint64_t)a->l[i] * b->l[j] + r.l[i + j];
			r.l[i + j] = (uint32_t)c;
			c >>= 32;
		}
	}
	return r;
}

/* a * 2^n: whole limbs, then the remaining bits. */
static inline struct bn bn_shl(struct bn a, unsigned int n)
{
	struct bn r;
	unsigned int w = n / 32, b = n % 32, i;

	memset(&r, 0, sizeof(r));
	for (i = w; i < BN_LIMBS; i++) {
		uint64_t v = (uint64_t)a.l[i - w] << b;

		if (b && i > w)
			v |= (uint64_t)a.l[i - w - 1] >> (32 - b);
		r.l[i] = (uint32_t)v;
	}
	return r;
}

/* floor(a / 2^n); *inexact set when non-zero bits were dropped. */
static inline struct bn bn_shr(struct bn a, unsigned int n, int *inexact)
{
	struct bn r;
	unsigned int w = n / 32, b = n % 32, i;
	int lost = 0;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < w && i < BN_LIMBS; i++)
		lost |= a.l[i] != 0;
	if (b && w < BN_LIMBS)
		lost |= (a.l[w] & ((1u << b) - 1)) != 0;
	for (i = 0; i + w < BN_LIMBS; i++) {
		uint64_t v = a.l[i + w] >> b;

		if (b && i + w + 1 < BN_LIMBS)
			v |= (uint64_t)a.l[i + w + 1] << (32 - b);
		r.l[i] = (uint32_t)v;
	}
	if (inexact)
		*inexact = lost;
	return r;
}

/* Fits in 64 bits? Then its value. */
static inline int bn_to_u64(const struct bn *a, uint64_t *v)
{
	int i;

	for (i = 2; i < BN_LIMBS; i++)
		if (a->l[i])
			return 0;
	*v = ((uint64_t)a->l[1] << 32) | a->l[0];
	return 1;
}

#endif /* VMCLOCK_TESTS_HARNESS_BIGNUM_H */
