// SPDX-License-Identifier: MIT
/*
 * ssdt.c - generate the SSDT that describes the VMClock page to a guest.
 *
 * Two templates, compiled once by iasl from the ASL in docs/qemu.md: the
 * VCLK device in its own Scope (\_SB), and the doorbell GED in another, so
 * a table without a doorbell is the header and the first block.  The AML
 * has no pointers between the blocks, so concatenating them is enough;
 * the header's length and checksum are computed here, and the address and
 * IRQ are patched at fixed offsets that tests/unit/test_ssdt.c checks
 * against iasl -d.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ssdt.h"

#define HDR_LEN 36

/* Scope (\_SB) { Device (VCLK) { ... QWordMemory ... } } */
static const uint8_t vclk_block[] = {
	0x10, 0x45, 0x07, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x4c, 0x06,
	0x56, 0x43, 0x4c, 0x4b, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x41, 0x4d,
	0x5a, 0x4e, 0x43, 0x31, 0x30, 0x43, 0x00, 0x08, 0x5f, 0x43, 0x49, 0x44,
	0x0d, 0x56, 0x4d, 0x43, 0x4c, 0x4f, 0x43, 0x4b, 0x00, 0x08, 0x5f, 0x55,
	0x49, 0x44, 0x00, 0x14, 0x09, 0x5f, 0x53, 0x54, 0x41, 0x00, 0xa4, 0x0a,
	0x0f, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x33, 0x0a, 0x30, 0x8a, 0x2b,
	0x00, 0x00, 0x0d, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79, 0x00,
};
/* QWordMemory: _MIN and _MAX, little-endian, in vclk_block. */
#define VCLK_MIN_OFF 0x54
#define VCLK_MAX_OFF 0x5c

/* Scope (\_SB) { Device (VGED) { _HID ACPI0013, Interrupt, _EVT } } */
static const uint8_t ged_block[] = {
	0x10, 0x46, 0x05, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x4d, 0x04,
	0x56, 0x47, 0x45, 0x44, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x41, 0x43,
	0x50, 0x49, 0x30, 0x30, 0x31, 0x33, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44,
	0x01, 0x14, 0x09, 0x5f, 0x53, 0x54, 0x41, 0x00, 0xa4, 0x0a, 0x0f, 0x08,
	0x5f, 0x43, 0x52, 0x53, 0x11, 0x0e, 0x0a, 0x0b, 0x89, 0x06, 0x00, 0x03,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x79, 0x00, 0x14, 0x13, 0x5f, 0x45, 0x56,
	0x54, 0x09, 0x86, 0x5c, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x56, 0x43, 0x4c,
	0x4b, 0x0a, 0x80,
};
/* Extended Interrupt descriptor: the one interrupt number. */
#define GED_IRQ_OFF 0x3d

_Static_assert(HDR_LEN + sizeof(vclk_block) + sizeof(ged_block) <= SSDT_MAX,
	       "SSDT_MAX too small");

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Signature, revision 2, OEM "VMCLK"/"VMCLOCK", creator "VMCK" 1. */
static void header(uint8_t *p, uint32_t len)
{
	memcpy(p, "SSDT", 4);
	put_le(p + 4, len, 4);
	p[8] = 2;
	p[9] = 0;
	memcpy(p + 10, "VMCLK\0", 6);
	memcpy(p + 16, "VMCLOCK\0", 8);
	put_le(p + 24, 1, 4);
	memcpy(p + 28, "VMCK", 4);
	put_le(p + 32, 1, 4);
}

/* ISA IRQs a GED can own: not the cascade (2), and 1..15. */
static int irq_ok(uint32_t irq)
{
	return irq == SSDT_NO_IRQ || (irq >= 1 && irq <= 15 && irq != 2);
}

int ssdt_build(uint64_t gpa, uint32_t irq, uint8_t *buf, size_t len)
{
	size_t n = HDR_LEN + sizeof(vclk_block);
	uint8_t sum = 0;
	size_t i;

	if (!gpa || (gpa & 0xfff) || gpa > UINT64_MAX - 0xfff || !irq_ok(irq))
		return -EINVAL;
	if (irq != SSDT_NO_IRQ)
		n += sizeof(ged_block);
	if (!buf || len < n)
		return -ENOSPC;
	header(buf, (uint32_t)n);
	memcpy(buf + HDR_LEN, vclk_block, sizeof(vclk_block));
	put_le(buf + HDR_LEN + VCLK_MIN_OFF, gpa, 8);
	put_le(buf + HDR_LEN + VCLK_MAX_OFF, gpa + 0xfff, 8);
	if (irq != SSDT_NO_IRQ) {
		memcpy(buf + HDR_LEN + sizeof(vclk_block), ged_block,
		       sizeof(ged_block));
		put_le(buf + HDR_LEN + sizeof(vclk_block) + GED_IRQ_OFF, irq,
		       4);
	}
	buf[9] = 0;
	for (i = 0; i < n; i++)
		sum = (uint8_t)(sum + buf[i]);
	buf[9] = (uint8_t)(0x100 - sum);
	return (int)n;
}

int ssdt_write_file(const char *path, uint64_t gpa, uint32_t irq)
{
	uint8_t buf[SSDT_MAX];
	int n = ssdt_build(gpa, irq, buf, sizeof(buf));
	ssize_t w;
	int fd, ret = 0;

	if (n < 0)
		return n;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	w = write(fd, buf, (size_t)n);
	if (w != n)
		ret = w < 0 ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}
