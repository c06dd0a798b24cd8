// SPDX-License-Identifier: MIT
/*
 * writer.c - the hypervisor side of libvmclock: own a page and change it in
 * sequence-lock transactions, keeping the TIME_MONOTONIC promise.
 *
 * Ordering (pairs with snap_attempt() in reader.c):
 *	seq_count = odd; release fence; field stores; seq_count = even with
 *	release semantics; notify.
 * The writer keeps its own copy of seq_count, the flags, the marker, the
 * generation and the last calibration, so it never trusts the page's
 * contents after adopting it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "internal.h"
#include "monotonic.h"

/* What every update touches comes first: a fleet's writers miss the cache. */
struct vmclock_writer {
	volatile struct vmclock_abi *page;
	uint64_t flags;
	uint32_t seq;
	int in_txn;
	int implicit_txn;
	int have_line;
	struct vmclock_line line;
	struct vmclock_writer_config cfg;
	int adopted;
	uint64_t marker;
	uint64_t generation;
};

static void put_flags(struct vmclock_writer *w, uint64_t flags)
{
	w->flags = flags;
	vmc_put64(w->page, flags, flags);
}

/* Seq odd, then the fields: readers retry until commit. */
static inline void begin(struct vmclock_writer *w)
{
	/* An adopted page left odd by a dead writer stays odd until commit. */
	if (!(w->seq & 1))
		w->seq++;
	vmc_put32(w->page, seq_count, w->seq);
	/* Readers must see seq odd before any field changes. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	w->in_txn = 1;
}

static inline void commit(struct vmclock_writer *w)
{
	w->seq++;
	/* Every field store is visible before seq turns even. */
	__atomic_store_n(&w->page->seq_count, vmc_le32(w->seq), __ATOMIC_RELEASE);
	w->in_txn = 0;
	if (w->cfg.notify)
		w->cfg.notify(w->cfg.notify_ctx, w->seq);
}

VMC_API int vmclock_writer_begin(struct vmclock_writer *w)
{
	if (w->in_txn)
		return -EBUSY;
	begin(w);
	return 0;
}

VMC_API int vmclock_writer_commit(struct vmclock_writer *w)
{
	if (!w->in_txn)
		return -EINVAL;
	commit(w);
	return 0;
}

/* Open a transaction for one setter if the caller has none open. */
static inline void txn_enter(struct vmclock_writer *w)
{
	w->implicit_txn = !w->in_txn;
	if (w->implicit_txn)
		begin(w);
}

static inline int txn_leave(struct vmclock_writer *w, int ret)
{
	if (w->implicit_txn) {
		w->implicit_txn = 0;
		commit(w);
	}
	return ret;
}

/*
 * The first seq_count of a page set up afresh.  Readers cache a decoded
 * page by seq_count, so a page re-initialised in place must not repeat a
 * value they may hold: continue after the old one if the page was valid,
 * else start anywhere.
 */
static uint32_t initial_seq(volatile struct vmclock_abi *pg, size_t len)
{
	uint32_t seq = 0;

	if (vmclock_page_validate(pg, len, NULL) == 0)
		seq = vmc_get32(pg, seq_count);
	else if (getrandom(&seq, sizeof(seq), GRND_NONBLOCK) != sizeof(seq))
		seq = 0;
	return seq & ~1u;
}

/*
 * Set up a fresh page inside an open transaction: seq is odd throughout.
 * @len bytes are there (zeroed); @avail is the page's, for its checks.
 */
static void init_page(struct vmclock_writer *w, size_t len, size_t avail)
{
	volatile struct vmclock_abi *pg = w->page;
	volatile uint8_t *b = (volatile uint8_t *)pg;
	size_t i, seq_at = offsetof(struct vmclock_abi, seq_count);

	w->seq = initial_seq(pg, avail);
	vmclock_writer_begin(w);
	for (i = 0; i < len; i++)
		if (i < seq_at || i >= seq_at + sizeof(pg->seq_count))
			b[i] = 0;
	vmc_put32(pg, magic, VMCLOCK_MAGIC);
	vmc_put32(pg, size, w->cfg.size);
	vmc_put16(pg, version, 1);
	vmc_put8(pg, counter_id, w->cfg.counter_id);
	vmc_put8(pg, time_type, w->cfg.time_type);
	vmc_put8(pg, clock_status, VMCLOCK_STATUS_UNKNOWN);
}

static void adopt_page(struct vmclock_writer *w)
{
	volatile struct vmclock_abi *pg = w->page;

	w->adopted = 1;
	w->seq = vmc_get32(pg, seq_count);
	w->flags = vmc_get64(pg, flags);
	w->marker = vmc_get64(pg, disruption_marker);
	w->generation = vmc_get64(pg, vm_generation_counter);
	w->line.counter_value = vmc_get64(pg, counter_value);
	w->line.period_frac = vmc_get64(pg, counter_period_frac_sec);
	w->line.time_sec = vmc_get64(pg, time_sec);
	w->line.time_frac = vmc_get64(pg, time_frac_sec);
	w->line.shift = vmc_get8(pg, counter_period_shift);
	w->have_line = w->line.period_frac != 0 && w->line.shift <= 63;
}

static int can_adopt(volatile struct vmclock_abi *pg, size_t len,
		     const struct vmclock_writer_config *cfg)
{
	if (vmclock_page_validate(pg, len, NULL))
		return 0;
	return vmc_get32(pg, size) == cfg->size;
}

VMC_API struct vmclock_writer *vmclock_writer_create(volatile void *page, size_t len,
						     const struct vmclock_writer_config *cfg)
{
	struct vmclock_writer *w;
	size_t avail = len;

	/* The struct alone: a shadow of a page of cfg->size bytes elsewhere. */
	if (cfg && len == sizeof(struct vmclock_abi))
		avail = cfg->size;
	if (!page || ((uintptr_t)page & 7) || !cfg ||
	    len < sizeof(struct vmclock_abi) ||
	    cfg->size < sizeof(struct vmclock_abi) || cfg->size > avail) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->page = page;
	w->cfg = *cfg;
	if (cfg->adopt && can_adopt(w->page, avail, cfg)) {
		if (vmc_get8(w->page, counter_id) != cfg->counter_id ||
		    vmc_get8(w->page, time_type) != cfg->time_type) {
			free(w);
			errno = EINVAL;
			return NULL;
		}
		adopt_page(w);
		/* A page at rest is left as it is: nothing changed. */
		if (!(w->seq & 1))
			return w;
		/* A writer died mid-update: make seq_count even again. */
		vmclock_writer_begin(w);
	} else {
		init_page(w, len, avail);
	}
	vmclock_writer_commit(w);
	return w;
}

VMC_API void vmclock_writer_destroy(struct vmclock_writer *w)
{
	free(w);
}

VMC_API int vmclock_writer_adopted(const struct vmclock_writer *w)
{
	return w->adopted;
}

VMC_API volatile struct vmclock_abi *vmclock_writer_page(const struct vmclock_writer *w)
{
	return w->page;
}

/* Add @gap (units of 2^-64 s) to a line's time. */
static int line_advance(struct vmclock_line *l, struct vmclock_u128 gap)
{
	uint64_t frac = l->time_frac + gap.lo, sec;

	if (__builtin_add_overflow(l->time_sec, gap.hi, &sec) ||
	    __builtin_add_overflow(sec, (uint64_t)(frac < gap.lo), &sec))
		return -ERANGE;
	l->time_frac = frac;
	l->time_sec = sec;
	return 0;
}

/* How far @nl is behind @old at counter @c (0 if not behind). */
static int gap_at(const struct vmclock_line *old, const struct vmclock_line *nl,
		  uint64_t c, struct vmclock_u128 *gap)
{
	struct vmclock_instant to, tn;
	struct vmclock_span span;

	if (vmclock_line_eval(old, c, &to, &span) ||
	    vmclock_line_eval(nl, c, &tn, &span))
		return -ERANGE;
	*gap = vmclock_instant_gap(&to, &tn);
	return 0;
}

/*
 * The lines differ linearly, so the new one is at or ahead of the old one
 * over the whole publish window iff it is at both ends.
 */
static int monotonic_gap(const struct vmclock_writer *w,
			 const struct vmclock_line *nl, uint64_t c,
			 struct vmclock_u128 *gap)
{
	struct vmclock_u128 g1, g2;

	if (gap_at(&w->line, nl, c, &g1) ||
	    gap_at(&w->line, nl, c + w->cfg.publish_window_ticks, &g2))
		return -ERANGE;
	*gap = (g2.hi > g1.hi || (g2.hi == g1.hi && g2.lo > g1.lo)) ? g2 : g1;
	return 0;
}

/* The error flags @v's VALID bits set. */
static uint64_t error_flags(uint32_t v)
{
	uint64_t f = 0;

	if (v & VMCLOCK_CAL_PERIOD_ESTERROR)
		f |= VMCLOCK_FLAG_PERIOD_ESTERROR_VALID;
	if (v & VMCLOCK_CAL_PERIOD_MAXERROR)
		f |= VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	if (v & VMCLOCK_CAL_TIME_ESTERROR)
		f |= VMCLOCK_FLAG_TIME_ESTERROR_VALID;
	if (v & VMCLOCK_CAL_TIME_MAXERROR)
		f |= VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	return f;
}

/*
 * Store line @l, the period error rates @rate_est and @rate_max, and
 * @cal's time errors grown by @adj ns; the writer's line becomes @l.
 */
static inline __attribute__((always_inline)) void
put_line(struct vmclock_writer *w, const struct vmclock_line *l,
	 const struct vmclock_calibration *cal, uint64_t rate_est,
	 uint64_t rate_max, uint64_t adj)
{
	volatile struct vmclock_abi *pg = w->page;
	uint32_t v = cal->valid;

	vmc_put64(pg, counter_value, l->counter_value);
	vmc_put8(pg, counter_period_shift, l->shift);
	vmc_put64(pg, counter_period_frac_sec, l->period_frac);
	vmc_put64(pg, counter_period_esterror_rate_frac_sec, rate_est);
	vmc_put64(pg, counter_period_maxerror_rate_frac_sec, rate_max);
	vmc_put64(pg, time_sec, l->time_sec);
	vmc_put64(pg, time_frac_sec, l->time_frac);
	/* Moved forward by adj ns: both time errors grow by as much. */
	vmc_put64(pg, time_esterror_nanosec, v & VMCLOCK_CAL_TIME_ESTERROR ?
		  vmclock_add_sat(cal->time_esterror_ns, adj) : 0);
	vmc_put64(pg, time_maxerror_nanosec, v & VMCLOCK_CAL_TIME_MAXERROR ?
		  vmclock_add_sat(cal->time_maxerror_ns, adj) : 0);
	w->line = *l;
	w->have_line = 1;
}

/* @cal's period error rates, 0 where not VALID. */
static uint64_t rate_est_of(const struct vmclock_calibration *cal)
{
	return cal->valid & VMCLOCK_CAL_PERIOD_ESTERROR ?
		       cal->period_esterror_rate : 0;
}

static uint64_t rate_max_of(const struct vmclock_calibration *cal)
{
	return cal->valid & VMCLOCK_CAL_PERIOD_MAXERROR ?
		       cal->period_maxerror_rate : 0;
}

/* Store a line and its errors; return the flags with their VALID bits. */
static uint64_t put_calibration(struct vmclock_writer *w,
				const struct vmclock_line *l,
				const struct vmclock_calibration *cal,
				uint64_t adj, uint64_t flags)
{
	put_line(w, l, cal, rate_est_of(cal), rate_max_of(cal), adj);
	return (flags & ~(uint64_t)VMC_ERROR_FLAGS) | error_flags(cal->valid);
}

/*
 * TIME_MONOTONIC for @nl, switching at @c: 0 with @nl moved forward by
 * *adj ns (rounded up) where it was behind, or -ERANGE.
 */
static int hold_monotonic(const struct vmclock_writer *w,
			  struct vmclock_line *nl, uint64_t c, uint64_t *adj)
{
	struct vmclock_u128 gap = { 0, 0 };

	/* Nearly always the new line is not behind: say so quickly, exactly. */
	if (vmc_not_behind(&w->line, nl, c, w->cfg.publish_window_ticks))
		return 0;
	if (monotonic_gap(w, nl, c, &gap))
		return -ERANGE;
	if (!gap.hi && !gap.lo)
		return 0;
	if (w->cfg.policy == VMCLOCK_MONOTONIC_REFUSE || line_advance(nl, gap))
		return -ERANGE;
	*adj = vmclock_scale(gap, VMCLOCK_NSEC_PER_SEC, 64, VMCLOCK_ROUND_UP);
	/* A saturated gap may fall short: check, never assume. */
	if (monotonic_gap(w, nl, c, &gap) || gap.hi || gap.lo)
		return -ERANGE;
	return 0;
}

/* Whether @l is @ref with its counter moved by @off. */
static inline int line_moved(const struct vmclock_line *l,
			     const struct vmclock_line *ref, uint64_t off)
{
	return l->counter_value - off == ref->counter_value &&
	       l->time_frac == ref->time_frac && l->time_sec == ref->time_sec &&
	       l->period_frac == ref->period_frac && l->shift == ref->shift;
}

/*
 * Whether @m answered for this check: the same lines, window and policy,
 * every counter moved by one offset (the check sees only differences).
 */
static int memo_answers(const struct vmclock_monotonic_memo *m,
			const struct vmclock_writer *w,
			const struct vmclock_line *nl, uint64_t c)
{
	uint64_t off = nl->counter_value - m->nl.counter_value;
	const struct vmclock_line *o = &w->line;

	return m->valid && c - off == m->switch_counter &&
	       line_moved(nl, &m->nl, off) && line_moved(o, &m->old, off) &&
	       m->window == w->cfg.publish_window_ticks &&
	       m->policy == (int)w->cfg.policy;
}

/*
 * The line to publish for @cal and how far (ns, rounded up) it was moved
 * forward for TIME_MONOTONIC (the answer from @memo, or kept in it); the
 * page is not touched.
 */
static int prepare_line(const struct vmclock_writer *w,
			const struct vmclock_calibration *cal,
			struct vmclock_line *nl, uint64_t *adj,
			struct vmclock_monotonic_memo *memo)
{
	uint64_t c = cal->switch_counter;
	int ret;

	*nl = (struct vmclock_line){ cal->counter_value, cal->period_frac,
				     cal->time_sec, cal->time_frac,
				     cal->period_shift };
	*adj = 0;
	if (cal->period_shift > 63 || cal->period_frac == 0)
		return -EINVAL;
	if (!(w->flags & VMCLOCK_FLAG_TIME_MONOTONIC) || !w->have_line)
		return 0;
	if (!memo)
		return hold_monotonic(w, nl, c, adj);
	if (memo_answers(memo, w, nl, c)) {
		nl->time_sec = memo->time_sec;
		nl->time_frac = memo->time_frac;
		*adj = memo->adj;
		return memo->ret;
	}
	*memo = (struct vmclock_monotonic_memo){
		.old = w->line, .nl = *nl, .switch_counter = c,
		.window = w->cfg.publish_window_ticks,
		.policy = (int)w->cfg.policy, .valid = 1 };
	ret = hold_monotonic(w, nl, c, adj);
	memo->time_sec = nl->time_sec;
	memo->time_frac = nl->time_frac;
	memo->adj = *adj;
	memo->ret = ret;
	return ret;
}

/* What prepare_line() did, for the caller's struct (may be NULL). */
static void tell_result(struct vmclock_publish_result *res, int ret,
			uint64_t adj)
{
	if (!res)
		return;
	memset(res, 0, sizeof(*res));
	res->adjusted = !ret && adj != 0;
	res->adjust_ns = ret ? 0 : adj;
}

VMC_API int vmclock_writer_set_calibration(struct vmclock_writer *w,
					   const struct vmclock_calibration *cal,
					   struct vmclock_publish_result *res)
{
	struct vmclock_line nl;
	uint64_t adj;
	int ret = prepare_line(w, cal, &nl, &adj, NULL);

	tell_result(res, ret, adj);
	if (ret)
		return ret;
	txn_enter(w);
	put_flags(w, put_calibration(w, &nl, cal, adj, w->flags));
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_publish(struct vmclock_writer *w,
				   const struct vmclock_writer_update *u,
				   struct vmclock_publish_result *res)
{
	return vmclock_writer_publish_memo(w, u, res, NULL);
}

VMC_API int vmclock_writer_publish_memo(struct vmclock_writer *w,
					const struct vmclock_writer_update *u,
					struct vmclock_publish_result *res,
					struct vmclock_monotonic_memo *memo)
{
	volatile struct vmclock_abi *pg = w->page;
	struct vmclock_line nl;
	uint64_t adj = 0, flags;
	int ret = u->cal ? prepare_line(w, u->cal, &nl, &adj, memo) : 0;

	tell_result(res, ret, adj);
	txn_enter(w);
	flags = w->flags;
	if (u->cal && !ret)
		flags = put_calibration(w, &nl, u->cal, adj, flags);
	if (u->status <= VMCLOCK_STATUS_UNRELIABLE)
		vmc_put8(pg, clock_status, u->status);
	else if (!ret)
		ret = -EINVAL;
	vmc_put16(pg, tai_offset_sec, (uint16_t)u->tai_offset_sec);
	flags &= ~(uint64_t)VMCLOCK_FLAG_TAI_OFFSET_VALID;
	if (u->tai_valid)
		flags |= VMCLOCK_FLAG_TAI_OFFSET_VALID;
	if (u->leap <= VMCLOCK_LEAP_POST_NEG)
		vmc_put8(pg, leap_indicator, u->leap);
	else if (!ret)
		ret = -EINVAL;
	put_flags(w, flags);
	return txn_leave(w, ret);
}

VMC_API int vmclock_writer_image_prepare(struct vmclock_writer_image *img,
					 const struct vmclock_writer_update *u)
{
	const struct vmclock_calibration *c = u->cal;

	memset(img, 0, sizeof(*img));
	if (!c)
		return -EINVAL;
	img->cal = *c;
	img->status = u->status;
	img->leap = u->leap;
	img->tai_offset_sec = u->tai_offset_sec;
	img->tai_valid = u->tai_valid;
	/* What publish would refuse in part goes its way, page by page. */
	img->ok = c->period_shift <= 63 && c->period_frac &&
		  u->status <= VMCLOCK_STATUS_UNRELIABLE &&
		  u->leap <= VMCLOCK_LEAP_POST_NEG;
	img->line = (struct vmclock_line){ c->counter_value, c->period_frac,
					   c->time_sec, c->time_frac,
					   c->period_shift };
	img->flags = error_flags(c->valid) |
		     (u->tai_valid ? VMCLOCK_FLAG_TAI_OFFSET_VALID : 0);
	img->rate_est = rate_est_of(c);
	img->rate_max = rate_max_of(c);
	return 0;
}

/* vmclock_writer_publish() of @img's update moved by @off, errors by @e. */
static int publish_image_slow(struct vmclock_writer *w,
			      const struct vmclock_writer_image *img,
			      uint64_t off, uint64_t e,
			      struct vmclock_publish_result *res)
{
	struct vmclock_calibration cal = img->cal;
	struct vmclock_writer_update u = { &cal, img->status, img->leap,
					   img->tai_offset_sec,
					   img->tai_valid };

	cal.counter_value += off;
	cal.switch_counter += off;
	cal.time_esterror_ns = vmclock_add_sat(cal.time_esterror_ns, e);
	cal.time_maxerror_ns = vmclock_add_sat(cal.time_maxerror_ns, e);
	return vmclock_writer_publish(w, &u, res);
}

/* Whether @img's TIME_MONOTONIC answer is @w's, its line moved by @off. */
static int image_answers(const struct vmclock_writer_image *img,
			 const struct vmclock_writer *w, uint64_t off)
{
	return img->checked && line_moved(&w->line, &img->old, off) &&
	       img->window == w->cfg.publish_window_ticks &&
	       img->policy == (int)w->cfg.policy;
}

/* Check @nl (@img's line moved by @off) against @w's and keep the answer. */
static void image_check(struct vmclock_writer_image *img,
			const struct vmclock_writer *w,
			const struct vmclock_line *nl, uint64_t off)
{
	struct vmclock_line l = *nl;
	uint64_t adj = 0;

	img->ret = hold_monotonic(w, &l, img->cal.switch_counter + off, &adj);
	img->old = w->line;
	img->old.counter_value -= off;
	img->window = w->cfg.publish_window_ticks;
	img->policy = (int)w->cfg.policy;
	img->time_sec = l.time_sec;
	img->time_frac = l.time_frac;
	img->adj = adj;
	img->checked = 1;
}

/*
 * Write @img's update with line @nl and both errors grown by @grow: one
 * transaction of its own unless the caller has one open.  Inlined into
 * both image paths, whose stores are the same.
 */
static inline __attribute__((always_inline)) int
image_store(struct vmclock_writer *w, const struct vmclock_writer_image *img,
	    const struct vmclock_line *nl, uint64_t grow)
{
	volatile struct vmclock_abi *pg = w->page;
	int own = !w->in_txn;

	if (own)
		begin(w);
	vmc_put8(pg, clock_status, img->status);
	vmc_put16(pg, tai_offset_sec, (uint16_t)img->tai_offset_sec);
	vmc_put8(pg, leap_indicator, img->leap);
	put_line(w, nl, &img->cal, img->rate_est, img->rate_max, grow);
	put_flags(w, (w->flags & ~(uint64_t)(VMC_ERROR_FLAGS |
					     VMCLOCK_FLAG_TAI_OFFSET_VALID)) |
			     img->flags);
	if (own)
		commit(w);
	return 0;
}

/*
 * vmclock_writer_publish_image() when the image holds no answer for @w:
 * check and keep the answer, which then is @w's.  Out of line: it runs
 * once a scale and batch, and keeps the common path's registers few.
 */
static __attribute__((noinline)) int
publish_image_check(struct vmclock_writer *w, struct vmclock_writer_image *img,
		    uint64_t off, uint64_t extra_err_ns,
		    struct vmclock_publish_result *res)
{
	struct vmclock_line nl = img->line;

	nl.counter_value += off;
	image_check(img, w, &nl, off);
	return vmclock_writer_publish_image(w, img, off, extra_err_ns, res);
}

VMC_API int vmclock_writer_publish_image(struct vmclock_writer *w,
					 struct vmclock_writer_image *img,
					 uint64_t off, uint64_t extra_err_ns,
					 struct vmclock_publish_result *res)
{
	struct vmclock_line nl = img->line;
	uint64_t adj = 0;

	if (!img->ok)
		return publish_image_slow(w, img, off, extra_err_ns, res);
	nl.counter_value += off;
	if ((w->flags & VMCLOCK_FLAG_TIME_MONOTONIC) && w->have_line) {
		if (!image_answers(img, w, off))
			return publish_image_check(w, img, off, extra_err_ns,
						   res);
		if (img->ret)
			return publish_image_slow(w, img, off, extra_err_ns,
						  res);
		nl.time_sec = img->time_sec;
		nl.time_frac = img->time_frac;
		adj = img->adj;
	}
	tell_result(res, 0, adj);
	/* Saturating sums: (err + extra) + adj is err + (extra + adj). */
	return image_store(w, img, &nl, vmclock_add_sat(extra_err_ns, adj));
}

VMC_API int vmclock_writer_clear_calibration(struct vmclock_writer *w)
{
	volatile struct vmclock_abi *pg = w->page;

	txn_enter(w);
	vmc_put64(pg, counter_value, 0);
	vmc_put8(pg, counter_period_shift, 0);
	vmc_put64(pg, counter_period_frac_sec, 0);
	vmc_put64(pg, counter_period_esterror_rate_frac_sec, 0);
	vmc_put64(pg, counter_period_maxerror_rate_frac_sec, 0);
	vmc_put64(pg, time_sec, 0);
	vmc_put64(pg, time_frac_sec, 0);
	vmc_put64(pg, time_esterror_nanosec, 0);
	vmc_put64(pg, time_maxerror_nanosec, 0);
	put_flags(w, w->flags & ~(uint64_t)VMC_ERROR_FLAGS);
	w->have_line = 0;
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_set_status(struct vmclock_writer *w, uint8_t status)
{
	if (status > VMCLOCK_STATUS_UNRELIABLE)
		return -EINVAL;
	txn_enter(w);
	vmc_put8(w->page, clock_status, status);
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_set_notify(struct vmclock_writer *w,
				      vmclock_notify_fn notify, void *ctx)
{
	w->cfg.notify = notify;
	w->cfg.notify_ctx = ctx;
	return 0;
}

VMC_API int vmclock_writer_set_flags(struct vmclock_writer *w, uint64_t set,
				     uint64_t clear)
{
	const uint64_t owned = VMC_ERROR_FLAGS | VMCLOCK_FLAG_TAI_OFFSET_VALID;
	const uint64_t known = (VMCLOCK_FLAG_NOTIFICATION_PRESENT << 1) - 1;

	if ((set & owned) || ((set | clear) & ~known))
		return -EINVAL;
	txn_enter(w);
	put_flags(w, (w->flags & ~clear) | set);
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_set_tai_offset(struct vmclock_writer *w,
					  int16_t offset_sec, int valid)
{
	uint64_t flags = w->flags & ~(uint64_t)VMCLOCK_FLAG_TAI_OFFSET_VALID;

	txn_enter(w);
	vmc_put16(w->page, tai_offset_sec, (uint16_t)offset_sec);
	put_flags(w, valid ? flags | VMCLOCK_FLAG_TAI_OFFSET_VALID : flags);
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_set_leap(struct vmclock_writer *w, uint8_t leap)
{
	if (leap > VMCLOCK_LEAP_POST_NEG)
		return -EINVAL;
	txn_enter(w);
	vmc_put8(w->page, leap_indicator, leap);
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_set_smearing_hint(struct vmclock_writer *w,
					     uint8_t hint)
{
	if (hint > VMCLOCK_SMEARING_UTC_SLS)
		return -EINVAL;
	txn_enter(w);
	vmc_put8(w->page, leap_second_smearing_hint, hint);
	return txn_leave(w, 0);
}

/* The next value of a never-repeating counter. */
static uint64_t next_value(uint64_t cur, uint64_t want)
{
	if (!want || want == cur)
		return cur + 1;
	return want;
}

VMC_API int vmclock_writer_bump_disruption(struct vmclock_writer *w,
					   uint64_t value)
{
	txn_enter(w);
	w->marker = next_value(w->marker, value);
	vmc_put64(w->page, disruption_marker, w->marker);
	/*
	 * The marker tells readers to drop what they knew of the counter, so
	 * the next line is not held to the old one: it may be in another
	 * counter domain altogether (a migration).
	 */
	w->have_line = 0;
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_bump_generation(struct vmclock_writer *w,
					   uint64_t value)
{
	txn_enter(w);
	w->generation = next_value(w->generation, value);
	vmc_put64(w->page, vm_generation_counter, w->generation);
	put_flags(w, w->flags | VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT);
	return txn_leave(w, 0);
}

VMC_API int vmclock_writer_line(const struct vmclock_writer *w,
				struct vmclock_line *line)
{
	if (!w->have_line)
		return -ENODATA;
	*line = w->line;
	return 0;
}
