// SPDX-License-Identifier: MIT
/*
 * lecheck.c - the same answers on every CPU: prints what libvmclock makes
 * of fixed little-endian page bytes, and the bytes its writer produces, so
 * that tests/cross/cross.sh can compare the output of an x86-64 build with
 * arm64 and big-endian s390x builds run under qemu-user.
 *
 *	lecheck            the report (text, one value a line)
 *	lecheck PAGEFILE   also evaluate that file at fixed counters
 *
 * Nothing here depends on the CPU: counters are given (read_at), never
 * read, and the writer's random first seq_count is printed relative to
 * itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-derived.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#define PAGE 4096

static union {
	struct vmclock_abi abi;
	uint8_t b[PAGE];
	uint64_t align;
} page;

static void put_le(size_t off, uint64_t v, size_t bytes)
{
	size_t i;

	for (i = 0; i < bytes; i++)
		page.b[off + i] = (uint8_t)(v >> (8 * i));
}

#define PUT(field, v)                                              \
	put_le(offsetof(struct vmclock_abi, field), (uint64_t)(v), \
	       sizeof(((struct vmclock_abi *)0)->field))

/* A precise UTC page with every field distinct, built byte by byte. */
static void build_page(void)
{
	memset(&page, 0, sizeof(page));
	PUT(magic, VMCLOCK_MAGIC);
	PUT(size, PAGE);
	PUT(version, 1);
	PUT(counter_id, VMCLOCK_COUNTER_X86_TSC);
	PUT(time_type, VMCLOCK_TIME_UTC);
	PUT(seq_count, 0x12345678);
	PUT(disruption_marker, 0x0102030405060708ull);
	PUT(flags, 0x3ff & ~VMCLOCK_FLAG_TIME_MONOTONIC);
	PUT(clock_status, VMCLOCK_STATUS_SYNCHRONIZED);
	PUT(leap_second_smearing_hint, VMCLOCK_SMEARING_UTC_SLS);
	PUT(tai_offset_sec, 37);
	PUT(leap_indicator, VMCLOCK_LEAP_PRE_POS);
	PUT(counter_period_shift, 29);
	PUT(counter_value, 0x0000123456789abcull);
	PUT(counter_period_frac_sec, 0x89705f4136b4a597ull);
	PUT(counter_period_esterror_rate_frac_sec, 0x89705f4136b4ull);
	PUT(counter_period_maxerror_rate_frac_sec, 0x89705f4136b4a5ull);
	PUT(time_sec, 1782863990ull);
	PUT(time_frac_sec, 0xfedcba9876543210ull);
	PUT(time_esterror_nanosec, 1234);
	PUT(time_maxerror_nanosec, 56789);
	PUT(vm_generation_counter, 0x1122334455667788ull);
}

static void print_reading(const char *tag, int err,
			  const struct vmclock_reading *rd)
{
	struct vmclock_utc utc;
	struct vmclock_civil cv;
	struct vmclock_smeared sm;

	printf("%s err=%d valid=0x%x counter=%" PRIu64 " time=%" PRId64
	       " tai=%" PRId64 " utc=%" PRId64 " max=%" PRIu64 " est=%" PRIu64
	       " earliest=%" PRId64 " latest=%" PRId64 "\n",
	       tag, err, rd->valid, rd->counter, rd->time_ns, rd->tai_ns,
	       rd->utc_ns, rd->maxerror_ns, rd->esterror_ns, rd->earliest_ns,
	       rd->latest_ns);
	printf("%s flags=0x%" PRIx64 " seq=%u marker=%" PRIu64 " gen=%" PRIu64
	       " events=0x%x tai_offset=%d status=%u leap=%u hint=%u"
	       " counter_id=%u time_type=%u\n",
	       tag, rd->flags, rd->seq_count, rd->disruption_marker,
	       rd->vm_generation_counter, rd->events, rd->tai_offset_sec,
	       rd->clock_status, rd->leap_indicator, rd->smearing_hint,
	       rd->counter_id, rd->time_type);
	if (!vmclock_reading_utc(rd, &utc) && !vmclock_utc_civil(&utc, &cv))
		printf("%s civil=%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%09u\n",
		       tag, cv.year, cv.month, cv.day, cv.hour, cv.min, cv.sec,
		       cv.nsec);
	if (!vmclock_reading_smeared(rd, rd->smearing_hint, &sm))
		printf("%s smeared=%" PRId64 " bounded=%d [%" PRId64
		       ", %" PRId64 "]\n",
		       tag, sm.time_ns, sm.bounded,
		       sm.bounded ? sm.earliest_ns : 0,
		       sm.bounded ? sm.latest_ns : 0);
}

static const uint64_t counters[] = {
	0,
	0x0000123456789abcull,
	0x0000123456789abcull + 1000000007ull,
	0x0000123456789abcull - 3000000000ull,
	0x0000123456789abcull + 9000000000ull,
	UINT64_MAX,
};

static void evaluate_reader(const char *what, struct vmclock_reader *r)
{
	struct vmclock_reading rd;
	char tag[64];
	size_t i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		snprintf(tag, sizeof(tag), "%s[%zu]", what, i);
		print_reading(tag, vmclock_reader_read_at(r, counters[i], &rd),
			      &rd);
	}
}

static void evaluate(const char *what, const volatile void *pg, size_t len)
{
	struct vmclock_reader *r = vmclock_reader_open_memory(pg, len);

	if (!r) {
		printf("%s open: %s\n", what, vmclock_reader_open_error());
		return;
	}
	evaluate_reader(what, r);
	vmclock_reader_close(r);
}

static uint32_t le_u32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* The writer's page bytes, seq_count given relative to the first one. */
static void writer_bytes(void)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_ARM_VCNT,
		.time_type = VMCLOCK_TIME_TAI,
		.size = PAGE,
	};
	struct vmclock_calibration cal = {
		.counter_value = 0xabcdef0123ull,
		.time_sec = 1700000000,
		.time_frac = 0x8000000000000001ull,
		.period_shift = 0,
		.period_esterror_rate = 3,
		.period_maxerror_rate = 0x10203,
		.time_esterror_ns = 0x0a0b0c,
		.time_maxerror_ns = 0x0d0e0f10,
		.valid = 0xf,
	};
	struct vmclock_writer *w;
	uint32_t seq0;
	size_t i;

	memset(&page, 0xa5, sizeof(page));
	w = vmclock_writer_create(&page, PAGE, &cfg);
	if (!w) {
		printf("writer: create failed\n");
		return;
	}
	seq0 = le_u32(&page.b[12]);
	vmclock_period_for_hz(24000000, &cal.period_frac, &cal.period_shift);
	vmclock_writer_set_calibration(w, &cal, NULL);
	vmclock_writer_set_tai_offset(w, -37, 1);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_FREERUNNING);
	vmclock_writer_set_leap(w, VMCLOCK_LEAP_POST_NEG);
	vmclock_writer_bump_disruption(w, 0x0102030405060708ull);
	vmclock_writer_bump_generation(w, 0x0a0b0c0d0e0f1011ull);
	/* seq_count as an offset from the first value, in the image. */
	put_le(12, le_u32(&page.b[12]) - seq0, 4);
	printf("writer bytes:");
	for (i = 0; i < sizeof(struct vmclock_abi); i++)
		printf("%s%02x", i % 16 ? "" : "\n  ", page.b[i]);
	printf("\n");
	evaluate("writer", &page, PAGE);
	vmclock_writer_destroy(w);
}

static void arith(void)
{
	uint64_t p;
	uint8_t s;
	int i;

	for (i = 1; i <= 4; i++) {
		uint64_t hz = 1000ull * 1000 * 1000 * (uint64_t)i / 3 + 17;

		vmclock_period_for_hz(hz, &p, &s);
		printf("period %" PRIu64 " Hz: 0x%016" PRIx64
		       " shift %u frac(%d)=0x%016" PRIx64 "\n",
		       hz, p, s, i * 123456789,
		       vmclock_nsec_to_frac((uint32_t)i * 123456789u));
	}
}

int main(int argc, char **argv)
{
	struct vmclock_reader *r;

	build_page();
	evaluate("page", &page, PAGE);
	/* A short page (size 0x58): no errors, no generation. */
	PUT(size, 0x58);
	evaluate("short", &page, 0x58);
	writer_bytes();
	arith();
	if (argc > 1) {
		r = vmclock_reader_open(argv[1]);
		if (!r) {
			printf("%s: %s\n", argv[1],
			       vmclock_reader_open_error());
			return 1;
		}
		evaluate_reader("file", r);
		vmclock_reader_close(r);
	}
	return 0;
}
