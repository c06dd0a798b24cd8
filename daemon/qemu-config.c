// SPDX-License-Identifier: MIT
/*
 * qemu-config.c - vmclockctl qemu-config: what to give QEMU and the guest
 * kernel so that vmclockd can serve a guest its page, and the SSDT that
 * describes it (written by ssdt.c, never by hand).
 *
 *	vmclockctl qemu-config GUEST [mem=512M] [gpa=0x1f000000] [irq=3]
 *		[mailbox=0|ADDR] [ram=FILE] [qmp=SOCK] [ssdt=FILE]
 *
 * Runs without the daemon.  The page must be ordinary RAM below the
 * machine's low-RAM split (file offset == guest-physical address) and
 * clear of the firmware's tables: the default, 0x1f000000, suits 512 MiB
 * guests (never 0x1ffff000, which is vmgenid's buffer under SeaBIOS).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-config.h"
#include "qemu.h"
#include "ssdt.h"

struct qcfg {
	const char *name;
	uint64_t mem, gpa, mbox;
	uint32_t irq;
	char ram[256], qmp[256], ssdt[256];
};

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	int shift = 0;

	if (end == s)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	else if (*end)
		return -EINVAL;
	if (shift && end[1])
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int set_key(struct qcfg *c, const char *kv, FILE *err)
{
	const char *v = strchr(kv, '=');
	uint64_t n = 0;
	size_t k;

	if (!v)
		goto bad;
	k = (size_t)(v++ - kv);
#define KEY(s) (k == strlen(s) && !strncmp(kv, s, k))
	if (KEY("ram") || KEY("qmp") || KEY("ssdt")) {
		char *dst = KEY("ram") ? c->ram : KEY("qmp") ? c->qmp : c->ssdt;

		if (!*v || strlen(v) >= sizeof(c->ram))
			goto bad;
		strcpy(dst, v);
		return 0;
	}
	if (parse_size(v, &n))
		goto bad;
	if (KEY("mem"))
		c->mem = n;
	else if (KEY("gpa"))
		c->gpa = n;
	else if (KEY("mailbox"))
		c->mbox = n;
	else if (KEY("irq") && n <= 15)
		c->irq = (uint32_t)n;
	else
		goto bad;
#undef KEY
	return 0;
bad:
	fprintf(err, "vmclockctl qemu-config: bad argument \"%s\"\n", kv);
	return -EINVAL;
}

/* Page and mailbox inside RAM, below the split, page-aligned, apart. */
static int check(const struct qcfg *c, FILE *err)
{
	uint64_t top = c->mem < QEMU_LOWMEM_SAFE ? c->mem : QEMU_LOWMEM_SAFE;
	int bad = (c->gpa & 0xfff) || !c->gpa || c->gpa + 4096 > top ||
		  (c->mbox && ((c->mbox & 0xfff) || c->mbox + 4096 > top ||
			       c->mbox == c->gpa)) ||
		  c->irq == 2 || (c->gpa >= 0x1ffe0000 && c->gpa < 0x20000000);

	if (bad)
		fprintf(err, "vmclockctl qemu-config: gpa 0x%llx / mailbox 0x%llx / irq %u do not fit a %llu MiB guest (page-aligned, below %llu MiB, not SeaBIOS's 0x1ffe0000-0x1fffffff, irq 1-15 but 2, or 0)\n",
			(unsigned long long)c->gpa, (unsigned long long)c->mbox,
			c->irq, (unsigned long long)(c->mem >> 20),
			(unsigned long long)(top >> 20));
	return bad ? -EINVAL : 0;
}

static void print_memmap(const struct qcfg *c, FILE *out)
{
	if (c->mbox == c->gpa + 4096)
		fprintf(out, "memmap=8K$0x%llx\n", (unsigned long long)c->gpa);
	else if (c->mbox)
		fprintf(out, "memmap=4K$0x%llx memmap=4K$0x%llx\n",
			(unsigned long long)c->gpa,
			(unsigned long long)c->mbox);
	else
		fprintf(out, "memmap=4K$0x%llx\n", (unsigned long long)c->gpa);
}

static void print(const struct qcfg *c, FILE *out)
{
	fprintf(out, "# QEMU arguments for %s: VMClock page at 0x%llx", c->name,
		(unsigned long long)c->gpa);
	if (c->irq)
		fprintf(out, ", doorbell on ISA IRQ %u", c->irq);
	fprintf(out, "\n-M pc,memory-backend=vmclock-ram -m %lluM\n"
		"-object memory-backend-file,id=vmclock-ram,size=%lluM,mem-path=%s,share=on\n"
		"-acpitable file=%s\n",
		(unsigned long long)(c->mem >> 20),
		(unsigned long long)(c->mem >> 20), c->ram, c->ssdt);
	if (c->irq)
		fputs("-device pc-testdev\n", out);
	fprintf(out, "-qmp unix:%s,server=on,wait=off\n"
		"# guest kernel command line (keep the page from the kernel)\n",
		c->qmp);
	print_memmap(c, out);
	fprintf(out, "# then, once QEMU is up (add incoming=1 on a migration destination)\n"
		"vmclockctl add-qemu %s qmp=%s ram=%s gpa=0x%llx irq=%u",
		c->name, c->qmp, c->ram, (unsigned long long)c->gpa, c->irq);
	if (c->mbox)
		fprintf(out, " mailbox=0x%llx", (unsigned long long)c->mbox);
	fputc('\n', out);
}

int qemu_config_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct qcfg c = { .mem = 512ull << 20, .gpa = QEMU_DEFAULT_GPA,
			  .irq = QEMU_DEFAULT_IRQ };
	int i, ret;

	if (argc < 2 || strchr(argv[1], '=')) {
		fprintf(err, "usage: vmclockctl qemu-config GUEST [mem=512M] [gpa=ADDR] [irq=N] [mailbox=ADDR] [ram=FILE] [qmp=SOCK] [ssdt=FILE]\n");
		return 2;
	}
	c.name = argv[1];
	snprintf(c.ram, sizeof(c.ram), "/dev/shm/vmclock-%.200s.ram", c.name);
	snprintf(c.qmp, sizeof(c.qmp), "/run/vmclock/%.200s.qmp", c.name);
	snprintf(c.ssdt, sizeof(c.ssdt), "%.200s-vmclock.aml", c.name);
	for (i = 2; i < argc; i++)
		if (set_key(&c, argv[i], err))
			return 2;
	if (check(&c, err))
		return 2;
	ret = ssdt_write_file(c.ssdt, c.gpa, c.irq ? c.irq : SSDT_NO_IRQ);
	if (ret) {
		fprintf(err, "vmclockctl qemu-config: %s: %s\n", c.ssdt,
			strerror(-ret));
		return 1;
	}
	print(&c, out);
	return 0;
}
