// SPDX-License-Identifier: MIT
/*
 * bench_daemon.c - vmclockd's own per-guest update, guest_update() from
 * daemon/guest.c, at fleet scale: the mapping into the guest's counter
 * domain (guest_map_calibration), TIME_MONOTONIC (vmclockd sets it on every
 * page), status, TAI offset, leap, one sequence-lock transaction.  Pages
 * are created by guest_open(), one tmpfs file and one mapping each, as the
 * daemon does.
 *
 *	bench_daemon N [identity|scaled] [proto]   one result line
 *	bench_daemon N [identity|scaled] both      daemon and proto in
 *	                                           alternating rounds
 *	bench_daemon --smoke                       "N passed, N failed"
 *	bench_daemon --agree                       the prototype check alone
 *
 * proto: bench/daemon_proto.c's guest_update(), whose mapping divides
 * with the 128-bit division and keeps the per-scale rescale; the smoke run
 * checks it gives guest_map_calibration()'s results bit for bit.
 *
 * identity: KVM without TSC scaling (scale 2^48, frac_bits 48);
 * scaled: AMD's 32 fraction bits and a guest TSC at 0.9x the host's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../daemon/guest.h"
#include "../daemon/log.h"
#include "common.h"
#include "daemon_proto.h"

static int use_proto, both;

static char dir[256];

static int open_guests(struct guest *g, size_t n, int scaled, size_t *made)
{
	char name[32], path[320], state[320];
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "g%zu", i);
		snprintf(path, sizeof(path), "%s/%s.page", dir, name);
		snprintf(state, sizeof(state), "%s/%s.state", dir, name);
		err = guest_open(&g[i], name, path, state, VMCLOCK_TIME_TAI);
		if (err)
			return err;
		*made = i + 1;
		g[i].map_.offset = (uint64_t)i * 1000003u;
		if (scaled) {
			g[i].map_.frac_bits = 32;
			g[i].map_.scale = (uint64_t)(0.9 * 4294967296.0);
		}
	}
	return 0;
}

/* @reps updates of every guest: ns per guest update. */
static double update_all(struct guest *g, size_t n, size_t reps,
			 unsigned long *errors)
{
	struct vmclock_calibration cal;
	struct guest_rates_cache rates;
	struct guest_update u = { &cal, 0, VMCLOCK_STATUS_SYNCHRONIZED, 37, 1, 0,
				  &rates };
	uint64_t t0;
	size_t i, k;

	bench_calibration(&cal);
	u.host_now = cal.switch_counter;
	t0 = bench_mono_ns();
	for (k = 0; k < reps; k++) {
		memset(&rates, 0, sizeof(rates));
		for (i = 0; i < n; i++)
			if ((use_proto ? proto_guest_update :
					 guest_update)(&g[i], &u))
				(*errors)++;
		cal.switch_counter += 1000;
	}
	return (double)(bench_mono_ns() - t0) / (double)(n * reps);
}

static uint64_t xs = 88172645463325252ull;

static uint64_t rnd(void)
{
	xs ^= xs << 13, xs ^= xs >> 7, xs ^= xs << 17;
	return xs;
}

static int same_cal(const struct vmclock_calibration *a,
		    const struct vmclock_calibration *b)
{
	return a->counter_value == b->counter_value &&
	       a->time_sec == b->time_sec && a->time_frac == b->time_frac &&
	       a->period_frac == b->period_frac &&
	       a->period_shift == b->period_shift &&
	       a->period_esterror_rate == b->period_esterror_rate &&
	       a->period_maxerror_rate == b->period_maxerror_rate &&
	       a->time_esterror_ns == b->time_esterror_ns &&
	       a->time_maxerror_ns == b->time_maxerror_ns &&
	       a->switch_counter == b->switch_counter;
}

/* The prototype mapping against the daemon's on random inputs. */
static int agree(void)
{
	struct vmclock_calibration h, a, b, c;
	struct guest_mapping m;
	int i, ra, rb, rc, ok = 1;

	for (i = 0; i < 3000 && ok; i++) {
		bench_calibration(&h);
		h.counter_value = rnd() >> (rnd() % 20);
		h.period_frac = rnd() | 1ull << 63;
		h.period_shift = (uint8_t)(20 + rnd() % 20);
		h.period_esterror_rate = h.period_frac >> (10 + rnd() % 20);
		h.period_maxerror_rate = h.period_frac >> (5 + rnd() % 20);
		m.frac_bits = i % 2 ? 32 : 48;
		m.scale = (1ull << m.frac_bits) / 2 + rnd() % (1ull << m.frac_bits);
		m.offset = rnd();
		ra = guest_map_calibration(&m, &h, &a);
		rb = proto_map_calibration(&m, &h, &b, 0);
		rc = proto_map_calibration(&m, &h, &c, 1);
		ok = ra == rb && rb == rc && (ra || (same_cal(&a, &b) &&
						     same_cal(&a, &c)));
	}
	return ok;
}

static int run(size_t n, int scaled, int smoke)
{
	struct guest *g = calloc(n, sizeof(*g));
	struct bench_rss m;
	unsigned long errors = 0;
	size_t made = 0, i, r, k, rounds;
	double *ns, med;
	char cmd[300];
	int err;

	snprintf(dir, sizeof(dir), "%s/vmclock-bench-daemon-%d", bench_tmpdir(),
		 (int)getpid());
	if (!g || mkdir(dir, 0700))
		return 1;
	err = open_guests(g, n, scaled, &made);
	if (err) {
		printf("%-8zu %-9s FAILED after %zu guests: %s\n", n,
		       scaled ? "scaled" : "identity", made, strerror(-err));
	} else {
		rounds = smoke ? 2 : n >= 10000 ? 11 : 51;
		ns = calloc(2 * rounds, sizeof(double));
		update_all(g, n, 1, &errors);
		for (r = 0; r < rounds; r++)
			for (k = 0; k < (both ? 2 : 1); k++) {
				if (both)
					use_proto = (int)k;
				ns[k * rounds + r] = update_all(
					g, n, n < 100 ? 100 / n : 1, &errors);
			}
		bench_rss(&m);
		for (k = 0; k < (both ? 2 : 1); k++) {
			med = bench_median(ns + k * rounds, rounds);
			printf("%-8zu %-9s %-6s %10.1f %10.1f %9ld %9ld %9ld %lu\n",
			       n, scaled ? "scaled" : "identity",
			       (both ? (int)k : use_proto) ? "proto" : "daemon",
			       med, ns[k * rounds], m.rss_kb, m.anon_kb,
			       m.shmem_kb, errors);
		}
		free(ns);
	}
	for (i = 0; i < made; i++)
		guest_close(&g[i], 1);
	free(g);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "bench_daemon: could not remove %s\n", dir);
	return err || errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	log_init("bench_daemon", LOG_TO_STDERR, LOG_WARNING);
	printf("%-8s %-9s %-6s %10s %10s %9s %9s %9s %s\n", "guests",
	       "mapping", "code", "ns/guest", "min_ns", "rss_kB", "anon_kB",
	       "shmem_kB", "errors");
	if (argc > 1 && !strcmp(argv[1], "--agree")) {
		printf("# prototype mapping agrees with the daemon: %s\n",
		       agree() ? "yes" : "no");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--smoke")) {
		bench_check(run(10, 0, 1) == 0, "guest_update, identity, 10 guests");
		bench_check(run(10, 1, 1) == 0, "guest_update, scaled, 10 guests");
		bench_note(agree(), "the prototype mapping is the daemon's, bit for bit");
		use_proto = 1;
		bench_check(run(10, 1, 1) == 0, "prototype update, 10 guests");
		use_proto = 0;
		both = 1;
		bench_check(run(10, 0, 1) == 0, "interleaved, 10 guests");
		return bench_done();
	}
	if (argc < 2) {
		fprintf(stderr, "usage: bench_daemon N [identity|scaled]\n");
		return 2;
	}
	use_proto = (argc > 2 && !strcmp(argv[argc - 1], "proto"));
	both = (argc > 2 && !strcmp(argv[argc - 1], "both"));
	return run(strtoul(argv[1], NULL, 10),
		   argc > 2 && !strcmp(argv[2], "scaled"), 0);
}
