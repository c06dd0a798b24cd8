// SPDX-License-Identifier: MIT
/*
 * test_hostile.c - hostile page files and dead writers through libvmclock's
 * reader: every one a clear error (NULL with errno and a message naming the
 * problem, or a negative errno from a read), never a crash or a hang.
 *
 * Files: empty, shorter than the smallest page, cut inside the struct,
 * oversized, a size field beyond the file, random garbage (seeded), no read
 * permission (checked as nobody when run as root), a directory, a FIFO
 * with no writer, /dev/null and /dev/zero.  Writers: one that dies (a
 * killed process) with seq_count odd makes reads fail with -ETIMEDOUT
 * within the 100 ms deadline, and reads recover, with marker and
 * generation kept, once a new writer adopts the page.
 *
 * Anything that could hang or crash runs in a child with a deadline.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "../harness/test.h"

#define PAGE 4096

static char dir[64];

static void make_dir(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof(dir), "/tmp/vmclock-hostile-XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

static __attribute__((destructor)) void remove_dir(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A valid page image written by libvmclock's writer into @buf. */
static void good_page(void *buf, size_t len)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_TAI,
		.size = (uint32_t)len,
	};
	struct vmclock_calibration cal = {
		.counter_value = 1000,
		.time_sec = 1700000000,
		.period_frac = 0x89705f4136b4a597ull,
		.period_shift = 29,
		.time_maxerror_ns = 1000,
		.valid = VMCLOCK_CAL_TIME_MAXERROR,
	};
	struct vmclock_writer *w = vmclock_writer_create(buf, len, &cfg);

	if (!w)
		return;
	vmclock_writer_set_calibration(w, &cal, NULL);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED);
	vmclock_writer_bump_disruption(w, 41);
	vmclock_writer_bump_generation(w, 42);
	vmclock_writer_destroy(w);
}

static int write_file(const char *name, const void *buf, size_t len, char *path,
		      size_t plen)
{
	int fd;

	make_dir();
	snprintf(path, plen, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	if (len && write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Open @path in a child (it may hang or crash) and report: the errno of a
 * failed open, 0 for a reader whose read returned, or -1 for a child that
 * died by a signal or hung past 3 s.  *@msg gets the open error message.
 */
static int open_in_child(const char *path, int as_nobody, char *msg,
			 size_t mlen)
{
	int pfd[2], status = 0;
	uint64_t t0 = now_ns();
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct vmclock_reading rd;
		struct vmclock_reader *r;
		char out[256];
		int err;

		close(pfd[0]);
		alarm(3);
		if (as_nobody && (setgid(65534) || setuid(65534)))
			_exit(99);
		r = vmclock_reader_open(path);
		err = r ? 0 : errno;
		snprintf(out, sizeof(out), "%s", vmclock_reader_open_error());
		if (r) {
			vmclock_reader_set_timeout(r, 10000000);
			vmclock_reader_read(r, &rd);
			vmclock_reader_close(r);
		}
		if (write(pfd[1], out, strlen(out)) < 0)
			_exit(98);
		_exit(err);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, mlen - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (test_verbose())
		printf("  %s: status 0x%x in %.0f ms: %s\n", path, status,
		       (double)(now_ns() - t0) / 1e6, msg);
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void expect_enodev(const char *name, const void *buf, size_t len,
			  const char *words)
{
	char path[128], msg[256];
	int err;

	REQUIRE(!write_file(name, buf, len, path, sizeof(path)));
	err = open_in_child(path, 0, msg, sizeof(msg));
	CHECK_MSG(err == ENODEV, "%s: got %d, want ENODEV", name, err);
	CHECK_MSG(strstr(msg, words), "%s: message \"%s\" lacks \"%s\"", name,
		  msg, words);
}

TEST(truncated_files_are_refused)
{
	static uint64_t page[PAGE / 8];

	good_page(page, PAGE);
	expect_enodev("empty", page, 0, "only 0 bytes");
	expect_enodev("one-byte", page, 1, "only 1 bytes");
	expect_enodev("31-bytes", page, 31, "only 31 bytes");
	/* Cut after the header: the size field (4096) is beyond the file. */
	expect_enodev("cut-112", page, 112, "bad size field 4096");
	expect_enodev("cut-4095", page, 4095, "bad size field 4096");
}

TEST(oversized_and_short_sized_pages)
{
	static uint64_t page[4 * PAGE / 8];
	char path[128], msg[256];

	/* A 16 KiB file holding a 4 KiB page: the first page is the page. */
	good_page(page, PAGE);
	REQUIRE(!write_file("16k", page, sizeof(page), path, sizeof(path)));
	CHECK_EQ_INT(open_in_child(path, 0, msg, sizeof(msg)), 0);
	/* The smallest page (size 32) and one of the struct (112) open. */
	memset(page, 0, sizeof(page));
	good_page(page, 112);
	REQUIRE(!write_file("112", page, 112, path, sizeof(path)));
	CHECK_EQ_INT(open_in_child(path, 0, msg, sizeof(msg)), 0);
	((struct vmclock_abi *)page)->size = htole32(32);
	REQUIRE(!write_file("32", page, 32, path, sizeof(path)));
	CHECK_EQ_INT(open_in_child(path, 0, msg, sizeof(msg)), 0);
	/* A size field above a page. */
	good_page(page, PAGE);
	((struct vmclock_abi *)page)->size = htole32(1u << 20);
	expect_enodev("size-1m", page, PAGE, "bad size field");
}

TEST(garbage_files_never_crash)
{
	static uint8_t buf[PAGE];
	char path[128], msg[256];
	int i, err, refused = 0;
	size_t j, len;

	for (i = 0; i < 200; i++) {
		len = (size_t)test_rand_below(PAGE + 1);
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)test_rand();
		/* Half of them get a valid magic and version, to go deeper. */
		if (i & 1 && len >= 12) {
			memcpy(buf, "VCLK", 4);
			buf[8] = 1;
			buf[9] = 0;
			buf[4] = (uint8_t)len;
			buf[5] = (uint8_t)(len >> 8);
			buf[6] = buf[7] = 0;
		}
		REQUIRE(!write_file("garbage", buf, len, path, sizeof(path)));
		err = open_in_child(path, 0, msg, sizeof(msg));
		CHECK_MSG(err == 0 || err == ENODEV,
			  "garbage %d (%zu bytes, seed %" PRIu64 "): %d", i,
			  len, test_seed(), err);
		if (err == ENODEV) {
			refused++;
			CHECK_MSG(msg[0], "garbage %d: no message", i);
		}
	}
	CHECK(refused >= 100); /* the random half */
}

TEST(no_read_permission)
{
	static uint64_t page[PAGE / 8];
	char path[128], msg[256];
	int err;

	good_page(page, PAGE);
	REQUIRE(!write_file("mode-000", page, PAGE, path, sizeof(path)));
	REQUIRE(!chmod(path, 0));
	/* root reads anything: check as nobody (needs a searchable dir). */
	REQUIRE(!chmod(dir, 0755));
	err = open_in_child(path, getuid() == 0, msg, sizeof(msg));
	CHECK_MSG(err == EACCES, "got %d, want EACCES", err);
	CHECK_MSG(!msg[0], "open error message for EACCES: \"%s\"", msg);
}

TEST(not_a_page_file)
{
	char path[128], msg[256];
	int err;

	make_dir();
	err = open_in_child(dir, 0, msg, sizeof(msg));
	CHECK_MSG(err == EISDIR || err == ENODEV, "directory: %d", err);
	err = open_in_child("/dev/null", 0, msg, sizeof(msg));
	CHECK_MSG(err == ENODEV, "/dev/null: %d", err);
	err = open_in_child("/dev/zero", 0, msg, sizeof(msg));
	CHECK_MSG(err == ENODEV && strstr(msg, "bad magic"), "/dev/zero: %d %s",
		  err, msg);
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK_EQ_INT(open_in_child(path, 0, msg, sizeof(msg)), ENOENT);
}

/* The page as a shared file mapping, for writers in other processes. */
static volatile void *shared_page(const char *name, char *path, size_t plen)
{
	static uint64_t zero[PAGE / 8];
	void *map;
	int fd;

	if (write_file(name, zero, PAGE, path, plen))
		return NULL;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return NULL;
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return map == MAP_FAILED ? NULL : map;
}

static const struct vmclock_writer_config adopt_cfg = {
	.counter_id = VMCLOCK_COUNTER_X86_TSC,
	.time_type = VMCLOCK_TIME_TAI,
	.size = PAGE,
	.adopt = 1,
};

/* A writer process that opens a transaction and is killed inside it. */
static int kill_writer_mid_update(volatile void *pg)
{
	int pfd[2], status;
	pid_t pid;
	char c;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct vmclock_writer *w =
			vmclock_writer_create(pg, PAGE, &adopt_cfg);

		if (!w)
			_exit(1);
		vmclock_writer_begin(w);
		vmclock_writer_set_status(w, VMCLOCK_STATUS_UNRELIABLE);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		c = 0;
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return c == 'x' ? 0 : -1;
}

TEST(dead_writer_times_out_then_recovers)
{
	struct vmclock_reading rd;
	struct vmclock_reader *r;
	struct vmclock_writer *w;
	char path[128];
	volatile void *pg = shared_page("dead-writer", path, sizeof(path));
	uint64_t t0, ms;
	int err;

	REQUIRE(pg);
	good_page((void *)pg, PAGE);
	r = vmclock_reader_open(path);
	REQUIRE(r);
	REQUIRE(!vmclock_reader_read(r, &rd));
	CHECK_EQ_U64(rd.disruption_marker, 41);
	REQUIRE(!kill_writer_mid_update(pg));
	t0 = now_ns();
	err = vmclock_reader_read(r, &rd);
	ms = (now_ns() - t0) / 1000000;
	CHECK_EQ_INT(err, -ETIMEDOUT);
	/* Linux's deadline; generous slack for a loaded machine. */
	CHECK_MSG(ms >= 99 && ms < 1000, "timed out after %" PRIu64 " ms", ms);
	CHECK(strstr(vmclock_strerror(err), "stuck or gone"));
	/* A new writer adopts the page: seq even, marker and generation kept. */
	w = vmclock_writer_create(pg, PAGE, &adopt_cfg);
	REQUIRE(w);
	CHECK(vmclock_writer_adopted(w));
	err = vmclock_reader_read(r, &rd);
	CHECK_EQ_INT(err, 0);
	CHECK(!(rd.seq_count & 1));
	CHECK_EQ_U64(rd.disruption_marker, 41);
	CHECK_EQ_U64(rd.vm_generation_counter, 42);
	CHECK_EQ_INT(rd.events &
			     (VMCLOCK_EVENT_DISRUPTED | VMCLOCK_EVENT_RESTORED),
		     0);
	vmclock_writer_destroy(w);
	vmclock_reader_close(r);
	munmap((void *)pg, PAGE);
}

/* Readers of a stuck page fail within the deadline, each one, repeatedly. */
TEST(stuck_page_fails_every_read_within_deadline)
{
	static uint64_t page[PAGE / 8];
	struct vmclock_reading rd;
	struct vmclock_reader *r;
	uint64_t t0, worst = 0, t;
	int i;

	good_page(page, PAGE);
	((volatile struct vmclock_abi *)page)->seq_count |= htole32(1);
	r = vmclock_reader_open_memory(page, PAGE);
	REQUIRE(r);
	for (i = 0; i < 5; i++) {
		t0 = now_ns();
		CHECK_EQ_INT(vmclock_reader_read(r, &rd), -ETIMEDOUT);
		CHECK_EQ_INT(vmclock_reader_now(r, &rd), -ETIMEDOUT);
		t = (now_ns() - t0) / 2;
		worst = t > worst ? t : worst;
	}
	CHECK_MSG(worst < 1000000000ull, "worst %" PRIu64 " ns", worst);
	vmclock_reader_close(r);
}
