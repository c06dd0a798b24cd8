// SPDX-License-Identifier: MIT
/*
 * sim.c - the deterministic simulator's engine and its checks.
 *
 *   vmclock-sim [-v] [-s SEED] [-m MULT] [-t TRACE] SCENARIO...
 *
 * Runs each scenario file on virtual true time (integer ns) with one
 * splitmix64 stream seeded from SEED and the scenario's name, so -s SEED
 * replays every scenario byte for byte.  -m multiplies the probe count;
 * -t writes a per-probe trace (true error and bounds) for plotting.
 *
 * Every probe is a strict read by the real reader (vmclock_reader_now)
 * whose counter is the simulated guest counter and whose deadline clock is
 * virtual time.  Each answer is checked: true time within [earliest,
 * latest]; the width no more than 1.05x the page's own maxerror grown by
 * its period maxerror over the counter distance; time never going back
 * under TIME_MONOTONIC; each event reported exactly once; no success on a
 * status other than SYNCHRONIZED or FREERUNNING, nor while the writer
 * holds seq odd; the derived UTC and smeared clocks within the bound of
 * their definitions evaluated independently here on true time.
 *
 * Prints "sim: <scenario>: N probes, V violations, width ratio R" per
 * scenario and "N passed, N failed" at the end.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-derived.h>

#include "sim.h"

#define WIDTH_LIMIT 1.05
#define MAX_REPORTS 10

uint64_t sim_rand(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double sim_uniform(struct sim *s, double lo, double hi)
{
	return lo +
	       (hi - lo) * (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}

/* Irwin-Hall: the sum of 12 uniforms less 6, close to N(0, 1), bounded. */
double sim_gauss(struct sim *s)
{
	double sum = 0;
	int i;

	for (i = 0; i < 12; i++)
		sum += sim_uniform(s, 0, 1);
	return sum - 6;
}

void sim_violation(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->st.violations++ >= MAX_REPORTS)
		return;
	printf("  %s: t=%.9f s: ", s->sc.name, (double)s->t / 1e9);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* The reader's counter: the guest counter at probe-local virtual time. */
static uint64_t sim_counter(void *ctx)
{
	struct sim *s = ctx;

	s->local += 20; /* each attempt takes a little virtual time */
	s->t = s->local;
	if (s->race_armed) {
		/* A writer transaction lands between the reader's loads. */
		s->race_armed = 0;
		s->st.races++;
		model_update(s);
	}
	s->counter_t = s->local;
	return model_counter(s, s->local);
}

/* The reader's deadline clock: virtual monotonic time. */
static uint64_t sim_clock(void *ctx)
{
	struct sim *s = ctx;

	s->local += 1000;
	s->t = s->local;
	if (s->stuck && s->local >= s->stuck_until)
		model_unstick(s);
	return (uint64_t)s->local;
}

/* What the reader should report, from what this simulation wrote. */
static uint32_t expected_events(struct sim *s)
{
	uint64_t newly = s->sim_flags & ~s->prev_flags;
	uint32_t ev = 0;

	if (!s->have_prev)
		return 0;
	ev |= s->marker != s->prev_marker ? VMCLOCK_EVENT_DISRUPTED : 0;
	ev |= s->gen != s->prev_gen ? VMCLOCK_EVENT_RESTORED : 0;
	ev |= s->status != s->prev_status ? VMCLOCK_EVENT_STATUS : 0;
	ev |= s->sim_flags != s->prev_flags ? VMCLOCK_EVENT_FLAGS : 0;
	ev |= s->leap_ind != s->prev_leap ? VMCLOCK_EVENT_LEAP : 0;
	ev |= s->true_off != s->prev_tai ? VMCLOCK_EVENT_TAI_OFFSET : 0;
	ev |= newly & VMCLOCK_FLAG_DISRUPTION_SOON ? VMCLOCK_EVENT_MAINT_SOON :
						     0;
	ev |= newly & VMCLOCK_FLAG_DISRUPTION_IMMINENT ?
		      VMCLOCK_EVENT_MAINT_IMMINENT :
		      0;
	return ev;
}

static void check_events(struct sim *s, const struct vmclock_reading *rd)
{
	uint32_t want = expected_events(s);

	if (rd->events != want)
		sim_violation(s, "events 0x%x, expected 0x%x", rd->events,
			      want);
	if (rd->disruption_marker != s->marker || rd->flags != s->sim_flags ||
	    rd->clock_status != s->status ||
	    rd->leap_indicator != s->leap_ind ||
	    rd->tai_offset_sec != s->true_off ||
	    rd->vm_generation_counter != s->gen ||
	    rd->smearing_hint != s->sc.smear)
		sim_violation(
			s,
			"reading's page state differs from what was written");
	if (rd->events & VMCLOCK_EVENT_DISRUPTED && s->servo.on)
		s->servo.next_poll = s->t;
	s->st.events += (uint64_t)__builtin_popcount(rd->events);
	s->have_prev = 1;
	s->prev_marker = s->marker;
	s->prev_gen = s->gen;
	s->prev_status = s->status;
	s->prev_flags = s->sim_flags;
	s->prev_leap = s->leap_ind;
	s->prev_tai = (int)s->true_off;
}

/* The narrowest bound the page allows at this counter, in ns (exact). */
static double min_half_width(const struct sim *s, uint64_t counter)
{
	const struct vmclock_abi *pg = (const struct vmclock_abi *)s->page;
	uint64_t c1 = pg->counter_value, d = counter - c1;
	double ticks = (double)((int64_t)d < 0 ? c1 - counter : d);
	double rate = (double)pg->counter_period_maxerror_rate_frac_sec;

	if (!(pg->flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID))
		rate = (double)pg->counter_period_frac_sec *
		       VMCLOCK_DEFAULT_DRIFT_PPB / 1e9;
	return (double)pg->time_maxerror_nanosec +
	       ticks * rate * 1e9 / ldexp(1, 64 + pg->counter_period_shift);
}

/*
 * The narrowest width the page allows: twice its grown maxerror, plus one
 * counter period, because a counter reading C stands for the whole tick
 * [T(C), T(C + 1)) and true time may lie anywhere in it.
 */
static void check_width(struct sim *s, const struct vmclock_reading *rd)
{
	const struct vmclock_abi *pg = (const struct vmclock_abi *)s->page;
	double tick = (double)pg->counter_period_frac_sec * 1e9 /
		      ldexp(1, 64 + pg->counter_period_shift);
	double exact = min_half_width(s, rd->counter) + tick / 2;
	double width = (double)(rd->latest_ns - rd->earliest_ns);
	double ratio = exact > 0 ? width / (2 * exact) : 1;

	/* Counted: readings before the reference point (counter delta < 0). */
	s->st.behind += (int64_t)(rd->counter - pg->counter_value) < 0;

	if (ratio > s->st.max_ratio)
		s->st.max_ratio = ratio;
	/* 4 ns: the reader rounds each end outward to whole nanoseconds. */
	if (width > 2 * exact * WIDTH_LIMIT + 4)
		sim_violation(s,
			      "bound width %.0f ns is %.3fx the page's %.0f ns",
			      width, ratio, 2 * exact);
	if (width < 2 * exact - tick - 4)
		sim_violation(s, "bound width %.0f ns below the page's %.0f ns",
			      width, 2 * exact);
}

/* The known leap's mapping from (utc, leap_second) back to TAI. */
static int64_t derived_tai(const struct sim *s, const struct vmclock_utc *u)
{
	int dir = s->sc.leap, pre = (int)s->leap_pre;

	if (!dir)
		return u->utc_ns + s->true_off * NS;
	if (u->leap_second)
		return s->leap_m + pre * NS + (u->utc_ns - (s->leap_m - NS));
	return u->utc_ns + (u->utc_ns < s->leap_m ? pre : pre + dir) * NS;
}

/* The smear's definition on true TAI, evaluated independently. */
static int64_t smear_truth(const struct sim *s, int64_t tai)
{
	int dir = s->sc.leap;
	int64_t pre = s->leap_pre * NS, w = s->sc.smear == 1 ? 86400 : 1000;
	int64_t start = s->leap_m - (s->sc.smear == 1 ? 43200 : 1000) * NS;
	__int128 x = (__int128)tai - (start + pre);

	if (!dir || x < 0)
		return tai - (dir ? pre : s->true_off * NS);
	if (x >= (__int128)(w + dir) * NS)
		return tai - pre - dir * NS;
	return start + (int64_t)(x * w / (w + dir));
}

/*
 * One counter tick, rounded up: true time may lie up to a tick after the
 * reading's T(C), since C stands for the whole tick [T(C), T(C + 1)).
 */
static int64_t tick_ns(const struct sim *s)
{
	const struct vmclock_abi *pg = (const struct vmclock_abi *)s->page;

	return (int64_t)ceil((double)pg->counter_period_frac_sec * 1e9 /
			     ldexp(1, 64 + pg->counter_period_shift));
}

static void check_derived(struct sim *s, const struct vmclock_reading *rd,
			  int64_t tai)
{
	int64_t tick = tick_ns(s), e = (int64_t)rd->maxerror_ns, ref, d;
	struct vmclock_smeared sm;
	struct vmclock_utc u;

	d = vmclock_reading_utc(rd, &u) ? 0 : derived_tai(s, &u) - tai;
	if (vmclock_reading_utc(rd, &u))
		sim_violation(s, "derived UTC failed");
	else if (d > e || -d > e + tick)
		sim_violation(s, "derived UTC %lld%s is %lld ns from true time",
			      (long long)u.utc_ns,
			      u.leap_second ? " (:60)" : "",
			      (long long)(derived_tai(s, &u) - tai));
	if (!s->sc.smear)
		return;
	ref = smear_truth(s, tai);
	if (vmclock_reading_smeared(rd, (uint8_t)s->sc.smear, &sm) ||
	    !sm.bounded)
		sim_violation(s, "smeared clock failed");
	else if (ref < sm.earliest_ns || ref > sm.latest_ns ||
		 llabs(sm.time_ns - ref) > e + 1)
		sim_violation(s, "smeared %lld not within %lld of true %lld",
			      (long long)sm.time_ns, (long long)e,
			      (long long)ref);
}

static void check_success(struct sim *s, const struct vmclock_reading *rd)
{
	int64_t tai = model_true_tai(s, s->counter_t);
	int64_t utc = model_true_utc(s, s->counter_t);
	double err = (double)(rd->utc_ns - utc);

	if (s->stuck)
		sim_violation(s,
			      "read succeeded while the writer held seq odd");
	if (s->status != VMCLOCK_STATUS_SYNCHRONIZED &&
	    s->status != VMCLOCK_STATUS_FREERUNNING)
		sim_violation(s, "strict read succeeded on status %d",
			      s->status);
	if (rd->counter != model_counter(s, s->counter_t))
		sim_violation(s, "reading's counter is not the simulated one");
	if (utc < rd->earliest_ns || utc > rd->latest_ns)
		sim_violation(
			s,
			"true UTC %lld outside [%lld, %lld] (error %.0f ns, "
			"maxerror %llu)",
			(long long)utc, (long long)rd->earliest_ns,
			(long long)rd->latest_ns, err,
			(unsigned long long)rd->maxerror_ns);
	if ((rd->valid & VMCLOCK_VALID_TAI) &&
	    (rd->tai_ns - tai > (int64_t)rd->maxerror_ns ||
	     tai - rd->tai_ns > (int64_t)rd->maxerror_ns + tick_ns(s)))
		sim_violation(s, "true TAI outside the bound");
	check_width(s, rd);
	if (rd->flags & VMCLOCK_FLAG_TIME_MONOTONIC) {
		if (s->have_mono && rd->time_ns < s->last_mono)
			sim_violation(
				s,
				"time went back %lld ns under TIME_MONOTONIC",
				(long long)(s->last_mono - rd->time_ns));
		s->last_mono = rd->time_ns > s->last_mono || !s->have_mono ?
				       rd->time_ns :
				       s->last_mono;
		s->have_mono = 1;
	} else {
		s->have_mono = 0;
	}
	check_derived(s, rd, tai);
	if ((rd->valid & VMCLOCK_VALID_ESTERROR) &&
	    fabs(err) <= (double)rd->esterror_ns)
		s->st.within_est++;
	s->st.max_err_ns = fmax(s->st.max_err_ns, fabs(err));
	s->st.sum_err2 += err * err;
	s->st.nerr++;
}

static void check_timeout(struct sim *s, int rc, int64_t start)
{
	int64_t waited = s->local - start;

	if (rc == -ETIMEDOUT) {
		s->st.timeouts++;
		if (!s->stuck || waited < (int64_t)VMCLOCK_DEFAULT_TIMEOUT_NS)
			sim_violation(s, "timed out after %lld ns, writer %s",
				      (long long)waited,
				      s->stuck ? "stuck" : "free");
	}
}

/* Comparison bookkeeping: peak error and the last time it was too big. */
static void compare_note(struct sim *s, int which, double err, int ok)
{
	static const double thr[3] = { 1e6, 1e5, 1e4 };
	int k;

	if (!s->migrated_at || s->t < s->migrated_at)
		return;
	if (ok && fabs(err) > s->cmp_peak[which])
		s->cmp_peak[which] = fabs(err);
	for (k = 0; k < 3; k++)
		if (!ok || fabs(err) >= thr[k])
			s->cmp_last_bad[which][k] = s->t;
}

/* Clock values less (TAI - the offset before the leap), ns. */
static void trace_clocks(const struct sim *s, const struct vmclock_reading *rd,
			 double out[3])
{
	int64_t base = rd->tai_ns - s->leap_pre * NS;
	struct vmclock_smeared sm;

	out[0] = out[1] = out[2] = 0;
	if (!s->sc.leap)
		return;
	out[0] = (double)(rd->utc_ns - base);
	if (!vmclock_reading_smeared(rd, VMCLOCK_SMEARING_NOON_LINEAR, &sm))
		out[1] = (double)(sm.time_ns - base);
	if (!vmclock_reading_smeared(rd, VMCLOCK_SMEARING_UTC_SLS, &sm))
		out[2] = (double)(sm.time_ns - base);
}

/*
 * One trace line: virtual s, rc, then ns: reading - true UTC, earliest -
 * true, latest - true, basic-mode servo error; s from the leap; and the
 * clocks less (TAI - offset before the leap): UTC, NOON_LINEAR, UTC_SLS.
 */
static void trace_probe(struct sim *s, const struct vmclock_reading *rd, int rc)
{
	int64_t utc = model_true_utc(s, s->counter_t);
	int64_t rel =
		model_true_tai(s, s->counter_t) - s->leap_m - s->leap_pre * NS;
	double c[3] = { 0, 0, 0 };

	if (!s->trace || s->st.probes % (uint64_t)s->sc.trace_every)
		return;
	if (!rc)
		trace_clocks(s, rd, c);
	fprintf(s->trace, "%.6f %d %lld %lld %lld %.0f %.3f %.0f %.0f %.0f\n",
		(double)s->t / 1e9, rc, rc ? 0 : (long long)(rd->utc_ns - utc),
		rc ? 0 : (long long)(rd->earliest_ns - utc),
		rc ? 0 : (long long)(rd->latest_ns - utc),
		s->servo.on ? servo_error(s) : 0.0,
		s->sc.leap ? (double)rel / 1e9 : 0.0, c[0], c[1], c[2]);
}

static void probe(struct sim *s)
{
	struct vmclock_reading rd;
	int64_t start = s->t;
	int rc;

	s->local = s->t;
	s->counter_t = s->t;
	s->race_armed = s->sc.race_prob > 0 &&
			sim_uniform(s, 0, 1) < s->sc.race_prob;
	rc = vmclock_reader_now(s->r, &rd);
	s->race_armed = 0;
	s->st.probes++;
	check_timeout(s, rc, start);
	if (rc != -ETIMEDOUT)
		check_events(s, &rd);
	if (rc == 0) {
		s->st.ok++;
		check_success(s, &rd);
	} else if (rc != -ETIMEDOUT && s->stuck) {
		sim_violation(s,
			      "read returned %d while the writer held seq odd",
			      rc);
	}
	if (s->servo.on) {
		compare_note(s, 0,
			     rc ? 0 :
				  (double)rd.utc_ns - (double)model_true_utc(
							      s, s->counter_t),
			     rc == 0);
		compare_note(s, 1, servo_error(s), 1);
	}
	trace_probe(s, &rd, rc);
}

static void skip(struct sim *s)
{
	(void)s;
}

/*
 * A host update, with a probe just before and just after it when asked:
 * the moment a new line replaces the old one is where TIME_MONOTONIC and
 * the bound are most easily broken.
 */
static void update_with_edges(struct sim *s)
{
	int edges = s->sc.edge_probes && !s->paused && !s->stuck;

	if (edges)
		probe(s);
	if (s->sc.publish_latency_us > 0)
		model_update_late(s, edges ? probe : skip);
	else
		model_update(s);
	if (edges) {
		s->t++;
		probe(s);
	}
}

/* The random schedules: next time, exponential with the given mean. */
static int64_t after(struct sim *s, double mean_s)
{
	if (mean_s <= 0)
		return INT64_MAX;
	return s->t + (int64_t)(-log(sim_uniform(s, 1e-12, 1)) * mean_s * 1e9);
}

static void random_events(struct sim *s, int64_t *when, int kind)
{
	double jump;

	if (kind == EV_MIGRATE) {
		/* Maintenance notice: SOON now, IMMINENT halfway, then go. */
		int64_t n = (int64_t)(s->sc.migrate_notice_s * 1e9);

		if (n > 0) {
			model_queue(s, s->t, EV_MAINT,
				    VMCLOCK_FLAG_DISRUPTION_SOON, 0);
			model_queue(s, s->t + n / 2, EV_MAINT,
				    VMCLOCK_FLAG_DISRUPTION_IMMINENT, 0);
		}
		model_queue(s, s->t + n, EV_MIGRATE, 0, 0);
		*when = after(s, s->sc.migrate_every_s);
	} else if (kind == EV_RESTORE) {
		/* minutes to days, log-uniform */
		jump = exp(sim_uniform(s, log(60), log(3 * 86400)));
		model_queue(s, s->t, EV_RESTORE, (int64_t)jump, 0);
		*when = after(s, s->sc.restore_every_s);
	} else {
		model_queue(s, s->t, EV_STUCK,
			    (int64_t)sim_uniform(s, 1, s->sc.stuck_max_ms), 0);
		*when = after(s, s->sc.stuck_every_s);
	}
}

/* Pick the earliest due thing; queued events win ties, then in this order. */
static int64_t *next_source(struct sim *s, int *qi)
{
	int64_t *srcs[] = { &s->next_migrate,	 &s->next_restore,
			    &s->next_stuck,	 &s->next_wander,
			    &s->next_step,	 &s->next_update,
			    &s->servo.next_poll, &s->next_probe };
	int64_t *best = NULL, min = INT64_MAX;
	size_t i;
	int k;

	*qi = -1;
	for (k = 0; k < s->nq; k++)
		if (s->q[k].at < min) {
			min = s->q[k].at;
			*qi = k;
		}
	for (i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++)
		if (*srcs[i] < min) {
			min = *srcs[i];
			best = srcs[i];
			*qi = -1;
		}
	return best;
}

static void dispatch(struct sim *s, int64_t *src)
{
	if (src == &s->next_probe) {
		if (!s->paused)
			probe(s);
		s->next_probe =
			s->t + 1 + (int64_t)(sim_rand(s) % (2 * s->probe_mean));
	} else if (src == &s->next_update) {
		update_with_edges(s);
		s->next_update =
			s->t + (int64_t)(s->sc.update_interval_s * 1e9 *
					 sim_uniform(s, 0.9, 1.1));
	} else if (src == &s->next_wander) {
		model_wander(s);
		s->next_wander =
			s->t + (int64_t)(s->sc.wander_interval_s * 1e9);
	} else if (src == &s->next_step) {
		model_step(s);
		s->next_step = after(s, s->sc.step_interval_s);
	} else if (src == &s->servo.next_poll) {
		if (!s->paused)
			servo_poll(s);
		else
			s->servo.next_poll = s->t + NS;
	} else if (src == &s->next_migrate) {
		random_events(s, src, EV_MIGRATE);
	} else if (src == &s->next_restore) {
		random_events(s, src, EV_RESTORE);
	} else {
		random_events(s, src, EV_STUCK);
	}
}

static void schedule_init(struct sim *s)
{
	const struct scenario *sc = &s->sc;

	s->probe_mean = (uint64_t)(sc->duration_s * NS / sc->probes);
	if (!s->probe_mean)
		s->probe_mean = 1;
	s->next_probe = 1;
	s->next_update = (int64_t)(sc->init_s * NS) + NS;
	s->next_wander = sc->wander_interval_s > 0 ?
				 (int64_t)(sc->wander_interval_s * 1e9) :
				 INT64_MAX;
	s->next_step = sc->step_max_ppb > 0 ? after(s, sc->step_interval_s) :
					      INT64_MAX;
	s->next_migrate = after(s, sc->migrate_every_s);
	s->next_restore = after(s, sc->restore_every_s);
	s->next_stuck = after(s, sc->stuck_every_s);
	s->servo.next_poll = INT64_MAX;
	if (sc->servo)
		servo_init(s);
}

static void run_loop(struct sim *s)
{
	int64_t end = s->sc.duration_s * NS, *src;
	int qi;

	for (;;) {
		src = next_source(s, &qi);
		if (qi >= 0) {
			struct sim_event ev = s->q[qi];

			if (ev.at > end)
				break;
			s->q[qi] = s->q[--s->nq];
			/* A probe that spun may have moved time past this. */
			s->t = ev.at > s->t ? ev.at : s->t;
			model_event(s, &ev);
			continue;
		}
		if (!src || *src > end)
			break;
		s->t = *src > s->t ? *src : s->t;
		dispatch(s, src);
	}
}

static const char *fmt_after(const struct sim *s, int which, int k, char *buf,
			     size_t len)
{
	int64_t last = s->cmp_last_bad[which][k];
	int64_t end = s->sc.duration_s * NS;

	if (!last)
		return "0 s";
	if (end - last < end / 20)
		return "not reached";
	snprintf(buf, len, "%.0f s", (double)(last - s->migrated_at) / 1e9);
	return buf;
}

static void print_compare(const struct sim *s)
{
	static const char *const who[2] = { "precise", "basic+servo" };
	char b[3][32];
	int i;

	for (i = 0; i < 2; i++)
		printf("compare: %s: %s: peak %.1f us; within 1 ms after %s, "
		       "100 us after %s, 10 us after %s\n",
		       s->sc.name, who[i], s->cmp_peak[i] / 1e3,
		       fmt_after(s, i, 0, b[0], sizeof(b[0])),
		       fmt_after(s, i, 1, b[1], sizeof(b[1])),
		       fmt_after(s, i, 2, b[2], sizeof(b[2])));
}

static uint64_t name_hash(const char *n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*n)
		h = (h ^ (uint8_t)*n++) * 0x100000001b3ull;
	return h;
}

static int run_scenario(const char *path, uint64_t seed, int64_t mult,
			FILE *trace, int verbose)
{
	struct sim *s = calloc(1, sizeof(*s));
	int fail;

	if (!s || scenario_load(path, &s->sc)) {
		free(s);
		return 1;
	}
	s->sc.probes *= mult;
	s->sc.trace_every = s->sc.trace_every > 0 ? s->sc.trace_every : 1;
	s->rng = seed ^ name_hash(s->sc.name);
	s->trace = trace;
	s->verbose = verbose;
	if (model_init(s)) {
		printf("sim: %s: set-up failed\n", s->sc.name);
		free(s);
		return 1;
	}
	vmclock_reader_set_counter(s->r, sim_counter, sim_clock, s);
	schedule_init(s);
	run_loop(s);
	printf("sim: %s: %llu probes, %llu violations, width ratio %.4f\n",
	       s->sc.name, (unsigned long long)s->st.probes,
	       (unsigned long long)s->st.violations, s->st.max_ratio);
	if (verbose)
		printf("  %llu ok, %llu timeouts, %llu races, %llu events, %llu "
		       "before the reference, max error %.0f ns, rms %.0f ns\n",
		       (unsigned long long)s->st.ok,
		       (unsigned long long)s->st.timeouts,
		       (unsigned long long)s->st.races,
		       (unsigned long long)s->st.events,
		       (unsigned long long)s->st.behind, s->st.max_err_ns,
		       s->st.nerr ? sqrt(s->st.sum_err2 / (double)s->st.nerr) :
				    0);
	if (verbose && s->st.nerr)
		printf("  %.1f %% of successful reads within esterror\n",
		       100.0 * (double)s->st.within_est / (double)s->st.nerr);
	if (s->sc.servo)
		print_compare(s);
	fail = !s->st.probes || !s->st.ok ||
	       !s->st.violations != !s->sc.expect_violations;
	if (s->sc.expect_violations)
		printf("  %s: violations were expected: %s\n", s->sc.name,
		       fail ? "none found" : "found");
	model_fini(s);
	free(s);
	return fail;
}

static uint64_t clock_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 40);
}

int main(int argc, char **argv)
{
	uint64_t seed = clock_seed();
	int64_t mult = 1;
	FILE *trace = NULL;
	int opt, i, passed = 0, failed = 0, verbose = 0;

	while ((opt = getopt(argc, argv, "vs:m:t:")) != -1) {
		if (opt == 's') {
			seed = strtoull(optarg, NULL, 0);
		} else if (opt == 'm') {
			mult = strtoll(optarg, NULL, 0);
		} else if (opt == 't') {
			trace = fopen(optarg, "w");
			if (!trace) {
				perror(optarg);
				return 2;
			}
		} else if (opt == 'v') {
			verbose = 1;
		} else {
			fprintf(stderr,
				"usage: %s [-v] [-s SEED] [-m MULT] "
				"[-t TRACE] SCENARIO...\n",
				argv[0]);
			return 2;
		}
	}
	printf("sim: seed %llu (replay with -s %llu)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	for (i = optind; i < argc; i++) {
		if (run_scenario(argv[i], seed, mult < 1 ? 1 : mult, trace,
				 verbose))
			failed++;
		else
			passed++;
		fflush(stdout);
	}
	if (trace)
		fclose(trace);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
