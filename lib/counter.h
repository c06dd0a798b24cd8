/* SPDX-License-Identifier: MIT */
/*
 * counter.h - read this CPU's counter, ordered, inline.
 *
 * The read must not be hoisted above the sequence-lock load that opens the
 * window.  The instructions are vmclock_counter_ordered()'s, in the public
 * vmclock-fast.h, so that the library and the inline read of an
 * application are the same read.  Nothing else lives here.
 */
#ifndef VMCLOCK_LIB_COUNTER_H
#define VMCLOCK_LIB_COUNTER_H

#include <stdint.h>

#include <vmclock/vmclock-abi.h>
#include <vmclock/vmclock-fast.h>

#if defined(__x86_64__) || defined(__i386__)
#define VMC_COUNTER_NATIVE_ID VMCLOCK_COUNTER_X86_TSC
#elif defined(__aarch64__)
#define VMC_COUNTER_NATIVE_ID VMCLOCK_COUNTER_ARM_VCNT
#else
#define VMC_COUNTER_NATIVE_ID VMCLOCK_COUNTER_INVALID
#endif

/* With @tscp, by rdtscp (the CPU must have it); else lfence; rdtsc. */
static inline __attribute__((always_inline)) uint64_t vmc_counter_ordered(int tscp)
{
#ifdef VMCLOCK_COUNTER_INLINE
	return vmclock_counter_ordered(tscp);
#else
	(void)tscp;
	return 0;
#endif
}

/* The read every CPU of the kind has (lfence; rdtsc on x86). */
static inline __attribute__((always_inline)) uint64_t vmc_counter_native(void)
{
	return vmc_counter_ordered(0);
}

#endif /* VMCLOCK_LIB_COUNTER_H */
