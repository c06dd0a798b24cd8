// SPDX-License-Identifier: MIT
/*
 * bench_host.c - the host side at fleet scale: the cost of one guest's
 * page update (the counter mapping into the guest's domain, the fields,
 * the sequence lock) and the memory, for N guests.
 *
 * Layouts of the N pages:
 *   separate  one tmpfs file and one mapping per guest, as vmclockd does
 *             (one VMA each: stops at vm.max_map_count, 65,530 by default);
 *   shared    512 guests' pages per tmpfs file (2 MiB), one mapping per
 *             file; each VMM maps its page at its offset (QEMU:
 *             memory-backend-file,offset=);
 *   pwrite    no mapping: each guest's page is written with pwrite() in
 *             three steps (seq odd, fields, seq even) from a 112-byte
 *             shadow kept by libvmclock's writer; files as in shared.
 *
 * The counter mapping is this benchmark's minimal stand-in for vmclockd's
 * (bench_daemon measures the real one): guest counter = (host counter *
 * scale >> 48) + offset, the period and rates divided by the same scale,
 * in 128-bit arithmetic.  Each update's line is the last one 1 ns ahead,
 * as vmclockd's lines are never behind the last (its reference slews), so
 * TIME_MONOTONIC costs the writer's quick test, not its exact gap.
 *
 *	bench_host N LAYOUT [monotonic] [prefetch]  prints one result line
 *	bench_host N LAYOUT both     without and with TIME_MONOTONIC, in
 *	                             alternating rounds: two lines
 *	bench_host --smoke               small N, every layout
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>

#include "common.h"

#define PAGE 4096u
#define PER_FILE 512u
#define SEQ_OFF 12
#define FIELDS_OFF 16

enum layout { SEPARATE, SHARED, PWRITE };

struct guest {
	struct vmclock_writer *w;
	uint64_t scale;	   /* guest ticks per host tick, 2^-48 units */
	uint64_t inv;	   /* host ticks per guest tick, 2^-48 units */
	uint64_t offset;   /* guest counter at host counter 0 */
	volatile void *page; /* mapped layouts: the guest's page */
	int fd;		   /* pwrite layout: the file and the offset */
	off_t off;
	struct vmclock_abi *shadow;
};

static struct guest *guests;
static size_t nguests;
static char dir[256];
static int *files;
static size_t nfiles;
static void **maps;
static size_t nmaps, map_len;

static uint64_t mul_shr48(uint64_t a, uint64_t b)
{
	return (uint64_t)(((unsigned __int128)a * b) >> 48);
}

/* The host line in the guest's counter domain. */
static void map_calibration(const struct guest *g,
			    const struct vmclock_calibration *h,
			    struct vmclock_calibration *c)
{
	*c = *h;
	c->counter_value = mul_shr48(h->counter_value, g->scale) + g->offset;
	c->switch_counter = mul_shr48(h->switch_counter, g->scale) + g->offset;
	c->period_frac = mul_shr48(h->period_frac, g->inv);
	c->period_esterror_rate = mul_shr48(h->period_esterror_rate, g->inv);
	c->period_maxerror_rate = mul_shr48(h->period_maxerror_rate, g->inv);
}

static struct vmclock_writer *make_writer(volatile void *mem, size_t len,
					  uint32_t size, int monotonic)
{
	struct vmclock_writer_config cfg = {
		.counter_id = (uint8_t)vmclock_counter_id_native(),
		.time_type = VMCLOCK_TIME_TAI,
		.size = size,
	};
	struct vmclock_writer *w = vmclock_writer_create(mem, len, &cfg);

	if (!w)
		return NULL;
	vmclock_writer_begin(w);
	vmclock_writer_set_tai_offset(w, 37, 1);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED);
	if (monotonic)
		vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	vmclock_writer_commit(w);
	return w;
}

static int new_file(size_t pages)
{
	static unsigned long serial;
	char path[320];
	int fd;

	snprintf(path, sizeof(path), "%s/f%lu", dir, serial++);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(pages * PAGE))) {
		close(fd);
		return -errno;
	}
	files[nfiles++] = fd;
	return fd;
}

static void *map_file(int fd, size_t pages)
{
	void *m = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	if (m == MAP_FAILED)
		return NULL;
	map_len = pages * PAGE;
	maps[nmaps++] = m;
	return m;
}

/* The pwrite layout: a writer on a shadow of the struct (its size a page). */
static int pwrite_init(struct guest *g, int monotonic)
{
	g->shadow = aligned_alloc(8, sizeof(struct vmclock_abi));
	if (!g->shadow)
		return -ENOMEM;
	g->w = make_writer(g->shadow, sizeof(*g->shadow), PAGE, monotonic);
	if (!g->w)
		return -errno;
	if (pwrite(g->fd, g->shadow, sizeof(*g->shadow), g->off) !=
	    (ssize_t)sizeof(*g->shadow))
		return -errno;
	return 0;
}

static int setup_guest(size_t i, enum layout lay, int monotonic)
{
	struct guest *g = &guests[i];
	size_t k = i % PER_FILE;
	static uint8_t *base;
	int fd;

	g->scale = g->inv = 1ull << 48;
	g->offset = (uint64_t)i * 1000003u;
	if (lay == SEPARATE) {
		fd = new_file(1);
		if (fd < 0)
			return fd;
		base = map_file(fd, 1);
		close(fd);
		nfiles--;
		if (!base)
			return -errno;
		g->page = base;
		g->w = make_writer(base, PAGE, PAGE, monotonic);
		return g->w ? 0 : -errno;
	}
	if (k == 0) {
		fd = new_file(PER_FILE);
		if (fd < 0)
			return fd;
		base = lay == SHARED ? map_file(fd, PER_FILE) : NULL;
		if (lay == SHARED && !base)
			return -errno;
	}
	if (lay == PWRITE) {
		g->fd = files[nfiles - 1];
		g->off = (off_t)(k * PAGE);
		return pwrite_init(g, monotonic);
	}
	g->page = base + k * PAGE;
	g->w = make_writer(g->page, PAGE, PAGE, monotonic);
	return g->w ? 0 : -errno;
}

static int publish_pwrite(struct guest *g, const struct vmclock_calibration *c)
{
	const uint8_t *s = (const uint8_t *)g->shadow;
	int err;

	vmclock_writer_begin(g->w);
	if (pwrite(g->fd, s + SEQ_OFF, 4, g->off + SEQ_OFF) != 4)
		return -errno;
	err = vmclock_writer_set_calibration(g->w, c, NULL);
	vmclock_writer_commit(g->w);
	/* As vmclockd's flush(): each step's stores before the next's. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (pwrite(g->fd, s + FIELDS_OFF, sizeof(*g->shadow) - FIELDS_OFF,
		   g->off + FIELDS_OFF) != (ssize_t)(sizeof(*g->shadow) - FIELDS_OFF))
		return -errno;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (pwrite(g->fd, s + SEQ_OFF, 4, g->off + SEQ_OFF) != 4)
		return -errno;
	return err;
}

static int prefetch;
#define AHEAD 8

/* Start the loads of a guest's writer and page a few guests ahead. */
static inline void prefetch_guest(size_t i)
{
	if (!prefetch || i + AHEAD >= nguests)
		return;
	__builtin_prefetch(guests[i + AHEAD].w, 1);
	__builtin_prefetch((const void *)guests[i + AHEAD].page, 1);
}

/* @reps updates of every guest: ns per guest update. */
static double update_all(enum layout lay, size_t reps, unsigned long *errors)
{
	static struct vmclock_calibration host;
	struct vmclock_calibration c;
	uint64_t t0;
	size_t i, k;

	if (!host.period_frac)
		bench_calibration(&host);
	t0 = bench_mono_ns();
	for (k = 0; k < reps; k++) {
		/* The same line 1 ns later: ahead of the last, never behind. */
		host.time_frac += 18446744074ull;
		host.time_sec += host.time_frac < 18446744074ull;
		for (i = 0; i < nguests; i++) {
			prefetch_guest(i);
			map_calibration(&guests[i], &host, &c);
			if (lay == PWRITE ?
				    publish_pwrite(&guests[i], &c) :
				    vmclock_writer_set_calibration(guests[i].w,
								   &c, NULL))
				(*errors)++;
		}
		host.switch_counter += 1000;
	}
	return (double)(bench_mono_ns() - t0) / (double)(nguests * reps);
}

static void cleanup(void)
{
	size_t i;

	for (i = 0; i < nguests; i++) {
		vmclock_writer_destroy(guests[i].w);
		free(guests[i].shadow);
	}
	for (i = 0; i < nmaps; i++)
		munmap(maps[i], map_len);
	for (i = 0; i < nfiles; i++)
		close(files[i]);
	if (dir[0]) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "bench_host: could not remove %s\n", dir);
	}
	free(guests);
	free(files);
	free(maps);
	guests = NULL;
	files = NULL;
	maps = NULL;
	nguests = nfiles = nmaps = 0;
	dir[0] = 0;
}

static const char *layout_name[] = { "separate", "shared", "pwrite" };
static int both;

/* Set or clear TIME_MONOTONIC on every page (not timed). */
static void set_monotonic(int on)
{
	size_t i;

	for (i = 0; i < nguests; i++)
		vmclock_writer_set_flags(guests[i].w,
					 on ? VMCLOCK_FLAG_TIME_MONOTONIC : 0,
					 on ? 0 : VMCLOCK_FLAG_TIME_MONOTONIC);
}

static const char *flag_name(int monotonic)
{
	if (prefetch)
		return monotonic ? "m+pf" : "pf";
	return monotonic ? "mono" : "-";
}

static int prepare(size_t n, enum layout lay, int monotonic, size_t *made)
{
	int err = 0;
	size_t i;

	guests = calloc(n, sizeof(*guests));
	files = calloc(n / PER_FILE + 2, sizeof(*files));
	maps = calloc(n + 1, sizeof(*maps));
	if (!guests || !files || !maps)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/vmclock-bench-host-%d", bench_tmpdir(),
		 (int)getpid());
	if (mkdir(dir, 0700))
		return -errno;
	for (i = 0; i < n && !err; i++) {
		err = setup_guest(i, lay, monotonic);
		if (!err)
			nguests = i + 1;
	}
	*made = nguests;
	return err;
}

static int run(size_t n, enum layout lay, int monotonic, int smoke)
{
	struct bench_rss m0, m1;
	unsigned long errors = 0;
	size_t made = 0, rounds, r, k;
	double *ns, med;
	int err;

	bench_rss(&m0);
	err = prepare(n, lay, monotonic, &made);
	if (err) {
		printf("%-8zu %-9s %-5s FAILED after %zu guests: %s\n", n,
		       layout_name[lay], flag_name(monotonic), made,
		       strerror(-err));
		cleanup();
		return smoke ? 1 : 0;
	}
	rounds = smoke ? 3 : n >= 100000 ? 15 : n >= 10000 ? 41 : 201;
	ns = calloc(2 * rounds, sizeof(double));
	update_all(lay, 1, &errors); /* warm-up: every page touched once */
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < (both ? 2 : 1); k++) {
			if (both)
				set_monotonic((int)k);
			ns[k * rounds + r] =
				update_all(lay, n < 1000 ? 1000 / n : 1, &errors);
		}
	}
	bench_rss(&m1);
	for (k = 0; k < (both ? 2 : 1); k++) {
		med = bench_median(ns + k * rounds, rounds);
		printf("%-8zu %-9s %-5s %10.1f %10.1f %9ld %9ld %9ld %7d %7zu %lu\n",
		       n, layout_name[lay], flag_name(both ? (int)k : monotonic),
		       med, ns[k * rounds], m1.rss_kb, m1.anon_kb - m0.anon_kb,
		       m1.shmem_kb - m0.shmem_kb, bench_count_lines("/proc/self/maps"), nfiles, errors);
	}
	free(ns);
	cleanup();
	return errors ? 1 : 0;
}

static void header(void)
{
	printf("%-8s %-9s %-5s %10s %10s %9s %9s %9s %7s %7s %s\n", "guests",
	       "layout", "flag", "ns/guest", "min_ns", "rss_kB", "+anon_kB",
	       "+shmem_kB", "vmas", "fds", "errors");
}

static int smoke(void)
{
	bench_check(run(100, SEPARATE, 0, 1) == 0, "separate mappings, 100 guests");
	bench_check(run(100, SEPARATE, 1, 1) == 0, "TIME_MONOTONIC, 100 guests");
	bench_check(run(1030, SHARED, 0, 1) == 0, "shared files, 1030 guests");
	bench_check(run(600, PWRITE, 0, 1) == 0, "pwrite, 600 guests");
	prefetch = 1;
	bench_check(run(100, SEPARATE, 0, 1) == 0, "prefetching, 100 guests");
	prefetch = 0;
	both = 1;
	bench_check(run(100, SHARED, 0, 1) == 0, "interleaved flag, 100 guests");
	both = 0;
	return bench_done();
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	enum layout lay = SEPARATE;
	int i, monotonic = 0;
	size_t n;

	if (argc > 1 && !strcmp(argv[1], "--smoke")) {
		header();
		return smoke();
	}
	if (argc > 1 && !strcmp(argv[1], "--header")) {
		header();
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: bench_host N separate|shared|pwrite [monotonic]\n"
				"       bench_host --smoke | --header\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	if (!strcmp(argv[2], "shared"))
		lay = SHARED;
	else if (!strcmp(argv[2], "pwrite"))
		lay = PWRITE;
	/* Separate mappings close their files; the others keep one per 512. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 3; i < argc; i++) {
		monotonic |= !strcmp(argv[i], "monotonic");
		prefetch |= !strcmp(argv[i], "prefetch");
		both |= !strcmp(argv[i], "both");
	}
	return run(n, lay, monotonic, 0);
}
