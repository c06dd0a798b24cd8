/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmclock_guest.h - state shared by the files of the vmclock_guest module.
 *
 * One struct vmclock_dev per VMClock device.  It is reference counted
 * because open files of /dev/vmclockN outlive an unbind: they keep the page
 * mapped and see -ENODEV/POLLHUP once the device is gone.
 */
#ifndef VMCLOCK_KMOD_VMCLOCK_GUEST_H
#define VMCLOCK_KMOD_VMCLOCK_GUEST_H

#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/ptp_clock_kernel.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <vmclock/vmclock-abi.h>

/* How long a reader waits for an odd seq_count to settle, as Linux 7.0. */
#define VMCLOCK_MAX_WAIT_MS 100

struct vmclock_dev {
	struct kref kref;
	struct device *dev;
	struct vmclock_abi *page;
	phys_addr_t phys;
	size_t map_size;
	u32 size;		/* the page's own size field */
	int index;
	char name[20];		/* "vmclockN": misc device and PTP clock */
	bool gone;		/* unbound; open files must not touch */
	bool notify_installed;
	bool misc_registered;
	wait_queue_head_t wq;
	struct miscdevice misc;
	struct ptp_clock_info ptp_info;
	struct ptp_clock *ptp;
	u8 counter_id;
	u8 time_type;
	struct work_struct gen_work;
	struct mutex gen_lock;	/* last_gen and gone */
	u64 last_gen;
};

/* vmclock_main.c */
int vmclock_snapshot(struct vmclock_dev *vd, struct vmclock_abi *out,
		     struct ptp_system_timestamp *sts, u64 *counter);
u32 vmclock_seq(const struct vmclock_dev *vd);
u64 vmclock_flags(const struct vmclock_dev *vd);
void vmclock_check_generation(struct vmclock_dev *vd);
void vmclock_put(struct vmclock_dev *vd);

/* vmclock_cdev.c */
int vmclock_cdev_register(struct vmclock_dev *vd);
void vmclock_cdev_unregister(struct vmclock_dev *vd);

/* vmclock_ptp.c */
int vmclock_ptp_register(struct vmclock_dev *vd);
void vmclock_ptp_unregister(struct vmclock_dev *vd);

#endif /* VMCLOCK_KMOD_VMCLOCK_GUEST_H */
