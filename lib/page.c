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

static int64_t add_ns_sat(int64_t t, uint64_t e, int sign)
{
	if (e > (uint64_t)INT64_MAX)
		return sign > 0 ? INT64_MAX : INT64_MIN;
	if (sign > 0)
		return t > INT64_MAX - (int64_t)e ? INT64_MAX : t + (int64_t)e;
	return t < INT64_MIN + (int64_t)e ? INT64_MIN : t - (int64_t)e;
}

/* Max and estimated errors at the snapshot's span, rounded outward. */
static void compute_errors(const struct vmclock_abi *pg, const struct vmc_page_view *v,
			   const struct vmclock_span *span, uint32_t drift_ppb,
			   struct vmclock_reading *out)
{
	uint64_t flags = v->flags, ticks = span->ticks, grow;
	unsigned int s = v->line.shift;
	uint64_t maxrate = vmc_get64(pg, counter_period_maxerror_rate_frac_sec);
	uint64_t estrate = vmc_get64(pg, counter_period_esterror_rate_frac_sec);

	out->maxerror_ns = VMCLOCK_ERROR_UNKNOWN;
	out->esterror_ns = VMCLOCK_ERROR_UNKNOWN;
	if ((flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID))
		grow = vmclock_growth_ns(ticks, maxrate, s, VMCLOCK_NSEC_PER_SEC,
					 VMCLOCK_ROUND_UP);
	else
		grow = vmclock_growth_ns(ticks, v->line.period_frac, s, drift_ppb,
					 VMCLOCK_ROUND_UP);
	if ((flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
	    VMCLOCK_FIELD_PRESENT(v->size, time_maxerror_nanosec)) {
		out->maxerror_ns = vmclock_add_sat(
			vmc_get64(pg, time_maxerror_nanosec), grow);
		if (out->maxerror_ns != VMCLOCK_ERROR_UNKNOWN)
			out->valid |= VMCLOCK_VALID_MAXERROR;
	}
	if (!(flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID) ||
	    !VMCLOCK_FIELD_PRESENT(v->size, time_esterror_nanosec))
		return;
	/* Without an estimated rate, the max rate (or drift) is the estimate. */
	if ((flags & VMCLOCK_FLAG_PERIOD_ESTERROR_VALID))
		grow = vmclock_growth_ns(ticks, estrate, s, VMCLOCK_NSEC_PER_SEC,
					 VMCLOCK_ROUND_NEAREST);
	out->esterror_ns = vmclock_add_sat(vmc_get64(pg, time_esterror_nanosec), grow);
	if (out->esterror_ns != VMCLOCK_ERROR_UNKNOWN)
		out->valid |= VMCLOCK_VALID_ESTERROR;
}

void vmc_page_view(const struct vmclock_abi *pg, struct vmc_page_view *v)
{
	v->size = vmc_get32(pg, size);
	v->flags = vmc_get64(pg, flags);
	v->line.counter_value = vmc_get64(pg, counter_value);
	v->line.period_frac = vmc_get64(pg, counter_period_frac_sec);
	v->line.time_sec = vmc_get64(pg, time_sec);
	v->line.time_frac = vmc_get64(pg, time_frac_sec);
	v->line.shift = vmc_get8(pg, counter_period_shift);
}

/* Why the snapshot has no precise time: 0, -ENOTSUP or -ERANGE. */
int vmc_precise_reason(const struct vmclock_abi *pg, const struct vmc_page_view *v)
{
	uint8_t type = vmc_get8(pg, time_type);

	if (!VMCLOCK_FIELD_PRESENT(v->size, time_frac_sec))
		return -ENOTSUP;
	if (vmc_get8(pg, counter_id) == VMCLOCK_COUNTER_INVALID)
		return -ENOTSUP;
	if (type > VMCLOCK_TIME_MONOTONIC || v->line.period_frac == 0)
		return -ENOTSUP;
	if (v->line.shift > 63)
		return -ENOTSUP;
	return 0;
}

static void compute_scales(const struct vmclock_abi *pg, uint64_t flags,
			   struct vmclock_reading *out)
{
	int64_t off = (int64_t)out->tai_offset_sec * VMCLOCK_NSEC_PER_SEC;
	int have_off = (flags & VMCLOCK_FLAG_TAI_OFFSET_VALID) != 0;
	int64_t t = out->time_ns;

	switch (vmc_get8(pg, time_type)) {
	case VMCLOCK_TIME_TAI:
		out->tai_ns = t;
		out->valid |= VMCLOCK_VALID_TAI;
		if (have_off && !__builtin_sub_overflow(t, off, &out->utc_ns))
			out->valid |= VMCLOCK_VALID_UTC;
		break;
	case VMCLOCK_TIME_UTC:
		out->utc_ns = t;
		out->valid |= VMCLOCK_VALID_UTC;
		if (have_off && !__builtin_add_overflow(t, off, &out->tai_ns))
			out->valid |= VMCLOCK_VALID_TAI;
		break;
	default:
		break;
	}
}

int vmc_compute(const struct vmclock_abi *pg, uint64_t counter,
		uint32_t drift_ppb, struct vmclock_reading *out)
{
	struct vmc_page_view v;
	struct vmclock_instant t;
	struct vmclock_span span;
	int64_t ref;
	int err;

	vmc_page_view(pg, &v);
	memset(out, 0, sizeof(*out));
	out->counter = counter;
	out->flags = v.flags;
	out->seq_count = vmc_get32(pg, seq_count);
	out->disruption_marker = vmc_get64(pg, disruption_marker);
	if (VMCLOCK_FIELD_PRESENT(v.size, vm_generation_counter))
		out->vm_generation_counter = vmc_get64(pg, vm_generation_counter);
	out->clock_status = vmc_get8(pg, clock_status);
	out->leap_indicator = vmc_get8(pg, leap_indicator);
	out->smearing_hint = vmc_get8(pg, leap_second_smearing_hint);
	out->tai_offset_sec = (int16_t)vmc_get16(pg, tai_offset_sec);
	out->counter_id = vmc_get8(pg, counter_id);
	out->time_type = vmc_get8(pg, time_type);
	out->maxerror_ns = VMCLOCK_ERROR_UNKNOWN;
	out->esterror_ns = VMCLOCK_ERROR_UNKNOWN;

	err = vmc_precise_reason(pg, &v);
	if (!err)
		err = vmclock_line_eval(&v.line, counter, &t, &span);
	if (!err)
		err = vmclock_instant_to_ns(&t, &out->time_ns);
	if (err)
		return err == -EINVAL ? -ENOTSUP : err;
	out->valid |= VMCLOCK_VALID_TIME;
	compute_scales(pg, v.flags, out);
	compute_errors(pg, &v, &span, drift_ppb, out);
	ref = (out->valid & VMCLOCK_VALID_UTC) ? out->utc_ns : out->time_ns;
	if (out->valid & VMCLOCK_VALID_MAXERROR) {
		out->earliest_ns = add_ns_sat(ref, out->maxerror_ns, -1);
		out->latest_ns = add_ns_sat(ref, out->maxerror_ns, 1);
	}
	return 0;
}

VMC_API int vmclock_reading_from_page(const struct vmclock_abi *page,
				      uint64_t counter, uint32_t drift_ppb,
				      struct vmclock_reading *out)
{
	vmc_compute(page, counter, drift_ppb, out);
	return 0;
}
