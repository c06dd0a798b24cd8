// SPDX-License-Identifier: MIT
/*
 * page.c - what a snapshot of the page says: validation of the constant
 * fields, and the pure computation of time and error bounds from a snapshot
 * and a counter value.  No I/O and no state: the reader, the CLI and the
 * simulator all end up here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmclock/vmclock.h>
#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-derived.h>

#include "internal.h"
#include "page.h"

static __thread char open_error[160];

void vmc_set_open_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_error, sizeof(open_error), fmt, ap);
	va_end(ap);
}

VMC_API const char *vmclock_reader_open_error(void)
{
	return open_error;
}

VMC_API int vmclock_page_validate(const volatile void *page, size_t len,
				  const char **why)
{
	const volatile struct vmclock_abi *pg = page;
	static __thread char msg[128];
	uint32_t magic, size;
	uint16_t version;

	if (len < VMCLOCK_MIN_SIZE) {
		snprintf(msg, sizeof(msg), "only %zu bytes, a page needs at least %zu",
			 len, (size_t)VMCLOCK_MIN_SIZE);
		goto invalid;
	}
	magic = vmc_get32(pg, magic);
	size = vmc_get32(pg, size);
	version = vmc_get16(pg, version);
	if (magic != VMCLOCK_MAGIC) {
		snprintf(msg, sizeof(msg),
			 "bad magic 0x%08x, expected 0x%08x (VCLK)", magic,
			 VMCLOCK_MAGIC);
		goto invalid;
	}
	if (version != 1) {
		snprintf(msg, sizeof(msg), "unsupported version %u, expected 1",
			 version);
		goto invalid;
	}
	if (size < VMCLOCK_MIN_SIZE || size > len) {
		snprintf(msg, sizeof(msg),
			 "bad size field %u: must be %zu..%zu (the bytes available)",
			 size, (size_t)VMCLOCK_MIN_SIZE, len);
		goto invalid;
	}
	if (why)
		*why = NULL;
	return 0;
invalid:
	if (why)
		*why = msg;
	return -ENODEV;
}

/* Why a snapshot has no precise time: 0 or -ENOTSUP. */
static int precise_reason(const struct vmclock_abi *pg, uint32_t size,
			  const struct vmclock_line *l)
{
	if (!VMCLOCK_FIELD_PRESENT(size, time_frac_sec))
		return -ENOTSUP;
	if (vmc_get8(pg, counter_id) == VMCLOCK_COUNTER_INVALID)
		return -ENOTSUP;
	if (vmc_get8(pg, time_type) > VMCLOCK_TIME_MONOTONIC || !l->period_frac)
		return -ENOTSUP;
	return l->shift > 63 ? -ENOTSUP : 0;
}

static int u128_less(struct vmclock_u128 a, struct vmclock_u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

/*
 * The error parameters: a base that is VMCLOCK_ERROR_UNKNOWN when the page
 * gives none, and a rate with its multiplier (10^9 for a rate in the
 * page's units, the drift in ppb when the rate is the period itself).
 */
static void decode_errors(const struct vmclock_abi *pg, uint32_t size,
			  uint64_t flags, uint32_t drift_ppb, struct vmc_decoded *d)
{
	d->max_base = d->est_base = VMCLOCK_ERROR_UNKNOWN;
	d->max_k = vmclock_growth_factor(d->line.period_frac, drift_ppb);
	if (flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID)
		d->max_k = vmclock_growth_factor(
			vmc_get64(pg, counter_period_maxerror_rate_frac_sec),
			VMCLOCK_NSEC_PER_SEC);
	/* Without an estimated rate, the max rate (or drift) is the estimate. */
	d->est_k = d->max_k;
	d->est_round = VMCLOCK_ROUND_UP;
	if (flags & VMCLOCK_FLAG_PERIOD_ESTERROR_VALID) {
		d->est_k = vmclock_growth_factor(
			vmc_get64(pg, counter_period_esterror_rate_frac_sec),
			VMCLOCK_NSEC_PER_SEC);
		d->est_round = VMCLOCK_ROUND_NEAREST;
	}
	if ((flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
	    VMCLOCK_FIELD_PRESENT(size, time_maxerror_nanosec))
		d->max_base = vmc_get64(pg, time_maxerror_nanosec);
	if ((flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID) &&
	    VMCLOCK_FIELD_PRESENT(size, time_esterror_nanosec))
		d->est_base = vmc_get64(pg, time_esterror_nanosec);
	/*
	 * A maximum below the page's own estimate is no maximum: widen it
	 * (a page that says so, or a drift bound below its estimated rate).
	 */
	if (u128_less(d->max_k, d->est_k))
		d->max_k = d->est_k;
	if (d->max_base != VMCLOCK_ERROR_UNKNOWN &&
	    d->est_base != VMCLOCK_ERROR_UNKNOWN && d->max_base < d->est_base)
		d->max_base = d->est_base;
}

static void decode_fields(const struct vmclock_abi *pg, uint32_t size,
			  struct vmclock_reading *t)
{
	memset(t, 0, sizeof(*t));
	t->flags = vmc_get64(pg, flags);
	t->seq_count = vmc_get32(pg, seq_count);
	t->disruption_marker = vmc_get64(pg, disruption_marker);
	if (VMCLOCK_FIELD_PRESENT(size, vm_generation_counter))
		t->vm_generation_counter = vmc_get64(pg, vm_generation_counter);
	/* Absent fields read as 0: UNKNOWN, STRICT, no offset, no leap. */
	if (VMCLOCK_FIELD_PRESENT(size, clock_status))
		t->clock_status = vmc_get8(pg, clock_status);
	if (VMCLOCK_FIELD_PRESENT(size, leap_second_smearing_hint))
		t->smearing_hint = vmc_get8(pg, leap_second_smearing_hint);
	if (VMCLOCK_FIELD_PRESENT(size, tai_offset_sec))
		t->tai_offset_sec = (int16_t)vmc_get16(pg, tai_offset_sec);
	if (VMCLOCK_FIELD_PRESENT(size, leap_indicator))
		t->leap_indicator = vmc_get8(pg, leap_indicator);
	t->counter_id = vmc_get8(pg, counter_id);
	t->time_type = vmc_get8(pg, time_type);
	t->maxerror_ns = VMCLOCK_ERROR_UNKNOWN;
	t->esterror_ns = VMCLOCK_ERROR_UNKNOWN;
}

/*
 * The fast path's budgets.  Over [cv, cv + d_max) every error stays below
 * 2^58 ns (9 years: no real page comes near) and, with the tick, the sum
 * below 2^60; every time stays below VMC_FAST_T_LIM, so that adding a TAI
 * offset (|offset| < 2^45 ns) and the errors cannot overflow, and the
 * exact path would not have refused it (it takes seconds up to
 * VMCLOCK_SEC_MAX_NS).  Beyond that, the exact path decides.
 */
#define VMC_FAST_ERR_MAX (1ull << 58)
#define VMC_FAST_T_LIM                                                      \
	((int64_t)(VMCLOCK_SEC_MAX_NS * VMCLOCK_NSEC_PER_SEC + 999999999u) -  \
	 (1ll << 46) - (1ll << 60))

/* A growth factor as 2^-64 ns per tick; 0 when it is 1 ns per tick or more. */
static int fast_rate(struct vmclock_u128 k, unsigned int s, uint64_t *rate,
		     uint64_t *inexact)
{
	struct vmclock_u128 q = vmclock_shr128(k, s);

	*rate = q.lo;
	*inexact = vmclock_low_bits(k.lo, s) ? VMCLOCK_U64_MAX : 0;
	return q.hi == 0;
}

/*
 * The largest D such that every d < D keeps d * P below @gap ns, with P
 * rounded up by one unit (so below the true P's bound too): d * P <
 * d * (P + 1 unit) < @gap.
 */
static uint64_t fast_reach(const struct vmc_fast *f, int64_t gap)
{
	unsigned __int128 p = ((unsigned __int128)f->p_int << 64 | f->p_frac) + 1;
	unsigned __int128 n = (unsigned __int128)(uint64_t)gap << 64;

	return gap <= 0 ? 0 : (uint64_t)(n / p > VMC_FAST_ERR_MAX ? VMC_FAST_ERR_MAX : n / p);
}

/* The fast line of a decoded snapshot (struct vmc_fast): d_max 0 if none. */
static void decode_fast(struct vmc_decoded *d)
{
	struct vmc_fast *f = &d->fast;
	const struct vmclock_line *l = &d->line;
	const struct vmclock_reading *t = &d->tmpl;
	struct vmclock_u128 x;
	int64_t lim = VMC_FAST_T_LIM, until;

	memset(f, 0, sizeof(*f));
	if (d->reason || l->time_sec > VMCLOCK_SEC_MAX_NS ||
	    d->tick_ns > VMC_FAST_ERR_MAX ||
	    (d->max_base != VMCLOCK_ERROR_UNKNOWN && d->max_base > VMC_FAST_ERR_MAX) ||
	    (d->est_base != VMCLOCK_ERROR_UNKNOWN && d->est_base > VMC_FAST_ERR_MAX) ||
	    !fast_rate(d->max_k, l->shift, &f->max_k, &f->max_inexact) ||
	    !fast_rate(d->est_k, l->shift, &f->est_k, &f->est_inexact))
		return;
	f->max_k1 = f->max_k + (f->max_inexact & 1);
	if (f->max_k1 < f->max_k)
		return;
	f->est_nearest = d->est_round == VMCLOCK_ROUND_NEAREST;
	x = vmclock_mul64(l->time_frac, VMCLOCK_NSEC_PER_SEC);
	f->base_ns = (int64_t)(l->time_sec * VMCLOCK_NSEC_PER_SEC + x.hi);
	f->base_frac = x.lo;
	/* Beyond the limit the range is empty, and base + offset may overflow. */
	if (f->base_ns >= VMC_FAST_T_LIM)
		return;
	x = vmclock_shr128(vmclock_mul64(l->period_frac, VMCLOCK_NSEC_PER_SEC),
			   l->shift);
	f->p_int = x.hi;
	f->p_frac = x.lo;
	f->cv = l->counter_value;

	f->valid = VMCLOCK_VALID_TIME;
	if (t->time_type == VMCLOCK_TIME_TAI) {
		f->valid |= VMCLOCK_VALID_TAI;
		f->utc_adj = -d->off_ns;
		if (d->have_off)
			f->valid |= VMCLOCK_VALID_UTC;
	} else if (t->time_type == VMCLOCK_TIME_UTC) {
		f->valid |= VMCLOCK_VALID_UTC;
		f->tai_adj = d->off_ns;
		if (d->have_off)
			f->valid |= VMCLOCK_VALID_TAI;
	}
	if (f->valid & VMCLOCK_VALID_UTC)
		f->ref_adj = f->utc_adj;
	if (d->max_base != VMCLOCK_ERROR_UNKNOWN)
		f->valid |= VMCLOCK_VALID_MAXERROR;
	if (d->est_base != VMCLOCK_ERROR_UNKNOWN)
		f->valid |= VMCLOCK_VALID_ESTERROR;
	f->base_utc = f->base_ns + f->utc_adj;
	/* Across an announced leap UTC follows the rules: stop before it. */
	if (d->leap_utc) {
		until = vmc_leap_start_tai(f->base_ns, t->tai_offset_sec,
					   t->leap_indicator);
		if (until <= f->base_ns)
			return;
		if (until < lim)
			lim = until;
		/* vmclock_tai_to_utc() takes TAI below INT64_MAX / 2. */
		if (INT64_MAX / 2 < lim)
			lim = INT64_MAX / 2;
	}
	/* Times up to base + gap: the floor of base + frac + d * P < lim. */
	if (f->base_ns < lim)
		f->d_max = fast_reach(f, lim - f->base_ns - 1);
}

/*
 * The bounded read's line: UTC and its max error over the fast range,
 * continued back to counter 0 modulo 2^128, so that a counter c in range
 * gives base + (c - cv) * P exactly as c * P + (base - cv * P).  That
 * holds only while c - cv is the integer difference: the range stops where
 * the counter would wrap past 2^64.
 */
static void decode_bline(struct vmc_decoded *d)
{
	const struct vmc_fast *f = &d->fast;
	struct vmc_bline *b = &d->bline;
	unsigned __int128 p = (unsigned __int128)f->p_int << 64 | f->p_frac, t, m;

	memset(b, 0, sizeof(*b));
	if (!f->d_max || !(f->valid & VMCLOCK_VALID_UTC) ||
	    !(f->valid & VMCLOCK_VALID_MAXERROR))
		return;
	t = ((unsigned __int128)(uint64_t)f->base_utc << 64 | f->base_frac) - p * f->cv;
	m = ((unsigned __int128)d->max_base << 64 | VMCLOCK_U64_MAX) -
	    (unsigned __int128)f->max_k1 * f->cv;
	b->clock_status = d->tmpl.clock_status;
	b->cv = f->cv;
	b->d_max = f->cv + f->d_max < f->cv ? 0 - f->cv : f->d_max;
	b->t_lo = (uint64_t)t;
	b->t_hi = (uint64_t)(t >> 64);
	b->p_frac = f->p_frac;
	b->p_int = f->p_int;
	b->m_lo = (uint64_t)m;
	b->m_hi = (uint64_t)(m >> 64);
	b->k1 = f->max_k1;
	b->k_inexact = f->max_inexact;
	b->tick_ns = d->tick_ns;
}

void vmc_fastline_window(const struct vmc_bline *b, uint32_t hi,
			 struct vmclock_fastline *fl)
{
	uint64_t base = (uint64_t)hi << 32, first, last;
	unsigned __int128 t, l;

	fl->clock_status = b->clock_status;
	fl->c_hi = hi;
	fl->lo_len = 0;
	if (!b->d_max || b->p_int)
		return;
	/* The range's counters in the window: [first, last]. */
	first = b->cv > base ? b->cv : base;
	last = b->cv + (b->d_max - 1);
	if (last > base + 0xffffffffu)
		last = base + 0xffffffffu;
	if (first > last)
		return;
	t = ((unsigned __int128)b->t_hi << 64 | b->t_lo) +
	    (unsigned __int128)base * b->p_frac;
	l = ((unsigned __int128)(b->m_hi + b->tick_ns) << 64 | b->m_lo) +
	    (unsigned __int128)base * b->k1;
	fl->lo_start = (uint32_t)(first - base);
	fl->lo_len = last - first + 1;
	fl->p = b->p_frac;
	fl->t_lo = (uint64_t)t;
	fl->t_hi = (uint64_t)(t >> 64);
	fl->k = b->k1;
	fl->l_lo = (uint64_t)l;
	fl->l_hi = (uint64_t)(l >> 64);
	fl->t_lim = ~(last - b->cv);
	fl->l_lim = (last - b->cv - 1) & b->k_inexact;
	fl->tick_ns = b->tick_ns;
}

void vmc_decode(const struct vmclock_abi *pg, uint32_t drift_ppb,
		struct vmc_decoded *d)
{
	uint32_t size = vmc_get32(pg, size);

	decode_fields(pg, size, &d->tmpl);
	d->line.counter_value = vmc_get64(pg, counter_value);
	d->line.period_frac = vmc_get64(pg, counter_period_frac_sec);
	d->line.time_sec = vmc_get64(pg, time_sec);
	d->line.time_frac = vmc_get64(pg, time_frac_sec);
	d->line.shift = VMCLOCK_FIELD_PRESENT(size, counter_period_shift) ?
				vmc_get8(pg, counter_period_shift) : 0;
	d->reason = precise_reason(pg, size, &d->line);
	d->off_ns = (int64_t)d->tmpl.tai_offset_sec * VMCLOCK_NSEC_PER_SEC;
	d->have_off = (d->tmpl.flags & VMCLOCK_FLAG_TAI_OFFSET_VALID) &&
		      VMCLOCK_FIELD_PRESENT(size, tai_offset_sec);
	d->have_utc = d->tmpl.time_type == VMCLOCK_TIME_UTC ||
		      (d->tmpl.time_type == VMCLOCK_TIME_TAI && d->have_off);
	d->utc_adj_ns = d->tmpl.time_type == VMCLOCK_TIME_TAI ? -d->off_ns : 0;
	/*
	 * A leap announced (PRE_*) changes TAI - UTC at the month's end, and
	 * a calibration may be evaluated across it: then UTC follows the leap
	 * rules (vmclock_tai_to_utc()).  During and after the leap (POS,
	 * POST_*) the published offset is used as is: hosts disagree on
	 * whether the offset during 23:59:60 is the old or the new one (Linux
	 * gives the new), and only the published value is unambiguous.
	 */
	d->leap_utc = d->tmpl.time_type == VMCLOCK_TIME_TAI && d->have_off &&
		      (d->tmpl.leap_indicator == VMCLOCK_LEAP_PRE_POS ||
		       d->tmpl.leap_indicator == VMCLOCK_LEAP_PRE_NEG);
	decode_errors(pg, size, d->tmpl.flags, drift_ppb, d);
	d->tick_ns = d->line.shift > 63 ? 0 :
		vmclock_growth_ns(1, d->line.period_frac, d->line.shift,
				  VMCLOCK_NSEC_PER_SEC, VMCLOCK_ROUND_UP);
	decode_fast(d);
	decode_bline(d);
}

/* UTC of a TAI time on a page that announces a leap second. */
static int leap_utc(const struct vmc_decoded *d, int64_t tai, int64_t *utc)
{
	struct vmclock_utc u;

	if (vmclock_tai_to_utc(tai, d->tmpl.tai_offset_sec,
			       d->tmpl.leap_indicator, &u))
		return -ERANGE;
	*utc = u.utc_ns;
	return 0;
}

/* TAI and UTC from the time in the page's own scale. */
static void eval_scales(const struct vmc_decoded *d, struct vmclock_reading *out)
{
	int64_t t = out->time_ns;

	if (d->tmpl.time_type == VMCLOCK_TIME_TAI) {
		out->tai_ns = t;
		out->valid |= VMCLOCK_VALID_TAI;
		if (unlikely(d->leap_utc)) {
			if (!leap_utc(d, t, &out->utc_ns))
				out->valid |= VMCLOCK_VALID_UTC;
		} else if (d->have_off &&
			   !__builtin_sub_overflow(t, d->off_ns, &out->utc_ns)) {
			out->valid |= VMCLOCK_VALID_UTC;
		}
	} else if (d->tmpl.time_type == VMCLOCK_TIME_UTC) {
		out->utc_ns = t;
		out->valid |= VMCLOCK_VALID_UTC;
		if (d->have_off && !__builtin_add_overflow(t, d->off_ns, &out->tai_ns))
			out->valid |= VMCLOCK_VALID_TAI;
	}
}

static void eval_errors(const struct vmc_decoded *d, uint64_t ticks,
			struct vmclock_reading *out)
{
	unsigned int s = d->line.shift;
	int64_t ref;

	if (d->max_base != VMCLOCK_ERROR_UNKNOWN) {
		out->maxerror_ns = vmclock_add_sat(d->max_base,
			vmclock_growth(ticks, d->max_k, s, VMCLOCK_ROUND_UP));
		if (out->maxerror_ns != VMCLOCK_ERROR_UNKNOWN)
			out->valid |= VMCLOCK_VALID_MAXERROR;
	}
	if (d->est_base != VMCLOCK_ERROR_UNKNOWN) {
		out->esterror_ns = vmclock_add_sat(d->est_base,
			vmclock_growth(ticks, d->est_k, s, d->est_round));
		if (out->esterror_ns != VMCLOCK_ERROR_UNKNOWN)
			out->valid |= VMCLOCK_VALID_ESTERROR;
	}
	if (!(out->valid & VMCLOCK_VALID_MAXERROR))
		return;
	ref = (out->valid & VMCLOCK_VALID_UTC) ? out->utc_ns : out->time_ns;
	out->earliest_ns = vmc_add_ns_sat(ref, out->maxerror_ns, -1);
	out->latest_ns = vmc_add_ns_sat(ref, vmclock_add_sat(out->maxerror_ns,
							 d->tick_ns), 1);
}

/* The time at @counter in the page's scale, and the counter distance. */
static inline int eval_time(const struct vmc_decoded *d, uint64_t counter,
			    int64_t *ns, uint64_t *ticks)
{
	struct vmclock_instant t;
	struct vmclock_span span;
	int err;

	err = vmclock_line_eval(&d->line, counter, &t, &span);
	if (likely(!err))
		err = vmclock_instant_to_ns(&t, ns);
	*ticks = span.ticks;
	return unlikely(err == -EINVAL) ? -ENOTSUP : err;
}

int vmc_eval(const struct vmc_decoded *d, uint64_t counter,
	     struct vmclock_reading *out)
{
	uint64_t ticks;
	int err;

	*out = d->tmpl;
	out->counter = counter;
	if (unlikely(d->reason))
		return d->reason;
	err = eval_time(d, counter, &out->time_ns, &ticks);
	if (unlikely(err))
		return err;
	out->valid = VMCLOCK_VALID_TIME;
	eval_scales(d, out);
	eval_errors(d, ticks, out);
	return 0;
}

int vmc_eval_bounds(const struct vmc_decoded *d, uint64_t counter,
		    struct vmclock_bounds *out)
{
	uint64_t ticks, max;
	int64_t t;
	int err;

	err = eval_time(d, counter, &t, &ticks);
	if (unlikely(err))
		return err;
	if (unlikely(d->leap_utc)) {
		if (leap_utc(d, t, &out->utc_ns))
			return -ERANGE;
	} else if (unlikely(__builtin_add_overflow(t, d->utc_adj_ns, &out->utc_ns))) {
		return -ERANGE;
	}
	max = vmclock_add_sat(d->max_base, vmclock_growth(ticks, d->max_k,
							  d->line.shift,
							  VMCLOCK_ROUND_UP));
	if (unlikely(max == VMCLOCK_ERROR_UNKNOWN))
		return -ENODATA;
	out->maxerror_ns = max;
	out->earliest_ns = vmc_add_ns_sat(out->utc_ns, max, -1);
	out->latest_ns = vmc_add_ns_sat(out->utc_ns, vmclock_add_sat(max, d->tick_ns), 1);
	return 0;
}

VMC_API int vmclock_reading_from_page(const struct vmclock_abi *page,
				      uint64_t counter, uint32_t drift_ppb,
				      struct vmclock_reading *out)
{
	struct vmc_decoded d;

	vmc_decode(page, drift_ppb, &d);
	vmc_eval(&d, counter, out);
	return 0;
}
