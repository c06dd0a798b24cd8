/* SPDX-License-Identifier: MIT */
/*
 * counter.h - read this CPU's counter, ordered, inline.
 *
 * The read must not be hoisted above the sequence-lock load that opens the
 * window: on x86 lfence keeps rdtsc after the earlier loads, or rdtscp,
 * which waits for every earlier instruction itself and costs a little
 * less (rdtsc_ordered() in Linux makes the same choice); on arm64 isb keeps
 * the counter read after the earlier instructions.  Nothing else lives
 * here.
 */
#ifndef VMCLOCK_LIB_COUNTER_H
#define VMCLOCK_LIB_COUNTER_H

#include <stdint.h>

#include <vmclock/vmclock-abi.h>

#if defined(__x86_64__) || defined(__i386__)
#define VMC_COUNTER_NATIVE_ID VMCLOCK_COUNTER_X86_TSC
static inline __attribute__((always_inline)) uint64_t vmc_counter_native(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* As vmc_counter_native(); with @tscp, by rdtscp (the CPU must have it). */
static inline __attribute__((always_inline)) uint64_t vmc_counter_ordered(int tscp)
{
	uint32_t lo, hi, aux;

	if (!tscp)
		return vmc_counter_native();
	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	(void)aux;
	return ((uint64_t)hi << 32) | lo;
}
#elif defined(__aarch64__)
#define VMC_COUNTER_NATIVE_ID VMCLOCK_COUNTER_ARM_VCNT
static inline __attribute__((always_inline)) uint64_t vmc_counter_native(void)
{
	uint64_t v;

	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

static inline __attribute__((always_inline)) uint64_t vmc_counter_ordered(int tscp)
{
	(void)tscp;
	return vmc_counter_native();
}
#else
#define VMC_COUNTER_NATIVE_ID VMCLOCK_COUNTER_INVALID
static inline uint64_t vmc_counter_native(void)
{
	return 0;
}

static inline uint64_t vmc_counter_ordered(int tscp)
{
	(void)tscp;
	return 0;
}
#endif

#endif /* VMCLOCK_LIB_COUNTER_H */
