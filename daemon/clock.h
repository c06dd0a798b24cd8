/* SPDX-License-Identifier: MIT */
/*
 * clock.h - every way vmclockd reads host time, behind one table of ops.
 *
 * Production uses clock_real_ops (clock_gettime, the CPU counter through
 * libvmclock, adjtimex); unit tests install fake ops and drive the
 * reference with a simulated counter and clock.  Only clock.c and sched.c
 * read time or wait.
 */
#ifndef VMCLOCK_DAEMON_CLOCK_H
#define VMCLOCK_DAEMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/**
 * struct clock_ntp - the kernel's NTP state (adjtimex), in ns
 * @state: adjtimex's return: TIME_OK, TIME_INS, ... TIME_ERROR.
 * @status: STA_* bits.
 * @maxerror_ns: the kernel's maximum error.
 * @esterror_ns: its estimated error.
 * @tai: TAI - UTC as the kernel knows it (0: unknown).
 * @freq: frequency adjustment (scaled ppm, as adjtimex).
 * @tick: microseconds per tick (as adjtimex).
 */
struct clock_ntp {
	int state;
	int status;
	int64_t maxerror_ns;
	int64_t esterror_ns;
	int tai;
	long freq;
	long tick;
};

/**
 * struct clock_ops - host time sources
 * @gettime: clock_gettime(@id); 0 or -errno.
 * @counter: the CPU counter (TSC), ordered.
 * @ntp: the kernel NTP state; 0 or -errno.
 * @ctx: passed to each.
 */
struct clock_ops {
	int (*gettime)(void *ctx, clockid_t id, int64_t *ns);
	uint64_t (*counter)(void *ctx);
	int (*ntp)(void *ctx, struct clock_ntp *out);
	void *ctx;
};

extern const struct clock_ops clock_real_ops;

/* CLOCK_MONOTONIC in ns through @ops (0 when it fails). */
uint64_t clock_monotonic_ns(const struct clock_ops *ops);

/* The UTC second now (CLOCK_REALTIME), through @ops. */
int64_t clock_utc_sec(const struct clock_ops *ops);

#endif /* VMCLOCK_DAEMON_CLOCK_H */
