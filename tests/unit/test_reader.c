// SPDX-License-Identifier: MIT
/*
 * test_reader.c - the guest reader: opening and validating pages, the
 * sequence lock (stuck writers, updates racing a read), size-gated fields,
 * error bounds under every combination of VALID flags, TAI/UTC, strict
 * reads and events, and the inline bounded read (vmclock-fast.h).
 *
 * Pages are built here field by field, independently of the writer, and
 * expected values come from vmclock-arith.h's primitives checked in
 * test_arith.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-fast.h>
#include <vmclock/vmclock.h>

#include "../harness/test.h"

#define NS 1000000000ll

static union {
	struct vmclock_abi abi;
	uint8_t bytes[4096];
} page __attribute__((aligned(4096)));

/* A precise-mode page: 1 GHz TSC, TAI 1.7e9 s at counter 10^12. */
static void make_page(uint64_t flags)
{
	uint64_t period;
	uint8_t shift;

	memset(&page, 0, sizeof(page));
	page.abi.magic = VMCLOCK_MAGIC;
	page.abi.size = 4096;
	page.abi.version = 1;
	page.abi.counter_id = VMCLOCK_COUNTER_X86_TSC;
	page.abi.time_type = VMCLOCK_TIME_TAI;
	page.abi.seq_count = 2;
	page.abi.disruption_marker = 7;
	page.abi.flags = flags;
	page.abi.clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	page.abi.tai_offset_sec = 37;
	vmclock_period_for_hz(1000000000, &period, &shift);
	page.abi.counter_period_shift = shift;
	page.abi.counter_value = 1000000000000ull;
	page.abi.counter_period_frac_sec = period;
	/* 10 ppm and 1 ppm of the period. */
	page.abi.counter_period_maxerror_rate_frac_sec = period / 100000;
	page.abi.counter_period_esterror_rate_frac_sec = period / 1000000;
	page.abi.time_sec = 1700000000;
	page.abi.time_frac_sec = 1ull << 63; /* .5 s */
	page.abi.time_esterror_nanosec = 100;
	page.abi.time_maxerror_nanosec = 1000;
	page.abi.vm_generation_counter = 3;
}

#define ALL_ERRORS                                                          \
	(VMCLOCK_FLAG_PERIOD_ESTERROR_VALID | VMCLOCK_FLAG_PERIOD_MAXERROR_VALID | \
	 VMCLOCK_FLAG_TIME_ESTERROR_VALID | VMCLOCK_FLAG_TIME_MAXERROR_VALID)
#define PRECISE (ALL_ERRORS | VMCLOCK_FLAG_TAI_OFFSET_VALID)

static struct vmclock_reader *open_page(void)
{
	struct vmclock_reader *r = vmclock_reader_open_memory(&page, sizeof(page));

	if (!r)
		test_fail(__FILE__, __LINE__, "open_memory: %s",
			  vmclock_reader_open_error());
	return r;
}

TEST(reads_precise_time_at_counter)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	/* 1.5e9 ticks later: 1.5 s less the period's rounding (floor). */
	REQUIRE(vmclock_reader_read_at(r, 1000000000000ull + 1500000000ull, &rd) == 0);
	CHECK(rd.valid & VMCLOCK_VALID_TAI);
	CHECK(rd.valid & VMCLOCK_VALID_UTC);
	CHECK_EQ_INT(rd.tai_ns, 1700000002 * NS - 1);
	CHECK_EQ_INT(rd.utc_ns, rd.tai_ns - 37 * NS);
	/* 1000 ns + ceil(1.5e9 ticks * 10 ppm) = 1000 + 15000. */
	CHECK_EQ_U64(rd.maxerror_ns, 16000);
	CHECK_EQ_U64(rd.esterror_ns, 100 + 1500);
	CHECK_EQ_INT(rd.earliest_ns, rd.utc_ns - 16000);
	/* The late side includes the tick the reading fell in: 1 ns here. */
	CHECK_EQ_INT(rd.latest_ns, rd.utc_ns + 16000 + 1);
	CHECK_EQ_U64(rd.seq_count, 2);
	CHECK_EQ_U64(rd.disruption_marker, 7);
	CHECK_EQ_U64(rd.vm_generation_counter, 3);
	CHECK_EQ_INT(rd.events, 0);
	vmclock_reader_close(r);
}

TEST(counter_before_calibration_is_earlier)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, 1000000000000ull - 500000000ull, &rd) == 0);
	CHECK_EQ_INT(rd.tai_ns, 1700000000 * NS);
	CHECK_EQ_U64(rd.maxerror_ns, 1000 + 5000);
	vmclock_reader_close(r);
}

/* Each of the 16 combinations of the four error VALID flags. */
TEST(error_valid_flag_combinations)
{
	const uint64_t ticks = 2000000000ull; /* 2 s at 1 GHz */
	unsigned int combo;

	for (combo = 0; combo < 16; combo++) {
		uint64_t flags = VMCLOCK_FLAG_TAI_OFFSET_VALID, max, est, drift;
		struct vmclock_reader *r;
		struct vmclock_reading rd;

		flags |= (uint64_t)combo << 3; /* bits 3..6 are the four flags */
		make_page(flags);
		r = open_page();
		REQUIRE(r);
		vmclock_reader_set_drift(r, 20000); /* 20 ppm fallback */
		REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value + ticks, &rd) == 0);
		max = 20000; /* 10 ppm of 2 s */
		est = 2000;  /* 1 ppm */
		drift = vmclock_growth_ns(ticks, page.abi.counter_period_frac_sec,
					  page.abi.counter_period_shift, 20000,
					  VMCLOCK_ROUND_UP);
		CHECK(drift >= 40000 && drift <= 40001);
		if (!(flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID))
			max = drift;
		if (!(flags & VMCLOCK_FLAG_PERIOD_ESTERROR_VALID))
			est = max;
		if (flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) {
			CHECK(rd.valid & VMCLOCK_VALID_MAXERROR);
			CHECK_EQ_U64(rd.maxerror_ns, 1000 + max);
		} else {
			CHECK(!(rd.valid & VMCLOCK_VALID_MAXERROR));
			CHECK_EQ_U64(rd.maxerror_ns, VMCLOCK_ERROR_UNKNOWN);
		}
		if (flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID) {
			CHECK(rd.valid & VMCLOCK_VALID_ESTERROR);
			CHECK_EQ_U64(rd.esterror_ns, 100 + est);
		} else {
			CHECK_EQ_U64(rd.esterror_ns, VMCLOCK_ERROR_UNKNOWN);
		}
		vmclock_reader_close(r);
	}
}

TEST(tai_and_utc_with_and_without_offset)
{
	const uint8_t types[2] = { VMCLOCK_TIME_TAI, VMCLOCK_TIME_UTC };
	int i, valid;

	for (i = 0; i < 2; i++) {
		for (valid = 0; valid < 2; valid++) {
			struct vmclock_reader *r;
			struct vmclock_reading rd;

			make_page(ALL_ERRORS | (valid ? VMCLOCK_FLAG_TAI_OFFSET_VALID : 0));
			page.abi.time_type = types[i];
			r = open_page();
			REQUIRE(r);
			REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value, &rd) == 0);
			CHECK_EQ_INT(rd.time_ns, 1700000000 * NS + NS / 2);
			if (types[i] == VMCLOCK_TIME_TAI) {
				CHECK_EQ_INT(rd.tai_ns, rd.time_ns);
				CHECK_EQ_INT(!!(rd.valid & VMCLOCK_VALID_UTC), valid);
				if (valid)
					CHECK_EQ_INT(rd.utc_ns, rd.time_ns - 37 * NS);
			} else {
				CHECK_EQ_INT(rd.utc_ns, rd.time_ns);
				CHECK_EQ_INT(!!(rd.valid & VMCLOCK_VALID_TAI), valid);
				if (valid)
					CHECK_EQ_INT(rd.tai_ns, rd.time_ns + 37 * NS);
			}
			vmclock_reader_close(r);
		}
	}
}

/* Negative offsets are two's complement in a little-endian u16. */
TEST(negative_tai_offset_is_signed)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	page.abi.tai_offset_sec = (uint16_t)-3600;
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value, &rd) == 0);
	CHECK_EQ_INT(rd.tai_offset_sec, -3600);
	CHECK_EQ_INT(rd.utc_ns, rd.tai_ns + 3600 * NS);
	vmclock_reader_close(r);
}

TEST(fields_beyond_size_are_absent)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	/* Without vm_generation_counter (size 104). */
	make_page(PRECISE);
	page.abi.size = 104;
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value, &rd) == 0);
	CHECK_EQ_U64(rd.vm_generation_counter, 0);
	CHECK(rd.valid & VMCLOCK_VALID_MAXERROR);
	vmclock_reader_close(r);
	/* Without time_maxerror_nanosec: no max error, whatever the flag. */
	page.abi.size = 96;
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value, &rd) == 0);
	CHECK(rd.valid & VMCLOCK_VALID_ESTERROR);
	CHECK(!(rd.valid & VMCLOCK_VALID_MAXERROR));
	vmclock_reader_close(r);
	/* Without time_frac_sec: no time at all (basic mode). */
	page.abi.size = 80;
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value, &rd) == 0);
	CHECK_EQ_INT(rd.valid, 0);
	CHECK_EQ_U64(rd.disruption_marker, 7);
	CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ENOTSUP);
	vmclock_reader_close(r);
	/* Only up to flags: the minimum a reader accepts. */
	page.abi.size = VMCLOCK_MIN_SIZE;
	r = vmclock_reader_open_memory(&page, VMCLOCK_MIN_SIZE);
	REQUIRE(r);
	REQUIRE(vmclock_reader_read(r, &rd) == 0);
	CHECK_EQ_INT(rd.valid, 0);
	CHECK_EQ_U64(rd.flags, PRECISE);
	vmclock_reader_close(r);
}

TEST(bad_magic_version_size_are_refused)
{
	int i;

	for (i = 0; i < 5; i++) {
		make_page(PRECISE);
		switch (i) {
		case 0: page.abi.magic = 0x12345678; break;
		case 1: page.abi.version = 2; break;
		case 2: page.abi.size = 31; break;
		case 3: page.abi.size = 4097; break;
		case 4: page.abi.version = 0; break;
		}
		errno = 0;
		CHECK(vmclock_reader_open_memory(&page, sizeof(page)) == NULL);
		CHECK_EQ_INT(errno, ENODEV);
		CHECK(strlen(vmclock_reader_open_error()) > 0);
	}
	make_page(PRECISE);
	page.abi.magic = 0x12345678;
	vmclock_reader_open_memory(&page, sizeof(page));
	CHECK(strstr(vmclock_reader_open_error(), "magic 0x12345678"));
	make_page(PRECISE);
	CHECK(vmclock_reader_open_memory(&page, 16) == NULL);
	CHECK(strstr(vmclock_reader_open_error(), "only 16 bytes"));
}

static uint64_t fake_clock_ns;
static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_clock_ns += 1000; /* 1 us per retry */
}

static uint64_t fixed_counter(void *ctx)
{
	return *(uint64_t *)ctx;
}

TEST(stuck_odd_seq_times_out_within_100ms)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	struct timespec a, b;
	uint64_t counter = 1000000000000ull;
	double ms;

	make_page(PRECISE);
	page.abi.seq_count = 3;
	r = open_page();
	REQUIRE(r);
	vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	/* The deadline is 100 ms; a loaded machine may overshoot a little. */
	CHECK_MSG(ms >= 100.0 && ms < 2000.0, "took %.1f ms", ms);
	CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ETIMEDOUT);
	/* The writer comes back: reads work again. */
	page.abi.seq_count = 4;
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), 0);
	vmclock_reader_close(r);
}

TEST(timeout_follows_injected_clock)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	uint64_t counter = 5;

	make_page(PRECISE);
	page.abi.seq_count = 9;
	r = open_page();
	REQUIRE(r);
	fake_clock_ns = 1;
	vmclock_reader_set_counter(r, fixed_counter, fake_clock, &counter);
	vmclock_reader_set_timeout(r, 50000);
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), -ETIMEDOUT);
	/* 50 us of virtual time at 1 us per clock read, 16 tries each. */
	CHECK(fake_clock_ns >= 50000 && fake_clock_ns < 60000);
	vmclock_reader_close(r);
}

/*
 * A writer racing the read: the counter callback runs inside the window and
 * changes the page like a writer would, the first few times.  Half of the
 * updates are left mid-way (seq odd) and finished by the clock callback,
 * which the reader calls while it waits.  The reader must retry and return
 * only the final, consistent state.
 */
struct racer {
	int updates_left;
	int calls;
	uint64_t counter;
};

static uint64_t racing_counter(void *ctx)
{
	struct racer *rc = ctx;

	rc->calls++;
	if (rc->updates_left > 0) {
		rc->updates_left--;
		page.abi.seq_count++;
		page.abi.time_sec += 100;
		page.abi.disruption_marker++;
		if (rc->updates_left % 2)
			page.abi.seq_count++;
	}
	return rc->counter;
}

static uint64_t finishing_clock(void *ctx)
{
	(void)ctx;
	if (page.abi.seq_count & 1)
		page.abi.seq_count++;
	return fake_clock_ns += 1000;
}

TEST(page_changed_mid_read_is_retried_never_torn)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	struct racer rc = { 6, 0, 1000000000000ull };

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	fake_clock_ns = 1;
	vmclock_reader_set_counter(r, racing_counter, finishing_clock, &rc);
	REQUIRE(vmclock_reader_read(r, &rd) == 0);
	CHECK_EQ_INT(rc.calls, 7);
	/* The reading is the state after all six updates, never a mix. */
	CHECK_EQ_INT(rd.tai_ns, (1700000000 + 600) * NS + NS / 2);
	CHECK_EQ_U64(rd.disruption_marker, 7 + 6);
	CHECK_EQ_U64(rd.seq_count, page.abi.seq_count);
	CHECK_EQ_U64(rd.seq_count, 2 + 12);
	vmclock_reader_close(r);
}

TEST(strict_read_refuses_by_status)
{
	static const struct {
		uint8_t status;
		int err;
	} cases[] = {
		{ VMCLOCK_STATUS_UNKNOWN, -ENODATA },
		{ VMCLOCK_STATUS_INITIALIZING, -EAGAIN },
		{ VMCLOCK_STATUS_SYNCHRONIZED, 0 },
		{ VMCLOCK_STATUS_FREERUNNING, 0 },
		{ VMCLOCK_STATUS_UNRELIABLE, -EIO },
		{ 77, -ENODATA },
	};
	uint64_t counter = 1000000000000ull;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vmclock_reader *r;
		struct vmclock_reading rd;

		make_page(PRECISE);
		page.abi.clock_status = cases[i].status;
		r = open_page();
		REQUIRE(r);
		vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
		CHECK_EQ_INT(vmclock_reader_now(r, &rd), cases[i].err);
		CHECK_EQ_INT(rd.clock_status, cases[i].status);
		vmclock_reader_close(r);
	}
}

TEST(strict_read_needs_precise_utc_and_max_error)
{
	uint64_t counter = 1000000000000ull;
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	int i;

	for (i = 0; i < 5; i++) {
		int want = -ENOTSUP;

		make_page(PRECISE);
		switch (i) {
		case 0: page.abi.counter_id = VMCLOCK_COUNTER_INVALID; break;
		case 1: page.abi.time_type = VMCLOCK_TIME_INVALID_SMEARED; break;
		case 2: page.abi.flags &= ~(uint64_t)VMCLOCK_FLAG_TAI_OFFSET_VALID; break;
		case 3: page.abi.time_type = VMCLOCK_TIME_MONOTONIC; break;
		case 4:
			page.abi.flags &= ~(uint64_t)VMCLOCK_FLAG_TIME_MAXERROR_VALID;
			want = -ENODATA;
			break;
		}
		r = open_page();
		REQUIRE(r);
		vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
		CHECK_MSG(vmclock_reader_now(r, &rd) == want, "case %d", i);
		/* The lenient read still succeeds and says what it has. */
		CHECK_EQ_INT(vmclock_reader_read(r, &rd), 0);
		vmclock_reader_close(r);
	}
}

TEST(strict_read_refuses_another_cpus_counter)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	page.abi.counter_id = vmclock_counter_id_native() == VMCLOCK_COUNTER_X86_TSC ?
				      VMCLOCK_COUNTER_ARM_VCNT : VMCLOCK_COUNTER_X86_TSC;
	r = open_page();
	REQUIRE(r);
	CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ENOTSUP);
	vmclock_reader_close(r);
}

TEST(counter_far_away_is_range_not_garbage)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	uint64_t counter = 0; /* 10^12 ticks before: fine, 1000 s earlier */

	make_page(PRECISE);
	page.abi.counter_value = UINT64_MAX / 2;
	page.abi.time_sec = 10; /* ...but 2^63 ns before 10 s is before 0 */
	r = open_page();
	REQUIRE(r);
	vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
	CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ERANGE);
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), 0);
	CHECK(!(rd.valid & VMCLOCK_VALID_TIME));
	vmclock_reader_close(r);
}

/* What a writer does after changing fields: move seq_count on. */
static void publish(void)
{
	page.abi.seq_count += 2;
}

TEST(events_reported_once_each)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	uint64_t c = 1000000000000ull;

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, 0);
	page.abi.disruption_marker++;
	publish();
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, VMCLOCK_EVENT_DISRUPTED);
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, 0);
	page.abi.vm_generation_counter = 99;
	page.abi.disruption_marker++;
	publish();
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, VMCLOCK_EVENT_DISRUPTED | VMCLOCK_EVENT_RESTORED);
	page.abi.flags |= VMCLOCK_FLAG_DISRUPTION_SOON;
	publish();
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, VMCLOCK_EVENT_FLAGS | VMCLOCK_EVENT_MAINT_SOON);
	page.abi.flags |= VMCLOCK_FLAG_DISRUPTION_IMMINENT;
	page.abi.clock_status = VMCLOCK_STATUS_FREERUNNING;
	publish();
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, VMCLOCK_EVENT_FLAGS | VMCLOCK_EVENT_MAINT_IMMINENT |
					VMCLOCK_EVENT_STATUS);
	page.abi.flags &= ~(uint64_t)(VMCLOCK_FLAG_DISRUPTION_IMMINENT |
				     VMCLOCK_FLAG_DISRUPTION_SOON);
	page.abi.leap_indicator = VMCLOCK_LEAP_PRE_POS;
	page.abi.tai_offset_sec = 38;
	publish();
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.events, VMCLOCK_EVENT_FLAGS | VMCLOCK_EVENT_LEAP |
					VMCLOCK_EVENT_TAI_OFFSET);
	/* A second handle starts from its own baseline. */
	{
		struct vmclock_reader *r2 = open_page();

		REQUIRE(r2);
		REQUIRE(vmclock_reader_read_at(r2, c, &rd) == 0);
		CHECK_EQ_INT(rd.events, 0);
		vmclock_reader_close(r2);
	}
	vmclock_reader_close(r);
}

static char *write_page_file(size_t len)
{
	static char path[] = "/tmp/vmclock-test-XXXXXX";
	int fd;

	strcpy(path, "/tmp/vmclock-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, &page, len) != (ssize_t)len)
		return NULL;
	close(fd);
	return path;
}

static void check_file_reader(const char *path, enum vmclock_access method)
{
	struct vmclock_reader *r = vmclock_reader_open(path);
	struct vmclock_reading rd;
	struct vmclock_abi copy;

	REQUIRE(r);
	CHECK_EQ_INT(vmclock_reader_method(r), method);
	CHECK(vmclock_reader_fd(r) >= 0);
	REQUIRE(vmclock_reader_read_at(r, 1000000000000ull, &rd) == 0);
	CHECK_EQ_INT(rd.tai_ns, 1700000000 * NS + NS / 2);
	CHECK_EQ_U64(rd.vm_generation_counter, 3);
	REQUIRE(vmclock_reader_snapshot(r, &copy) == 0);
	CHECK(memcmp(&copy, &page, sizeof(copy)) == 0);
	vmclock_reader_close(r);
}

TEST(file_by_mmap_and_by_pread)
{
	char *path;

	make_page(PRECISE);
	path = write_page_file(4096);
	REQUIRE(path);
	check_file_reader(path, VMCLOCK_ACCESS_MMAP);
	setenv("VMCLOCK_ACCESS", "pread", 1);
	check_file_reader(path, VMCLOCK_ACCESS_PREAD);
	unsetenv("VMCLOCK_ACCESS");
	/* VMCLOCK_DEVICE names the default path. */
	setenv("VMCLOCK_DEVICE", path, 1);
	check_file_reader(NULL, VMCLOCK_ACCESS_MMAP);
	unsetenv("VMCLOCK_DEVICE");
	unlink(path);
}

TEST(file_of_just_the_struct)
{
	char *path;

	make_page(PRECISE);
	page.abi.size = sizeof(struct vmclock_abi);
	path = write_page_file(sizeof(struct vmclock_abi));
	REQUIRE(path);
	check_file_reader(path, VMCLOCK_ACCESS_MMAP);
	setenv("VMCLOCK_ACCESS", "pread", 1);
	check_file_reader(path, VMCLOCK_ACCESS_PREAD);
	unsetenv("VMCLOCK_ACCESS");
	unlink(path);
}

/* A reader of the page, written to a file, through pread(). */
static struct vmclock_reader *open_by_pread(void)
{
	struct vmclock_reader *r;
	char *path = write_page_file(4096);

	if (!path)
		return NULL;
	setenv("VMCLOCK_ACCESS", "pread", 1);
	r = vmclock_reader_open(path);
	unsetenv("VMCLOCK_ACCESS");
	unlink(path); /* the descriptor keeps it */
	return r;
}

TEST(pread_path_detects_stuck_writer)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	page.abi.seq_count = 5;
	r = open_by_pread();
	REQUIRE(r);
	vmclock_reader_set_timeout(r, 20000000);
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), -ETIMEDOUT);
	vmclock_reader_close(r);
}

TEST(file_errors_are_clear)
{
	char *path;

	errno = 0;
	CHECK(vmclock_reader_open("/nonexistent/vmclock0") == NULL);
	CHECK_EQ_INT(errno, ENOENT);
	/* A file that is too short for its size field. */
	make_page(PRECISE);
	path = write_page_file(200);
	REQUIRE(path);
	CHECK(vmclock_reader_open(path) == NULL);
	CHECK_EQ_INT(errno, ENODEV);
	CHECK(strstr(vmclock_reader_open_error(), "size field 4096"));
	unlink(path);
	/* An empty file. */
	path = write_page_file(0);
	REQUIRE(path);
	CHECK(vmclock_reader_open(path) == NULL);
	CHECK_EQ_INT(errno, ENODEV);
	CHECK(strstr(vmclock_reader_open_error(), "only 0 bytes"));
	unlink(path);
}

TEST(native_counter_advances)
{
	uint64_t a, b;

	if (vmclock_counter_id_native() == VMCLOCK_COUNTER_INVALID)
		return;
	a = vmclock_counter_read();
	b = vmclock_counter_read();
	CHECK(b > a);
}

TEST(names_and_messages)
{
	CHECK(!strcmp(vmclock_status_name(VMCLOCK_STATUS_FREERUNNING), "FREERUNNING"));
	CHECK(!strcmp(vmclock_status_name(200), "?"));
	CHECK(!strcmp(vmclock_leap_name(VMCLOCK_LEAP_POS), "POS"));
	CHECK(!strcmp(vmclock_counter_name(VMCLOCK_COUNTER_INVALID), "INVALID"));
	CHECK(!strcmp(vmclock_time_type_name(VMCLOCK_TIME_TAI), "TAI"));
	CHECK(!strcmp(vmclock_flag_name(9), "NOTIFICATION_PRESENT"));
	CHECK(vmclock_flag_name(10) == NULL);
	CHECK(!strcmp(vmclock_event_name(1), "restore"));
	CHECK(strstr(vmclock_strerror(-EAGAIN), "INITIALIZING"));
	CHECK(strstr(vmclock_strerror(-ETIMEDOUT), "odd"));
}

/* The fast bounded read agrees with the full strict read, bit for bit. */
TEST(bounds_agree_with_now)
{
	uint64_t counter;
	int i;

	for (i = 0; i < 20000; i++) {
		struct vmclock_reader *r;
		struct vmclock_reading rd;
		struct vmclock_bounds b;
		int e1, e2, rep;

		make_page(test_rand_below(4) ? PRECISE : test_rand() & 0x3ff);
		page.abi.clock_status = (uint8_t)test_rand_below(6);
		page.abi.time_type = (uint8_t)test_rand_below(4);
		page.abi.tai_offset_sec = (uint16_t)test_rand();
		page.abi.counter_period_shift = (uint8_t)test_rand_below(66);
		page.abi.counter_period_maxerror_rate_frac_sec = test_rand() >> test_rand_below(64);
		page.abi.time_maxerror_nanosec = test_rand() >> test_rand_below(64);
		page.abi.time_sec = test_rand() >> test_rand_below(64);
		r = open_page();
		REQUIRE(r);
		vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
		for (rep = 0; rep < 3; rep++) { /* a miss, then cache hits */
			counter = page.abi.counter_value + (test_rand() >> test_rand_below(64));
			memset(&b, 0x5a, sizeof(b));
			e2 = vmclock_reader_bounds(r, &b);
			e1 = vmclock_reader_now(r, &rd);
			CHECK_EQ_INT(e2, e1);
			CHECK_EQ_INT(b.clock_status, rd.clock_status);
			if (e1 || e2)
				continue;
			CHECK_EQ_INT(b.utc_ns, rd.utc_ns);
			CHECK_EQ_INT(b.earliest_ns, rd.earliest_ns);
			CHECK_EQ_INT(b.latest_ns, rd.latest_ns);
			CHECK_EQ_U64(b.maxerror_ns, rd.maxerror_ns);
		}
		vmclock_reader_close(r);
	}
}

TEST(bounds_report_events_once)
{
	struct vmclock_reader *r;
	struct vmclock_bounds b;
	uint64_t counter = 1000000000000ull;

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
	REQUIRE(vmclock_reader_bounds(r, &b) == 0);
	CHECK_EQ_INT(b.events, 0);
	page.abi.vm_generation_counter++;
	page.abi.clock_status = VMCLOCK_STATUS_INITIALIZING;
	publish();
	CHECK_EQ_INT(vmclock_reader_bounds(r, &b), -EAGAIN);
	CHECK_EQ_INT(b.events, VMCLOCK_EVENT_RESTORED | VMCLOCK_EVENT_STATUS);
	CHECK_EQ_INT(b.clock_status, VMCLOCK_STATUS_INITIALIZING);
	CHECK_EQ_INT(vmclock_reader_bounds(r, &b), -EAGAIN);
	CHECK_EQ_INT(b.events, 0);
	page.abi.clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	publish();
	CHECK_EQ_INT(vmclock_reader_bounds(r, &b), 0);
	CHECK_EQ_INT(b.events, VMCLOCK_EVENT_STATUS);
	CHECK_EQ_INT(b.utc_ns, (1700000000 - 37) * NS + NS / 2);
	vmclock_reader_close(r);
}

/*
 * Found by the reliability work: an estimated period error above the
 * reader's drift bound made the "maximum" error smaller than the estimate.
 */
TEST(maxerror_never_below_esterror)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(VMCLOCK_FLAG_PERIOD_ESTERROR_VALID | VMCLOCK_FLAG_TIME_ESTERROR_VALID |
		  VMCLOCK_FLAG_TIME_MAXERROR_VALID | VMCLOCK_FLAG_TAI_OFFSET_VALID);
	/* 1000 ppm estimated rate, a page whose time est > max. */
	page.abi.counter_period_esterror_rate_frac_sec = page.abi.counter_period_frac_sec / 1000;
	page.abi.time_esterror_nanosec = 5000;
	page.abi.time_maxerror_nanosec = 1000;
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value + 1000000000, &rd) == 0);
	REQUIRE(rd.valid & VMCLOCK_VALID_ESTERROR);
	REQUIRE(rd.valid & VMCLOCK_VALID_MAXERROR);
	CHECK(rd.esterror_ns <= rd.maxerror_ns);
	CHECK_EQ_U64(rd.esterror_ns, 5000 + 1000000);
	CHECK(rd.maxerror_ns >= 5000 + 1000000);
	vmclock_reader_close(r);
}

/* Found by the reliability work: reads went on from a reset page. */
TEST(page_invalidated_after_open_is_enodev)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read(r, &rd) == 0);
	page.abi.magic = 0;
	publish();
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), -ENODEV);
	page.abi.magic = VMCLOCK_MAGIC;
	publish();
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), 0);
	vmclock_reader_close(r);
}

/* Found by the reliability work: open() of a FIFO blocked forever. */
TEST(fifo_and_directory_are_refused_at_once)
{
	char path[] = "/tmp/vmclock-fifo-XXXXXX";
	int fd = mkstemp(path);

	REQUIRE(fd >= 0);
	close(fd);
	unlink(path);
	REQUIRE(mkfifo(path, 0600) == 0);
	errno = 0;
	CHECK(vmclock_reader_open(path) == NULL);
	CHECK_EQ_INT(errno, ENODEV);
	CHECK(strstr(vmclock_reader_open_error(), "not a regular file"));
	unlink(path);
	CHECK(vmclock_reader_open("/tmp") == NULL);
	CHECK_EQ_INT(errno, ENODEV);
}

TEST(now_at_accepts_any_counter_and_is_strict)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	page.abi.counter_id = VMCLOCK_COUNTER_ARM_VCNT == vmclock_counter_id_native() ?
				      VMCLOCK_COUNTER_X86_TSC : VMCLOCK_COUNTER_ARM_VCNT;
	r = open_page();
	REQUIRE(r);
	CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ENOTSUP);
	CHECK_EQ_INT(vmclock_reader_now_at(r, page.abi.counter_value, &rd), 0);
	CHECK_EQ_INT(rd.utc_ns, (1700000000 - 37) * NS + NS / 2);
	page.abi.clock_status = VMCLOCK_STATUS_UNRELIABLE;
	publish();
	memset(&rd, 0, sizeof(rd));
	CHECK_EQ_INT(vmclock_reader_now_at(r, page.abi.counter_value, &rd), -EIO);
	/* Filled: this -EIO is the status, not a failed read. */
	CHECK_EQ_INT(rd.clock_status, VMCLOCK_STATUS_UNRELIABLE);
	vmclock_reader_close(r);
}

TEST(events_between_is_the_readers_rule)
{
	struct vmclock_reading a, b;

	memset(&a, 0, sizeof(a));
	b = a;
	CHECK_EQ_INT(vmclock_events_between(&a, &b), 0);
	b.vm_generation_counter = 1;
	b.flags = VMCLOCK_FLAG_DISRUPTION_IMMINENT;
	CHECK_EQ_INT(vmclock_events_between(&a, &b), VMCLOCK_EVENT_RESTORED |
							   VMCLOCK_EVENT_FLAGS |
							   VMCLOCK_EVENT_MAINT_IMMINENT);
	/* A flag going away is a change, not a new maintenance notice. */
	CHECK_EQ_INT(vmclock_events_between(&b, &a), VMCLOCK_EVENT_RESTORED |
							   VMCLOCK_EVENT_FLAGS);
}

/*
 * Found by the simulation: a reading C only places the instant within the
 * tick [T(C), T(C+1)); on a 24 MHz Arm counter a tick is 41.7 ns, and the
 * late side of the bound must cover it.
 */
TEST(late_bound_covers_the_whole_tick)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	struct vmclock_bounds b;
	uint64_t c;

	make_page(PRECISE);
	vmclock_period_for_hz(24000000, &page.abi.counter_period_frac_sec,
			      &page.abi.counter_period_shift);
	page.abi.counter_period_maxerror_rate_frac_sec = 0;
	page.abi.counter_period_esterror_rate_frac_sec = 0;
	r = open_page();
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value + 1, &rd) == 0);
	CHECK_EQ_U64(rd.maxerror_ns, 1000);
	CHECK_EQ_INT(rd.earliest_ns, rd.utc_ns - 1000);
	CHECK_EQ_INT(rd.latest_ns, rd.utc_ns + 1000 + 42);
	/* Whatever instant within tick C, T(C+1) - 1 ns is within latest. */
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value + 2, &rd) == 0);
	CHECK(rd.utc_ns - 1 <= (rd.utc_ns - 41) + 1000 + 42);
	c = page.abi.counter_value + 1;
	vmclock_reader_set_counter(r, fixed_counter, NULL, &c);
	REQUIRE(vmclock_reader_bounds(r, &b) == 0);
	CHECK_EQ_INT(b.latest_ns, b.utc_ns + 1000 + 42);
	CHECK_EQ_INT(b.earliest_ns, b.utc_ns - 1000);
	vmclock_reader_close(r);
}

/*
 * A calibration published before a positive leap second (offset 37,
 * PRE_POS) and evaluated after it: UTC follows the leap, not the stale
 * offset, in both the full and the bounded read.
 */
TEST(utc_follows_a_leap_across_a_stale_calibration)
{
	/* 2026-12-31 23:59:59 UTC = 1798761599; TAI = UTC + 37 before. */
	const int64_t m = 1798761600; /* 2027-01-01 00:00:00 UTC (POSIX) */
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	struct vmclock_bounds b;
	uint64_t c;

	make_page(PRECISE);
	page.abi.time_sec = (uint64_t)(m - 10 + 37); /* 10 s before, in TAI */
	page.abi.time_frac_sec = 0;
	page.abi.leap_indicator = VMCLOCK_LEAP_PRE_POS;
	r = open_page();
	REQUIRE(r);
	/* 5 s before the leap: the offset as published. */
	REQUIRE(vmclock_reader_read_at(r, page.abi.counter_value + 5000000000ull, &rd) == 0);
	CHECK_EQ_INT(rd.utc_ns, (m - 5) * NS - 1);
	/* 20 s after 23:59:50 UTC: one inserted second later, 00:00:09. */
	c = page.abi.counter_value + 20000000000ull;
	REQUIRE(vmclock_reader_read_at(r, c, &rd) == 0);
	CHECK_EQ_INT(rd.utc_ns, (m + 9) * NS - 1);
	CHECK_EQ_INT(rd.tai_ns, (m + 10 + 37) * NS - 1);
	vmclock_reader_set_counter(r, fixed_counter, NULL, &c);
	REQUIRE(vmclock_reader_bounds(r, &b) == 0);
	CHECK_EQ_INT(b.utc_ns, rd.utc_ns);
	vmclock_reader_close(r);
}

/* Found by the reliability work: fields past size were read anyway. */
TEST(status_and_leap_past_size_are_absent)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	make_page(PRECISE);
	page.abi.size = VMCLOCK_MIN_SIZE; /* up to flags only */
	page.abi.leap_indicator = VMCLOCK_LEAP_PRE_POS;
	page.abi.leap_second_smearing_hint = VMCLOCK_SMEARING_UTC_SLS;
	r = vmclock_reader_open_memory(&page, sizeof(page));
	REQUIRE(r);
	REQUIRE(vmclock_reader_read(r, &rd) == 0);
	CHECK_EQ_INT(rd.clock_status, VMCLOCK_STATUS_UNKNOWN);
	CHECK_EQ_INT(rd.leap_indicator, VMCLOCK_LEAP_NONE);
	CHECK_EQ_INT(rd.smearing_hint, VMCLOCK_SMEARING_STRICT);
	CHECK_EQ_INT(rd.tai_offset_sec, 0);
	CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ENOTSUP);
	vmclock_reader_close(r);
}

/*
 * The page of make_page(PRECISE), calibrated at this CPU's counter now,
 * with a 2.6 GHz period: 1 GHz rounded down leaves every low word near a
 * carry, where the line declines.
 */
static int make_native_page(void)
{
	int id = vmclock_counter_id_native();
	uint64_t period;
	uint8_t shift;

	if (id == VMCLOCK_COUNTER_INVALID)
		return 0;
	make_page(PRECISE);
	page.abi.counter_id = (uint8_t)id;
	page.abi.counter_value = vmclock_counter_read();
	vmclock_period_for_hz(2596146000ull, &period, &shift);
	page.abi.counter_period_frac_sec = period;
	page.abi.counter_period_shift = shift;
	page.abi.counter_period_maxerror_rate_frac_sec = period / 100000;
	page.abi.counter_period_esterror_rate_frac_sec = period / 1000000;
	page.abi.time_frac_sec = 0x123456789abcdef0ull;
	return 1;
}

/* @b lies between the strict readings at @c0 and @c1 (c0 <= c1). */
static void check_between(struct vmclock_reader *r, uint64_t c0, uint64_t c1,
			  const struct vmclock_bounds *b)
{
	struct vmclock_reading r0, r1;

	REQUIRE(vmclock_reader_now_at(r, c0, &r0) == 0);
	REQUIRE(vmclock_reader_now_at(r, c1, &r1) == 0);
	CHECK(r0.utc_ns <= b->utc_ns && b->utc_ns <= r1.utc_ns);
	CHECK(r0.maxerror_ns <= b->maxerror_ns && b->maxerror_ns <= r1.maxerror_ns);
	CHECK_EQ_INT(b->earliest_ns, b->utc_ns - (int64_t)b->maxerror_ns);
	/* The tick beyond the max error is the strict reading's. */
	CHECK_EQ_INT(b->latest_ns - b->utc_ns - (int64_t)b->maxerror_ns,
		     r0.latest_ns - r0.utc_ns - (int64_t)r0.maxerror_ns);
	CHECK_EQ_INT(b->clock_status, r0.clock_status);
}

/* One inline read with counter readings around it; 0 or its error. */
static int fast_between(struct vmclock_reader *r, const struct vmclock_fastline *fl,
			struct vmclock_bounds *b)
{
	uint64_t c0, c1;
	int err;

	memset(b, 0x5a, sizeof(*b));
	c0 = vmclock_counter_read();
	err = vmclock_fast_bounds(r, fl, b);
	c1 = vmclock_counter_read();
	if (!err)
		check_between(r, c0, c1, b);
	return err;
}

/* A reader of make_native_page() and its line; NULL without a counter. */
static struct vmclock_reader *open_native(const struct vmclock_fastline **fl)
{
	struct vmclock_reader *r;

	if (!make_native_page())
		return NULL;
	r = open_page();
	*fl = r ? vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1) : NULL;
	CHECK(*fl != NULL);
	return r;
}

/*
 * The inline read on a page of this CPU's counter: after the first read
 * (the function's) the line answers, with the time of the counter read
 * between two reads around it; any counter it answers for is answered as
 * vmclock_reader_now_at() answers it.
 */
TEST(fast_bounds_read_the_line_inline)
{
	const struct vmclock_fastline *fl = NULL;
	struct vmclock_reader *r = open_native(&fl);
	struct vmclock_bounds b;
	int i, answered;

	if (!r || !fl)
		goto out;
	CHECK_EQ_U64(fl->lo_len, 0); /* nothing decoded yet */
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	CHECK_EQ_INT(b.events, 0);
	CHECK(fl->lo_len > 0);
	CHECK_EQ_U64(fl->seq_value, page.abi.seq_count);
	for (i = 0; i < 1000; i++) {
		REQUIRE(fast_between(r, fl, &b) == 0);
		CHECK_EQ_INT(b.events, 0);
	}
#ifdef __SIZEOF_INT128__
	for (i = 0, answered = 0; i < 100000; i++) {
		struct vmclock_bounds fb;
		struct vmclock_reading rd;
		/* Half in the line's window, half anywhere after the calibration. */
		uint64_t c = i & 1 ? page.abi.counter_value + (test_rand() >> test_rand_below(64)) :
			((uint64_t)fl->c_hi << 32) + fl->lo_start +
			(test_rand() >> test_rand_below(64)) % fl->lo_len;

		if (!vmclock_fastline_eval(fl, c, &fb))
			continue;
		answered++;
		REQUIRE(vmclock_reader_now_at(r, c, &rd) == 0);
		CHECK_EQ_INT(fb.utc_ns, rd.utc_ns);
		CHECK_EQ_INT(fb.earliest_ns, rd.earliest_ns);
		CHECK_EQ_INT(fb.latest_ns, rd.latest_ns);
		CHECK_EQ_U64(fb.maxerror_ns, rd.maxerror_ns);
	}
	CHECK(answered > 10000);
#endif
out:
	vmclock_reader_close(r);
}

/*
 * The line covers one window of 2^32 ticks: first the one of the counter
 * the function read (the calibration here is three windows older), then,
 * once the counter has moved on (1.65 s at 2.6 GHz), the next one, after
 * one read through the function.
 */
TEST(fast_bounds_follow_the_counter_into_the_next_window)
{
	const struct vmclock_fastline *fl;
	struct vmclock_reader *r;
	struct vmclock_bounds b;
	struct timespec t0, t1;
	uint64_t h0, h1;

	if (!make_native_page())
		return;
	page.abi.counter_value -= 3ull << 32;
	publish();
	r = open_page();
	REQUIRE(r);
	fl = vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1);
	REQUIRE(fl);
	h0 = vmclock_counter_read() >> 32;
	REQUIRE(fast_between(r, fl, &b) == 0);
	h1 = vmclock_counter_read() >> 32;
	CHECK(fl->c_hi >= h0 && fl->c_hi <= h1 && fl->lo_len > 0);
	h0 = fl->c_hi;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct timespec ms = { 0, 1000000 };

		REQUIRE(fast_between(r, fl, &b) == 0);
		nanosleep(&ms, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		REQUIRE(t1.tv_sec - t0.tv_sec < 60);
	} while (vmclock_counter_read() >> 32 == h0);
	h0 = vmclock_counter_read() >> 32;
	REQUIRE(fast_between(r, fl, &b) == 0);
	h1 = vmclock_counter_read() >> 32;
	CHECK(fl->c_hi >= h0 && fl->c_hi <= h1);
	{
		uint64_t c = vmclock_counter_read();
		struct vmclock_reading rd;

		if (c >> 32 == fl->c_hi) {
			CHECK(vmclock_fastline_eval(fl, c, &b) == 1);
			REQUIRE(vmclock_reader_now_at(r, c, &rd) == 0);
			CHECK_EQ_INT(b.utc_ns, rd.utc_ns);
			CHECK_EQ_INT(b.latest_ns, rd.latest_ns);
		}
	}
	vmclock_reader_close(r);
}

/*
 * The line follows the page: a new calibration, an event, a status the
 * strict read refuses all reach the caller through the function, once.
 */
TEST(fast_bounds_follow_the_page)
{
	const struct vmclock_fastline *fl = NULL;
	struct vmclock_reader *r = open_native(&fl);
	struct vmclock_bounds b, prev;

	if (!r || !fl)
		goto out;
	REQUIRE(vmclock_fast_bounds(r, fl, &prev) == 0);
	/* A migration: a second later, a new marker. */
	page.abi.time_sec++;
	page.abi.disruption_marker++;
	publish();
	REQUIRE(fast_between(r, fl, &b) == 0);
	CHECK_EQ_INT(b.events, VMCLOCK_EVENT_DISRUPTED);
	CHECK(b.utc_ns >= prev.utc_ns + NS);
	CHECK_EQ_U64(fl->seq_value, page.abi.seq_count);
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	CHECK_EQ_INT(b.events, 0);
	/* UNRELIABLE: the function's -EIO, and the line stands down. */
	page.abi.clock_status = VMCLOCK_STATUS_UNRELIABLE;
	publish();
	CHECK_EQ_INT(vmclock_fast_bounds(r, fl, &b), -EIO);
	CHECK_EQ_INT(b.events, VMCLOCK_EVENT_STATUS);
	CHECK_EQ_INT(b.clock_status, VMCLOCK_STATUS_UNRELIABLE);
	CHECK_EQ_U64(fl->lo_len, 0);
	CHECK_EQ_INT(vmclock_fast_bounds(r, fl, &b), -EIO);
	CHECK_EQ_INT(b.events, 0);
	page.abi.clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	publish();
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	CHECK(fl->lo_len > 0);
	/* A new drift bound drops the line until the next read decodes. */
	vmclock_reader_set_drift(r, 1000);
	CHECK_EQ_U64(fl->lo_len, 0);
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	CHECK(fl->lo_len > 0);
out:
	vmclock_reader_close(r);
}

/* A seam, a pread reader, an unknown layout: the function answers. */
TEST(fast_bounds_leave_the_rest_to_the_function)
{
	const struct vmclock_fastline *fl;
	struct vmclock_reader *r;
	struct vmclock_bounds b, want;
	uint64_t counter = 1000000000000ull + 12345;

	make_page(PRECISE);
	r = open_page();
	REQUIRE(r);
	vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
	fl = vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1);
	REQUIRE(fl);
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	CHECK_EQ_U64(fl->lo_len, 0);
	REQUIRE(vmclock_reader_bounds(r, &want) == 0);
	CHECK_EQ_INT(b.utc_ns, want.utc_ns);
	/* The seam's counter: 12345 ticks of a 1 GHz period rounded down. */
	CHECK(b.utc_ns - ((1700000000 - 37) * NS + NS / 2) >= 12344 &&
	      b.utc_ns - ((1700000000 - 37) * NS + NS / 2) <= 12345);
	CHECK_EQ_INT(b.latest_ns, want.latest_ns);
	errno = 0;
	CHECK(vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1 + 1) == NULL);
	CHECK_EQ_INT(errno, EPROTONOSUPPORT);
	REQUIRE(vmclock_fast_bounds(r, NULL, &b) == 0);
	CHECK_EQ_INT(b.utc_ns, want.utc_ns);
	vmclock_reader_close(r);

	if (!make_native_page())
		return;
	/* A seam on a page the line answers, in any window: still no line. */
	r = open_page();
	REQUIRE(r);
	counter = page.abi.counter_value + 12345;
	vmclock_reader_set_counter(r, fixed_counter, NULL, &counter);
	fl = vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1);
	REQUIRE(fl);
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	counter += 1ull << 32;
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	REQUIRE(vmclock_reader_bounds(r, &want) == 0);
	CHECK_EQ_INT(b.utc_ns, want.utc_ns);
	CHECK_EQ_U64(fl->lo_len, 0);
	vmclock_reader_close(r);

	if (!make_native_page())
		return;
	r = open_by_pread();
	REQUIRE(r);
	fl = vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1);
	REQUIRE(fl);
	REQUIRE(vmclock_fast_bounds(r, fl, &b) == 0);
	CHECK_EQ_U64(fl->lo_len, 0);
	CHECK(b.utc_ns > (1700000000 - 37) * NS);
	vmclock_reader_close(r);
}
