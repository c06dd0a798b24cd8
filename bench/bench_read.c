// SPDX-License-Identifier: MIT
/*
 * bench_read.c - the guest read path against the system clock and the CPU
 * counter, in one process, in interleaved batches.
 *
 * Every round runs one batch of every operation, starting at a different
 * operation each round, so a slow moment of a shared machine lands on all
 * of them alike; the result is the median over rounds of ns per call, and
 * the ratios are medians of the per-round ratios.  The page is a precise
 * page on tmpfs, written by libvmclock's writer and mapped by the library
 * the way it maps /dev/vmclock0.
 *
 *	bench_read [-r ROUNDS] [-b BATCH]   measure (1001 x 500), print a
 *	                                    table and ratios
 *	bench_read --smoke                  tiny counts; "N passed, N failed"
 *	bench_read --callgrind N            run each operation N times, for
 *	                                    valgrind --tool=callgrind
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-bounded.h>
#include <vmclock/vmclock-fast.h>
#include <vmclock/vmclock.h>

#include "../lib/page.h"
#include "common.h"

static struct vmclock_reader *rd_mmap, *rd_lfence, *rd_pread;
static struct vmclock_bounded *bd_precise, *bd_basic;
/* The page decoded once, for the arithmetic alone (exact against fast). */
static struct vmc_decoded dec;
static int page_fd = -1;
static const volatile struct vmclock_abi *bench_map;
static unsigned long errors;

#define OP(name) static __attribute__((noinline)) void op_##name(unsigned int n)

OP(loop)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(i);
}

OP(rdtsc)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(bench_rdtsc());
}

OP(lfence_rdtsc)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(bench_rdtsc_ordered());
}

static inline void gettime(clockid_t id, unsigned int n)
{
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < n; i++) {
		clock_gettime(id, &ts);
		bench_keep(ts.tv_nsec);
	}
}

OP(rdtscp)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(bench_rdtscp());
}

OP(clock_gettime_realtime)
{
	gettime(CLOCK_REALTIME, n);
}

OP(clock_gettime_tai)
{
	gettime(CLOCK_TAI, n);
}

OP(clock_gettime_monotonic)
{
	gettime(CLOCK_MONOTONIC, n);
}

/*
 * The bounded read as an application's hot path makes it: time, max
 * error, status and events, strict, inlined into the caller
 * (vmclock-fast.h).  Every result is kept, so the compiler computes all
 * of them, as the function does.
 */
static inline __attribute__((always_inline)) void
inline_bounds(struct vmclock_reader *r, unsigned int n)
{
	const struct vmclock_fastline *fl = vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1);
	struct vmclock_bounds b;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_fast_bounds(r, fl, &b))
			errors++;
		bench_keep_bounds(b);
	}
}

OP(bounded_read)
{
	inline_bounds(rd_mmap, n);
}

/* The same read as a call: vmclock_reader_bounds(). */
OP(bounded_read_call)
{
	struct vmclock_bounds b;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_reader_bounds(rd_mmap, &b))
			errors++;
		bench_keep_bounds(b);
	}
}

/* The full strict reading: every field, both errors, TAI and UTC. */
OP(strict_read)
{
	struct vmclock_reading r;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_reader_now(rd_mmap, &r))
			errors++;
		bench_keep(r.earliest_ns);
	}
}

OP(lenient_read)
{
	struct vmclock_reading r;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_reader_read(rd_mmap, &r))
			errors++;
		bench_keep(r.time_ns);
	}
}

/* The same inline read with lfence; rdtsc instead of rdtscp. */
OP(bounded_read_lfence)
{
	inline_bounds(rd_lfence, n);
}

/*
 * The arithmetic alone, after an rdtscp: the exact path (vmc_eval_bounds())
 * and the premultiplied one (vmc_fast_bounds()) on the same decoded page.
 */
OP(arith_exact)
{
	struct vmclock_bounds b = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmc_eval_bounds(&dec, bench_rdtscp(), &b))
			errors++;
		bench_keep(b.earliest_ns);
	}
}

OP(arith_fast)
{
	struct vmclock_bounds b = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!vmc_fast_bounds(&dec, bench_rdtscp(), &b))
			errors++;
		bench_keep_bounds(b);
	}
}

/* The floor of any mapped read: seq, the counter, seq; nothing else. */
static inline __attribute__((always_inline)) uint64_t
floor_read(int ordered)
{
	const volatile uint32_t *seq = &bench_map->seq_count;
	uint32_t s1, s2;
	uint64_t c;

	do {
		s1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		c = ordered == 2 ? bench_rdtscp() :
		    ordered ? bench_rdtsc_ordered() : bench_rdtsc();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(seq, __ATOMIC_RELAXED);
	} while ((s1 & 1) || s1 != s2);
	return c;
}

OP(floor_seq_lfence_rdtsc)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(floor_read(1));
}

OP(floor_seq_rdtscp)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(floor_read(2));
}

OP(floor_seq_rdtsc)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(floor_read(0));
}

/*
 * The floor with the line's arithmetic and nothing else: seq, the
 * counter, seq, and the two multiply-adds (the time and the max error) on
 * the counter's low half, the line's constants held in registers across
 * the loop; no window, range or exactness check, status or events.  The
 * least any read that maps the counter exactly to nanoseconds with a
 * bound can do, not a read anyone should ship.
 */
OP(floor_muladds)
{
	const struct vmclock_fastline *fl = vmclock_reader_fastline(rd_mmap, VMCLOCK_FASTLINE_V1);
	uint64_t p = fl->p, k = fl->k, t_lo = fl->t_lo, t_hi = fl->t_hi;
	uint64_t l_lo = fl->l_lo, l_hi = fl->l_hi;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t lo = (uint32_t)floor_read(2);
		uint64_t tl, ll, t = vmclock__muladd(lo, p, t_lo, t_hi, &tl);
		uint64_t l = vmclock__muladd(lo, k, l_lo, l_hi, &ll);

		__asm__ __volatile__("" : : "r"(t), "r"(l) : "memory");
	}
}

static inline void bounded_now(struct vmclock_bounded *b, unsigned int n,
			       int want)
{
	struct vmclock_bound bd;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_bounded_now(b, &bd) != want)
			errors++;
		bench_keep(bd.earliest_ns);
	}
}

static int basic_want;

OP(bounded_now_precise)
{
	bounded_now(bd_precise, n, 0);
}

OP(bounded_now_basic)
{
	bounded_now(bd_basic, n, basic_want);
}

OP(pread_page)
{
	struct vmclock_abi buf;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (pread(page_fd, &buf, sizeof(buf), 0) != sizeof(buf))
			errors++;
}

OP(bounded_read_pread)
{
	struct vmclock_reading r;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (vmclock_reader_now(rd_pread, &r))
			errors++;
		bench_keep(r.earliest_ns);
	}
}

OP(adjtimex)
{
	struct timex tx;
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&tx, 0, sizeof(tx));
		if (adjtimex(&tx) < 0)
			errors++;
	}
}

OP(syscall_getppid)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		bench_keep(syscall(SYS_getppid));
}

struct op {
	const char *name;
	void (*fn)(unsigned int n);
	unsigned int scale; /* batch divisor: slow operations run fewer calls */
	double *ns;
	unsigned long errors; /* unexpected returns in the measured rounds */
};

#define O(name, scale) { #name, op_##name, scale, NULL, 0 }
static struct op ops[] = {
	O(loop, 1),
	O(rdtsc, 1),
	O(lfence_rdtsc, 1),
	O(rdtscp, 1),
	O(clock_gettime_realtime, 1),
	O(clock_gettime_tai, 1),
	O(clock_gettime_monotonic, 1),
	O(bounded_read, 1),
	O(bounded_read_call, 1),
	O(bounded_read_lfence, 1),
	O(strict_read, 1),
	O(lenient_read, 1),
	O(arith_exact, 1),
	O(arith_fast, 1),
	O(floor_seq_rdtscp, 1),
	O(floor_seq_lfence_rdtsc, 1),
	O(floor_seq_rdtsc, 1),
	O(floor_muladds, 1),
	O(bounded_now_precise, 1),
	O(bounded_now_basic, 1),
	O(pread_page, 10),
	O(bounded_read_pread, 20),
	O(adjtimex, 20),
	O(syscall_getppid, 10),
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static struct op *find_op(const char *name)
{
	size_t i;

	for (i = 0; i < NOPS; i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}

/*
 * The real adjtimex(), told synchronised: a bench machine often runs no
 * NTP daemon, and an unsynchronised kernel would have the basic bound
 * return -ENODATA early instead of doing the work it does on a fleet host.
 */
static int synced_adjtimex(void *ctx, struct timex *tx)
{
	int ret = adjtimex(tx);

	(void)ctx;
	if (ret < 0 || !(tx->status & (STA_UNSYNC | STA_CLOCKERR)))
		return ret;
	tx->status &= ~(STA_UNSYNC | STA_CLOCKERR);
	tx->maxerror = 1000; /* us: a host chrony keeps well synced */
	tx->esterror = 100;
	return TIME_OK;
}

static int setup(const char *dir, struct bench_page *pg)
{
	static const struct vmclock_bounded_ops synced = {
		.adjtimex = synced_adjtimex,
	};
	struct vmclock_bounded_config basic = {
		.mode = VMCLOCK_BOUND_BASIC,
		.ops = &synced,
	};
	struct vmclock_abi snap;
	char name[64];
	int err;

	snprintf(name, sizeof(name), "vmclock-bench-read-%d", (int)getpid());
	err = bench_page_create(pg, dir, name);
	if (err)
		return err;
	rd_mmap = vmclock_reader_open(pg->path);
	setenv("VMCLOCK_ACCESS", "pread", 1);
	rd_pread = vmclock_reader_open(pg->path);
	unsetenv("VMCLOCK_ACCESS");
	setenv("VMCLOCK_COUNTER_READ", "lfence", 1);
	rd_lfence = vmclock_reader_open(pg->path);
	unsetenv("VMCLOCK_COUNTER_READ");
	if (!rd_mmap || !rd_pread || !rd_lfence)
		return -errno;
	page_fd = open(pg->path, O_RDONLY | O_CLOEXEC);
	bench_map = pg->map;
	if (vmclock_reader_snapshot(rd_mmap, &snap))
		return -EIO;
	vmc_decode(&snap, VMCLOCK_DEFAULT_DRIFT_PPB, &dec);
	bd_precise = vmclock_bounded_create(rd_mmap, NULL);
	/* Basic mode needs its own reader: a handle owns its reader's events. */
	bd_basic = vmclock_bounded_create(vmclock_reader_open(pg->path), &basic);
	if (page_fd < 0 || !bd_precise || !bd_basic)
		return -errno;
	return 0;
}

static void print_reading(void)
{
	struct vmclock_reading r;
	struct vmclock_bound bb;
	struct timespec ts;
	int e1;

	e1 = vmclock_reader_now(rd_mmap, &r);
	clock_gettime(CLOCK_REALTIME, &ts);
	basic_want = vmclock_bounded_now(bd_basic, &bb);
	printf("# page: now=%d utc-realtime=%lld ns maxerror=%llu ns; "
	       "basic mode returns %d (%s)\n",
	       e1, (long long)(r.utc_ns - ((long long)ts.tv_sec * 1000000000 +
					   ts.tv_nsec)),
	       (unsigned long long)r.maxerror_ns, basic_want,
	       basic_want ? vmclock_bounded_strerror(basic_want) : "bounded");
	printf("# counter read: %s\n", getenv("VMCLOCK_COUNTER_READ") ?
	       "lfence; rdtsc (VMCLOCK_COUNTER_READ)" : "rdtscp where the CPU has it");
}

/* One batch: ns per call. */
static double run_batch(struct op *op, unsigned int batch)
{
	unsigned int n = batch / op->scale ? batch / op->scale : 1;
	uint64_t t0 = bench_mono_ns();

	op->fn(n);
	return (double)(bench_mono_ns() - t0) / n;
}

static void run_rounds(unsigned int rounds, unsigned int batch)
{
	unsigned int r, k;

	for (k = 0; k < NOPS; k++) {
		ops[k].ns = calloc(rounds, sizeof(double));
		run_batch(&ops[k], batch); /* warm-up */
	}
	for (r = 0; r < rounds; r++)
		for (k = 0; k < NOPS; k++) {
			struct op *op = &ops[(k + r) % NOPS];
			unsigned long before = errors;

			op->ns[r] = run_batch(op, batch);
			op->errors += errors - before;
		}
}

/* Median over rounds of the per-round ratio a/b. */
static double ratio(const char *a, const char *b, unsigned int rounds)
{
	struct op *x = find_op(a), *y = find_op(b);
	double *v = calloc(rounds, sizeof(double)), m;
	unsigned int r;

	for (r = 0; r < rounds; r++)
		v[r] = x->ns[r] / y->ns[r];
	m = bench_median(v, rounds);
	free(v);
	return m;
}

static int agree(void);

/* The @q quantile (0..1) of @v (sorts it). */
static double quantile(double *v, unsigned int n, double q)
{
	bench_median(v, n);
	return v[(unsigned int)(q * (n - 1))];
}

static void report(unsigned int rounds, unsigned int batch)
{
	double rx = ratio("bounded_read", "clock_gettime_realtime", rounds);
	double ry = ratio("bounded_read", "lfence_rdtsc", rounds);
	double *rt = calloc(NOPS, sizeof(double)), *rl = calloc(NOPS, sizeof(double));
	size_t k;

	for (k = 0; k < NOPS; k++) {
		rt[k] = ratio(ops[k].name, "clock_gettime_realtime", rounds);
		rl[k] = ratio(ops[k].name, "lfence_rdtsc", rounds);
	}
	printf("# %u rounds x %u calls per batch (slow ops fewer), interleaved;"
	       " ratios are medians of per-round ratios\n", rounds, batch);
	printf("%-26s %10s %10s %10s %10s\n", "op", "median_ns", "p10_ns",
	       "x_realtime", "x_lfence");
	for (k = 0; k < NOPS; k++) {
		double med = bench_median(ops[k].ns, rounds);

		printf("%-26s %10.2f %10.2f %10.3f %10.3f\n", ops[k].name, med,
		       quantile(ops[k].ns, rounds, 0.1), rt[k], rl[k]);
	}
	printf("ratio bounded_read/clock_gettime_realtime = %.3f (goal <= 0.9)\n", rx);
	printf("ratio bounded_read/lfence_rdtsc = %.3f (goal <= 1.25)\n", ry);
	printf("ratio bounded_read_call/clock_gettime_realtime = %.3f\n",
	       ratio("bounded_read_call", "clock_gettime_realtime", rounds));
	printf("ratio bounded_read_call/lfence_rdtsc = %.3f\n",
	       ratio("bounded_read_call", "lfence_rdtsc", rounds));
	printf("ratio bounded_read_call/bounded_read = %.3f\n",
	       ratio("bounded_read_call", "bounded_read", rounds));
	printf("ratio bounded_now_basic/bounded_now_precise = %.3f\n",
	       ratio("bounded_now_basic", "bounded_now_precise", rounds));
	printf("ratio bounded_read_pread/bounded_read = %.3f\n",
	       ratio("bounded_read_pread", "bounded_read", rounds));
	printf("# errors (unexpected returns) = %lu\n", errors);
	for (k = 0; k < NOPS; k++)
		if (ops[k].errors)
			printf("# errors in %s: %lu\n", ops[k].name, ops[k].errors);
	printf("ratio bounded_read/bounded_read_lfence = %.3f\n",
	       ratio("bounded_read", "bounded_read_lfence", rounds));
	printf("ratio arith_exact/arith_fast = %.3f\n",
	       ratio("arith_exact", "arith_fast", rounds));
	printf("# fast path agrees with the exact path: %s\n", agree() ? "yes" : "no");
	free(rt);
	free(rl);
}

static int same(const struct vmclock_reading *a,
		const struct vmclock_reading *b)
{
	return a->valid == b->valid && a->time_ns == b->time_ns &&
	       a->utc_ns == b->utc_ns && a->tai_ns == b->tai_ns &&
	       a->maxerror_ns == b->maxerror_ns &&
	       a->esterror_ns == b->esterror_ns &&
	       a->earliest_ns == b->earliest_ns && a->latest_ns == b->latest_ns &&
	       a->flags == b->flags && a->seq_count == b->seq_count;
}

/*
 * The reader's cached reads (the fast path, where it answers) against the
 * pure exact computation, at counters around the calibration.
 */
static int agree(void)
{
	uint64_t cv = bench_map->counter_value, c, x = 88172645463325252ull;
	struct vmclock_reading l, e;
	struct vmclock_abi snap;
	int i, ok = !vmclock_reader_snapshot(rd_mmap, &snap);

	for (i = 0; i < 2000 && ok; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* deltas of 0..2^(i % 50) ticks, and a few before cv */
		c = cv + (x >> (64 - i % 50 - 1)) - (i % 7 == 0 ? 3000 : 0);
		ok = !vmclock_reader_read_at(rd_mmap, c, &l) &&
		     !vmclock_reading_from_page(&snap, c, VMCLOCK_DEFAULT_DRIFT_PPB,
						&e) &&
		     same(&l, &e);
	}
	/* The inline line, over its window, against the strict reading. */
	{
		const struct vmclock_fastline *fl =
			vmclock_reader_fastline(rd_mmap, VMCLOCK_FASTLINE_V1);
		struct vmclock_bounds b;
		int answered = 0;

		ok = ok && fl && !vmclock_reader_bounds(rd_mmap, &b) && fl->lo_len;
		for (i = 0; i < 2000 && ok; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			c = ((uint64_t)fl->c_hi << 32) + fl->lo_start + x % fl->lo_len;
			if (!vmclock_fastline_eval(fl, c, &b))
				continue;
			answered++;
			ok = !vmclock_reader_now_at(rd_mmap, c, &l) &&
			     b.utc_ns == l.utc_ns && b.earliest_ns == l.earliest_ns &&
			     b.latest_ns == l.latest_ns && b.maxerror_ns == l.maxerror_ns;
		}
		ok = ok && answered > 1000;
	}
	return ok;
}

static int smoke(void)
{
	size_t k;

	bench_check(vmclock_reader_method(rd_mmap) == VMCLOCK_ACCESS_MMAP,
		    "the library maps the tmpfs page");
	bench_check(vmclock_reader_method(rd_pread) == VMCLOCK_ACCESS_PREAD,
		    "VMCLOCK_ACCESS=pread reads through pread");
	bench_check(agree(), "the fast path and the inline line agree with the exact path bit for bit");
	bench_check(vmc_fast_bounds(&dec, bench_rdtscp(), &(struct vmclock_bounds){ 0 }),
		    "the bench page's reads take the fast path");
	{
		const struct vmclock_fastline *fl =
			vmclock_reader_fastline(rd_mmap, VMCLOCK_FASTLINE_V1);

		bench_check(fl && vmclock_reader_bounds(rd_mmap, &(struct vmclock_bounds){ 0 }) == 0 &&
				    fl->lo_len > 0 && *fl->seq == fl->seq_value,
			    "the inline read answers from the reader's line");
	}
	run_rounds(3, 20);
	for (k = 0; k < NOPS; k++)
		bench_check(ops[k].ns[0] > 0, ops[k].name);
	bench_check(errors == 0, "no operation returned an error");
	return bench_done();
}

static void callgrind(unsigned int n)
{
	size_t k;

	for (k = 0; k < NOPS; k++) {
		unsigned int calls = ops[k].scale > 1 ? n / ops[k].scale : n;

		ops[k].fn(calls);
		printf("callgrind-op %s %u\n", ops[k].name, calls);
	}
	printf("callgrind: errors %lu\n", errors);
}

int main(int argc, char **argv)
{
	unsigned int rounds = 1001, batch = 500;
	struct bench_page pg;
	int err, i, mode = 0, cg = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			mode = 1;
		else if (!strcmp(argv[i], "--callgrind") && i + 1 < argc)
			cg = atoi(argv[++i]), mode = 2;
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rounds = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-b") && i + 1 < argc)
			batch = (unsigned int)atoi(argv[++i]);
	}
	err = setup(bench_tmpdir(), &pg);
	if (err) {
		fprintf(stderr, "bench_read: setup: %s\n", strerror(-err));
		bench_page_destroy(&pg);
		return 2;
	}
	print_reading();
	if (mode == 1)
		err = smoke();
	else if (mode == 2)
		callgrind((unsigned int)cg);
	else
		run_rounds(rounds, batch), report(rounds, batch);
	bench_page_destroy(&pg);
	return err;
}
