// SPDX-License-Identifier: MIT
/*
 * guest_bench.c - the kernel paths to the page, inside a guest, as ratios
 * to the mapped read: pread() of /dev/vmclockN (through the library and
 * bare), and the PTP clock (clock_gettime on the PHC, the
 * PTP_SYS_OFFSET_EXTENDED and PTP_SYS_OFFSET_PRECISE ioctls).  Built
 * static so that it runs in the e2e initramfs; bench/run-guest.sh boots it.
 *
 *	guest_bench [DEVICE [PTPDEV]]   interleaved batches; a table, ratios
 *	guest_bench --smoke             a tmpfs page on the host, no PHC;
 *	                                "N passed, N failed"
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define FD_TO_CLOCKID(fd) ((clockid_t)((((unsigned int)~(fd)) << 3) | 3))

static struct vmclock_reader *rd_mmap, *rd_pread;
static int dev_fd = -1, ptp_fd = -1;
static unsigned long errors;

#define OP(name) static __attribute__((noinline)) void op_##name(unsigned int n)

OP(mmap_read)
{
	struct vmclock_reading r;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_reader_read(rd_mmap, &r))
			errors++;
		bench_keep(r.time_ns);
	}
}

OP(pread_read)
{
	struct vmclock_reading r;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_reader_read(rd_pread, &r))
			errors++;
		bench_keep(r.time_ns);
	}
}

OP(bare_pread)
{
	struct vmclock_abi buf;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pread(dev_fd, &buf, sizeof(buf), 0) != sizeof(buf))
			errors++;
}

OP(lfence_rdtsc)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(bench_rdtsc_ordered());
}

OP(clock_gettime_realtime)
{
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		bench_keep(ts.tv_nsec);
	}
}

OP(phc_clock_gettime)
{
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (clock_gettime(FD_TO_CLOCKID(ptp_fd), &ts))
			errors++;
}

OP(phc_sys_offset_extended)
{
	struct ptp_sys_offset_extended x;
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&x, 0, sizeof(x));
		x.n_samples = 1;
		if (ioctl(ptp_fd, PTP_SYS_OFFSET_EXTENDED, &x))
			errors++;
	}
}

OP(phc_sys_offset_precise)
{
	struct ptp_sys_offset_precise x;
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&x, 0, sizeof(x));
		if (ioctl(ptp_fd, PTP_SYS_OFFSET_PRECISE, &x))
			errors++;
	}
}

struct op {
	const char *name;
	void (*fn)(unsigned int n);
	int phc;
	double *ns;
};

#define O(name, phc) { #name, op_##name, phc, NULL }
static struct op ops[] = {
	O(mmap_read, 0),
	O(lfence_rdtsc, 0),
	O(clock_gettime_realtime, 0),
	O(pread_read, 0),
	O(bare_pread, 0),
	O(phc_clock_gettime, 1),
	O(phc_sys_offset_extended, 1),
	O(phc_sys_offset_precise, 1),
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static int usable(const struct op *op)
{
	return !op->phc || ptp_fd >= 0;
}

static void run(unsigned int rounds, unsigned int batch)
{
	unsigned int r, k;

	for (k = 0; k < NOPS; k++)
		ops[k].ns = calloc(rounds, sizeof(double));
	for (r = 0; r < rounds; r++)
		for (k = 0; k < NOPS; k++) {
			struct op *op = &ops[(k + r) % NOPS];
			uint64_t t0;

			if (!usable(op))
				continue;
			t0 = bench_mono_ns();
			op->fn(batch);
			op->ns[r] = (double)(bench_mono_ns() - t0) / batch;
		}
}

static void report(unsigned int rounds)
{
	double *v = calloc(rounds, sizeof(double));
	double *c = calloc(rounds, sizeof(double));
	unsigned int r;
	size_t k;

	printf("%-26s %10s %10s\n", "op", "median_ns", "x_mmap");
	for (k = 0; k < NOPS; k++) {
		if (!usable(&ops[k])) {
			printf("%-26s %10s %10s\n", ops[k].name, "n/a", "n/a");
			continue;
		}
		for (r = 0; r < rounds; r++) {
			v[r] = ops[k].ns[r] / ops[0].ns[r];
			c[r] = ops[k].ns[r];
		}
		printf("%-26s %10.1f %10.2f\n", ops[k].name,
		       bench_median(c, rounds), bench_median(v, rounds));
	}
	printf("# errors (failed calls) = %lu\n", errors);
	free(v);
	free(c);
}

static int open_all(const char *dev, const char *ptp)
{
	rd_mmap = vmclock_reader_open(dev);
	setenv("VMCLOCK_ACCESS", "pread", 1);
	rd_pread = vmclock_reader_open(dev);
	unsetenv("VMCLOCK_ACCESS");
	dev_fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (!rd_mmap || !rd_pread || dev_fd < 0) {
		fprintf(stderr, "guest_bench: %s: %s\n", dev, strerror(errno));
		return -1;
	}
	if (ptp)
		ptp_fd = open(ptp, O_RDWR | O_CLOEXEC);
	return 0;
}

static int smoke(void)
{
	struct bench_page pg;
	char name[64];
	size_t k;

	snprintf(name, sizeof(name), "vmclock-guest-bench-%d", (int)getpid());
	if (bench_page_create(&pg, bench_tmpdir(), name) || open_all(pg.path, NULL)) {
		bench_check(0, "page on tmpfs");
		return bench_done();
	}
	run(3, 10);
	for (k = 0; k < NOPS; k++)
		if (usable(&ops[k]))
			bench_check(ops[k].ns[0] > 0, ops[k].name);
	bench_check(errors == 0, "no call failed");
	bench_page_destroy(&pg);
	return bench_done();
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : VMCLOCK_DEFAULT_DEVICE;
	const char *ptp = argc > 2 ? argv[2] : NULL;
	unsigned int rounds = 201;

	if (argc > 1 && !strcmp(argv[1], "--smoke"))
		return smoke();
	if (open_all(dev, ptp))
		return 2;
	printf("# guest_bench %s %s: %u rounds x 200 calls, interleaved; "
	       "x_mmap = median of per-round ratios to mmap_read\n", dev,
	       ptp_fd >= 0 ? ptp : "(no PHC)", rounds);
	run(rounds, 200);
	report(rounds);
	return 0;
}
