// SPDX-License-Identifier: MIT
/*
 * bounded.c - bounded time in every mode: the page's precise bound when it
 * has one, else the system clock bounded by the kernel's NTP error state,
 * voided by the page's disruption marker until the kernel re-syncs.  The
 * rules are in include/vmclock/vmclock-bounded.h; this file keeps adjtimex()
 * off the hot path with a cache that grows at the kernel's own rate, and
 * keeps the basic hot path to one clock_gettime(): the page's fields are
 * read without the counter, and the cache is aged by CLOCK_REALTIME itself.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-bounded.h>

#include "internal.h"

#define NSEC_PER_SEC 1000000000ull

struct vmclock_bounded {
	struct vmclock_reader *r;
	enum vmclock_bound_mode mode;
	uint64_t refresh_ns;
	uint32_t growth_ppb;
	struct vmclock_bounded_ops ops;

	/*
	 * The last adjtimex() read: at tx_mono on CLOCK_MONOTONIC (for the
	 * resync rules) and tx_rt on CLOCK_REALTIME (the hot path's age).
	 */
	int have_tx;
	int force_tx;
	uint64_t tx_mono;
	int64_t tx_rt;
	long maxerror_us;
	long esterror_us;
	int tai_sec;
	int state;
	int status;

	/* The disruption state: marker, and the baseline of a pending resync. */
	int have_marker;
	int stale;
	int seen_unsync;
	uint64_t marker;
	uint64_t base_mono;
	long base_maxerror_us;
};

static int real_adjtimex(void *ctx, struct timex *tx)
{
	(void)ctx;
	return adjtimex(tx);
}

static int real_clock_gettime(void *ctx, clockid_t id, struct timespec *ts)
{
	(void)ctx;
	return clock_gettime(id, ts);
}

static void real_sleep_ns(void *ctx, uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NSEC_PER_SEC),
			       (long)(ns % NSEC_PER_SEC) };

	(void)ctx;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int get_ns(const struct vmclock_bounded *b, clockid_t id, int64_t *ns)
{
	struct timespec ts;

	if (b->ops.clock_gettime(b->ops.ctx, id, &ts))
		return -errno;
	*ns = (int64_t)ts.tv_sec * (int64_t)NSEC_PER_SEC + ts.tv_nsec;
	return 0;
}

static int kernel_synced(const struct vmclock_bounded *b)
{
	return b->state != TIME_ERROR &&
	       !(b->status & (STA_UNSYNC | STA_CLOCKERR)) &&
	       b->maxerror_us < VMCLOCK_BOUNDED_KERNEL_MAXERROR_US;
}

/*
 * Did an NTP daemon write maxerror since the baseline?  Without one, the
 * kernel adds growth_ppb ns each time a second ends: from the baseline that
 * is between floor(e) and ceil(e) seconds' worth, and we allow one second
 * less for a boundary just missed.
 */
static int maxerror_rewritten(const struct vmclock_bounded *b)
{
	uint64_t e = b->tx_mono - b->base_mono;
	int64_t g_us = b->growth_ppb / 1000;
	int64_t whole = (int64_t)(e / NSEC_PER_SEC);
	int64_t started = whole + (e % NSEC_PER_SEC != 0);
	int64_t lower = b->base_maxerror_us + g_us * (whole - 1);
	int64_t upper = b->base_maxerror_us + g_us * started;

	if (upper > VMCLOCK_BOUNDED_KERNEL_MAXERROR_US)
		upper = VMCLOCK_BOUNDED_KERNEL_MAXERROR_US;
	return b->maxerror_us < lower || b->maxerror_us > upper;
}

static void check_resync(struct vmclock_bounded *b)
{
	if (!kernel_synced(b)) {
		b->seen_unsync = 1;
		return;
	}
	if (b->seen_unsync || maxerror_rewritten(b))
		b->stale = 0;
}

/* Read adjtimex() now; @rt is CLOCK_REALTIME read just before. */
static int read_kernel(struct vmclock_bounded *b, int64_t rt)
{
	struct timex tx;
	int64_t mono = 0;
	int ret;

	ret = get_ns(b, CLOCK_MONOTONIC, &mono);
	if (ret)
		return ret;
	memset(&tx, 0, sizeof(tx));
	ret = b->ops.adjtimex(b->ops.ctx, &tx);
	if (ret < 0)
		return errno ? -errno : -EIO;
	b->have_tx = 1;
	b->force_tx = 0;
	b->tx_mono = (uint64_t)mono;
	b->tx_rt = rt;
	b->maxerror_us = tx.maxerror;
	b->esterror_us = tx.esterror;
	b->tai_sec = tx.tai;
	b->state = ret;
	b->status = tx.status;
	return 0;
}

/*
 * Re-read adjtimex() when the cache is older than the refresh interval, by
 * CLOCK_REALTIME (@rt).  The kernel ages its own maxerror in the same
 * seconds, so the realtime age is the one to grow it by; a step of the
 * clock shows as an age outside [0, refresh) and re-reads at once, and a
 * step clears the kernel's NTP state (STA_UNSYNC), which the re-read sees.
 */
static int refresh_kernel(struct vmclock_bounded *b, int64_t rt)
{
	int64_t age = rt - b->tx_rt;
	int err;

	if (b->have_tx && !b->force_tx && age >= 0 &&
	    (uint64_t)age < b->refresh_ns)
		return 0;
	err = read_kernel(b, rt);
	if (!err && b->stale)
		check_resync(b);
	return err;
}

/* A new marker voids the kernel's sync until it re-syncs: set a baseline. */
static int note_marker(struct vmclock_bounded *b, uint64_t marker)
{
	int64_t rt = 0;
	int err;

	if (likely(b->have_marker && marker == b->marker))
		return 0;
	if (!b->have_marker) {
		b->have_marker = 1;
		b->marker = marker;
		return 0;
	}
	b->marker = marker;
	err = get_ns(b, CLOCK_REALTIME, &rt);
	if (!err)
		err = read_kernel(b, rt);
	if (err)
		return err;
	b->stale = 1;
	b->base_mono = b->tx_mono;
	b->base_maxerror_us = b->maxerror_us;
	b->seen_unsync = !kernel_synced(b);
	return 0;
}

static uint64_t growth_ns(uint64_t ns, uint32_t ppb)
{
	unsigned __int128 g = (unsigned __int128)ns * ppb + NSEC_PER_SEC - 1;

	g /= NSEC_PER_SEC;
	return g > UINT64_MAX ? UINT64_MAX : (uint64_t)g;
}

static void fill_basic(const struct vmclock_bounded *b, int64_t utc,
		       struct vmclock_bound *out)
{
	uint64_t max =
		(uint64_t)(b->maxerror_us > 0 ? b->maxerror_us : 0) * 1000;
	/* refresh_kernel() made it 0 <= age < refresh_ns. */
	uint64_t since = (uint64_t)(utc - b->tx_rt);

	/* Since the read, and the second the kernel has not added yet. */
	max = vmclock_add_sat(max, growth_ns(since, b->growth_ppb));
	max = vmclock_add_sat(max, b->growth_ppb);
	/* In an inserted leap second CLOCK_REALTIME repeats 23:59:59. */
	if (b->state == TIME_OOP)
		max = vmclock_add_sat(max, NSEC_PER_SEC);
	out->maxerror_ns = max;
	out->esterror_ns =
		(uint64_t)(b->esterror_us > 0 ? b->esterror_us : 0) * 1000;
	out->earliest_ns = vmc_add_ns_sat(utc, max, -1);
	out->latest_ns = vmc_add_ns_sat(utc, max, 1);
	out->valid |= VMCLOCK_VALID_MAXERROR | VMCLOCK_VALID_ESTERROR;
	out->clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
}

static void set_tai(const struct vmclock_bounded *b, struct vmclock_bound *out)
{
	const struct vmclock_reading *p = &out->page;
	int64_t off;

	if (b->tai_sec > 0)
		off = b->tai_sec;
	else if (b->r && (p->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID))
		off = p->tai_offset_sec;
	else
		return;
	out->tai_ns = out->utc_ns + off * (int64_t)NSEC_PER_SEC;
	out->valid |= VMCLOCK_VALID_TAI;
}

/*
 * The page's fields after the clock read, and its marker noted: a
 * disruption before the clock was read is seen here, whatever the clock
 * says.  @keep: out->page already holds this call's reading (with time);
 * only its events are merged.
 */
static int page_after_clock(struct vmclock_bounded *b,
			    struct vmclock_bound *out, int keep)
{
	struct vmclock_reading f;
	int err, verdict;

	err = vmc_reader_fields(b->r, keep ? &f : &out->page, &verdict);
	if (unlikely(err))
		return err;
	if (keep)
		out->page.events |= f.events;
	return note_marker(b, keep ? f.disruption_marker :
				     out->page.disruption_marker);
}

static int basic_now(struct vmclock_bounded *b, struct vmclock_bound *out,
		     int have_page)
{
	int64_t utc = 0;
	int err;

	err = get_ns(b, CLOCK_REALTIME, &utc);
	if (!err && b->r)
		err = page_after_clock(b, out, have_page);
	if (!err)
		err = refresh_kernel(b, utc);
	if (err)
		return err;
	out->source = VMCLOCK_SOURCE_SYSTEM;
	out->utc_ns = utc;
	out->valid |= VMCLOCK_VALID_UTC;
	out->kernel_state = b->state;
	out->kernel_status = b->status;
	out->clock_status = VMCLOCK_STATUS_UNKNOWN;
	set_tai(b, out);
	if (b->stale)
		return -ESTALE;
	if (!kernel_synced(b))
		return -ENODATA;
	fill_basic(b, utc, out);
	return 0;
}

static void fill_precise(const struct vmclock_reading *rd,
			 struct vmclock_bound *out)
{
	out->source = VMCLOCK_SOURCE_PAGE;
	out->utc_ns = rd->utc_ns;
	out->tai_ns = rd->tai_ns;
	out->maxerror_ns = rd->maxerror_ns;
	out->esterror_ns = rd->esterror_ns;
	out->earliest_ns = rd->earliest_ns;
	out->latest_ns = rd->latest_ns;
	out->valid = rd->valid &
		     (VMCLOCK_VALID_UTC | VMCLOCK_VALID_TAI |
		      VMCLOCK_VALID_MAXERROR | VMCLOCK_VALID_ESTERROR);
	out->clock_status = rd->clock_status;
}

/*
 * vmclock_reader_now()'s -EIO is both a failed pread and status UNRELIABLE;
 * a failed read leaves the zeroed reading's status UNKNOWN.
 */
static int precise_says_no(int err, const struct vmclock_reading *rd)
{
	switch (err) {
	case -ENOTSUP:
	case -ENODATA:
	case -EAGAIN:
	case -ERANGE:
		return 1;
	case -EIO:
		return rd->clock_status == VMCLOCK_STATUS_UNRELIABLE;
	default:
		return 0;
	}
}

/* Everything but the page reading, which every path fills or clears. */
static void reset_bound(struct vmclock_bound *out)
{
	memset(out, 0, offsetof(struct vmclock_bound, page));
	out->maxerror_ns = VMCLOCK_ERROR_UNKNOWN;
	out->esterror_ns = VMCLOCK_ERROR_UNKNOWN;
}

/*
 * The precise path: the strict read, then the marker noted.  Return: 0, a
 * refusal that falls back to basic mode (precise_says_no()), or a read
 * error.
 */
static int page_precise(struct vmclock_bounded *b, struct vmclock_bound *out)
{
	int err, e2;

	/* A failed read leaves the page untouched: UNKNOWN, not UNRELIABLE. */
	out->page.clock_status = VMCLOCK_STATUS_UNKNOWN;
	err = vmclock_reader_now(b->r, &out->page);
	if (unlikely(err) && !precise_says_no(err, &out->page)) {
		memset(&out->page, 0, sizeof(out->page));
		return err;
	}
	e2 = note_marker(b, out->page.disruption_marker);
	return e2 ? e2 : err;
}

VMC_API int vmclock_bounded_now(struct vmclock_bounded *b,
				struct vmclock_bound *out)
{
	int err;

	reset_bound(out);
	if (!b->r) {
		memset(&out->page, 0, sizeof(out->page));
		return b->mode == VMCLOCK_BOUND_PRECISE ? -ENOTSUP :
							 basic_now(b, out, 0);
	}
	/*
	 * A page without precise time for this CPU (QEMU, Firecracker) is not
	 * worth a counter read: the snapshot it was decoded from says so.
	 */
	if (b->mode == VMCLOCK_BOUND_BASIC ||
	    (b->mode == VMCLOCK_BOUND_AUTO &&
	     vmc_reader_cached_verdict(b->r) == -ENOTSUP))
		return basic_now(b, out, 0);
	err = page_precise(b, out);
	if (err && !precise_says_no(err, &out->page))
		return err;
	if (b->mode == VMCLOCK_BOUND_PRECISE || !err) {
		fill_precise(&out->page, out);
		if (err) {
			out->maxerror_ns = VMCLOCK_ERROR_UNKNOWN;
			out->valid &= ~VMCLOCK_VALID_MAXERROR;
		}
		return err;
	}
	return basic_now(b, out, 1);
}

VMC_API struct vmclock_bounded *
vmclock_bounded_create(struct vmclock_reader *r,
		       const struct vmclock_bounded_config *cfg)
{
	struct vmclock_bounded_config def = { 0 };
	struct vmclock_bounded *b;
	struct vmclock_bound bound;
	int err;

	if (!cfg)
		cfg = &def;
	if (cfg->mode > VMCLOCK_BOUND_BASIC ||
	    cfg->growth_ppb >= NSEC_PER_SEC) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->r = r;
	b->mode = cfg->mode;
	b->refresh_ns = cfg->refresh_ns ? cfg->refresh_ns :
					  VMCLOCK_BOUNDED_REFRESH_NS;
	b->growth_ppb = cfg->growth_ppb ? cfg->growth_ppb :
					  VMCLOCK_BOUNDED_GROWTH_PPB;
	if (cfg->ops)
		b->ops = *cfg->ops;
	if (!b->ops.adjtimex)
		b->ops.adjtimex = real_adjtimex;
	if (!b->ops.clock_gettime)
		b->ops.clock_gettime = real_clock_gettime;
	if (!b->ops.sleep_ns)
		b->ops.sleep_ns = real_sleep_ns;
	err = vmclock_bounded_now(b, &bound);
	if (err && err != -ENOTSUP && !vmclock_bounded_not_yet(err)) {
		free(b);
		errno = -err;
		return NULL;
	}
	return b;
}

VMC_API void vmclock_bounded_destroy(struct vmclock_bounded *b)
{
	free(b);
}

VMC_API int vmclock_bounded_wait_sync(struct vmclock_bounded *b,
				      uint64_t timeout_ns,
				      uint64_t max_error_ns,
				      struct vmclock_bound *out)
{
	struct vmclock_bound tmp;
	int64_t start = 0, now = 0;
	int err;

	if (!out)
		out = &tmp;
	err = get_ns(b, CLOCK_MONOTONIC, &start);
	if (err)
		return err;
	for (;;) {
		b->force_tx = 1;
		err = vmclock_bounded_now(b, out);
		if (!err && (!max_error_ns || out->maxerror_ns <= max_error_ns))
			return 0;
		if (err && !vmclock_bounded_not_yet(err))
			return err;
		err = get_ns(b, CLOCK_MONOTONIC, &now);
		if (err)
			return err;
		if ((uint64_t)(now - start) >= timeout_ns)
			return -ETIMEDOUT;
		b->ops.sleep_ns(b->ops.ctx, b->refresh_ns);
	}
}

VMC_API void vmclock_bounded_get_state(const struct vmclock_bounded *b,
				       struct vmclock_bounded_state *s)
{
	s->marker = b->marker;
	s->flags = (b->stale ? VMCLOCK_BSTATE_STALE : 0) |
		   (b->seen_unsync ? VMCLOCK_BSTATE_SEEN_UNSYNC : 0);
	s->base_mono_ns = b->base_mono;
	s->base_maxerror_us = b->base_maxerror_us;
}

VMC_API void vmclock_bounded_set_state(struct vmclock_bounded *b,
				       const struct vmclock_bounded_state *s)
{
	b->have_marker = 1;
	b->marker = s->marker;
	b->stale = !!(s->flags & VMCLOCK_BSTATE_STALE);
	b->seen_unsync = !!(s->flags & VMCLOCK_BSTATE_SEEN_UNSYNC);
	b->base_mono = s->base_mono_ns;
	b->base_maxerror_us = (long)s->base_maxerror_us;
	/* Re-read the kernel now: it may have re-synced since the save. */
	b->force_tx = 1;
}

VMC_API int vmclock_bounded_not_yet(int err)
{
	return err == -ENODATA || err == -ESTALE || err == -EAGAIN ||
	       err == -ERANGE || err == -EIO;
}

VMC_API const char *vmclock_bounded_strerror(int err)
{
	switch (err) {
	case -ESTALE:
		return "the clock was disrupted (disruption marker changed) and "
		       "the kernel clock has not been re-synced since";
	case -ENODATA:
		return "the clock is not synchronized: neither the page nor the "
		       "kernel's NTP state (adjtimex: STA_UNSYNC, no NTP daemon "
		       "has synced it) gives an error bound";
	default:
		return vmclock_strerror(err);
	}
}

VMC_API const char *vmclock_bound_source_name(unsigned int source)
{
	switch (source) {
	case VMCLOCK_SOURCE_PAGE:
		return "page";
	case VMCLOCK_SOURCE_SYSTEM:
		return "system";
	default:
		return "?";
	}
}
