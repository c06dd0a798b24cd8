/* SPDX-License-Identifier: MIT */
/*
 * page.h - the pure computation behind every read (page.c).
 */
#ifndef VMCLOCK_LIB_PAGE_H
#define VMCLOCK_LIB_PAGE_H

#include <vmclock/vmclock.h>
#include <vmclock/vmclock-arith.h>

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

#endif /* VMCLOCK_LIB_PAGE_H */
