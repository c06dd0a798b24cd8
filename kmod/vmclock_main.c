// SPDX-License-Identifier: GPL-2.0
/*
 * vmclock_main.c - ACPI platform driver for the VMClock page.
 *
 * Binds to _HID AMZNC10C / _CID VMCLOCK for kernels that lack ptp_vmclock
 * or its later features, maps the page, and hands it to the misc device
 * (vmclock_cdev.c) and the PTP clock (vmclock_ptp.c).  Beyond Linux 7.0 it
 * installs the ACPI Notify handler whenever the device can be notified, so
 * a page that gains NOTIFICATION_PRESENT later still wakes pollers, and it
 * turns a new vm_generation_counter into an RNG reseed and a uevent.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/acpi.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <asm/barrier.h>

#include "compat.h"
#include "vmclock_guest.h"

static DEFINE_IDA(vmclock_ida);

u32 vmclock_seq(const struct vmclock_dev *vd)
{
	return le32_to_cpu(READ_ONCE(vd->page->seq_count));
}

u64 vmclock_flags(const struct vmclock_dev *vd)
{
	return le64_to_cpu(READ_ONCE(vd->page->flags));
}

/*
 * Copy the page under its seqlock, optionally reading the CPU counter (and
 * the system time around it) inside the same window, so the copy and the
 * counter belong together.  Fields beyond the page's size read as zero.
 */
int vmclock_snapshot(struct vmclock_dev *vd, struct vmclock_abi *out,
		     struct ptp_system_timestamp *sts, u64 *counter)
{
	ktime_t deadline = ktime_add_ms(ktime_get(), VMCLOCK_MAX_WAIT_MS);
	size_t len = min_t(size_t, vd->size, sizeof(*out));
	u32 seq;

	memset(out, 0, sizeof(*out));
	for (;;) {
		seq = vmclock_seq(vd);
		if (!(seq & 1)) {
			virt_rmb();
			memcpy(out, vd->page, len);
			if (counter) {
				ptp_read_system_prets(sts);
				*counter = vmclock_read_counter();
				ptp_read_system_postts(sts);
			}
			virt_rmb();
			if (vmclock_seq(vd) == seq)
				return 0;
		}
		if (ktime_after(ktime_get(), deadline))
			return -ETIMEDOUT;
		cpu_relax();
	}
}

static bool vmclock_has_generation(const struct vmclock_dev *vd, u64 flags)
{
	return VMCLOCK_FIELD_PRESENT(vd->size, vm_generation_counter) &&
	       (flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT);
}

/* A read saw the page: look for a new generation without blocking it. */
void vmclock_check_generation(struct vmclock_dev *vd)
{
	u64 gen;

	if (READ_ONCE(vd->gone) ||
	    !vmclock_has_generation(vd, vmclock_flags(vd)))
		return;
	gen = le64_to_cpu(READ_ONCE(vd->page->vm_generation_counter));
	if (gen != READ_ONCE(vd->last_gen))
		schedule_work(&vd->gen_work);
}

static void vmclock_announce_restore(struct vmclock_dev *vd, u64 gen,
				     u64 marker)
{
	char ev[] = "VMCLOCK_EVENT=restore";
	/* "VMCLOCK_VM_GENERATION_COUNTER=" + 20 digits + NUL is 51 bytes. */
	char gen_env[64], marker_env[64];
	char *envp[] = { ev, gen_env, marker_env, NULL };
	struct {
		__le64 gen;
		__le64 marker;
		u64 phys;
	} id = { cpu_to_le64(gen), cpu_to_le64(marker), vd->phys };
	const char *how;
	int ret;

	how = vmclock_feed_rng(&id, sizeof(id));
	snprintf(gen_env, sizeof(gen_env),
		 "VMCLOCK_VM_GENERATION_COUNTER=%llu", gen);
	snprintf(marker_env, sizeof(marker_env),
		 "VMCLOCK_DISRUPTION_MARKER=%llu", marker);
	ret = kobject_uevent_env(&vd->dev->kobj, KOBJ_CHANGE, envp);
	dev_info(vd->dev,
		 "%s: new vm generation %llu (marker %llu): fed to RNG with %s, uevent %s\n",
		 vd->name, gen, marker, how, ret ? "failed" : "sent");
}

static void vmclock_gen_work(struct work_struct *work)
{
	struct vmclock_dev *vd = container_of(work, struct vmclock_dev,
					      gen_work);
	struct vmclock_abi p;
	u64 gen;

	mutex_lock(&vd->gen_lock);
	if (vd->gone || vmclock_snapshot(vd, &p, NULL, NULL))
		goto out;
	if (!vmclock_has_generation(vd, le64_to_cpu(p.flags)))
		goto out;
	gen = le64_to_cpu(p.vm_generation_counter);
	if (gen == vd->last_gen)
		goto out;
	WRITE_ONCE(vd->last_gen, gen);
	vmclock_announce_restore(vd, gen, le64_to_cpu(p.disruption_marker));
out:
	mutex_unlock(&vd->gen_lock);
}

static void vmclock_release(struct kref *kref)
{
	struct vmclock_dev *vd = container_of(kref, struct vmclock_dev, kref);

	cancel_work_sync(&vd->gen_work);
	if (vd->page)
		memunmap(vd->page);
	if (vd->index >= 0)
		ida_free(&vmclock_ida, vd->index);
	kfree(vd);
}

void vmclock_put(struct vmclock_dev *vd)
{
	kref_put(&vd->kref, vmclock_release);
}

static int vmclock_validate(struct vmclock_dev *vd)
{
	u32 magic = le32_to_cpu(vd->page->magic);
	u16 version = le16_to_cpu(vd->page->version);

	vd->size = le32_to_cpu(vd->page->size);
	if (magic != VMCLOCK_MAGIC || version != 1) {
		dev_err(vd->dev, "bad magic %#x or version %u\n", magic,
			version);
		return -EINVAL;
	}
	if (vd->size < VMCLOCK_MIN_SIZE || vd->size > vd->map_size) {
		dev_err(vd->dev, "page size %u outside %zu..%zu\n", vd->size,
			(size_t)VMCLOCK_MIN_SIZE, vd->map_size);
		return -EINVAL;
	}
	vd->counter_id = vd->page->counter_id;
	vd->time_type = vd->page->time_type;
	return 0;
}

static int vmclock_map(struct platform_device *pdev, struct vmclock_dev *vd)
{
	struct resource *res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	struct device *dev = &pdev->dev;

	if (!res || platform_get_resource(pdev, IORESOURCE_MEM, 1)) {
		dev_err(dev, "need exactly one memory resource\n");
		return -EINVAL;
	}
	vd->map_size = resource_size(res);
	if (vd->map_size < VMCLOCK_MIN_SIZE) {
		dev_err(dev, "region %pR too small\n", res);
		return -EINVAL;
	}
	if (!devm_request_mem_region(dev, res->start, vd->map_size,
				     dev_name(dev))) {
		dev_err(dev, "region %pR busy\n", res);
		return -EBUSY;
	}
	vd->phys = res->start;
	vd->page = memremap(res->start, vd->map_size,
			    MEMREMAP_WB | MEMREMAP_DEC);
	if (!vd->page)
		return -ENOMEM;
	return vmclock_validate(vd);
}

/* Any notify value counts (the spec says 0x80); the page tells what. */
static void vmclock_acpi_notify(acpi_handle handle, u32 event, void *data)
{
	struct vmclock_dev *vd = data;

	wake_up_interruptible_all(&vd->wq);
	schedule_work(&vd->gen_work);
}

/*
 * Installed whether or not the page has NOTIFICATION_PRESENT now: a host
 * that starts notifying after a migration must still wake pollers.
 */
static int vmclock_notify_install(struct vmclock_dev *vd)
{
	acpi_handle handle = ACPI_HANDLE(vd->dev);
	acpi_status status;

	if (!handle)
		goto no_notify;
	status = acpi_install_notify_handler(handle, ACPI_DEVICE_NOTIFY,
					     vmclock_acpi_notify, vd);
	if (ACPI_SUCCESS(status)) {
		vd->notify_installed = true;
		return 0;
	}
no_notify:
	if (vmclock_flags(vd) & VMCLOCK_FLAG_NOTIFICATION_PRESENT) {
		dev_err(vd->dev, "notifications offered but not receivable\n");
		return -ENODEV;
	}
	return 0;
}

static void vmclock_notify_remove(struct vmclock_dev *vd)
{
	if (!vd->notify_installed)
		return;
	acpi_remove_notify_handler(ACPI_HANDLE(vd->dev), ACPI_DEVICE_NOTIFY,
				   vmclock_acpi_notify);
	vd->notify_installed = false;
}

static struct vmclock_dev *vmclock_alloc(struct device *dev)
{
	struct vmclock_dev *vd = kzalloc(sizeof(*vd), GFP_KERNEL);

	if (!vd)
		return NULL;
	kref_init(&vd->kref);
	vd->dev = dev;
	init_waitqueue_head(&vd->wq);
	mutex_init(&vd->gen_lock);
	INIT_WORK(&vd->gen_work, vmclock_gen_work);
	vd->index = ida_alloc(&vmclock_ida, GFP_KERNEL);
	if (vd->index < 0) {
		kfree(vd);
		return NULL;
	}
	snprintf(vd->name, sizeof(vd->name), "vmclock%d", vd->index);
	return vd;
}

static void vmclock_init_generation(struct vmclock_dev *vd)
{
	struct vmclock_abi p;

	if (!vmclock_snapshot(vd, &p, NULL, NULL))
		vd->last_gen = le64_to_cpu(p.vm_generation_counter);
}

static int vmclock_report_probe(struct vmclock_dev *vd)
{
	if (!vd->misc_registered && !vd->ptp) {
		dev_err(vd->dev, "neither a device node nor a clock\n");
		return -ENODEV;
	}
	dev_info(vd->dev, "%s: %pa size %u seq %u notify %s%s%s\n",
		 vd->name, &vd->phys, vd->size, vmclock_seq(vd),
		 vd->notify_installed ? "on" : "off",
		 vd->misc_registered ? ", /dev/" : "",
		 vd->misc_registered ? vd->name : "");
	return 0;
}

static int vmclock_probe(struct platform_device *pdev)
{
	struct vmclock_dev *vd = vmclock_alloc(&pdev->dev);
	int ret;

	if (!vd)
		return -ENOMEM;
	ret = vmclock_map(pdev, vd);
	if (ret)
		goto err_put;
	vmclock_init_generation(vd);
	platform_set_drvdata(pdev, vd);
	ret = vmclock_notify_install(vd);
	if (ret)
		goto err_put;
	ret = vmclock_cdev_register(vd);
	if (ret)
		goto err_notify;
	ret = vmclock_ptp_register(vd);
	if (ret)
		goto err_cdev;
	ret = vmclock_report_probe(vd);
	if (ret)
		goto err_ptp;
	return 0;

err_ptp:
	vmclock_ptp_unregister(vd);
err_cdev:
	vmclock_cdev_unregister(vd);
err_notify:
	vmclock_notify_remove(vd);
err_put:
	platform_set_drvdata(pdev, NULL);
	vmclock_put(vd);
	return ret;
}

static vmclock_remove_ret_t vmclock_remove(struct platform_device *pdev)
{
	struct vmclock_dev *vd = platform_get_drvdata(pdev);

	vmclock_notify_remove(vd);
	vmclock_ptp_unregister(vd);
	vmclock_cdev_unregister(vd);
	mutex_lock(&vd->gen_lock);
	WRITE_ONCE(vd->gone, true);
	mutex_unlock(&vd->gen_lock);
	wake_up_interruptible_all(&vd->wq);
	cancel_work_sync(&vd->gen_work);
	dev_info(&pdev->dev, "%s: unbound\n", vd->name);
	vmclock_put(vd);
	VMCLOCK_REMOVE_DONE;
}

static int vmclock_attr_page(struct device *dev, struct vmclock_abi *p)
{
	struct vmclock_dev *vd = dev_get_drvdata(dev);

	if (!vd)
		return -ENODEV;
	return vmclock_snapshot(vd, p, NULL, NULL);
}

static ssize_t disruption_marker_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	struct vmclock_abi p;
	int ret = vmclock_attr_page(dev, &p);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%llu\n", le64_to_cpu(p.disruption_marker));
}
static DEVICE_ATTR_RO(disruption_marker);

static ssize_t vm_generation_counter_show(struct device *dev,
					  struct device_attribute *attr,
					  char *buf)
{
	struct vmclock_abi p;
	int ret = vmclock_attr_page(dev, &p);

	if (ret)
		return ret;
	return sysfs_emit(buf, "%llu\n", le64_to_cpu(p.vm_generation_counter));
}
static DEVICE_ATTR_RO(vm_generation_counter);

static const char *const vmclock_status_names[] = {
	[VMCLOCK_STATUS_UNKNOWN] = "unknown",
	[VMCLOCK_STATUS_INITIALIZING] = "initializing",
	[VMCLOCK_STATUS_SYNCHRONIZED] = "synchronized",
	[VMCLOCK_STATUS_FREERUNNING] = "freerunning",
	[VMCLOCK_STATUS_UNRELIABLE] = "unreliable",
};

static ssize_t clock_status_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct vmclock_abi p;
	int ret = vmclock_attr_page(dev, &p);

	if (ret)
		return ret;
	if (p.clock_status < ARRAY_SIZE(vmclock_status_names))
		return sysfs_emit(buf, "%s\n",
				  vmclock_status_names[p.clock_status]);
	return sysfs_emit(buf, "%u\n", p.clock_status);
}
static DEVICE_ATTR_RO(clock_status);

static struct attribute *vmclock_attrs[] = {
	&dev_attr_disruption_marker.attr,
	&dev_attr_vm_generation_counter.attr,
	&dev_attr_clock_status.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vmclock);

static const struct acpi_device_id vmclock_acpi_ids[] = {
	{ "AMZNC10C", 0 },
	{ "VMCLOCK", 0 },
	{}
};
MODULE_DEVICE_TABLE(acpi, vmclock_acpi_ids);

static struct platform_driver vmclock_driver = {
	.probe = vmclock_probe,
	.remove = vmclock_remove,
	.driver = {
		.name = KBUILD_MODNAME,
		.acpi_match_table = vmclock_acpi_ids,
		.dev_groups = vmclock_groups,
	},
};

/* A device another driver (ptp_vmclock) holds is left alone; say so. */
static int vmclock_report_owner(struct device *dev, void *data)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	if (!acpi_match_device(vmclock_acpi_ids, dev) || !drv ||
	    drv == &vmclock_driver.driver)
		return 0;
	pr_info("%s is bound to %s; not binding\n", dev_name(dev), drv->name);
	return 0;
}

static int __init vmclock_init(void)
{
	int ret = platform_driver_register(&vmclock_driver);

	if (ret)
		return ret;
	bus_for_each_dev(&platform_bus_type, NULL, NULL, vmclock_report_owner);
	return 0;
}
module_init(vmclock_init);

static void __exit vmclock_exit(void)
{
	platform_driver_unregister(&vmclock_driver);
	ida_destroy(&vmclock_ida);
}
module_exit(vmclock_exit);

MODULE_DESCRIPTION("VMClock guest driver: device node, PTP clock, restores");
MODULE_AUTHOR("The vmclock project");
MODULE_LICENSE("GPL");
