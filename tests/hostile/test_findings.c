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
