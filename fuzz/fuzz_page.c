// SPDX-License-Identifier: MIT
/*
 * fuzz_page.c - hostile page bytes and counter values through the reader.
 *
 * Input: an 8-byte counter, a 4-byte drift bound (ppb), then the page
 * (up to 4096 bytes, in a buffer of exactly that length so that ASan sees
 * any read past it).  The page goes through vmclock_page_validate(),
 * vmclock_reader_open_memory(), vmclock_reader_read_at() (with a fake clock
 * so an odd seq_count times out at once), vmclock_reader_snapshot(),
 * vmclock_reading_from_page() and the derived clocks.
 *
 * Properties: no crash and no UB; open succeeds exactly when validate does;
 * read_at fails only with -ETIMEDOUT, exactly when seq_count is odd; a
 * reading carries the page's fields; its time and both errors equal the
 * slow reference (ref.h) bit for bit, on the first read (the exact path)
 * and on cached ones (the premultiplied fast path), at the input's counter
 * and at one near the calibration; earliest <= UTC (or time) <= latest;
 * TAI - UTC is the offset; est <= max for every page (the reader widens a
 * max below the estimate); snapshot and vmclock_reading_from_page() agree with
 * read_at; civil times and smeared bounds are in range.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-derived.h>
#include <vmclock/vmclock.h>

#include "fuzz.h"
#include "ref.h"

#define OFF(f) offsetof(struct vmclock_abi, f)
#define FIELD(pg, f)                            \
	fuzz_le((const uint8_t *)(pg) + OFF(f), \
		sizeof(((struct vmclock_abi *)0)->f))
#define PRESENT(size, f) \
	((size) >= OFF(f) + sizeof(((struct vmclock_abi *)0)->f))

static uint64_t fake_clock(void *ctx)
{
	uint64_t *t = ctx;

	return *t += 1000000; /* 1 ms a call: a stuck page times out fast */
}

static int64_t sat_add(int64_t t, uint64_t e, int sign)
{
	__int128 v = (__int128)t + (sign > 0 ? (__int128)e : -(__int128)e);

	if (v > INT64_MAX)
		return INT64_MAX;
	if (v < INT64_MIN)
		return INT64_MIN;
	return (int64_t)v;
}

/* The reference reading of a page (only the computed values). */
struct want {
	uint32_t valid;
	int64_t time_ns, tai_ns, utc_ns, earliest, latest;
	uint64_t maxerror, esterror;
};

static uint64_t sat_u64(uint64_t a, uint64_t b)
{
	return a + b < a ? REF_U64_MAX : a + b;
}

/* ticks * k / 2^(64 + s), k a big rate x multiplier; up or to nearest. */
static uint64_t grow_k(uint64_t ticks, const struct bn *k, unsigned int s,
		       int up)
{
	struct bn t = bn_u64(ticks), v = bn_mul(&t, k), half, one = bn_u64(1);
	int inexact;

	if (!up) {
		half = bn_shl(bn_u64(1), 63 + s);
		v = bn_add(v, &half);
	}
	v = bn_shr(v, 64 + s, &inexact);
	if (up && inexact)
		v = bn_add(v, &one);
	return ref_sat(&v);
}

/*
 * docs/abi.md's error bounds, as vmclock.h documents them: the max grows
 * at the max rate (or the drift bound on the period), never slower than
 * the estimate; the estimate at its own rate (to nearest), else like the
 * max (up); a max below the estimate is raised to it.
 */
static void want_errors(const uint8_t *pg, uint64_t ticks, uint32_t drift,
			struct want *w)
{
	uint64_t flags = FIELD(pg, flags), size = FIELD(pg, size);
	unsigned int s = (unsigned int)FIELD(pg, counter_period_shift);
	uint64_t max_base = REF_U64_MAX, est_base = REF_U64_MAX;
	struct bn max_k, est_k, a, b;
	int est_up = 1;

	a = bn_u64(FIELD(pg, counter_period_frac_sec));
	b = bn_u64(drift);
	if (flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID) {
		a = bn_u64(FIELD(pg, counter_period_maxerror_rate_frac_sec));
		b = bn_u64(1000000000u);
	}
	max_k = bn_mul(&a, &b);
	est_k = max_k;
	if (flags & VMCLOCK_FLAG_PERIOD_ESTERROR_VALID) {
		a = bn_u64(FIELD(pg, counter_period_esterror_rate_frac_sec));
		b = bn_u64(1000000000u);
		est_k = bn_mul(&a, &b);
		est_up = 0;
	}
	if (bn_cmp(&max_k, &est_k) < 0)
		max_k = est_k;
	if ((flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
	    PRESENT(size, time_maxerror_nanosec))
		max_base = FIELD(pg, time_maxerror_nanosec);
	if ((flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID) &&
	    PRESENT(size, time_esterror_nanosec))
		est_base = FIELD(pg, time_esterror_nanosec);
	if (max_base != REF_U64_MAX && est_base != REF_U64_MAX &&
	    max_base < est_base)
		max_base = est_base;
	w->maxerror = w->esterror = REF_U64_MAX;
	if (max_base != REF_U64_MAX) {
		w->maxerror = sat_u64(max_base, grow_k(ticks, &max_k, s, 1));
		if (w->maxerror != REF_U64_MAX)
			w->valid |= VMCLOCK_VALID_MAXERROR;
	}
	if (est_base != REF_U64_MAX) {
		w->esterror =
			sat_u64(est_base, grow_k(ticks, &est_k, s, est_up));
		if (w->esterror != REF_U64_MAX)
			w->valid |= VMCLOCK_VALID_ESTERROR;
	}
}

static void want_scales(const uint8_t *pg, struct want *w)
{
	int64_t off = (int16_t)FIELD(pg, tai_offset_sec) * 1000000000ll;
	int have = (FIELD(pg, flags) & VMCLOCK_FLAG_TAI_OFFSET_VALID) != 0;
	__int128 v;

	if (FIELD(pg, time_type) == VMCLOCK_TIME_UTC) {
		w->utc_ns = w->time_ns;
		w->valid |= VMCLOCK_VALID_UTC;
		v = (__int128)w->time_ns + off;
		if (have && v <= INT64_MAX && v >= INT64_MIN) {
			w->tai_ns = (int64_t)v;
			w->valid |= VMCLOCK_VALID_TAI;
		}
	} else if (FIELD(pg, time_type) == VMCLOCK_TIME_TAI) {
		uint8_t leap = (uint8_t)FIELD(pg, leap_indicator);
		struct vmclock_utc u;

		w->tai_ns = w->time_ns;
		w->valid |= VMCLOCK_VALID_TAI;
		/* A leap announced: UTC by the leap rules (docs/abi.md). */
		if (have && (leap == VMCLOCK_LEAP_PRE_POS ||
			     leap == VMCLOCK_LEAP_PRE_NEG)) {
			if (!vmclock_tai_to_utc(w->time_ns,
						(int16_t)FIELD(pg, tai_offset_sec),
						leap, &u)) {
				w->utc_ns = u.utc_ns;
				w->valid |= VMCLOCK_VALID_UTC;
			}
			return;
		}
		v = (__int128)w->time_ns - off;
		if (have && v <= INT64_MAX && v >= INT64_MIN) {
			w->utc_ns = (int64_t)v;
			w->valid |= VMCLOCK_VALID_UTC;
		}
	}
}

/* One tick in ns, rounded up. */
static uint64_t tick_ns(const uint8_t *pg)
{
	return ref_growth(1, FIELD(pg, counter_period_frac_sec),
			  (unsigned int)FIELD(pg, counter_period_shift),
			  1000000000u, 1);
}

static void want_reading(const uint8_t *pg, uint64_t counter, uint32_t drift,
			 struct want *w)
{
	uint64_t ticks;
	int neg;

	memset(w, 0, sizeof(*w));
	w->maxerror = w->esterror = REF_U64_MAX;
	if (!PRESENT(FIELD(pg, size), time_frac_sec) ||
	    FIELD(pg, counter_id) == VMCLOCK_COUNTER_INVALID ||
	    FIELD(pg, time_type) > VMCLOCK_TIME_MONOTONIC ||
	    FIELD(pg, counter_period_frac_sec) == 0 ||
	    FIELD(pg, counter_period_shift) > 63)
		return;
	if (ref_time_ns(FIELD(pg, counter_value),
			FIELD(pg, counter_period_frac_sec),
			(unsigned int)FIELD(pg, counter_period_shift),
			FIELD(pg, time_sec), FIELD(pg, time_frac_sec), counter,
			&w->time_ns, &ticks, &neg))
		return;
	w->valid = VMCLOCK_VALID_TIME;
	want_scales(pg, w);
	want_errors(pg, ticks, drift, w);
	if (w->valid & VMCLOCK_VALID_MAXERROR) {
		int64_t ref = (w->valid & VMCLOCK_VALID_UTC) ? w->utc_ns :
							       w->time_ns;

		/* latest also covers the tick the counter is in. */
		w->earliest = sat_add(ref, w->maxerror, -1);
		w->latest = sat_add(ref, sat_u64(w->maxerror, tick_ns(pg)), 1);
	}
}

static void check_fields(const uint8_t *pg, const struct vmclock_reading *rd,
			 uint64_t counter)
{
	uint64_t size = FIELD(pg, size);

	PROP(rd->counter == counter);
	PROP(rd->seq_count == FIELD(pg, seq_count) && !(rd->seq_count & 1));
	PROP(rd->disruption_marker == FIELD(pg, disruption_marker));
	PROP(rd->flags == FIELD(pg, flags));
	PROP(rd->vm_generation_counter ==
	     (PRESENT(size, vm_generation_counter) ?
		      FIELD(pg, vm_generation_counter) :
		      0));
	/* Fields the size leaves out read as 0. */
	PROP(rd->clock_status ==
	     (PRESENT(size, clock_status) ? FIELD(pg, clock_status) : 0));
	PROP(rd->leap_indicator ==
	     (PRESENT(size, leap_indicator) ? FIELD(pg, leap_indicator) : 0));
	PROP(rd->smearing_hint == (PRESENT(size, leap_second_smearing_hint) ?
					   FIELD(pg, leap_second_smearing_hint) :
					   0));
	PROP(rd->tai_offset_sec == (PRESENT(size, tai_offset_sec) ?
					    (int16_t)FIELD(pg, tai_offset_sec) :
					    0));
	PROP(rd->counter_id == FIELD(pg, counter_id));
	PROP(rd->time_type == FIELD(pg, time_type));
	PROP(rd->events == 0);
}

static void check_values(const struct vmclock_reading *rd, const struct want *w)
{
	int64_t ref = (rd->valid & VMCLOCK_VALID_UTC) ? rd->utc_ns :
							rd->time_ns;

	PROP(rd->valid == w->valid);
	if (rd->valid & VMCLOCK_VALID_TIME)
		PROP(rd->time_ns == w->time_ns);
	if (rd->valid & VMCLOCK_VALID_TAI)
		PROP(rd->tai_ns == w->tai_ns);
	if (rd->valid & VMCLOCK_VALID_UTC)
		PROP(rd->utc_ns == w->utc_ns);
	/* Past the month's end an announced leap has changed the offset. */
	if ((rd->valid & VMCLOCK_VALID_TAI) && (rd->valid & VMCLOCK_VALID_UTC) &&
	    rd->leap_indicator != VMCLOCK_LEAP_PRE_POS &&
	    rd->leap_indicator != VMCLOCK_LEAP_PRE_NEG)
		PROP(rd->tai_ns - rd->utc_ns ==
		     (int64_t)rd->tai_offset_sec * 1000000000ll);
	PROP(rd->maxerror_ns == w->maxerror);
	PROP(rd->esterror_ns == w->esterror);
	if (rd->valid & VMCLOCK_VALID_MAXERROR) {
		PROP(rd->maxerror_ns != VMCLOCK_ERROR_UNKNOWN);
		/*
		 * Exact, saturating at the int64 range; a max error beyond
		 * INT64_MAX saturates both ends (wider, never narrower).
		 */
		PROP(rd->earliest_ns <= w->earliest &&
		     rd->latest_ns >= w->latest);
		if (rd->maxerror_ns <= (uint64_t)INT64_MAX)
			PROP(rd->earliest_ns == w->earliest &&
			     rd->latest_ns == w->latest);
		PROP(rd->earliest_ns <= ref && ref <= rd->latest_ns);
	}
	/* The max is never below the estimate, whatever the page says. */
	if ((rd->valid & VMCLOCK_VALID_MAXERROR) &&
	    (rd->valid & VMCLOCK_VALID_ESTERROR))
		PROP(rd->esterror_ns <= rd->maxerror_ns);
}

static void check_derived(const struct vmclock_reading *rd)
{
	struct vmclock_utc utc;
	struct vmclock_civil cv;
	struct vmclock_smeared sm;
	uint8_t hint;

	if (!vmclock_reading_utc(rd, &utc)) {
		PROP(vmclock_utc_civil(&utc, &cv) == 0);
		PROP(cv.month >= 1 && cv.month <= 12 && cv.day >= 1 &&
		     cv.day <= 31 && cv.hour >= 0 && cv.hour <= 23 &&
		     cv.min >= 0 && cv.min <= 59 && cv.sec >= 0 &&
		     cv.sec <= 60 && cv.nsec < 1000000000u);
		PROP(cv.sec < 60 || utc.leap_second);
	}
	for (hint = VMCLOCK_SMEARING_NOON_LINEAR;
	     hint <= VMCLOCK_SMEARING_UTC_SLS; hint++) {
		if (vmclock_reading_smeared(rd, hint, &sm))
			continue;
		if (sm.bounded)
			PROP(sm.earliest_ns <= sm.time_ns &&
			     sm.time_ns <= sm.latest_ns);
	}
}

/* The whole 8-byte words the page offers, copied; zeros past them. */
static void check_snapshot(const uint8_t *pg, size_t len,
			   const struct vmclock_abi *snap)
{
	const uint8_t *b = (const uint8_t *)snap;
	size_t n = (len < sizeof(*snap) ? len : sizeof(*snap)) / 8 * 8, i;

	PROP(!memcmp(b, pg, n));
	for (i = n; i < sizeof(*snap); i++)
		PROP(b[i] == 0);
}

static void check_reader(const uint8_t *pg, size_t len, uint64_t counter,
			 uint32_t drift)
{
	struct vmclock_reading rd, rd2;
	struct vmclock_abi snap;
	struct vmclock_reader *r;
	struct want w, wn;
	uint64_t clk = 0, view[sizeof(struct vmclock_abi) / 8] = { 0 }, near;
	int err;

	/* What the reader sees: the whole words of the struct the page has. */
	memcpy(view, pg, (len < sizeof(view) ? len : sizeof(view)) / 8 * 8);
	r = vmclock_reader_open_memory(pg, len);
	PROP(r);
	vmclock_reader_set_counter(r, NULL, fake_clock, &clk);
	vmclock_reader_set_drift(r, drift);
	err = vmclock_reader_read_at(r, counter, &rd);
	if (FIELD(view, seq_count) & 1) {
		PROP(err == -ETIMEDOUT);
		PROP(vmclock_reader_snapshot(r, &snap) == -ETIMEDOUT);
		vmclock_reader_close(r);
		return;
	}
	PROP(err == 0);
	check_fields((uint8_t *)view, &rd, counter);
	want_reading((uint8_t *)view, counter, drift, &w);
	check_values(&rd, &w);
	check_derived(&rd);
	/* Cached now: the fast path, at the same counter and near the line. */
	PROP(vmclock_reader_read_at(r, counter, &rd2) == 0);
	check_values(&rd2, &w);
	near = FIELD(view, counter_value) + (counter >> 24);
	PROP(vmclock_reader_read_at(r, near, &rd2) == 0);
	want_reading((uint8_t *)view, near, drift, &wn);
	check_values(&rd2, &wn);
	PROP(vmclock_reader_snapshot(r, &snap) == 0);
	check_snapshot(pg, len, &snap);
	PROP(vmclock_reading_from_page(&snap, counter, drift, &rd2) == 0);
	rd2.events = 0;
	check_values(&rd2, &w);
	vmclock_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t counter = fuzz_take(&data, &size, 8);
	uint32_t drift = (uint32_t)fuzz_take(&data, &size, 4);
	const char *why = NULL;
	size_t len = size < 4096 ? size : 4096;
	uint8_t *pg = malloc(len ? len : 1);
	struct vmclock_reader *r;
	int valid;

	if (!pg)
		return 0;
	memcpy(pg, data, len);
	valid = vmclock_page_validate(pg, len, &why) == 0;
	PROP(valid ? why == NULL : why && *why);
	if (!valid) {
		r = vmclock_reader_open_memory(pg, len);
		PROP(!r && errno == ENODEV);
		PROP(*vmclock_reader_open_error());
	} else {
		check_reader(pg, len, counter, drift);
	}
	free(pg);
	return 0;
}
