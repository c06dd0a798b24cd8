/* SPDX-License-Identifier: MIT */
/*
 * common.h - what the benchmark programs share: clocks, the CPU counter,
 * medians, and a precise VMClock page on tmpfs written by libvmclock's
 * writer, so the reader maps a real file exactly as it maps a device.
 *
 * Benchmarks measure, they never assert a speed: the goals are printed next
 * to the numbers and judged in docs/benchmarks.md.
 */
#ifndef VMCLOCK_BENCH_COMMON_H
#define VMCLOCK_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t bench_mono_ns(void);

/* rdtsc alone, and lfence; rdtsc (the reader's other ordered read). */
static inline __attribute__((always_inline)) uint64_t bench_rdtsc(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#else
	return vmclock_counter_read();
#endif
}

static inline __attribute__((always_inline)) uint64_t bench_rdtsc_ordered(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
#else
	return vmclock_counter_read();
#endif
}

/* rdtscp (the reader's ordered read where the CPU has it). */
static inline __attribute__((always_inline)) uint64_t bench_rdtscp(void)
{
#if defined(__x86_64__)
	uint32_t lo, hi, aux;

	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return ((uint64_t)hi << 32) | lo;
#else
	return vmclock_counter_read();
#endif
}

/* Keep a value alive without a store the compiler could drop. */
#define bench_keep(v) __asm__ __volatile__("" : : "r"(v) : "memory")

/*
 * Keep every field of a struct vmclock_bounds alive at once: one barrier,
 * so the compiler may take them from the registers it computed them in
 * (separate bench_keep()s would reload each from memory after the last).
 */
#define bench_keep_bounds(b)                                                \
	__asm__ __volatile__("" : : "r"((b).utc_ns), "r"((b).earliest_ns),  \
			     "r"((b).latest_ns), "r"((b).maxerror_ns),        \
			     "r"((b).events), "r"((b).clock_status) : "memory")

/* Median of @n doubles (sorts @v). */
double bench_median(double *v, size_t n);

/* The counter's frequency, measured once against CLOCK_MONOTONIC_RAW. */
uint64_t bench_counter_hz(void);

/* A calibration that makes the page agree with CLOCK_REALTIME now (TAI). */
void bench_calibration(struct vmclock_calibration *cal);

/* A page file on tmpfs, mapped writable, and the writer of its page. */
struct bench_page {
	char path[256];
	volatile struct vmclock_abi *map;
	struct vmclock_writer *w;
};

/*
 * Create @dir/name (tmpfs), one 4 KiB page, with the writer's precise
 * page: TAI, TSC, TAI offset 37, SYNCHRONIZED, all four errors valid.
 * Returns 0 or a negative errno.
 */
int bench_page_create(struct bench_page *p, const char *dir, const char *name);
void bench_page_destroy(struct bench_page *p);

/* The tmpfs directory the benchmarks use (VMCLOCK_BENCH_TMP or /dev/shm). */
const char *bench_tmpdir(void);

/* Resident memory of this process, kB: total, anonymous, shared memory. */
struct bench_rss {
	long rss_kb;
	long anon_kb;
	long shmem_kb;
};
void bench_rss(struct bench_rss *m);

/* Lines of a file (/proc/self/maps: the process's mappings), or -1. */
int bench_count_lines(const char *path);

/* The smoke run's tally: prints "N passed, N failed" in bench_done(). */
void bench_check(int ok, const char *what);
/*
 * A prototype's agreement with the code it copies: PASS, or a NOTE that
 * is not a failure, so that a change of the library's or the daemon's
 * results never breaks make check; make bench reports it.
 */
void bench_note(int ok, const char *what);
int bench_done(void);

#endif /* VMCLOCK_BENCH_COMMON_H */
