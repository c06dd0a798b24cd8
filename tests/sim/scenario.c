// SPDX-License-Identifier: MIT
/*
 * scenario.c - scenario files: "key = value" lines, '#' comments, as
 * clknetsim's.  Every key has a default here; unknown keys and bad values
 * are fatal with file:line.  Event keys (migrate, restore, unsync, ...) may
 * repeat; each adds one event at a virtual time in seconds from the start.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

enum key_type { K_INT, K_DBL, K_EV };

struct key {
	const char *name;
	enum key_type type;
	size_t off; /* for K_INT (int64_t or int by size) and K_DBL */
	int size;
	enum ev_kind kind;
};

/* clang-format off */
#define I64(f)	 { #f, K_INT, offsetof(struct scenario, f), 8, 0 }
#define INT(f)	 { #f, K_INT, offsetof(struct scenario, f), 4, 0 }
#define DBL(f)	 { #f, K_DBL, offsetof(struct scenario, f), 8, 0 }
#define EV(n, k) { n, K_EV, 0, 0, k }
/* clang-format on */

static const struct key keys[] = {
	I64(duration_s),
	I64(probes),
	I64(start_utc_s),
	INT(time_type),
	INT(tai_offset),
	INT(monotonic),
	INT(smear),
	I64(counter_hz),
	DBL(freq_ppm),
	DBL(wander_ppb),
	DBL(wander_max_ppb),
	DBL(wander_interval_s),
	DBL(step_max_ppb),
	DBL(step_interval_s),
	DBL(host_est_ns),
	DBL(host_max_ns),
	DBL(host_fest_ppb),
	DBL(host_fmax_ppb),
	DBL(host_tau_s),
	DBL(update_interval_s),
	DBL(init_s),
	DBL(unsync_drift_ppb),
	DBL(migrate_ppm),
	DBL(migrate_pause_ms),
	DBL(migrate_counter_err_ms),
	DBL(migrate_every_s),
	DBL(restore_every_s),
	DBL(stuck_every_s),
	DBL(stuck_max_ms),
	DBL(race_prob),
	INT(migrate_clear),
	INT(host_slew),
	INT(edge_probes),
	INT(expect_violations),
	DBL(host_ref_ahead_ms),
	DBL(counter_wrap_s),
	DBL(migrate_notice_s),
	DBL(publish_latency_us),
	DBL(publish_window_us),
	INT(leap),
	INT(leap_linux),
	INT(servo),
	DBL(servo_jitter_us),
	I64(trace_every),
	EV("migrate", EV_MIGRATE),
	EV("restore", EV_RESTORE),
	EV("unsync", EV_UNSYNC),
	EV("unreliable", EV_UNRELIABLE),
	EV("tai_change", EV_TAI_CHANGE),
	EV("stuck", EV_STUCK),
	EV("stall", EV_STALL),
	EV("restart", EV_RESTART),
};

static void defaults(struct scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->duration_s = 86400;
	sc->probes = 100000;
	sc->start_utc_s = 1798761600 - 86400 * 10; /* 2026-12-22 */
	sc->time_type = VMCLOCK_TIME_TAI;
	sc->tai_offset = 37;
	sc->monotonic = 1;
	sc->counter_hz = 1000000000;
	sc->freq_ppm = 20;
	sc->wander_ppb = 2;
	sc->wander_max_ppb = 50;
	sc->wander_interval_s = 16;
	sc->host_est_ns = 2000;
	sc->host_max_ns = 20000;
	sc->host_fest_ppb = 5;
	sc->host_fmax_ppb = 20;
	sc->host_tau_s = 600;
	sc->update_interval_s = 1;
	sc->init_s = 5;
	sc->unsync_drift_ppb = 500;
	sc->migrate_ppm = 50;
	sc->migrate_pause_ms = 300;
	sc->migrate_counter_err_ms = 2;
	sc->stuck_max_ms = 300;
	sc->migrate_clear = 1;
	sc->host_slew = 1;
	sc->edge_probes = 1;
	sc->publish_window_us = 1;
	sc->servo_jitter_us = 50;
}

static int set_event(struct scenario *sc, const struct key *k, const char *v)
{
	char *end;
	double at = strtod(v, &end), a = 0;
	struct sim_event *ev;

	if (end == v || sc->nev >= MAX_EV)
		return -1;
	if (k->kind != EV_MIGRATE) {
		v = end;
		a = strtod(v, &end);
		if (end == v)
			return -1;
	}
	ev = &sc->ev[sc->nev++];
	ev->at = (int64_t)(at * NS);
	ev->kind = k->kind;
	ev->a = (int64_t)a;
	ev->b = 0;
	return 0;
}

static int set_key(struct scenario *sc, const char *name, const char *v)
{
	char *end;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		char *p = (char *)sc + k->off;

		if (strcmp(k->name, name))
			continue;
		if (k->type == K_EV)
			return set_event(sc, k, v);
		if (k->type == K_DBL) {
			*(double *)p = strtod(v, &end);
		} else if (k->size == 8) {
			*(int64_t *)p = strtoll(v, &end, 0);
		} else {
			*(int *)p = (int)strtol(v, &end, 0);
		}
		return end == v || *end ? -1 : 0;
	}
	return -1;
}

static char *trim(char *p)
{
	char *e;

	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = 0;
	return p;
}

static void set_name(struct scenario *sc, const char *path)
{
	const char *b = strrchr(path, '/');
	char *dot;

	snprintf(sc->name, sizeof(sc->name), "%s", b ? b + 1 : path);
	dot = strrchr(sc->name, '.');
	if (dot)
		*dot = 0;
}

int scenario_load(const char *path, struct scenario *sc)
{
	char line[256], *eq, *k, *hash;
	int lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		return -1;
	}
	defaults(sc);
	set_name(sc, path);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		k = trim(line);
		if (!*k)
			continue;
		eq = strchr(k, '=');
		if (eq)
			*eq = 0;
		if (!eq || set_key(sc, trim(k), trim(eq + 1))) {
			fprintf(stderr, "%s:%d: bad line\n", path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}
