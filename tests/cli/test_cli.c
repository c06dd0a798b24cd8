// SPDX-License-Identifier: MIT
/*
 * test_cli.c - the subcommands in process, through the CLI's seams.
 *
 * check, wait-sync and now in basic mode against a fake kernel NTP state
 * (cli_bounded_ops): synchronised, unsynchronised, voided by a disruption
 * until re-synced.
 *
 * watch's wake-up paths against a fake device behind the CLI's poll() and
 * pread() seams.  The fake plays
 * Linux's ptp_vmclock: POLLIN while the fd's acknowledged seq_count differs
 * from the page's (level-triggered until a read), POLLHUP when the page has
 * no NOTIFICATION_PRESENT.  Each time watch would sleep, the fake's host
 * makes the next scripted update through libvmclock's writer, so the test
 * is exact: every update reported once, in order, and no busy polling.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/timex.h>
#include <unistd.h>

#include <vmclock/vmclock-writer.h>

#include "../../cli/cli.h"
#include "../harness/test.h"

#define PAGE 4096

/*
 * LINUX: 7.0's semantics; HUP: no NOTIFICATION_PRESENT support; OLD: a
 * driver without poll (the default mask, always ready); LEVEL: POLLIN
 * that no read clears.
 */
enum fake_mode { FAKE_LINUX, FAKE_HUP, FAKE_OLD, FAKE_LEVEL };

static struct {
	enum fake_mode mode;
	struct vmclock_writer *w;
	volatile struct vmclock_abi *pg;
	uint32_t acked; /* the fd's seq, as Linux keeps it (0 at open) */
	int step; /* next scripted update */
	int fd_polls; /* poll() calls on the fd */
	int sleeps; /* poll() calls with no fd: interval sleeps */
	int fd_polls_after_hup;
	int hupped;
	int last_timeout; /* of the last poll() on the fd */
} fk;

static char path[64];

/* The host's updates, in order; returns 0 when the script is done. */
static int next_update(void)
{
	struct vmclock_writer *w = fk.w;

	switch (fk.step++) {
	case 0:
		return !vmclock_writer_bump_disruption(w, 0);
	case 1:
		return !vmclock_writer_bump_generation(w, 0);
	case 2:
		return !vmclock_writer_set_status(w,
						  VMCLOCK_STATUS_FREERUNNING);
	case 3:
		return !vmclock_writer_set_flags(
			w, VMCLOCK_FLAG_DISRUPTION_IMMINENT, 0);
	case 4:
		return !vmclock_writer_set_leap(w, VMCLOCK_LEAP_PRE_POS);
	default:
		return 0;
	}
}

static uint32_t page_seq(void)
{
	return __atomic_load_n(&fk.pg->seq_count, __ATOMIC_ACQUIRE);
}

static ssize_t fake_pread(int fd, void *buf, size_t n, off_t off)
{
	fk.acked = page_seq();
	return pread(fd, buf, n, off);
}

static int fake_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	if (n == 0) {
		fk.sleeps++;
		next_update();
		return 0;
	}
	fk.fd_polls++;
	fk.last_timeout = timeout_ms;
	if (fk.hupped)
		fk.fd_polls_after_hup++;
	if (fk.mode == FAKE_HUP ||
	    !(fk.pg->flags & VMCLOCK_FLAG_NOTIFICATION_PRESENT)) {
		fk.hupped = 1;
		fds[0].revents = POLLHUP;
		return 1;
	}
	if (fk.mode == FAKE_OLD || fk.mode == FAKE_LEVEL) {
		fk.hupped = 1; /* no fd poll is expected after the fallback */
		fds[0].revents =
			fk.mode == FAKE_OLD ?
				(short)((POLLIN | POLLOUT) & fds[0].events) :
				POLLIN;
		return 1;
	}
	/* Level-triggered: still POLLIN until the fd reads. */
	if (page_seq() != fk.acked || next_update()) {
		fds[0].revents = POLLIN;
		return 1;
	}
	fds[0].revents = 0;
	return 0;
}

static void setup(enum fake_mode mode, uint64_t flags)
{
	struct vmclock_writer_config cfg = { 0 };
	int fd;

	memset(&fk, 0, sizeof(fk));
	fk.mode = mode;
	snprintf(path, sizeof(path), "/tmp/vmclock-test-watch.%d",
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, PAGE))
		abort();
	fk.pg = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	cfg.counter_id = VMCLOCK_COUNTER_X86_TSC;
	cfg.size = PAGE;
	fk.w = vmclock_writer_create(fk.pg, PAGE, &cfg);
	/* A generation already, so that a bump changes no flag. */
	if (!fk.w || vmclock_writer_set_flags(fk.w, flags, 0) ||
	    vmclock_writer_bump_generation(fk.w, 0))
		abort();
	cli_poll = fake_poll;
	cli_pread = fake_pread;
	cli_force_poll = 1;
}

static void teardown(void)
{
	vmclock_writer_destroy(fk.w);
	munmap((void *)fk.pg, PAGE);
	unlink(path);
}

/* Run `vmclock watch --device path ARGS...`; its stdout into @out. */
static int run_watch(char **out, const char *a1, const char *a2)
{
	char *argv[] = {
		(char *)"watch",   (char *)"--device",	 path,
		(char *)"--count", (char *)"5",		 (char *)"--timeout",
		(char *)"20",	   (char *)"--interval", (char *)"1",
		(char *)a1,	   (char *)a2,		 NULL
	};
	size_t len;
	int rc;

	cli_out = open_memstream(out, &len);
	rc = cmd_watch(a1 ? (a2 ? 11 : 10) : 9, argv);
	fclose(cli_out);
	return rc;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The five updates, one line each, in order, each exactly one update. */
static void check_report(const char *out)
{
	static const char *const events[] = {
		"events disruption;", "events restore;",
		"events status;",     "events flags,maintenance-imminent;",
		"events leap;",
	};
	const char *line = out;
	int i;

	CHECK_EQ_INT(count_lines(out), 5);
	for (i = 0; i < 5 && line && *line; i++) {
		const char *end = strchr(line, '\n');

		CHECK_MSG(strstr(line, events[i]) &&
				  strstr(line, events[i]) < end,
			  "line %d lacks '%s': %.*s", i, events[i],
			  (int)(end - line), line);
		CHECK(strstr(line, "(1 update)") &&
		      strstr(line, "(1 update)") < end);
		line = end ? end + 1 : NULL;
	}
}

TEST(poll_linux_semantics_every_update_once)
{
	char *out = NULL;

	setup(FAKE_LINUX, VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	CHECK_EQ_INT(run_watch(&out, NULL, NULL), EXIT_OK);
	check_report(out);
	CHECK_EQ_INT(fk.step, 5);
	CHECK_EQ_INT(fk.sleeps, 0);
	/* One POLLIN at open (seq != 0), one per update: no busy loop. */
	CHECK_EQ_INT(fk.fd_polls, 6);
	CHECK_EQ_U64(fk.acked, page_seq());
	/* Notified, it sleeps until the deadline, not the 1 ms interval. */
	CHECK_MSG(fk.last_timeout > 10000, "timeout %d", fk.last_timeout);
	free(out);
	teardown();
}

TEST(poll_json_lines)
{
	char *out = NULL;

	setup(FAKE_LINUX, VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	CHECK_EQ_INT(run_watch(&out, "--json", NULL), EXIT_OK);
	CHECK_EQ_INT(count_lines(out), 5);
	CHECK(strstr(out, "\"events\": [\"disruption\"]"));
	CHECK(strstr(out, "\"changed\": [\"vm_generation_counter\"]"));
	CHECK(strstr(out, "\"updates\": 1,"));
	free(out);
	teardown();
}

TEST(pollhup_falls_back_to_interval)
{
	char *out = NULL;

	setup(FAKE_HUP, VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	CHECK_EQ_INT(run_watch(&out, NULL, NULL), EXIT_OK);
	check_report(out);
	CHECK_EQ_INT(fk.fd_polls, 1);
	CHECK_EQ_INT(fk.fd_polls_after_hup, 0);
	CHECK_EQ_INT(fk.sleeps, 5);
	free(out);
	teardown();
}

TEST(driver_without_poll_falls_back_to_interval)
{
	char *out = NULL;

	setup(FAKE_OLD, VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	CHECK_EQ_INT(run_watch(&out, NULL, NULL), EXIT_OK);
	check_report(out);
	CHECK_EQ_INT(fk.fd_polls, 1);
	CHECK_EQ_INT(fk.sleeps, 5);
	free(out);
	teardown();
}

TEST(pollin_that_never_clears_falls_back_to_interval)
{
	char *out = NULL;

	setup(FAKE_LEVEL, VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	CHECK_EQ_INT(run_watch(&out, NULL, NULL), EXIT_OK);
	check_report(out);
	/* The first (as after open) and eight more, then interval reads. */
	CHECK_EQ_INT(fk.fd_polls, 9);
	CHECK_EQ_INT(fk.sleeps, 5);
	free(out);
	teardown();
}

TEST(no_notification_flag_means_interval)
{
	char *out = NULL;

	setup(FAKE_LINUX, 0);
	CHECK_EQ_INT(run_watch(&out, NULL, NULL), EXIT_OK);
	check_report(out);
	CHECK_EQ_INT(fk.fd_polls, 0);
	CHECK_EQ_INT(fk.sleeps, 5);
	free(out);
	teardown();
}

TEST(plain_file_means_interval)
{
	char *out = NULL;

	setup(FAKE_LINUX, VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	cli_force_poll = 0;
	CHECK_EQ_INT(run_watch(&out, NULL, NULL), EXIT_OK);
	check_report(out);
	CHECK_EQ_INT(fk.fd_polls, 0);
	free(out);
	teardown();
}

TEST(count_not_reached_times_out)
{
	char *argv[] = { (char *)"watch",
			 (char *)"--device",
			 path,
			 (char *)"--count",
			 (char *)"9",
			 (char *)"--timeout",
			 (char *)"0.2",
			 (char *)"--interval",
			 (char *)"1",
			 NULL };
	char *out = NULL;
	size_t len;

	setup(FAKE_LINUX, 0);
	cli_poll = poll; /* real sleeps: the timeout must end it */
	cli_out = open_memstream(&out, &len);
	CHECK_EQ_INT(cmd_watch(9, argv), EXIT_FAIL);
	fclose(cli_out);
	CHECK_EQ_INT(count_lines(out), 0);
	free(out);
	teardown();
}

/* A fake kernel for basic mode: synced with 1 ms max error unless told. */
static struct {
	int unsynced;
	long maxerror;
	int sleeps;
	int sync_after;
	int64_t mono;
} kern;

static int kern_adjtimex(void *ctx, struct timex *tx)
{
	(void)ctx;
	tx->maxerror = kern.maxerror;
	tx->esterror = 10;
	tx->status = kern.unsynced ? STA_UNSYNC : 0;
	return kern.unsynced ? TIME_ERROR : TIME_OK;
}

static int kern_clock(void *ctx, clockid_t id, struct timespec *ts)
{
	int64_t ns = id == CLOCK_REALTIME ? 1800000000000000000ll + kern.mono :
					    kern.mono;

	(void)ctx;
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

static void kern_sleep(void *ctx, uint64_t ns)
{
	(void)ctx;
	kern.mono += (int64_t)ns;
	if (++kern.sleeps == kern.sync_after) {
		kern.unsynced = 0;
		kern.maxerror = 700; /* the NTP daemon's new value */
	}
}

static const struct vmclock_bounded_ops kern_ops = {
	kern_adjtimex,
	kern_clock,
	kern_sleep,
	NULL,
};

static void basic_setup(void)
{
	setup(FAKE_LINUX, 0);
	memset(&kern, 0, sizeof(kern));
	kern.maxerror = 1000;
	kern.mono = 5000000000ll;
	cli_bounded_ops = &kern_ops;
	setenv("VMCLOCK_STATE_DIR", "none", 1);
}

/* Run a subcommand with @args (NULL-terminated); its stdout into @out. */
static int run_cmd(int (*fn)(int, char **), char **out, ...)
{
	char *argv[16] = { (char *)"cmd", (char *)"--device", path };
	int argc = 3, rc;
	size_t len;
	va_list ap;
	char *a;

	va_start(ap, out);
	while ((a = va_arg(ap, char *)) && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	cli_out = open_memstream(out, &len);
	rc = fn(argc, argv);
	fclose(cli_out);
	return rc;
}

TEST(check_basic_synced_and_unsynced)
{
	char *out = NULL;

	basic_setup();
	CHECK_EQ_INT(run_cmd(cmd_check, &out, "--require-synchronized", NULL),
		     EXIT_OK);
	CHECK_MSG(strstr(out, "OK: maxerror 1500000 ns, SYNCHRONIZED "
			      "(source: system)"),
		  "%s", out);
	free(out);
	CHECK_EQ_INT(run_cmd(cmd_check, &out, "--max-error", "1000000", NULL),
		     EXIT_FAIL);
	CHECK_MSG(strstr(out, "exceeds 1000000 ns"), "%s", out);
	free(out);
	kern.unsynced = 1;
	CHECK_EQ_INT(run_cmd(cmd_check, &out, "--json", NULL), EXIT_FAIL);
	CHECK_MSG(strstr(out, "\"ok\": false") &&
			  strstr(out, "not synchronized") &&
			  strstr(out, "\"maxerror_ns\": null"),
		  "%s", out);
	free(out);
	teardown();
	cli_bounded_ops = NULL;
}

TEST(now_basic_json)
{
	char *out = NULL;

	basic_setup();
	CHECK_EQ_INT(run_cmd(cmd_now, &out, "--json", NULL), EXIT_OK);
	CHECK_MSG(strstr(out, "\"utc_ns\": 1800000005000000000") &&
			  strstr(out, "\"maxerror_ns\": 1500000") &&
			  strstr(out, "\"earliest_ns\": 1800000004998500000") &&
			  strstr(out, "\"latest_ns\": 1800000005001500000") &&
			  strstr(out, "\"counter\": null") &&
			  strstr(out, "\"source\": \"system\""),
		  "%s", out);
	free(out);
	teardown();
	cli_bounded_ops = NULL;
}

TEST(wait_sync_basic_waits_for_the_kernel)
{
	char *out = NULL;

	basic_setup();
	kern.unsynced = 1;
	kern.sync_after = 4;
	CHECK_EQ_INT(run_cmd(cmd_wait_sync, &out, "--timeout", "10", NULL),
		     EXIT_OK);
	CHECK_EQ_INT(kern.sleeps, 4);
	CHECK_MSG(strstr(out, "synchronized: maxerror 1200000 ns"), "%s", out);
	free(out);
	kern.unsynced = 1;
	kern.sync_after = 0;
	kern.sleeps = 0;
	CHECK_EQ_INT(run_cmd(cmd_wait_sync, &out, "--timeout", "1", "--json",
			     NULL),
		     EXIT_FAIL);
	CHECK_EQ_INT(kern.sleeps, 10);
	CHECK_MSG(strstr(out, "\"synchronized\": false") &&
			  strstr(out, "timed out after 1.000 s"),
		  "%s", out);
	free(out);
	teardown();
	cli_bounded_ops = NULL;
}

TEST(check_sees_a_disruption_between_runs)
{
	char dir[] = "/tmp/vmclock-test-state.XXXXXX", cmd[64];
	char *out = NULL;

	basic_setup();
	REQUIRE(mkdtemp(dir));
	setenv("VMCLOCK_STATE_DIR", dir, 1);
	CHECK_EQ_INT(run_cmd(cmd_check, &out, NULL), EXIT_OK);
	free(out);
	/* Migrated between two runs: the second run knows from the state. */
	vmclock_writer_bump_disruption(fk.w, 0);
	kern.mono += 1000000000;
	CHECK_EQ_INT(run_cmd(cmd_check, &out, NULL), EXIT_FAIL);
	CHECK_MSG(strstr(out, "has not been re-synced since"), "%s", out);
	free(out);
	kern.mono += 1000000000;
	kern.maxerror += 500; /* the kernel's own growth: no re-sync */
	CHECK_EQ_INT(run_cmd(cmd_check, &out, NULL), EXIT_FAIL);
	free(out);
	kern.mono += 1000000000;
	kern.maxerror = 300; /* the NTP daemon's update */
	CHECK_EQ_INT(run_cmd(cmd_check, &out, NULL), EXIT_OK);
	CHECK_MSG(strstr(out, "OK: maxerror 800000 ns"), "%s", out);
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ_INT(system(cmd), 0);
	setenv("VMCLOCK_STATE_DIR", "none", 1);
	teardown();
	cli_bounded_ops = NULL;
}
