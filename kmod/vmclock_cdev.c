// SPDX-License-Identifier: GPL-2.0
/*
 * vmclock_cdev.c - /dev/vmclockN with the user-visible semantics of Linux
 * 7.0's ptp_vmclock, plus the CVE-2026-80724 fix.
 *
 * mmap gives exactly one read-only page that mprotect() cannot make
 * writable.  read() copies at most one page under the seqlock and gives up
 * with -ETIMEDOUT after 100 ms.  Each open file remembers the seq_count of
 * its last successful read (0 at open, so never odd); poll() reports
 * POLLIN while the live seq_count differs from it, and POLLHUP when the
 * page does not promise notifications, so a caller never sleeps forever.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/barrier.h>

#include "compat.h"
#include "vmclock_guest.h"

struct vmclock_file {
	struct vmclock_dev *vd;
	atomic_t seq;
};

static int vmclock_open(struct inode *inode, struct file *file)
{
	struct miscdevice *misc = file->private_data;
	struct vmclock_dev *vd = container_of(misc, struct vmclock_dev, misc);
	struct vmclock_file *vf = kzalloc(sizeof(*vf), GFP_KERNEL);

	if (!vf)
		return -ENOMEM;
	kref_get(&vd->kref);
	vf->vd = vd;
	atomic_set(&vf->seq, 0);
	file->private_data = vf;
	return 0;
}

static int vmclock_release_file(struct inode *inode, struct file *file)
{
	struct vmclock_file *vf = file->private_data;

	vmclock_put(vf->vd);
	kfree(vf);
	return 0;
}

static ssize_t vmclock_read(struct file *file, char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct vmclock_file *vf = file->private_data;
	struct vmclock_dev *vd = vf->vd;
	ktime_t deadline = ktime_add_ms(ktime_get(), VMCLOCK_MAX_WAIT_MS);
	u32 seq;

	if (READ_ONCE(vd->gone))
		return -ENODEV;
	if (*ppos < 0)
		return -EINVAL;
	if (*ppos >= PAGE_SIZE)
		return 0;
	count = min_t(size_t, count, PAGE_SIZE - *ppos);
	for (;;) {
		/* Masking the low bit makes an odd seq_count fail the check. */
		seq = vmclock_seq(vd) & ~1u;
		virt_rmb();
		if (copy_to_user(buf, (char *)vd->page + *ppos, count))
			return -EFAULT;
		virt_rmb();
		if (vmclock_seq(vd) == seq)
			break;
		if (ktime_after(ktime_get(), deadline))
			return -ETIMEDOUT;
		cond_resched();
	}
	atomic_set(&vf->seq, seq);
	*ppos += count;
	vmclock_check_generation(vd);
	return count;
}

static __poll_t vmclock_poll(struct file *file, poll_table *wait)
{
	struct vmclock_file *vf = file->private_data;
	struct vmclock_dev *vd = vf->vd;

	if (READ_ONCE(vd->gone) || !vd->notify_installed ||
	    !(vmclock_flags(vd) & VMCLOCK_FLAG_NOTIFICATION_PRESENT))
		return EPOLLHUP;
	poll_wait(file, &vd->wq, wait);
	if (READ_ONCE(vd->gone))
		return EPOLLHUP;
	if ((u32)atomic_read(&vf->seq) != vmclock_seq(vd))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static int vmclock_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmclock_file *vf = file->private_data;
	struct vmclock_dev *vd = vf->vd;

	if (READ_ONCE(vd->gone))
		return -ENODEV;
	if ((vma->vm_flags & (VM_READ | VM_WRITE)) != VM_READ)
		return -EROFS;
	if (vma->vm_end - vma->vm_start != PAGE_SIZE || vma->vm_pgoff)
		return -EINVAL;
	/* Without this, mprotect(PROT_WRITE) could upgrade the mapping. */
	vmclock_vma_deny_write(vma);
	if (io_remap_pfn_range(vma, vma->vm_start, vd->phys >> PAGE_SHIFT,
			       PAGE_SIZE, vma->vm_page_prot))
		return -EAGAIN;
	return 0;
}

static const struct file_operations vmclock_fops = {
	.owner = THIS_MODULE,
	.open = vmclock_open,
	.release = vmclock_release_file,
	.read = vmclock_read,
	.poll = vmclock_poll,
	.mmap = vmclock_mmap,
};

/*
 * The node exposes a whole page, so only a page that fills one (and sits
 * on a page boundary) gets it; the PTP clock does not need it.
 */
int vmclock_cdev_register(struct vmclock_dev *vd)
{
	int ret;

	if (vd->size < PAGE_SIZE || vd->map_size < PAGE_SIZE ||
	    offset_in_page(vd->phys)) {
		dev_info(vd->dev, "page smaller than PAGE_SIZE: no /dev/%s\n",
			 vd->name);
		return 0;
	}
	vd->misc.minor = MISC_DYNAMIC_MINOR;
	vd->misc.name = vd->name;
	vd->misc.fops = &vmclock_fops;
	vd->misc.parent = vd->dev;
	ret = misc_register(&vd->misc);
	if (ret)
		return ret;
	vd->misc_registered = true;
	return 0;
}

void vmclock_cdev_unregister(struct vmclock_dev *vd)
{
	if (!vd->misc_registered)
		return;
	misc_deregister(&vd->misc);
	vd->misc_registered = false;
}
