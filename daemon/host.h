/* SPDX-License-Identifier: MIT */
/*
 * host.h - what the kernel's NTP state (adjtimex) means for the pages:
 * clock status, leap indicator, and a maximum error that keeps growing
 * when the kernel's own has stopped at its cap.
 */
#ifndef VMCLOCK_DAEMON_HOST_H
#define VMCLOCK_DAEMON_HOST_H

#include <stdint.h>

#include "clock.h"

/* The kernel stops growing maxerror at NTP_PHASE_LIMIT (16 s). */
#define HOST_MAXERROR_CAP_NS 16000000000ull

/* SYNCHRONIZED, FREERUNNING (STA_UNSYNC) or UNRELIABLE (no adjtimex). */
uint8_t host_status(const struct clock_ntp *n, int have_ntp);
/* TIME_INS/DEL/OOP/WAIT as VMCLOCK_LEAP_*. */
uint8_t host_leap(const struct clock_ntp *n);
/*
 * The kernel's maxerror to publish at monotonic @mono_ns.  While it sits
 * at the cap it grows by @tol_ppb from the moment it was first seen there
 * (*@capped_since, 0: not capped), rounded up to whole seconds; *@grown
 * says by how much.  Without adjtimex: the cap (and status UNRELIABLE).
 */
uint64_t host_maxerror(const struct clock_ntp *n, int have_ntp,
		       uint64_t mono_ns, uint64_t tol_ppb,
		       uint64_t *capped_since, uint64_t *grown);

#endif /* VMCLOCK_DAEMON_HOST_H */
