// SPDX-License-Identifier: MIT
/*
 * test_ssdt.c - the generated SSDT against ACPICA's own tools.
 *
 * Two independent checks of daemon/ssdt.c: iasl compiles the same ASL
 * (written here from the address and IRQ) and its AML body must match ours
 * byte for byte; and iasl -d decompiles our table, which must parse, have
 * a valid checksum and say what we meant (the HID, CID, range, ReadOnly,
 * the IRQ, the Notify).  Needs iasl (acpica-tools).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/test.h"
#include "../../daemon/ssdt.h"

static char dir[] = "/tmp/test_ssdt.XXXXXX";
static int dir_made;

__attribute__((destructor)) static void cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	/* mkdtemp() may well leave an X in the name: ask whether it ran. */
	if (dir_made && system(cmd))
		return;
}

static const char *workdir(void)
{

	if (!dir_made && mkdtemp(dir))
		dir_made = 1;
	return dir;
}

static int run(const char *cmd)
{
	char full[1024];

	snprintf(full, sizeof(full), "cd %s && %s >/dev/null 2>&1", workdir(),
		 cmd);
	return system(full);
}

static long slurp(const char *name, char *buf, size_t len)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", workdir(), name);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	return (long)n;
}

static void write_asl(uint64_t gpa, uint32_t irq)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ref.asl", workdir());
	f = fopen(path, "w");
	if (!f)
		return;
	fprintf(f, "DefinitionBlock (\"\", \"SSDT\", 2, \"VMCLK\", \"VMCLOCK\", 1)\n{\n"
		"Scope (\\_SB) { Device (VCLK) {\n"
		"Name (_HID, \"AMZNC10C\")\nName (_CID, \"VMCLOCK\")\nName (_UID, Zero)\n"
		"Method (_STA, 0, NotSerialized) { Return (0x0F) }\n"
		"Name (_CRS, ResourceTemplate () {\n"
		"QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed,\n"
		"Cacheable, ReadOnly, 0, 0x%llx, 0x%llx, 0, 0x1000,,,,\n"
		"AddressRangeMemory, TypeStatic) }) } }\n",
		(unsigned long long)gpa, (unsigned long long)gpa + 0xfff);
	if (irq != SSDT_NO_IRQ)
		fprintf(f, "Scope (\\_SB) { Device (VGED) {\n"
			"Name (_HID, \"ACPI0013\")\nName (_UID, One)\n"
			"Method (_STA, 0, NotSerialized) { Return (0x0F) }\n"
			"Name (_CRS, ResourceTemplate () {\n"
			"Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive,,,) { %u } })\n"
			"Method (_EVT, 1, Serialized) { Notify (\\_SB.VCLK, 0x80) } } }\n",
			irq);
	fputs("}\n", f);
	fclose(f);
}

/* iasl's AML for the same ASL, from the end of the header on. */
static void check_against_iasl(uint64_t gpa, uint32_t irq)
{
	uint8_t ours[SSDT_MAX];
	static char ref[4096];
	int n = ssdt_build(gpa, irq, ours, sizeof(ours));
	long m;

	REQUIRE(n > 36);
	write_asl(gpa, irq);
	REQUIRE(run("iasl -p ref ref.asl") == 0);
	m = slurp("ref.aml", ref, sizeof(ref));
	CHECK_EQ_INT(m, n);
	REQUIRE(m == n);
	/* The header up to the creator fields, but for the checksum. */
	CHECK(!memcmp(ours, ref, 9));
	CHECK(!memcmp(ours + 10, ref + 10, 18));
	CHECK(!memcmp(ours + 36, ref + 36, (size_t)n - 36));
}

TEST(matches_iasl_with_doorbell)
{
	check_against_iasl(0x1f000000, 3);
	check_against_iasl(0xfeffb000, 7);
}

TEST(matches_iasl_without_doorbell)
{
	check_against_iasl(0x1f000000, SSDT_NO_IRQ);
	check_against_iasl(0x123456789000ull, SSDT_NO_IRQ);
}

static int has(const char *text, const char *want)
{
	int ok = strstr(text, want) != NULL;

	if (!ok)
		test_fail(__FILE__, __LINE__, "iasl -d output lacks \"%s\"",
			  want);
	return ok;
}

TEST(decompiles_with_iasl_d)
{
	static char dsl[16384];
	char path[256];

	snprintf(path, sizeof(path), "%s/ours.aml", workdir());
	REQUIRE(ssdt_write_file(path, 0x1f000000, 3) == 0);
	REQUIRE(run("iasl -d ours.aml") == 0);
	REQUIRE(slurp("ours.dsl", dsl, sizeof(dsl)) > 0);
	has(dsl, "Checksum         0x");
	CHECK(!strstr(dsl, "Incorrect checksum"));
	has(dsl, "Device (VCLK)");
	has(dsl, "Name (_HID, \"AMZNC10C\")");
	has(dsl, "Name (_CID, \"VMCLOCK\")");
	has(dsl, "Method (_STA, 0, NotSerialized)");
	has(dsl, "Cacheable, ReadOnly,");
	has(dsl, "0x000000001F000000, // Range Minimum");
	has(dsl, "0x000000001F000FFF, // Range Maximum");
	has(dsl, "0x0000000000001000, // Length");
	has(dsl, "Name (_HID, \"ACPI0013\"");
	has(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive");
	has(dsl, "0x00000003,");
	has(dsl, "Notify (\\_SB.VCLK, 0x80)");
}

TEST(checksum_sums_to_zero)
{
	uint8_t t[SSDT_MAX];
	uint32_t irqs[] = { SSDT_NO_IRQ, 1, 3, 7, 15 };
	unsigned int i;
	int n, k;
	uint8_t sum;

	for (i = 0; i < sizeof(irqs) / sizeof(irqs[0]); i++) {
		uint64_t gpa = (test_rand() & 0xfffffffffff000ull) | 0x1000;

		n = ssdt_build(gpa, irqs[i], t, sizeof(t));
		REQUIRE(n > 0);
		for (sum = 0, k = 0; k < n; k++)
			sum = (uint8_t)(sum + t[k]);
		CHECK_EQ_INT(sum, 0);
		CHECK_EQ_INT(t[4] | t[5] << 8, n);
	}
}

TEST(bad_arguments_refused)
{
	uint8_t t[SSDT_MAX];

	CHECK_EQ_INT(ssdt_build(0, 3, t, sizeof(t)), -EINVAL);
	CHECK_EQ_INT(ssdt_build(0x1f000800, 3, t, sizeof(t)), -EINVAL);
	CHECK(ssdt_build(UINT64_MAX & ~0xfffull, 3, t, sizeof(t)) > 0);
	CHECK_EQ_INT(ssdt_build(0x1f000000, 0, t, sizeof(t)), -EINVAL);
	CHECK_EQ_INT(ssdt_build(0x1f000000, 2, t, sizeof(t)), -EINVAL);
	CHECK_EQ_INT(ssdt_build(0x1f000000, 16, t, sizeof(t)), -EINVAL);
	CHECK_EQ_INT(ssdt_build(0x1f000000, 3, t, 100), -ENOSPC);
	CHECK_EQ_INT(ssdt_build(0x1f000000, 3, NULL, 0), -ENOSPC);
	CHECK(ssdt_write_file("/nonexistent/dir/x.aml", 0x1f000000, 3) ==
	      -ENOENT);
}
