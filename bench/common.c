// SPDX-License-Identifier: MIT
/*
 * common.c - helpers shared by the benchmark programs (see common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>

#include "common.h"

uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_counter_hz(void)
{
	static uint64_t hz;
	uint64_t t0, c0, t1, c1;

	if (hz)
		return hz;
	t0 = raw_ns();
	c0 = bench_rdtsc_ordered();
	do
		t1 = raw_ns();
	while (t1 - t0 < 50000000u);
	c1 = bench_rdtsc_ordered();
	hz = (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
	return hz;
}

void bench_calibration(struct vmclock_calibration *cal)
{
	struct timespec ts;
	uint64_t period;
	uint8_t shift;

	memset(cal, 0, sizeof(*cal));
	vmclock_period_for_hz(bench_counter_hz(), &period, &shift);
	clock_gettime(CLOCK_REALTIME, &ts);
	cal->counter_value = bench_rdtsc_ordered();
	cal->switch_counter = cal->counter_value;
	cal->time_sec = (uint64_t)ts.tv_sec + 37; /* TAI */
	cal->time_frac = vmclock_nsec_to_frac((uint32_t)ts.tv_nsec);
	cal->period_frac = period;
	cal->period_shift = shift;
	cal->period_maxerror_rate = period / 1000000; /* 1 ppm */
	cal->period_esterror_rate = period / 10000000;
	cal->time_maxerror_ns = 50000;
	cal->time_esterror_ns = 5000;
	cal->valid = VMCLOCK_CAL_PERIOD_ESTERROR | VMCLOCK_CAL_PERIOD_MAXERROR |
		     VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR;
}

const char *bench_tmpdir(void)
{
	const char *d = getenv("VMCLOCK_BENCH_TMP");

	return d && *d ? d : "/dev/shm";
}

static int page_setup(struct bench_page *p)
{
	struct vmclock_writer_config cfg = {
		.counter_id = (uint8_t)vmclock_counter_id_native(),
		.time_type = VMCLOCK_TIME_TAI,
		.size = 4096,
	};
	struct vmclock_calibration cal;

	p->w = vmclock_writer_create(p->map, 4096, &cfg);
	if (!p->w)
		return -errno;
	bench_calibration(&cal);
	vmclock_writer_begin(p->w);
	vmclock_writer_set_tai_offset(p->w, 37, 1);
	vmclock_writer_set_status(p->w, VMCLOCK_STATUS_SYNCHRONIZED);
	vmclock_writer_set_calibration(p->w, &cal, NULL);
	return vmclock_writer_commit(p->w);
}

int bench_page_create(struct bench_page *p, const char *dir, const char *name)
{
	void *map;
	int fd, err;

	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s/%s", dir, name);
	fd = open(p->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, 4096)) {
		err = -errno;
		close(fd);
		return err;
	}
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	p->map = map;
	return page_setup(p);
}

void bench_page_destroy(struct bench_page *p)
{
	vmclock_writer_destroy(p->w);
	if (p->map)
		munmap((void *)p->map, 4096);
	if (p->path[0])
		unlink(p->path);
	memset(p, 0, sizeof(*p));
}

static long status_kb(const char *text, const char *key)
{
	const char *s = strstr(text, key);

	return s ? strtol(s + strlen(key), NULL, 10) : -1;
}

void bench_rss(struct bench_rss *m)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	m->rss_kb = m->anon_kb = m->shmem_kb = -1;
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	m->rss_kb = status_kb(buf, "VmRSS:");
	m->anon_kb = status_kb(buf, "RssAnon:");
	m->shmem_kb = status_kb(buf, "RssShmem:");
}

static unsigned int n_pass, n_fail;

void bench_check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
	if (ok)
		n_pass++;
	else
		n_fail++;
}

void bench_note(int ok, const char *what)
{
	if (ok)
		bench_check(1, what);
	else
		printf("NOTE: not so: %s (update the prototype; not a failure)\n",
		       what);
}

int bench_done(void)
{
	printf("%u passed, %u failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}

int bench_count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}
