// SPDX-License-Identifier: MIT
/*
 * proto.c - a prototype of a faster strict read, to measure what the
 * changes proposed for lib/reader.c and lib/page.c would buy.  It is not
 * part of the library and reads the page as the library does (mapped
 * read-only, relaxed loads inside the sequence lock).
 *
 * What it changes, all in the common case only (a full, precise,
 * synchronised page for this CPU's counter, a reading at or after the
 * calibration); anything else falls back to the library's own pure
 * computation, vmclock_reading_from_page():
 *   - like the library's per-seq_count cache, the snapshot is copied and
 *     checked only when seq_count moves; a read is then seq, counter, seq
 *     and the arithmetic;
 *   - the strict checks (counter, type, status, flags, sizes) become one
 *     test of the snapshot's words when it is cached, and events are
 *     worked out only then (four compares of whole words);
 *   - variants: rdtscp instead of lfence; rdtsc (PROTO_VARIANT 1), no
 *     estimated error (2, an API change), plain rdtsc without lfence (3,
 *     weaker ordering: see docs/benchmarks.md), premultiplied constants
 *     (4, below), and a cache keyed on seq_count, disruption_marker and
 *     counter_value (5: a page that repeats a seq_count is not mistaken
 *     for the cached one).
 *
 * Premultiplied constants (variant 4): when the snapshot is cached, the
 * period and both error rates are multiplied by 10^9 once (96-bit
 * products m = P * 10^9, M = rate * 10^9), the reference time becomes
 * base = time_sec * 10^9 + floor(time_frac * 10^9 / 2^64) with the
 * remainder rf below the nanosecond.  A read is then, exactly:
 *	ns   = base + floor((rf * 2^s + d * m) / 2^(64+s))
 *	max  = time_maxerror + ceil(d * Mmax / 2^(64+s))
 *	est  = time_esterror + round(d * Mest / 2^(64+s))
 * three independent 64x96 products instead of a chain of two (the line,
 * then its nanoseconds) and two chains of 64x64 then 128x32.  The fast
 * path takes d < 2^48 (a day at 3 GHz); the rest goes the slow way.
 * The arithmetic is vmclock-arith.h's, unchanged, so results are the
 * library's bit for bit (the smoke run checks this).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock.h>

#include "proto.h"

#ifndef PROTO_VARIANT
#define PROTO_VARIANT 0
#endif
#if PROTO_VARIANT == 4
#define PROTO_READ_AT proto_read_at_premul
#else
#define PROTO_READ_AT proto_read_at
#endif

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define WORDS 14
/* Word 4 holds pad, status, smearing, tai_offset, leap, shift. */
#define W4_EVENT_MASK 0x00ffffff00ff0000ull
#define FAST_FLAGS                                                         \
	(VMCLOCK_FLAG_PERIOD_ESTERROR_VALID |                               \
	 VMCLOCK_FLAG_PERIOD_MAXERROR_VALID | VMCLOCK_FLAG_TIME_ESTERROR_VALID | \
	 VMCLOCK_FLAG_TIME_MAXERROR_VALID | VMCLOCK_FLAG_TAI_OFFSET_VALID)

struct proto_reader {
	const volatile uint64_t *page;
	int fd;
	uint32_t drift_ppb;
	int have_last;
	uint64_t last_marker;
	uint64_t last_gen;
	uint64_t last_flags;
	uint64_t last_w4;
	/* The cached snapshot and the raw seq_count it was taken at. */
	uint64_t cache_seq; /* > UINT32_MAX: none */
	uint64_t s[WORDS];
	struct vmclock_line line;
	int64_t off_ns;
	int tai;
	struct vmclock_reading tmpl; /* the page's fields and valid bits */
	/* Variant 4: the premultiplied constants (see above). */
	uint64_t tick_ns; /* one counter tick, rounded up: on the late side */
	int premul_ok;
	int64_t base_ns;
	uint64_t rf_lo, rf_hi; /* rf * 2^s */
	uint64_t m_lo, m_hi, max_lo, max_hi, est_lo, est_hi;
};

/*
 * floor((d * (hi:lo) + (a1:a0)) / 2^(64+s)), hi < 2^32; *inexact says
 * whether bits were cut.  No overflow for d < 2^48 and hi < 2^32.
 */
static inline __attribute__((always_inline)) uint64_t
mul_shift(uint64_t d, uint64_t hi, uint64_t lo, uint64_t a1, uint64_t a0,
	  unsigned int s, int *inexact)
{
	struct vmclock_u128 p = vmclock_mul64(d, lo), q = vmclock_mul64(d, hi);
	uint64_t w0 = p.lo + a0, c0 = w0 < a0;
	uint64_t w1 = p.hi + q.lo, c1 = w1 < q.lo, w2;

	w1 += a1;
	c1 += w1 < a1;
	w1 += c0;
	c1 += w1 < c0;
	w2 = q.hi + c1;
	*inexact = w0 != 0 || vmclock_low_bits(w1, s) != 0;
	return s ? (w1 >> s) | (w2 << (64 - s)) : w1;
}

/* Premultiply the cached snapshot's constants: 0, or -1 (no fast path). */
static int premul(struct proto_reader *r, const uint64_t *s)
{
	unsigned int sh = (uint8_t)(s[4] >> 56);
	struct vmclock_u128 m, f = vmclock_mul64(s[10], VMCLOCK_NSEC_PER_SEC);
	int inexact;
	uint64_t span;

	if (s[9] > VMCLOCK_SEC_MAX_NS)
		return -1;
	r->base_ns = (int64_t)(s[9] * VMCLOCK_NSEC_PER_SEC + f.hi);
	r->rf_lo = f.lo << sh;
	r->rf_hi = sh ? f.lo >> (64 - sh) : 0;
	m = vmclock_mul64(s[6], VMCLOCK_NSEC_PER_SEC);
	r->m_lo = m.lo, r->m_hi = m.hi;
	m = vmclock_mul64(s[8], VMCLOCK_NSEC_PER_SEC);
	r->max_lo = m.lo, r->max_hi = m.hi;
	m = vmclock_mul64(s[7], VMCLOCK_NSEC_PER_SEC);
	r->est_lo = m.lo, r->est_hi = m.hi;
	/* The largest time the fast path can reach must fit an int64_t. */
	span = mul_shift((1ull << 48) - 1, r->m_hi, r->m_lo, r->rf_hi, r->rf_lo,
			 sh, &inexact);
	if (r->base_ns < 0 || span > (uint64_t)(INT64_MAX - r->base_ns) - 1)
		return -1;
	return 0;
}

static inline __attribute__((always_inline)) uint64_t counter_read(void)
{
	uint32_t lo, hi;
#if PROTO_VARIANT == 1
	uint32_t aux;

	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
#elif PROTO_VARIANT == 3
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
#else
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
#endif
	return ((uint64_t)hi << 32) | lo;
}

static int64_t add_ns_sat(int64_t t, uint64_t e, int sign)
{
	if (e > (uint64_t)INT64_MAX)
		return sign > 0 ? INT64_MAX : INT64_MIN;
	if (sign > 0)
		return t > INT64_MAX - (int64_t)e ? INT64_MAX : t + (int64_t)e;
	return t < INT64_MIN + (int64_t)e ? INT64_MIN : t - (int64_t)e;
}

static uint32_t events_since(struct proto_reader *r, const uint64_t *s)
{
	uint64_t newly = s[3] & ~r->last_flags, d4 = (s[4] ^ r->last_w4);
	uint32_t ev = 0;

	if (!r->have_last)
		return 0;
	ev |= s[2] != r->last_marker ? VMCLOCK_EVENT_DISRUPTED : 0;
	ev |= s[13] != r->last_gen ? VMCLOCK_EVENT_RESTORED : 0;
	ev |= (d4 & 0xff0000ull) ? VMCLOCK_EVENT_STATUS : 0;
	ev |= s[3] != r->last_flags ? VMCLOCK_EVENT_FLAGS : 0;
	ev |= (d4 & 0xff000000000000ull) ? VMCLOCK_EVENT_LEAP : 0;
	ev |= (d4 & 0xffff00000000ull) ? VMCLOCK_EVENT_TAI_OFFSET : 0;
	ev |= (newly & VMCLOCK_FLAG_DISRUPTION_SOON) ? VMCLOCK_EVENT_MAINT_SOON : 0;
	ev |= (newly & VMCLOCK_FLAG_DISRUPTION_IMMINENT) ?
		      VMCLOCK_EVENT_MAINT_IMMINENT : 0;
	return ev;
}

static uint32_t note_events(struct proto_reader *r, const uint64_t *s)
{
	uint32_t ev = events_since(r, s);

	r->have_last = 1;
	r->last_marker = s[2];
	r->last_gen = s[13];
	r->last_flags = s[3];
	r->last_w4 = s[4] & W4_EVENT_MASK;
	return ev;
}

/* Anything but the common case: the library's computation, then checks. */
static int slow_eval(struct proto_reader *r, const uint64_t *s, uint64_t c,
		     uint32_t ev, struct vmclock_reading *out)
{
	vmclock_reading_from_page((const struct vmclock_abi *)s, c, r->drift_ppb,
				  out);
	out->events = ev;
	if (!(out->valid & VMCLOCK_VALID_TIME))
		return -ERANGE; /* or -ENOTSUP: the library tells them apart */
	if (out->counter_id != vmclock_counter_id_native() ||
	    !(out->valid & VMCLOCK_VALID_UTC))
		return -ENOTSUP;
	if (out->clock_status != VMCLOCK_STATUS_SYNCHRONIZED &&
	    out->clock_status != VMCLOCK_STATUS_FREERUNNING)
		return out->clock_status == VMCLOCK_STATUS_INITIALIZING ? -EAGAIN :
		       out->clock_status == VMCLOCK_STATUS_UNRELIABLE	? -EIO :
									  -ENODATA;
	return out->valid & VMCLOCK_VALID_MAXERROR ? 0 : -ENODATA;
}

/* The common case's shape: one test of the snapshot's words. */
static int fast_shape(const uint64_t *s)
{
	uint8_t cid = (uint8_t)(s[1] >> 16), type = (uint8_t)(s[1] >> 24);
	uint8_t status = (uint8_t)(s[4] >> 16), shift = (uint8_t)(s[4] >> 56);
	uint8_t leap = (uint8_t)(s[4] >> 48);

	/* An announced leap makes UTC follow the leap rules: slow path. */
	if (leap == VMCLOCK_LEAP_PRE_POS || leap == VMCLOCK_LEAP_PRE_NEG)
		return 0;
	return (s[0] >> 32) >= sizeof(struct vmclock_abi) &&
	       cid == VMCLOCK_COUNTER_X86_TSC &&
	       (type == VMCLOCK_TIME_TAI || type == VMCLOCK_TIME_UTC) &&
	       (s[3] & FAST_FLAGS) == FAST_FLAGS &&
	       (status == VMCLOCK_STATUS_SYNCHRONIZED ||
		status == VMCLOCK_STATUS_FREERUNNING) &&
	       shift <= 63 && s[6] != 0;
}

static void fill_page(const uint64_t *s, uint64_t c,
		      struct vmclock_reading *out)
{
	memset(out, 0, sizeof(*out));
	out->counter = c;
	out->flags = s[3];
	out->seq_count = (uint32_t)(s[1] >> 32);
	out->disruption_marker = s[2];
	out->vm_generation_counter = s[13];
	out->clock_status = (uint8_t)(s[4] >> 16);
	out->smearing_hint = (uint8_t)(s[4] >> 24);
	out->tai_offset_sec = (int16_t)(s[4] >> 32);
	out->leap_indicator = (uint8_t)(s[4] >> 48);
	out->counter_id = (uint8_t)(s[1] >> 16);
	out->time_type = (uint8_t)(s[1] >> 24);
}

#if PROTO_VARIANT == 4
/* 0 with the reading, or 1: take the slow path. */
static inline __attribute__((always_inline)) int
fast(const struct proto_reader *r, uint64_t c, struct vmclock_reading *out)
{
	const uint64_t *s = r->s;
	uint64_t d = c - r->line.counter_value, max, est, g;
	unsigned int sh = r->line.shift;
	int64_t ns, utc, tai;
	int inexact;

	if (unlikely((d >> 48) || !r->premul_ok))
		return 1;
	ns = r->base_ns + (int64_t)mul_shift(d, r->m_hi, r->m_lo, r->rf_hi,
					     r->rf_lo, sh, &inexact);
	g = mul_shift(d, r->max_hi, r->max_lo, 0, 0, sh, &inexact);
	max = vmclock_add_sat(s[12], g + (uint64_t)inexact);
	g = mul_shift(d, r->est_hi, r->est_lo, sh ? 1ull << (sh - 1) : 0,
		      sh ? 0 : 1ull << 63, sh, &inexact);
	est = vmclock_add_sat(s[11], g);
	if (r->tai) {
		tai = ns;
		if (unlikely(__builtin_sub_overflow(ns, r->off_ns, &utc)))
			return 1;
	} else {
		utc = ns;
		if (unlikely(__builtin_add_overflow(ns, r->off_ns, &tai)))
			return 1;
	}
	if (unlikely(max == VMCLOCK_ERROR_UNKNOWN || est == VMCLOCK_ERROR_UNKNOWN))
		return 1;
	*out = r->tmpl;
	out->counter = c;
	out->time_ns = ns;
	out->tai_ns = tai;
	out->utc_ns = utc;
	out->maxerror_ns = max;
	out->esterror_ns = est;
	out->earliest_ns = add_ns_sat(utc, max, -1);
	out->latest_ns = add_ns_sat(utc, vmclock_add_sat(max, r->tick_ns), 1);
	return 0;
}
#else
/* 0 with the reading, or 1: take the slow path. */
static inline __attribute__((always_inline)) int
fast(const struct proto_reader *r, uint64_t c, struct vmclock_reading *out)
{
	const uint64_t *s = r->s;
	uint64_t max, est = VMCLOCK_ERROR_UNKNOWN;
	struct vmclock_instant t;
	struct vmclock_span span;
	int64_t ns, utc, tai;

	if (unlikely(((c - r->line.counter_value) >> 63) ||
		     vmclock_line_eval(&r->line, c, &t, &span) ||
		     vmclock_instant_to_ns(&t, &ns)))
		return 1;
	if (r->tai) {
		tai = ns;
		if (unlikely(__builtin_sub_overflow(ns, r->off_ns, &utc)))
			return 1;
	} else {
		utc = ns;
		if (unlikely(__builtin_add_overflow(ns, r->off_ns, &tai)))
			return 1;
	}
	max = vmclock_add_sat(s[12], vmclock_growth_ns(span.ticks, s[8], r->line.shift,
						       VMCLOCK_NSEC_PER_SEC,
						       VMCLOCK_ROUND_UP));
#if PROTO_VARIANT != 2
	est = vmclock_add_sat(s[11], vmclock_growth_ns(span.ticks, s[7], r->line.shift,
						       VMCLOCK_NSEC_PER_SEC,
						       VMCLOCK_ROUND_NEAREST));
	if (unlikely(est == VMCLOCK_ERROR_UNKNOWN))
		return 1;
#endif
	if (unlikely(max == VMCLOCK_ERROR_UNKNOWN))
		return 1;
	*out = r->tmpl;
	out->counter = c;
	out->time_ns = ns;
	out->tai_ns = tai;
	out->utc_ns = utc;
	out->maxerror_ns = max;
	out->esterror_ns = est;
	out->earliest_ns = add_ns_sat(utc, max, -1);
	out->latest_ns = add_ns_sat(utc, vmclock_add_sat(max, r->tick_ns), 1);
	return 0;
}
#endif

static int retry_wait(uint64_t *deadline)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (!*deadline)
		*deadline = now + VMCLOCK_DEFAULT_TIMEOUT_NS;
	return now >= *deadline ? -ETIMEDOUT : 0;
}

/* A full snapshot under the lock: 0, or -EAGAIN. */
static int snap(const struct proto_reader *r, uint64_t *s, uint64_t *c)
{
	const volatile uint64_t *p = r->page;
	const volatile uint32_t *seq = (const volatile uint32_t *)p + 3;
	uint32_t seq1, seq2;
	int i;

	seq1 = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
	if (seq1 & 1)
		return -EAGAIN;
	for (i = 0; i < WORDS; i++)
		s[i] = __atomic_load_n(&p[i], __ATOMIC_RELAXED);
	*c = counter_read();
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	seq2 = __atomic_load_n(seq, __ATOMIC_RELAXED);
	return seq1 == seq2 ? 0 : -EAGAIN;
}

/* The slow path: snapshot, cache when the shape is common, events. */
static __attribute__((noinline)) int read_slow(struct proto_reader *r,
					       int want_counter, uint64_t c,
					       struct vmclock_reading *out)
{
	uint64_t s[WORDS], c2, deadline = 0;
	unsigned int tries = 0;
	uint32_t ev;

	r->cache_seq = 1ull << 32;
	while (snap(r, s, &c2))
		if (!(++tries % 16) && retry_wait(&deadline))
			return -ETIMEDOUT;
	if (want_counter)
		c = c2;
	ev = note_events(r, s);
	if (fast_shape(s)) {
		memcpy(r->s, s, sizeof(s));
		r->line = (struct vmclock_line){ s[5], s[6], s[9], s[10],
						 (uint8_t)(s[4] >> 56) };
		r->off_ns = (int64_t)(int16_t)(s[4] >> 32) * VMCLOCK_NSEC_PER_SEC;
		r->tai = (uint8_t)(s[1] >> 24) == VMCLOCK_TIME_TAI;
		r->cache_seq = (uint32_t)(s[1] >> 32);
		r->premul_ok = premul(r, s) == 0;
		r->tick_ns = vmclock_growth_ns(1, s[6], (uint8_t)(s[4] >> 56),
					       VMCLOCK_NSEC_PER_SEC,
					       VMCLOCK_ROUND_UP);
		fill_page(s, 0, &r->tmpl);
		r->tmpl.valid = VMCLOCK_VALID_TIME | VMCLOCK_VALID_TAI |
				VMCLOCK_VALID_UTC | VMCLOCK_VALID_MAXERROR |
				(PROTO_VARIANT != 2 ? VMCLOCK_VALID_ESTERROR : 0);
		if (!fast(r, c, out)) {
			out->events = ev;
			return 0;
		}
	}
	return slow_eval(r, s, c, ev, out);
}

static inline __attribute__((always_inline)) int
read_common(struct proto_reader *r, int want_counter, uint64_t c,
	    struct vmclock_reading *out)
{
	const volatile uint32_t *seqp = (const volatile uint32_t *)r->page + 3;
	uint32_t seq = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);

#if PROTO_VARIANT == 5
	/* A repeated seq_count on a new page must not reuse the cache. */
	if (likely(seq == r->cache_seq &&
		   __atomic_load_n(&r->page[2], __ATOMIC_RELAXED) == r->s[2] &&
		   __atomic_load_n(&r->page[5], __ATOMIC_RELAXED) == r->s[5])) {
#else
	if (likely(seq == r->cache_seq)) {
#endif
		if (want_counter)
			c = counter_read();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (likely(__atomic_load_n(seqp, __ATOMIC_RELAXED) == seq) &&
		    likely(!fast(r, c, out))) {
			out->events = 0;
			return 0;
		}
	}
	return read_slow(r, want_counter, c, out);
}

#if PROTO_VARIANT == 0
#define NOW proto_now
#elif PROTO_VARIANT == 1
#define NOW proto_now_tscp
#elif PROTO_VARIANT == 2
#define NOW proto_now_noest
#elif PROTO_VARIANT == 3
#define NOW proto_now_rdtsc
#elif PROTO_VARIANT == 4
#define NOW proto_now_premul
#else
#define NOW proto_now_keyed
#endif

int NOW(struct proto_reader *r, struct vmclock_reading *out)
{
	return read_common(r, 1, 0, out);
}

#if PROTO_VARIANT == 0 || PROTO_VARIANT == 4
int PROTO_READ_AT(struct proto_reader *r, uint64_t counter,
		  struct vmclock_reading *out)
{
	return read_common(r, 0, counter, out);
}
#endif

#if PROTO_VARIANT == 0

struct proto_reader *proto_open(const char *path)
{
	struct proto_reader *r = calloc(1, sizeof(*r));
	void *map;

	if (!r)
		return NULL;
	r->drift_ppb = VMCLOCK_DEFAULT_DRIFT_PPB;
	r->cache_seq = 1ull << 32;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		free(r);
		return NULL;
	}
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, r->fd, 0);
	if (map == MAP_FAILED) {
		close(r->fd);
		free(r);
		return NULL;
	}
	r->page = map;
	return r;
}

void proto_close(struct proto_reader *r)
{
	if (!r)
		return;
	munmap((void *)r->page, 4096);
	close(r->fd);
	free(r);
}
#endif
