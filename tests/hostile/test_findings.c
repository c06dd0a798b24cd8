// SPDX-License-Identifier: MIT
/*
 * test_findings.c - the bugs the reliability work found in libvmclock, one
 * regression test each, as reported: where the bug was, the input, what
 * was expected and what happened before the fix.
 *
 * Found and not a bug: a page file truncated under a reader's mapping
 * kills the reader with SIGBUS; vmclock_reader_open() now documents that
 * page files are replaced by rename() and never shrink (docs/security.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-derived.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "../harness/test.h"

#define PAGE 4096

static union {
	struct vmclock_abi abi;
	uint64_t words[PAGE / 8];
} page;

static struct vmclock_writer *fresh_writer(uint64_t flags)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_TAI,
		.size = PAGE,
		.policy = VMCLOCK_MONOTONIC_REFUSE,
	};
	struct vmclock_writer *w;

	memset(&page, 0, sizeof(page));
	w = vmclock_writer_create(&page, PAGE, &cfg);
	if (w && flags)
		vmclock_writer_set_flags(w, flags, 0);
	return w;
}

/*
 * include/vmclock/vmclock-arith.h, vmclock_instant_gap(): a = (2^64 - 1 s,
 * frac 2^64 - 1, rem 1 of 2^1), b = 0.  Expected: an upper bound of a - b
 * (about 2^128 units of 2^-64 s; saturation would do).  Got: {0, 0}, "not
 * later": g = a - b = 2^128 - 1 units, and the +1 for a's remainder wraps
 * the 128-bit value to 0.  Fixed: saturates at 2^128 - 1.
 */
TEST(instant_gap_wraps_to_zero)
{
	struct vmclock_instant a = { VMCLOCK_U64_MAX, VMCLOCK_U64_MAX, 1, 1 };
	struct vmclock_instant b = { 0, 0, 0, 0 };
	struct vmclock_u128 g = vmclock_instant_gap(&a, &b);

	CHECK_EQ_INT(vmclock_instant_cmp(&a, &b), 1);
	CHECK_MSG(g.hi || g.lo, "gap of a > b is 0");
}

/*
 * The same wrap through the writer (lib/writer.c, monotonic_gap()): with
 * TIME_MONOTONIC and the REFUSE policy, an old line at 2^64 - 1 s (frac
 * all ones, a remainder at the switch) followed by a line at 0 s.
 * Expected: -ERANGE (the new line is 2^64 s behind).  Got: 0, published:
 * time on the page goes back by 2^64 s under TIME_MONOTONIC.  Fixed with
 * the saturating gap.
 */
TEST(writer_monotonic_check_wraps)
{
	struct vmclock_calibration old = {
		.counter_value = 0,
		.time_sec = VMCLOCK_U64_MAX,
		.time_frac = VMCLOCK_U64_MAX,
		.period_frac = 1,
		.period_shift = 1,
		.switch_counter = 0,
	};
	struct vmclock_calibration nl = {
		.counter_value = 1,
		.time_sec = 0,
		.time_frac = 0,
		.period_frac = 1,
		.period_shift = 0,
		.switch_counter = 1,
	};
	struct vmclock_writer *w = fresh_writer(VMCLOCK_FLAG_TIME_MONOTONIC);

	REQUIRE(w);
	REQUIRE(!vmclock_writer_set_calibration(w, &old, NULL));
	/* Old line at counter 1: 2^64 - 1 s, frac all ones, rem 1/2. */
	CHECK_EQ_INT(vmclock_writer_set_calibration(w, &nl, NULL), -ERANGE);
	vmclock_writer_destroy(w);
}

/*
 * lib/page.c, compute_errors(): a page with PERIOD_ESTERROR_VALID (rate
 * 1000 ppm) but no PERIOD_MAXERROR_VALID, time errors est 0 <= max 0.
 * The max error grows at the reader's drift bound (50 ppm) while the
 * estimate grows at the page's 1000 ppm, so one second from the
 * calibration esterror_ns = 1000000 > maxerror_ns = 50000: the "maximum"
 * is below the host's own estimate.  Expected: maxerror >= esterror (grow
 * the max at the larger of the drift bound and the estimated rate).
 */
TEST(maxerror_below_esterror_without_period_maxerror)
{
	struct vmclock_calibration cal = {
		.counter_value = 0,
		.time_sec = 1700000000,
		.period_frac = 0x89705f4136b4a597ull,
		.period_shift = 29,
		.period_esterror_rate = 0x89705f4136b4a597ull / 1000,
		.time_esterror_ns = 0,
		.time_maxerror_ns = 0,
		.valid = VMCLOCK_CAL_PERIOD_ESTERROR |
			 VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR,
	};
	struct vmclock_writer *w = fresh_writer(0);
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	REQUIRE(w);
	REQUIRE(!vmclock_writer_set_calibration(w, &cal, NULL));
	r = vmclock_reader_open_memory(&page, PAGE);
	REQUIRE(r);
	REQUIRE(!vmclock_reader_read_at(r, 1000000000, &rd));
	REQUIRE(rd.valid & VMCLOCK_VALID_MAXERROR);
	REQUIRE(rd.valid & VMCLOCK_VALID_ESTERROR);
	CHECK_MSG(rd.esterror_ns <= rd.maxerror_ns,
		  "esterror %" PRIu64 " > maxerror %" PRIu64, rd.esterror_ns,
		  rd.maxerror_ns);
	vmclock_reader_close(r);
	vmclock_writer_destroy(w);
}

/*
 * lib/reader.c, vmclock_reader_read(): documented "-ENODEV when the page
 * became invalid", but reads never look at magic, version or size again.
 * Input: a valid page opened, then its magic overwritten with 0 (under
 * the sequence lock).  Expected: -ENODEV.  Got: 0 and a reading of the
 * garbage.  Fixed: the slow path validates every new snapshot.
 */
TEST(read_of_invalidated_page_is_not_enodev)
{
	struct vmclock_writer *w = fresh_writer(0);
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	REQUIRE(w);
	r = vmclock_reader_open_memory(&page, PAGE);
	REQUIRE(r);
	REQUIRE(!vmclock_reader_read(r, &rd));
	/* A reset under the sequence lock, as a writer would do it. */
	page.abi.seq_count += 1;
	page.abi.magic = 0;
	page.abi.seq_count += 1;
	CHECK_EQ_INT(vmclock_reader_read(r, &rd), -ENODEV);
	vmclock_reader_close(r);
	vmclock_writer_destroy(w);
}

/* Run @fn in a child with a 3 s alarm: its exit status, or -signal. */
static int in_child(void (*fn)(const char *), const char *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		alarm(3);
		fn(arg);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static void open_and_close(const char *path)
{
	struct vmclock_reader *r = vmclock_reader_open(path);

	vmclock_reader_close(r);
	_exit(r ? 0 : 1);
}

/*
 * lib/reader.c, vmclock_reader_open(): open(path, O_RDONLY) on a FIFO with
 * no writer blocks forever, so `vmclock status --device /tmp/fifo` (or any
 * reader given a FIFO path) hangs.  Expected: a prompt error (open with
 * O_NONBLOCK, or refuse what fstat says is not a regular file or a
 * character device).  Got: killed by the test's 3 s alarm.  Fixed: both.
 */
TEST(open_of_fifo_hangs)
{
	char path[] = "/tmp/vmclock-fifo-XXXXXX";
	int fd = mkstemp(path), ret;

	REQUIRE(fd >= 0);
	close(fd);
	unlink(path);
	REQUIRE(!mkfifo(path, 0600));
	ret = in_child(open_and_close, path);
	unlink(path);
	CHECK_MSG(ret != -SIGALRM, "vmclock_reader_open() of a FIFO hung");
}

/*
 * lib/derived.c, vmclock_reading_smeared(): with leap_indicator POS ("now
 * in the inserted 23:59:60") the page's tai_offset_sec may be the offset
 * before the leap (IERS) or after it (Linux), and vmclock_tai_to_smeared()
 * takes TAI - offset within a second of the month's end on either side
 * as 23:59:60.  The bound smeared each end on its own: at the 2017-01-01
 * leap, a reading 1 ms into 23:59:60 with offset 36 and a 2 ms max error
 * has its earliest 1 ms before 23:59:60, which was smeared with offset 36
 * taken as the later one, about a second ahead.  Expected: earliest <=
 * time <= latest.  Got: 1483228800.497994237 > 1483228799.501005775
 * (NOON_LINEAR; found by fuzz_page).  Fixed: both ends are smeared around
 * the leap the reading's time names, and widened by the other reading of
 * the offset where the bound meets its 23:59:60.
 */
TEST(smeared_bound_ordered_at_start_of_inserted_second)
{
	const int64_t M = 1483228800ll * 1000000000ll; /* 2017-01-01 UTC */
	struct vmclock_reading rd;
	struct vmclock_smeared sm;
	uint8_t hint;

	memset(&rd, 0, sizeof(rd));
	rd.valid = VMCLOCK_VALID_TIME | VMCLOCK_VALID_TAI |
		   VMCLOCK_VALID_MAXERROR;
	rd.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID;
	rd.tai_ns = M + 36000000000ll + 1000000;
	rd.tai_offset_sec = 36;
	rd.leap_indicator = VMCLOCK_LEAP_POS;
	rd.maxerror_ns = 2000000;
	for (hint = VMCLOCK_SMEARING_NOON_LINEAR;
	     hint <= VMCLOCK_SMEARING_UTC_SLS; hint++) {
		REQUIRE(!vmclock_reading_smeared(&rd, hint, &sm));
		REQUIRE(sm.bounded);
		CHECK_MSG(sm.earliest_ns <= sm.time_ns &&
				  sm.time_ns <= sm.latest_ns,
			  "hint %u: %" PRId64 " %" PRId64 " %" PRId64, hint,
			  sm.earliest_ns, sm.time_ns, sm.latest_ns);
	}
}

/*
 * lib/page.c, decode_fields(): the page's size field says which fields
 * exist ("a field ending beyond size is absent", vmclock-abi.h: "readers
 * check VMCLOCK_FIELD_PRESENT() before touching anything past the
 * flags"), but clock_status, leap_second_smearing_hint, tai_offset_sec,
 * leap_indicator (0x22..0x26) are read whatever the size.  Input: a 4 KiB
 * buffer holding a page with size 32 (only the header and flags), bytes
 * 0x22 = 2 (SYNCHRONIZED), 0x24 = 37, 0x26 = 3 (POS) behind it.
 * Expected: status UNKNOWN, no leap, offset 0 (absent).  Got: SYNCHRONIZED,
 * POS, 37 read from beyond the page.  Fixed: fields past size read as
 * absent.
 */
TEST(fields_beyond_size_are_read)
{
	static union {
		uint64_t words[512];
		uint8_t b[4096];
	} pg;
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	memcpy(pg.b, "VCLK", 4);
	pg.b[4] = 32; /* size */
	pg.b[8] = 1; /* version */
	pg.b[10] = VMCLOCK_COUNTER_X86_TSC;
	pg.b[12] = 2; /* seq_count */
	pg.b[0x22] = VMCLOCK_STATUS_SYNCHRONIZED;
	pg.b[0x24] = 37;
	pg.b[0x26] = VMCLOCK_LEAP_POS;
	r = vmclock_reader_open_memory(&pg, sizeof(pg));
	REQUIRE(r);
	REQUIRE(!vmclock_reader_read_at(r, 0, &rd));
	CHECK_EQ_INT(rd.clock_status, VMCLOCK_STATUS_UNKNOWN);
	CHECK_EQ_INT(rd.leap_indicator, VMCLOCK_LEAP_NONE);
	CHECK_EQ_INT(rd.tai_offset_sec, 0);
	vmclock_reader_close(r);
}
