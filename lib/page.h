/* SPDX-License-Identifier: MIT */
/*
 * page.h - the pure computation behind every read (page.c).
 */
#ifndef VMCLOCK_LIB_PAGE_H
#define VMCLOCK_LIB_PAGE_H

#include <vmclock/vmclock.h>
#include <vmclock/vmclock-arith.h>

/* The fields of a snapshot the time computation needs, in native order. */
struct vmc_page_view {
	uint32_t size;
	uint64_t flags;
	struct vmclock_line line;
};

void vmc_page_view(const struct vmclock_abi *pg, struct vmc_page_view *v);

/*
 * vmc_compute() - fill a reading from a consistent snapshot at @counter.
 * Return: 0 with time, or why there is none: -ENOTSUP (no precise time
 * usable) or -ERANGE (counter too far from the calibration).  The reading
 * is filled either way.
 */
int vmc_compute(const struct vmclock_abi *pg, uint64_t counter,
		uint32_t drift_ppb, struct vmclock_reading *out);

int vmc_precise_reason(const struct vmclock_abi *pg, const struct vmc_page_view *v);

#endif /* VMCLOCK_LIB_PAGE_H */
