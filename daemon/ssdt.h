/* SPDX-License-Identifier: MIT */
/*
 * ssdt.h - the ACPI table that shows a guest its VMClock page.
 *
 * QEMU before 10 has no VMClock device, but it loads any ACPI table given
 * with -acpitable.  vmclock generates that table itself: an SSDT with
 * \_SB.VCLK (_HID AMZNC10C, _CID VMCLOCK, _STA, _CRS QWordMemory read-only
 * over the page) and, optionally, a Generic Event Device (ACPI0013) on an
 * edge-triggered ISA IRQ whose _EVT does Notify (\_SB.VCLK, 0x80): the
 * doorbell vmclockd rings through QEMU's pc-testdev.  The bytes are what
 * iasl produces for the same ASL (docs/qemu.md shows it), with the address,
 * the IRQ, the length and the checksum filled in.
 */
#ifndef VMCLOCK_DAEMON_SSDT_H
#define VMCLOCK_DAEMON_SSDT_H

#include <stddef.h>
#include <stdint.h>

/* Room for the largest table ssdt_build() makes. */
#define SSDT_MAX 256
/* No doorbell device in the table. */
#define SSDT_NO_IRQ UINT32_MAX

/*
 * Build the table for a page at guest-physical @gpa (4 KiB aligned, not 0)
 * with a doorbell on @irq (an ISA IRQ, 1..15, not 2) or SSDT_NO_IRQ.
 * Return the table's length, or -EINVAL, or -ENOSPC when @len is short.
 */
int ssdt_build(uint64_t gpa, uint32_t irq, uint8_t *buf, size_t len);

/* Build the table and write it to @path (0644). Return 0 or -errno. */
int ssdt_write_file(const char *path, uint64_t gpa, uint32_t irq);

#endif /* VMCLOCK_DAEMON_SSDT_H */
