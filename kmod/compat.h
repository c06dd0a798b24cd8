/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - every kernel-version and architecture difference vmclock_guest
 * meets, in one place.
 *
 * The module builds against Debian's 6.1 and 6.12 kernels and must keep
 * building against newer ones; the rest of the code calls the helpers here
 * and never tests LINUX_VERSION_CODE itself.
 */
#ifndef VMCLOCK_KMOD_COMPAT_H
#define VMCLOCK_KMOD_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/timekeeping.h>
#include <linux/clocksource_ids.h>
#include <linux/platform_device.h>

#include <vmclock/vmclock-abi.h>

/* platform_driver.remove returns void from 6.11. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
typedef void vmclock_remove_ret_t;
#define VMCLOCK_REMOVE_DONE return
#else
typedef int vmclock_remove_ret_t;
#define VMCLOCK_REMOVE_DONE return 0
#endif

/* vm_flags became read-only with accessors in 6.3. */
static inline void vmclock_vma_deny_write(struct vm_area_struct *vma)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, VM_MAYWRITE);
#else
	vma->vm_flags &= ~VM_MAYWRITE;
#endif
}

/*
 * add_vmfork_randomness() reseeds the crng at once, but random.c exports it
 * only when VMGENID is a module (Debian 6.12 builds it in, 6.1 leaves it
 * out); otherwise the generation is mixed in as device randomness.
 */
static inline const char *vmclock_feed_rng(const void *buf, size_t len)
{
#if IS_MODULE(CONFIG_VMGENID)
	add_vmfork_randomness(buf, len);
	return "add_vmfork_randomness";
#else
	add_device_randomness(buf, len);
	return "add_device_randomness";
#endif
}

/*
 * The CPU counter a page's calibration can refer to, and how to read it.
 * VMCLOCK_NATIVE_COUNTER is VMCLOCK_COUNTER_INVALID where there is none,
 * which leaves the module without a PTP clock.
 */
#if defined(CONFIG_X86_TSC)
#include <asm/tsc.h>
#define VMCLOCK_NATIVE_COUNTER VMCLOCK_COUNTER_X86_TSC
#define VMCLOCK_NATIVE_CSID CSID_X86_TSC
static inline u64 vmclock_read_counter(void)
{
	return rdtsc_ordered();
}

static inline bool vmclock_counter_unstable(void)
{
	return check_tsc_unstable();
}
#elif defined(CONFIG_ARM_ARCH_TIMER)
#include <asm/arch_timer.h>
#define VMCLOCK_NATIVE_COUNTER VMCLOCK_COUNTER_ARM_VCNT
#define VMCLOCK_NATIVE_CSID CSID_ARM_ARCH_COUNTER
static inline u64 vmclock_read_counter(void)
{
	return __arch_counter_get_cntvct();
}

static inline bool vmclock_counter_unstable(void)
{
	return false;
}
#else
#define VMCLOCK_NATIVE_COUNTER VMCLOCK_COUNTER_INVALID
static inline u64 vmclock_read_counter(void)
{
	return 0;
}

static inline bool vmclock_counter_unstable(void)
{
	return true;
}
#endif

/*
 * Until 6.9 system_counterval_t named its clocksource by pointer, and a
 * module cannot get at the TSC's: cross-timestamps need the cs_id form.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0) && \
	VMCLOCK_NATIVE_COUNTER != VMCLOCK_COUNTER_INVALID
#define VMCLOCK_HAVE_CROSSTSTAMP 1
static inline void vmclock_set_counterval(struct system_counterval_t *sc,
					  u64 cycles)
{
	/* A compound literal zeroes use_nsecs (6.10+) where it exists. */
	*sc = (struct system_counterval_t){
		.cycles = cycles,
		.cs_id = VMCLOCK_NATIVE_CSID,
	};
}
#else
#define VMCLOCK_HAVE_CROSSTSTAMP 0
#endif

#endif /* VMCLOCK_KMOD_COMPAT_H */
