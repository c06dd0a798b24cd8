/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the deterministic simulator's shared state (tests/sim/).
 *
 * One process, one virtual true time (TAI, integer ns), one seeded
 * splitmix64 stream.  The models (model.c) move a guest counter and a
 * simulated host that publishes calibrations through the real libvmclock
 * writer into a page held in this process's memory; the probes (sim.c)
 * read that page with the real reader, whose counter and deadline clock
 * are this simulation's, and check every answer against true time.
 */
#ifndef VMCLOCK_TESTS_SIM_SIM_H
#define VMCLOCK_TESTS_SIM_SIM_H

#include <stdint.h>
#include <stdio.h>

#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#define NS	1000000000ll
#define MAX_EV	64
#define PAGE_SZ 4096

/* Scenario events, at virtual times relative to the start. */
enum ev_kind {
	EV_MIGRATE, /* a: -, pause and frequency from the keys */
	EV_RESTORE, /* a: jump in s */
	EV_UNSYNC, /* a: duration in s */
	EV_UNRELIABLE, /* a: duration in s */
	EV_TAI_CHANGE, /* a: new TAI - UTC */
	EV_STUCK, /* a: duration in ms, seq odd */
	EV_STALL, /* a: duration in s, seq even, no updates */
	EV_LEAP_STEP, /* internal: a = new leap_indicator, b = offset delta */
	EV_END_UNSYNC,
	EV_END_UNRELIABLE,
	EV_END_STUCK,
	EV_END_STALL,
	EV_RESUME, /* internal: end of a migration or restore pause */
	EV_INIT_SYNC, /* internal: first calibration */
	EV_RESTART, /* a: adopt the page (1) or start afresh (0) */
	EV_MAINT, /* internal: a = DISRUPTION_* flags to set */
};

struct sim_event {
	int64_t at; /* virtual ns since start */
	enum ev_kind kind;
	int64_t a, b;
};

/* Everything a scenario file may set (scenario.c has the defaults). */
struct scenario {
	char name[64];
	int64_t duration_s, probes, start_utc_s;
	int time_type, tai_offset, monotonic, smear;
	int64_t counter_hz;
	double freq_ppm, wander_ppb, wander_max_ppb, wander_interval_s;
	double step_max_ppb, step_interval_s;
	double host_est_ns, host_max_ns, host_fest_ppb, host_fmax_ppb;
	double host_tau_s, update_interval_s, init_s;
	double unsync_drift_ppb;
	double migrate_ppm, migrate_pause_ms, migrate_counter_err_ms;
	double migrate_every_s, restore_every_s, stuck_every_s, race_prob;
	double stuck_max_ms;
	int migrate_clear;
	int host_slew, edge_probes, expect_violations;
	double host_ref_ahead_ms, counter_wrap_s, migrate_notice_s;
	double publish_latency_us, publish_window_us;
	int leap, leap_linux;
	int servo;
	double servo_jitter_us;
	int64_t trace_every;
	int nev;
	struct sim_event ev[MAX_EV];
};

/* A linear piece of the guest counter: ticks = c0 + (t - t0) * rate / 2^40. */
struct counter_seg {
	int64_t t0;
	uint64_t c0;
	uint64_t rate_q40;
};

struct stats {
	uint64_t probes, ok, violations, timeouts, races, events, behind;
	uint64_t within_est;
	double max_ratio, max_err_ns, sum_err2;
	uint64_t nerr;
};

/* The basic-mode comparison: a guest NTP-like PI servo on the counter. */
struct servo {
	int on;
	int64_t next_poll;
	uint64_t g0; /* counter at the anchor */
	double y0; /* servo time (UTC ns) at the anchor */
	double freq; /* relative frequency correction */
	double nominal; /* ns per tick assumed */
	int64_t last_poll;
};

struct sim {
	struct scenario sc;
	uint64_t rng;
	int64_t t; /* virtual time since start, ns */
	int64_t t0_tai; /* TAI ns at t = 0 */
	int64_t true_off; /* true TAI - UTC, s */
	/* oscillator */
	double base_ppb, base0_ppb, wander_ppb;
	struct counter_seg seg;
	int paused;
	uint64_t pause_c;
	int64_t pause_t;
	int64_t last_update;
	/* host */
	double e_host, ef_host; /* belief error (ns), rate estimate error */
	int unsync;
	int64_t unsync_t0;
	double unsync_drift;
	double e_unsync0;
	int status, stalled, stuck;
	int64_t stuck_until;
	int leap_ind;
	uint64_t sim_flags, marker, gen;
	/* page, writer, reader */
	uint64_t *page;
	struct vmclock_writer *w;
	struct vmclock_reader *r;
	/* probe-local time while the reader spins */
	int64_t local;
	int64_t counter_t; /* probe-local time of the counter read */
	int in_probe, race_armed;
	/* what the reader saw last */
	int have_prev;
	uint64_t prev_marker, prev_gen, prev_flags;
	int prev_status, prev_leap, prev_tai;
	int have_mono;
	int64_t last_mono;
	/* leap */
	int64_t leap_m; /* POSIX ns of the month boundary */
	int64_t leap_pre; /* TAI - UTC before, s */
	/* queue */
	int64_t next_probe, next_update, next_wander, next_step;
	int64_t next_migrate, next_restore, next_stuck;
	struct sim_event q[MAX_EV * 4];
	int nq;
	struct servo servo;
	struct stats st;
	FILE *trace;
	int verbose;
	uint64_t probe_mean;
	/* comparison bookkeeping */
	int64_t migrated_at;
	double cmp_peak[2];
	int64_t cmp_last_bad[2][3];
};

/* sim.c */
uint64_t sim_rand(struct sim *s);
double sim_uniform(struct sim *s, double lo, double hi);
double sim_gauss(struct sim *s);
void sim_violation(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* scenario.c */
int scenario_load(const char *path, struct scenario *sc);

/* model.c */
int model_init(struct sim *s);
void model_fini(struct sim *s);
uint64_t model_counter(const struct sim *s, int64_t t);
int64_t model_tick_start(const struct sim *s, uint64_t c);
int64_t model_true_tai(const struct sim *s, int64_t t);
int64_t model_true_utc(const struct sim *s, int64_t t);
void model_update(struct sim *s);
void model_update_late(struct sim *s, void (*between)(struct sim *));
void model_wander(struct sim *s);
void model_step(struct sim *s);
void model_event(struct sim *s, const struct sim_event *ev);
void model_queue(struct sim *s, int64_t at, enum ev_kind kind, int64_t a,
		 int64_t b);
void model_unstick(struct sim *s);

/* servo.c */
void servo_init(struct sim *s);
void servo_poll(struct sim *s);
double servo_error(const struct sim *s);

#endif /* VMCLOCK_TESTS_SIM_SIM_H */
