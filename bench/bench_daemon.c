// SPDX-License-Identifier: MIT
/*
 * bench_daemon.c - vmclockd's own update at fleet scale: what main.c's
 * publish() does for each page, guest_update() from daemon/guest.c (the
 * mapping into the guest's counter domain with the update's per-scale
 * cache, TIME_MONOTONIC, which vmclockd always sets, status, TAI offset,
 * leap, one sequence-lock transaction), and the memory, for N guests.
 *
 * Pages are made as vmclockd makes them: guest_open() on tmpfs, one
 * struct guest each from guest_alloc() on a list, the host page first.
 * Their layout follows vmclockd's limits (guest_default_limits(), with
 * the soft RLIMIT_NOFILE raised to the hard one, as at start-up): mapped,
 * then, past vm.max_map_count less a reserve, written with pwrite()
 * through a kept descriptor, then past RLIMIT_NOFILE less a reserve, by
 * opening the file for each write.  The host lines are the daemon's own:
 * points of a 2.6 GHz counter against a clock with 30 ns of noise, fitted
 * and turned into a calibration by daemon/reference.c (ref_fit_points(),
 * ref_line(): ahead of the last line, or slewed to meet it), one per
 * update.
 *
 *	bench_daemon --header
 *	bench_daemon N [identity|scaled|distinct]   one result line
 *	bench_daemon N MAPPING max-mapped=M         mapped pages limited to M
 *	bench_daemon N MAPPING callgrind            a fixed number of updates
 *	bench_daemon --smoke                        "N passed, N failed"
 *
 * identity: KVM without TSC scaling (scale 2^48, frac_bits 48); scaled:
 * AMD's 32 fraction bits and a guest TSC at 0.9x the host's, one scale for
 * all; distinct: every guest its own scale (a measured mapping), so that
 * no guest shares the per-scale cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../daemon/guest.h"
#include "../daemon/log.h"
#include "../daemon/reference.h"
#include "common.h"

#define HZ 2600000000ull
#define FIT_POINTS 8

enum mapping { IDENTITY, SCALED, DISTINCT };
static const char *const mapping_name[] = { "identity", "scaled", "distinct" };

static char dir[256];
/* Under callgrind: a fixed number of updates, for instructions per call. */
static int counted;

/* The daemon's reference, fed a synthetic clock: one line per update. */
struct sim {
	struct ref_point pts[FIT_POINTS];
	unsigned int n;
	uint64_t counter;
	int64_t ns;
	uint64_t xs;
	struct vmclock_line prev;
	int have_prev;
};

static uint64_t sim_rand(struct sim *s)
{
	s->xs ^= s->xs << 13, s->xs ^= s->xs >> 7, s->xs ^= s->xs << 17;
	return s->xs;
}

/*
 * The next update's host calibration, as ref_line() makes it, not behind
 * the last over @window ticks (main.c's fill_budget(): twice the publish
 * window and twice the time the mapped pages took).
 */
static int sim_next(struct sim *s, struct vmclock_calibration *cal,
		    uint64_t window)
{
	struct ref_budget b = {
		.kernel_max_ns = 1000000, .kernel_est_ns = 100000,
		.freq_tol_ppb = 500000, .max_slew_ppb = 500000,
		.interval_ns = 1000000000, .window_ticks = window,
	};
	struct ref_published pub;
	struct ref_fit fit;
	struct ref_point p;

	/* One second of a 2.6 GHz counter; the clock read with +-30 ns. */
	s->counter += HZ;
	s->ns += 1000000000;
	p.counter = s->counter + sim_rand(s) % 40;
	p.ns = s->ns + (int64_t)(sim_rand(s) % 61) - 30;
	p.width = 50;
	if (s->n == FIT_POINTS) {
		memmove(s->pts, s->pts + 1, sizeof(s->pts) - sizeof(s->pts[0]));
		s->n--;
	}
	s->pts[s->n++] = p;
	if (s->n < 2)
		return -EAGAIN;
	if (ref_fit_points(s->pts, s->n, &fit) ||
	    ref_line(&fit, &b, s->have_prev ? &s->prev : NULL,
		     s->counter + 5000, cal, &pub))
		return -ERANGE;
	s->prev = (struct vmclock_line){ cal->counter_value, cal->period_frac,
					 cal->time_sec, cal->time_frac,
					 cal->period_shift };
	s->have_prev = 1;
	return 0;
}

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->counter = 1ull << 40;
	s->ns = 1800000000000000000ll;
	s->xs = 88172645463325252ull;
}

/* The daemon's pages: the host page, then the guests, newest first. */
struct fleet {
	struct guest host;
	struct guest *guests;
	size_t n;
	struct guest_rates_cache rates;	/* as struct daemon's */
	uint64_t gen;			/* as struct daemon's update_gen */
};

static void set_mapping(struct guest *g, size_t i, size_t n,
			enum mapping mapping)
{
	g->map_.offset = (uint64_t)i * 1000003u;
	if (mapping == SCALED) {
		g->map_.frac_bits = 32;
		g->map_.scale = (uint64_t)(0.9 * 4294967296.0);
	} else if (mapping == DISTINCT) {
		g->map_.scale = (1ull << 47) + (1ull << 48) / (n + 1) * i + 1;
	}
}

static int open_fleet(struct fleet *f, size_t n, enum mapping mapping)
{
	char name[32], path[320], state[340];
	size_t i;
	int err;

	snprintf(path, sizeof(path), "%s/host", dir);
	err = guest_open(&f->host, "host", path, NULL, VMCLOCK_TIME_TAI);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		struct guest *g = guest_alloc();

		if (!g)
			return -ENOMEM;
		snprintf(name, sizeof(name), "g%zu", i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(state, sizeof(state), "%s.state", path);
		err = guest_open(g, name, path, state, VMCLOCK_TIME_TAI);
		if (err) {
			guest_free(g);
			return err;
		}
		set_mapping(g, i, n, mapping);
		g->next = f->guests;
		f->guests = g;
		f->n++;
	}
	return 0;
}

static void close_fleet(struct fleet *f)
{
	struct guest *g;

	while ((g = f->guests)) {
		f->guests = g->next;
		guest_close(g, 1);
		guest_free(g);
	}
	guest_release_slabs();
	if (f->host.w)
		guest_close(&f->host, 1);
}

/*
 * main.c's publish(): the host page, then the mapped guests, then the
 * others, with the daemon's per-scale cache, fetching ahead, and the
 * switch counter read again every 64 mapped pages and before each
 * unmapped one (here: the simulated counter moved on by the CPU counter's
 * ticks since the start).  Returns the errors; *@mapped_ticks is how long
 * the mapped pages took.  With @ns_io, the time spent on pages of each
 * kind.
 */
static unsigned long publish(struct fleet *f, const struct vmclock_calibration *cal,
			     double ns_io[3], uint64_t *mapped_ticks)
{
	struct vmclock_calibration c = *cal;
	struct guest_update u = { &c, c.switch_counter,
				  VMCLOCK_STATUS_SYNCHRONIZED, 37, 1,
				  VMCLOCK_LEAP_NONE, &f->rates, ++f->gen,
				  NULL };
	unsigned long errors = 0, io[3];
	enum guest_io cur = GUEST_IO_MAPPED;
	uint64_t c0 = bench_rdtsc(), t = ns_io ? bench_mono_ns() : 0, t1;
	unsigned int k = 0;
	struct guest *g;
	int unmapped;

	errors += guest_update(&f->host, &u) != 0;
	guest_io_counts(io);
	for (unmapped = 0; unmapped < 2; unmapped++) {
		for (g = f->guests; g; g = g->next) {
			if ((g->io != GUEST_IO_MAPPED) != unmapped)
				continue;
			guest_prefetch_next(g);
			if (ns_io && g->io != cur) {
				t1 = bench_mono_ns();
				ns_io[cur] += (double)(t1 - t);
				t = t1;
				cur = g->io;
			}
			if (unmapped || ++k == 64) {
				c.switch_counter = cal->switch_counter +
						   bench_rdtsc() - c0;
				u.gen = ++f->gen;
				k = 0;
			}
			errors += guest_update(g, &u) != 0;
		}
		if (!unmapped && mapped_ticks)
			*mapped_ticks = bench_rdtsc() - c0;
		if (!io[GUEST_IO_PWRITE] && !io[GUEST_IO_REOPEN])
			break;
	}
	if (ns_io)
		ns_io[cur] += (double)(bench_mono_ns() - t);
	return errors;
}

/*
 * The anchor issue 9 gives, side by side with the update: a bare
 * seqlocked write of the 112-byte struct (seq_count odd, the fields,
 * seq_count even, release fences between) to every mapped page, walking
 * the same list with the same fetching ahead.  It writes each page's own
 * values back, so the writers' pages stay as they were.  Returns the
 * pages written.
 */
static size_t bare_all(struct fleet *f)
{
	struct guest *g;
	size_t n = 0;

	for (g = &f->host; g; g = g == &f->host ? f->guests : g->next) {
		volatile struct vmclock_abi *pg = g->map;
		volatile uint64_t *p = g->map;
		uint32_t seq;
		size_t i;

		if (!pg)
			continue;
		if (g != &f->host)
			guest_prefetch_next(g);
		seq = pg->seq_count;
		pg->seq_count = seq | 1;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		/* The 8-byte words after seq_count, to the struct's end. */
		for (i = (offsetof(struct vmclock_abi, seq_count) + 4) / 8;
		     i < sizeof(*pg) / 8; i++)
			p[i] = p[i];
		__atomic_store_n(&pg->seq_count, seq, __ATOMIC_RELEASE);
		n++;
	}
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* Every unmapped page's file holds what its writer wrote. */
static int files_agree(struct fleet *f)
{
	struct vmclock_abi a;
	struct guest *g;
	int fd, ok = 1;

	for (g = f->guests; g && ok; g = g->next) {
		if (g->io == GUEST_IO_MAPPED)
			continue;
		fd = open(g->path, O_RDONLY | O_CLOEXEC);
		ok = fd >= 0 && pread(fd, &a, sizeof(a), 0) == (ssize_t)sizeof(a) &&
		     !memcmp(&a, (const void *)vmclock_writer_page(g->w),
			     sizeof(a));
		if (fd >= 0)
			close(fd);
	}
	return ok;
}

/* As vmclockd's start-up: descriptors up to the hard limit. */
static void limits(unsigned long max_mapped)
{
	struct guest_limits l;
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
	guest_default_limits(&l);
	if (max_mapped != ULONG_MAX)
		l.max_mapped = max_mapped;
	guest_set_limits(&l);
}

static void header(void)
{
	printf("%-7s %-9s %9s %9s %8s %7s %9s %9s %9s %8s %8s %8s %8s %6s %6s %7s %7s %7s %s\n",
	       "guests", "mapping", "ns/guest", "min_ns", "bare_ns", "x_bare",
	       "mapped_ns", "pwrite_ns",
	       "reopen_ns", "open_us", "rss_kB", "anon_kB", "shmem_kB", "vmas",
	       "fds", "mapped", "pwrite", "reopen", "errors");
}

static int run(size_t n, enum mapping mapping, unsigned long max_mapped,
	       int smoke)
{
	size_t rounds = smoke ? 3 : counted ? 20 : n >= 10000 ? 21 : 51;
	size_t reps = n >= 1000 ? 1 : 1000 / n, k, r, i;
	struct vmclock_calibration *cal;
	static struct fleet f;
	double *ns, *kind[3], ns_io[3], med, open_us, *bare, *ratio;
	size_t bare_pages;
	unsigned long errors = 0, io[3];
	size_t calls = 0;
	uint64_t mapped_ticks = 0;
	struct bench_rss m;
	struct sim s;
	char cmd[300];
	uint64_t t0;
	int err, ok;

	memset(&f, 0, sizeof(f));
	snprintf(dir, sizeof(dir), "%s/vmclock-bench-daemon-%d", bench_tmpdir(),
		 (int)getpid());
	if (mkdir(dir, 0700))
		return 1;
	limits(max_mapped);
	ns = calloc(6 * rounds, sizeof(*ns));
	bare = ns ? ns + 4 * rounds : NULL;
	ratio = ns ? ns + 5 * rounds : NULL;
	for (i = 0; i < 3; i++)
		kind[i] = ns ? ns + (i + 1) * rounds : NULL;
	cal = calloc((rounds + 1) * reps, sizeof(*cal));
	sim_init(&s);
	while (cal && sim_next(&s, &cal[0], 2 * PUBLISH_WINDOW_TICKS) == -EAGAIN)
		;
	t0 = bench_mono_ns();
	err = ns && cal ? open_fleet(&f, n, mapping) : -ENOMEM;
	open_us = (double)(bench_mono_ns() - t0) / 1000.0 / (double)(n + 1);
	guest_io_counts(io);
	if (err) {
		printf("%-7zu %-9s FAILED after %zu guests: %s\n", n,
		       mapping_name[mapping], f.n, strerror(-err));
	} else {
		/*
		 * A first line on every page (from here each is compared), then
		 * the same few times more and for at least 0.3 s: fresh memory
		 * is slow at first here (a microVM's memory faulted in lazily).
		 */
		t0 = bench_mono_ns();
		for (i = 0; i < 5 || (!smoke && !counted &&
				      bench_mono_ns() - t0 < 300000000); i++)
			errors += publish(&f, &cal[0], NULL, &mapped_ticks);
		calls = i * (n + 1);
		/* The lines to come, made to hold as long as main.c makes them. */
		for (k = 1; k < (rounds + 1) * reps; k++)
			sim_next(&s, &cal[k], 2 * PUBLISH_WINDOW_TICKS +
					      2 * mapped_ticks);
		for (k = 1, r = 0; r < rounds; r++) {
			memset(ns_io, 0, sizeof(ns_io));
			t0 = bench_mono_ns();
			for (i = 0; i < reps; i++, k++)
				errors += publish(&f, &cal[k],
						  reps == 1 ? ns_io : NULL, NULL);
			ns[r] = (double)(bench_mono_ns() - t0) /
				(double)((n + 1) * reps);
			calls += reps * (n + 1);
			for (i = 0; i < 3; i++)
				kind[i][r] = io[i] ? ns_io[i] / (double)io[i] : 0;
			t0 = bench_mono_ns();
			for (i = 0, bare_pages = 0; i < reps; i++)
				bare_pages += bare_all(&f);
			bare[r] = bare_pages ? (double)(bench_mono_ns() - t0) /
					       (double)bare_pages : 0;
			ratio[r] = bare[r] > 0 ? ns[r] / bare[r] : 0;
		}
		bench_rss(&m);
		med = bench_median(ns, rounds);
		printf("%-7zu %-9s %9.1f %9.1f %8.1f %7.2f", n,
		       mapping_name[mapping], med, ns[0],
		       bench_median(bare, rounds), bench_median(ratio, rounds));
		/* Each kind's share, when one update is timed at a time. */
		for (i = 0; i < 3; i++) {
			if (!io[i])
				printf(" %9s", "-");
			else if (reps > 1)
				printf(" %9s", io[i] == n + 1 ? "=" : "?");
			else
				printf(" %9.1f", bench_median(kind[i], rounds));
		}
		printf(" %8.1f %8ld %8ld %8ld %6d %6d %7lu %7lu %7lu %lu\n",
		       open_us, m.rss_kb, m.anon_kb, m.shmem_kb,
		       bench_count_lines("/proc/self/maps"), count_fds(), io[0], io[1],
		       io[2], errors);
		if (counted)
			printf("callgrind-calls guest_update %zu\n", calls);
	}
	ok = !err && !errors && files_agree(&f);
	close_fleet(&f);
	free(ns);
	free(cal);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench_daemon: could not remove %s\n", dir);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long max_mapped = ULONG_MAX;
	enum mapping mapping = IDENTITY;
	int i;

	log_init("bench_daemon", LOG_TO_STDERR, LOG_WARNING);
	if (argc > 1 && !strcmp(argv[1], "--header")) {
		header();
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--smoke")) {
		header();
		bench_check(run(10, IDENTITY, ULONG_MAX, 1) == 0,
			    "guest_update, identity, 10 guests");
		bench_check(run(10, SCALED, ULONG_MAX, 1) == 0,
			    "guest_update, scaled, 10 guests");
		bench_check(run(10, DISTINCT, ULONG_MAX, 1) == 0,
			    "guest_update, a scale per guest, 10 guests");
		/* The host page and 3 guests mapped, the rest with pwrite. */
		bench_check(run(12, IDENTITY, 4, 1) == 0,
			    "12 guests, 4 pages mapped: pwrite pages hold the writer's bytes");
		return bench_done();
	}
	if (argc < 2) {
		fprintf(stderr, "usage: bench_daemon N [identity|scaled|distinct] [max-mapped=M]\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "scaled"))
			mapping = SCALED;
		else if (!strcmp(argv[i], "distinct"))
			mapping = DISTINCT;
		else if (!strcmp(argv[i], "callgrind"))
			counted = 1;
		else if (!strncmp(argv[i], "max-mapped=", 11))
			max_mapped = strtoul(argv[i] + 11, NULL, 10);
	}
	return run(strtoul(argv[1], NULL, 10), mapping, max_mapped, 0);
}
