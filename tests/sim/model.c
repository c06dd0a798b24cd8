// SPDX-License-Identifier: MIT
/*
 * model.c - what the simulated world does: the guest counter (a host
 * oscillator with an offset, a bounded random-walk wander and steps), a
 * host whose NTP belief of time and of the counter's rate has errors
 * within the bounds it declares, and the host's use of the real writer:
 * periodic calibrations, stalls, a writer stuck with seq odd, live
 * migration, snapshot restore, free-run, UNRELIABLE, TAI offset changes
 * and the leap_indicator sequence of a leap second.
 *
 * The host's published errors are honest by construction: its belief
 * error is kept within 0.9 of the time maxerror it declares, and the
 * period maxerror it declares covers its rate estimate error, twice the
 * wander bound, the step bound and (free-running) its own drift bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmclock/vmclock-arith.h>

#include "sim.h"

#define Q40 1099511627776.0

static double clamp(double v, double lim)
{
	return v > lim ? lim : v < -lim ? -lim : v;
}

/*
 * The instant (ns, rounded up) at which the counter reached @c: a host
 * reads its counter as a whole tick, and the honest time to pair with it
 * is that tick's start, not the moment it happened to look.
 */
int64_t model_tick_start(const struct sim *s, uint64_t c)
{
	unsigned __int128 d = (unsigned __int128)(c - s->seg.c0) << 40;
	uint64_t ns = (uint64_t)((d + s->seg.rate_q40 - 1) / s->seg.rate_q40);

	return s->seg.t0 + (int64_t)ns;
}

uint64_t model_counter(const struct sim *s, int64_t t)
{
	unsigned __int128 d =
		(unsigned __int128)(uint64_t)(t - s->seg.t0) * s->seg.rate_q40;

	return s->seg.c0 + (uint64_t)(d >> 40);
}

int64_t model_true_tai(const struct sim *s, int64_t t)
{
	return s->t0_tai + t;
}

int64_t model_true_utc(const struct sim *s, int64_t t)
{
	return s->t0_tai + t - s->true_off * NS;
}

static uint64_t rate_q40(const struct sim *s)
{
	double f = (s->base_ppb + s->wander_ppb) * 1e-9;

	return (uint64_t)llround((double)s->sc.counter_hz / 1e9 * (1.0 + f) *
				 Q40);
}

/* Start a new linear piece at the current time with the current rate. */
static void new_segment(struct sim *s, uint64_t c)
{
	s->seg.t0 = s->t;
	s->seg.c0 = c;
	s->seg.rate_q40 = rate_q40(s);
}

void model_wander(struct sim *s)
{
	s->wander_ppb = clamp(s->wander_ppb + sim_gauss(s) * s->sc.wander_ppb,
			      s->sc.wander_max_ppb);
	new_segment(s, model_counter(s, s->t));
}

void model_step(struct sim *s)
{
	double h = s->sc.step_max_ppb / 2;

	s->base_ppb = s->base0_ppb + sim_uniform(s, -h, h);
	new_segment(s, model_counter(s, s->t));
}

static double host_max_ns(const struct sim *s)
{
	double m = fmax(s->sc.host_max_ns, fabs(s->e_unsync0) / 0.9 + 2);

	if (s->unsync)
		return m + s->sc.unsync_drift_ppb * 1e-9 *
				   (double)(s->t - s->unsync_t0);
	return fmax(s->sc.host_max_ns, fabs(s->e_host) / 0.9 + 2);
}

/* Move the host's belief errors on to now (OU in sync, drift free-running). */
static void host_evolve(struct sim *s, double dt_s)
{
	double a = exp(-dt_s / s->sc.host_tau_s), b = sqrt(1 - a * a);
	double lim = 0.9 * s->sc.host_max_ns, slew = 500e-6 * dt_s * 1e9;

	s->ef_host =
		clamp(a * s->ef_host + b * sim_gauss(s) * s->sc.host_fest_ppb,
		      s->sc.host_fmax_ppb);
	if (s->unsync) {
		s->e_host =
			s->e_unsync0 +
			s->unsync_drift * 1e-9 * (double)(s->t - s->unsync_t0);
		return;
	}
	if (fabs(s->e_host) > lim) {
		/* Back from free-run: slew, as NTP does, never step. */
		s->e_host -=
			copysign(fmin(slew, fabs(s->e_host) - lim), s->e_host);
		return;
	}
	s->e_host = clamp(a * s->e_host + b * sim_gauss(s) * s->sc.host_est_ns,
			  lim);
}

static uint64_t rate_field(uint64_t period, double ppb)
{
	unsigned __int128 r =
		(unsigned __int128)period * (uint64_t)ceil(ppb * 1000);

	return (uint64_t)(r / 1000000000000ull) + 1;
}

/*
 * How far the line on the page is ahead of @belief at counter @c, ns (0 when
 * behind or absent).  Under TIME_MONOTONIC a host must not publish a line
 * behind the old one: the writer would move it forward and widen its
 * errors every time, and the page would ratchet ahead of true time.
 */
static double page_ahead(const struct sim *s, uint64_t c, int64_t belief)
{
	const struct vmclock_abi *pg = (const struct vmclock_abi *)s->page;
	struct vmclock_line l = { pg->counter_value,
				  pg->counter_period_frac_sec, pg->time_sec,
				  pg->time_frac_sec, pg->counter_period_shift };
	struct vmclock_instant t;
	struct vmclock_span span;
	int64_t ns;

	if (!s->sc.monotonic || !s->sc.host_slew || !l.period_frac ||
	    vmclock_line_eval(&l, c, &t, &span) ||
	    vmclock_instant_to_ns(&t, &ns))
		return 0;
	return ns > belief ? (double)(ns - belief) : 0;
}

/*
 * The calibration the host believes in now.  When the page's line is
 * ahead of the belief, the host continues that line and slews it back
 * (at most 500 ppm, half the gap per update), declaring the gap as error.
 */
static void host_calibration(struct sim *s, struct vmclock_calibration *cal)
{
	const struct scenario *sc = &s->sc;
	uint64_t c = model_counter(s, s->t);
	int64_t edge = model_tick_start(s, c);
	int64_t truth = sc->time_type == VMCLOCK_TIME_UTC ?
				model_true_utc(s, edge) :
				model_true_tai(s, edge);
	int64_t ahead =
		(int64_t)(sc->host_ref_ahead_ms * 1e6 * sim_uniform(s, 0, 1));
	int64_t belief = truth + llround(s->e_host);
	double gap = page_ahead(s, c, belief);
	double slew = fmin(gap / (2e9 * sc->update_interval_s), 500e-6) * 1e9;
	double rel = s->ef_host + (s->unsync ? s->unsync_drift : 0) - slew;
	double rmax = sc->host_fmax_ppb + 2 * sc->wander_max_ppb + slew +
		      sc->step_max_ppb + 1 +
		      (s->unsync ? sc->unsync_drift_ppb : 0);
	uint64_t ns = (uint64_t)llround(Q40 * (1 + rel * 1e-9));

	belief += (int64_t)ceil(gap);
	memset(cal, 0, sizeof(*cal));
	cal->switch_counter = c;
	if (ahead) {
		/* A reference point in the future: readers see Δ < 0. */
		c = model_counter(s, s->t + ahead);
		belief += ahead;
	}
	cal->counter_value = c;
	cal->time_sec = (uint64_t)(belief / NS);
	cal->time_frac = vmclock_nsec_to_frac((uint32_t)(belief % NS));
	vmclock_period_from_ns(ns, s->seg.rate_q40, &cal->period_frac,
			       &cal->period_shift);
	cal->period_esterror_rate =
		rate_field(cal->period_frac, sc->host_fest_ppb);
	cal->period_maxerror_rate = rate_field(cal->period_frac, rmax);
	/* A 1-sigma estimate: half of any maxerror beyond the usual. */
	cal->time_esterror_ns =
		(uint64_t)(sc->host_est_ns + gap +
			   fmax(0, host_max_ns(s) - sc->host_max_ns) / 2);
	cal->time_maxerror_ns = (uint64_t)ceil(host_max_ns(s) + gap) + 1;
	cal->valid = VMCLOCK_CAL_PERIOD_ESTERROR | VMCLOCK_CAL_PERIOD_MAXERROR |
		     VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR;
}

/* Publish the host's current calibration (inside or outside a txn). */
static void apply(struct sim *s, const struct vmclock_calibration *cal)
{
	int err = vmclock_writer_set_calibration(s->w, cal, NULL);

	if (err)
		sim_violation(s, "writer refused a calibration: %d", err);
	s->sim_flags |= VMCLOCK_FLAG_PERIOD_ESTERROR_VALID |
			VMCLOCK_FLAG_PERIOD_MAXERROR_VALID |
			VMCLOCK_FLAG_TIME_ESTERROR_VALID |
			VMCLOCK_FLAG_TIME_MAXERROR_VALID;
}

static void prepare(struct sim *s, struct vmclock_calibration *cal)
{
	host_evolve(s, (double)(s->t - s->last_update) / 1e9);
	s->last_update = s->t;
	host_calibration(s, cal);
}

/* Publish the host's current calibration (inside or outside a txn). */
static void publish(struct sim *s)
{
	struct vmclock_calibration cal;

	prepare(s, &cal);
	apply(s, &cal);
}

static int can_update(const struct sim *s)
{
	return !s->stuck && !s->stalled && !s->paused &&
	       s->status != VMCLOCK_STATUS_UNKNOWN &&
	       s->status != VMCLOCK_STATUS_INITIALIZING;
}

void model_update(struct sim *s)
{
	if (can_update(s))
		publish(s);
}

/*
 * An update that reaches the page publish_latency_us after the host
 * computed it (switch_counter is the counter then): @between runs in the
 * gap, while readers still see the old line.
 */
void model_update_late(struct sim *s, void (*between)(struct sim *))
{
	struct vmclock_calibration cal;

	if (!can_update(s))
		return;
	prepare(s, &cal);
	s->t += (int64_t)(s->sc.publish_latency_us * 1e3);
	between(s);
	if (can_update(s))
		apply(s, &cal);
}

static void set_status(struct sim *s, int status)
{
	s->status = status;
	vmclock_writer_set_status(s->w, (uint8_t)status);
}

void model_unstick(struct sim *s)
{
	if (!s->stuck)
		return;
	s->stuck = 0;
	publish(s);
	vmclock_writer_commit(s->w);
}

static struct vmclock_writer *new_writer(struct sim *s, int adopt)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = (uint8_t)s->sc.time_type,
		.size = PAGE_SZ,
		.adopt = adopt,
		.policy = VMCLOCK_MONOTONIC_ADJUST,
		.publish_window_ticks =
			(uint64_t)(s->sc.publish_window_us * 1e-6 *
				   (double)s->sc.counter_hz) +
			1,
	};

	return vmclock_writer_create(s->page, PAGE_SZ, &cfg);
}

/* POSIX ns of the first of the month after @utc_ns. */
static int64_t month_after(int64_t utc_ns)
{
	time_t t = (time_t)(utc_ns / NS);
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mon++;
	return (int64_t)timegm(&tm) * NS;
}

/* Queue the leap_indicator sequence around the next month boundary. */
static void plan_leap(struct sim *s)
{
	int64_t m = month_after(s->sc.start_utc_s * NS), pre = s->sc.tai_offset;
	int64_t m_t = m + pre * NS - s->t0_tai, day = 86400 * NS;

	s->leap_m = m;
	s->leap_pre = pre;
	if (s->sc.leap > 0) {
		model_queue(s, m_t - day, EV_LEAP_STEP, VMCLOCK_LEAP_PRE_POS,
			    0);
		/* Linux moves TAI - UTC as 23:59:60 begins, IERS as it ends. */
		model_queue(s, m_t, EV_LEAP_STEP, VMCLOCK_LEAP_POS,
			    s->sc.leap_linux);
		model_queue(s, m_t + NS, EV_LEAP_STEP, VMCLOCK_LEAP_POST_POS,
			    !s->sc.leap_linux);
	} else {
		model_queue(s, m_t - day, EV_LEAP_STEP, VMCLOCK_LEAP_PRE_NEG,
			    0);
		model_queue(s, m_t - NS, EV_LEAP_STEP, VMCLOCK_LEAP_POST_NEG,
			    -1);
	}
	model_queue(s, m_t + day + NS, EV_LEAP_STEP, VMCLOCK_LEAP_NONE, 0);
}

int model_init(struct sim *s)
{
	const struct scenario *sc = &s->sc;
	int i;

	s->page = aligned_alloc(64, PAGE_SZ);
	if (!s->page)
		return -1;
	memset(s->page, 0, PAGE_SZ);
	s->t0_tai = (sc->start_utc_s + sc->tai_offset) * NS;
	s->true_off = sc->tai_offset;
	s->base0_ppb = s->base_ppb = sc->freq_ppm * 1000;
	new_segment(s, sc->counter_wrap_s > 0 ?
			       (uint64_t)0 - (uint64_t)(sc->counter_wrap_s *
							sc->counter_hz) :
			       sim_rand(s) >> 8);
	s->w = new_writer(s, 0);
	if (!s->w)
		return -1;
	vmclock_writer_begin(s->w);
	if (sc->monotonic)
		vmclock_writer_set_flags(s->w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	vmclock_writer_set_tai_offset(s->w, (int16_t)sc->tai_offset, 1);
	vmclock_writer_set_smearing_hint(s->w, (uint8_t)sc->smear);
	vmclock_writer_commit(s->w);
	s->sim_flags = VMCLOCK_FLAG_TAI_OFFSET_VALID |
		       (sc->monotonic ? VMCLOCK_FLAG_TIME_MONOTONIC : 0);
	s->status = VMCLOCK_STATUS_UNKNOWN;
	s->e_host =
		clamp(sim_gauss(s) * sc->host_est_ns, 0.9 * sc->host_max_ns);
	s->last_update = 0;
	model_queue(s, (int64_t)(sc->init_s * NS / 2), EV_INIT_SYNC, 1, 0);
	model_queue(s, (int64_t)(sc->init_s * NS), EV_INIT_SYNC, 2, 0);
	for (i = 0; i < sc->nev; i++)
		model_queue(s, sc->ev[i].at, sc->ev[i].kind, sc->ev[i].a, 0);
	if (sc->leap)
		plan_leap(s);
	s->r = vmclock_reader_open_memory(s->page, PAGE_SZ);
	return s->r ? 0 : -1;
}

void model_fini(struct sim *s)
{
	vmclock_reader_close(s->r);
	vmclock_writer_destroy(s->w);
	free(s->page);
}

void model_queue(struct sim *s, int64_t at, enum ev_kind kind, int64_t a,
		 int64_t b)
{
	struct sim_event *ev;

	if (s->nq >= (int)(sizeof(s->q) / sizeof(s->q[0])))
		return;
	if (at < 0)
		at = 0;
	ev = &s->q[s->nq++];
	ev->at = at;
	ev->kind = kind;
	ev->a = a;
	ev->b = b;
}

/* A new host takes over the page (the page is guest memory: it moves). */
static void new_host(struct sim *s, int restore)
{
	const uint64_t maint = VMCLOCK_FLAG_DISRUPTION_SOON |
			       VMCLOCK_FLAG_DISRUPTION_IMMINENT;

	/* A source writer that died mid-update leaves the page odd. */
	s->stuck = 0;
	vmclock_writer_destroy(s->w);
	s->w = new_writer(s, 1);
	vmclock_writer_begin(s->w);
	vmclock_writer_bump_disruption(s->w, 0);
	vmclock_writer_set_flags(s->w, 0, maint);
	s->sim_flags &= ~maint;
	s->marker++;
	if (restore) {
		vmclock_writer_bump_generation(s->w, 0);
		s->gen++;
		s->sim_flags |= VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
	}
	if (s->sc.migrate_clear)
		vmclock_writer_clear_calibration(s->w);
	/* The new host's NTP has its own error. */
	s->e_host = clamp(sim_gauss(s) * s->sc.host_est_ns,
			  0.9 * s->sc.host_max_ns);
	s->ef_host =
		clamp(sim_gauss(s) * s->sc.host_fest_ppb, s->sc.host_fmax_ppb);
	s->unsync = 0;
	s->e_unsync0 = 0;
	s->last_update = s->t;
	if (s->status == VMCLOCK_STATUS_FREERUNNING)
		set_status(s, VMCLOCK_STATUS_SYNCHRONIZED);
	publish(s);
	vmclock_writer_commit(s->w);
}

/* Pause the VM: a migration (jump 0) or a snapshot to restore later. */
static void vm_pause(struct sim *s, int64_t dur, int restore)
{
	if (s->paused)
		return;
	s->paused = 1;
	s->pause_c = model_counter(s, s->t);
	s->pause_t = s->t;
	model_queue(s, s->t + dur, EV_RESUME, restore, 0);
}

static void vm_resume(struct sim *s, int restore)
{
	double hz = (double)s->sc.counter_hz,
	       err_ms = s->sc.migrate_counter_err_ms;
	double off = s->sc.migrate_ppm * 1000;
	uint64_t c = s->pause_c;

	if (!restore) {
		/* The VMM carries the counter over the pause, with an error. */
		c += (uint64_t)((double)(s->t - s->pause_t) * hz / 1e9 +
				sim_uniform(s, -err_ms, err_ms) * hz / 1e3);
		if (fabs(s->base0_ppb + off) > 100000 ||
		    (fabs(s->base0_ppb - off) <= 100000 && (sim_rand(s) & 1)))
			off = -off;
		s->base0_ppb += off;
		s->base_ppb = s->base0_ppb;
		s->wander_ppb = 0;
		s->migrated_at = s->migrated_at ? s->migrated_at : s->t;
	}
	/* A restored guest's counter goes on from the snapshot's value. */
	new_segment(s, c + (uint64_t)(hz / 1e3));
	s->paused = 0;
	new_host(s, restore);
}

/* A transaction of the host's, or a part of the one a stuck writer holds. */
static void txn_begin(struct sim *s)
{
	if (!s->stuck)
		vmclock_writer_begin(s->w);
}

static void txn_end(struct sim *s)
{
	if (!s->stuck)
		vmclock_writer_commit(s->w);
}

static void leap_step(struct sim *s, int ind, int delta)
{
	txn_begin(s);
	vmclock_writer_set_leap(s->w, (uint8_t)ind);
	if (delta) {
		s->true_off += delta;
		vmclock_writer_set_tai_offset(s->w, (int16_t)s->true_off, 1);
	}
	txn_end(s);
	s->leap_ind = ind;
}

static void ev_unsync(struct sim *s, int on, int64_t dur_s)
{
	if (on) {
		s->unsync = 1;
		s->unsync_t0 = s->t;
		s->e_unsync0 = s->e_host;
		s->unsync_drift =
			sim_uniform(s, -1, 1) * s->sc.unsync_drift_ppb;
		if (s->status == VMCLOCK_STATUS_SYNCHRONIZED)
			set_status(s, VMCLOCK_STATUS_FREERUNNING);
		model_queue(s, s->t + dur_s * NS, EV_END_UNSYNC, 0, 0);
		return;
	}
	if (!s->unsync)
		return;
	s->e_host = s->e_unsync0 +
		    s->unsync_drift * 1e-9 * (double)(s->t - s->unsync_t0);
	s->unsync = 0;
	s->e_unsync0 = 0;
	if (s->status == VMCLOCK_STATUS_FREERUNNING)
		set_status(s, VMCLOCK_STATUS_SYNCHRONIZED);
}

static void ev_stuck(struct sim *s, int64_t ms)
{
	if (s->stuck || s->paused)
		return;
	vmclock_writer_begin(s->w);
	s->stuck = 1;
	s->stuck_until = s->t + ms * 1000000;
	model_queue(s, s->stuck_until, EV_END_STUCK, 0, 0);
}

/*
 * TAI - UTC changes.  On a TAI page only the offset moves; on a UTC page
 * UTC itself steps, so the host replaces the line in the same transaction.
 */
static void tai_change(struct sim *s, int64_t off)
{
	txn_begin(s);
	s->true_off = off;
	vmclock_writer_set_tai_offset(s->w, (int16_t)off, 1);
	if (s->sc.time_type == VMCLOCK_TIME_UTC && !s->stuck && !s->paused &&
	    s->status != VMCLOCK_STATUS_UNKNOWN) {
		vmclock_writer_clear_calibration(s->w);
		publish(s);
	}
	txn_end(s);
}

/*
 * The host's writer restarts.  Adopting, it keeps the page; afresh, the
 * page is zeroed (marker and generation back to 0) and set up again in one
 * transaction, and the reader must report all of that as events.
 */
static void writer_restart(struct sim *s, int adopt)
{
	const uint64_t keep = VMCLOCK_FLAG_TIME_MONOTONIC |
			      VMCLOCK_FLAG_TAI_OFFSET_VALID;

	s->stuck = 0;
	vmclock_writer_destroy(s->w);
	s->w = new_writer(s, adopt);
	if (adopt)
		return;
	s->marker = s->gen = 0;
	s->sim_flags &= keep;
	vmclock_writer_begin(s->w);
	if (s->sc.monotonic)
		vmclock_writer_set_flags(s->w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	vmclock_writer_set_tai_offset(s->w, (int16_t)s->true_off, 1);
	vmclock_writer_set_smearing_hint(s->w, (uint8_t)s->sc.smear);
	vmclock_writer_set_leap(s->w, (uint8_t)s->leap_ind);
	vmclock_writer_set_status(s->w, (uint8_t)s->status);
	if (s->status == VMCLOCK_STATUS_SYNCHRONIZED ||
	    s->status == VMCLOCK_STATUS_FREERUNNING)
		publish(s);
	vmclock_writer_commit(s->w);
}

/* Events of the host's clock and of the page's announcements. */
static int host_event(struct sim *s, const struct sim_event *ev)
{
	switch (ev->kind) {
	case EV_INIT_SYNC:
		if (ev->a == 1) {
			set_status(s, VMCLOCK_STATUS_INITIALIZING);
			return 1;
		}
		s->last_update = s->t;
		publish(s);
		set_status(s, VMCLOCK_STATUS_SYNCHRONIZED);
		return 1;
	case EV_MAINT:
		if (!s->stuck) {
			vmclock_writer_set_flags(s->w, (uint64_t)ev->a, 0);
			s->sim_flags |= (uint64_t)ev->a;
		}
		return 1;
	case EV_UNSYNC:
	case EV_END_UNSYNC:
		ev_unsync(s, ev->kind == EV_UNSYNC, ev->a);
		return 1;
	case EV_UNRELIABLE:
		set_status(s, VMCLOCK_STATUS_UNRELIABLE);
		model_queue(s, s->t + ev->a * NS, EV_END_UNRELIABLE, 0, 0);
		return 1;
	case EV_END_UNRELIABLE:
		set_status(s, s->unsync ? VMCLOCK_STATUS_FREERUNNING :
					  VMCLOCK_STATUS_SYNCHRONIZED);
		return 1;
	case EV_TAI_CHANGE:
		tai_change(s, ev->a);
		return 1;
	case EV_LEAP_STEP:
		leap_step(s, (int)ev->a, (int)ev->b);
		return 1;
	default:
		return 0;
	}
}

void model_event(struct sim *s, const struct sim_event *ev)
{
	if (host_event(s, ev))
		return;
	switch (ev->kind) {
	case EV_MIGRATE:
		vm_pause(s, (int64_t)(s->sc.migrate_pause_ms * 1e6), 0);
		break;
	case EV_RESTORE:
		vm_pause(s, ev->a * NS, 1);
		break;
	case EV_RESUME:
		vm_resume(s, (int)ev->a);
		break;
	case EV_STUCK:
		ev_stuck(s, ev->a);
		break;
	case EV_END_STUCK:
		model_unstick(s);
		break;
	case EV_RESTART:
		writer_restart(s, (int)ev->a);
		break;
	case EV_STALL:
		s->stalled = 1;
		model_queue(s, s->t + ev->a * NS, EV_END_STALL, 0, 0);
		break;
	case EV_END_STALL:
		s->stalled = 0;
		break;
	default:
		break;
	}
}
