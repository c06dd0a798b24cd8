// SPDX-License-Identifier: GPL-2.0
/*
 * vmclock_e2e_stub.c - a do-nothing driver that claims the VMClock ACPI
 * devices, standing in for an in-tree ptp_vmclock (which Debian's 6.1 and
 * 6.12 lack) so the e2e test can check that vmclock_guest leaves a device
 * another driver owns alone and says so.
 */
#include <linux/acpi.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/version.h>

static int stub_probe(struct platform_device *pdev)
{
	return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void stub_remove(struct platform_device *pdev)
{
}
#else
static int stub_remove(struct platform_device *pdev)
{
	return 0;
}
#endif

static const struct acpi_device_id stub_ids[] = {
	{ "AMZNC10C", 0 },
	{ "VMCLOCK", 0 },
	{}
};

static struct platform_driver stub_driver = {
	.probe = stub_probe,
	.remove = stub_remove,
	.driver = {
		.name = KBUILD_MODNAME,
		.acpi_match_table = stub_ids,
	},
};
module_platform_driver(stub_driver);

MODULE_DESCRIPTION("vmclock e2e: stand-in for another VMClock driver");
MODULE_LICENSE("GPL");
