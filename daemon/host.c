// SPDX-License-Identifier: MIT
/*
 * host.c - the kernel NTP state as page status, leap indicator and error.
 * Pure functions over struct clock_ntp, so tests give them any state.
 */
#include <sys/timex.h>

#include <vmclock/vmclock-abi.h>

#include "host.h"

uint8_t host_status(const struct clock_ntp *n, int have_ntp)
{
	if (!have_ntp)
		return VMCLOCK_STATUS_UNRELIABLE;
	if (n->status & STA_UNSYNC)
		return VMCLOCK_STATUS_FREERUNNING;
	return VMCLOCK_STATUS_SYNCHRONIZED;
}

uint8_t host_leap(const struct clock_ntp *n)
{
	switch (n->state) {
	case TIME_INS:
		return VMCLOCK_LEAP_PRE_POS;
	case TIME_DEL:
		return VMCLOCK_LEAP_PRE_NEG;
	case TIME_OOP:
		return VMCLOCK_LEAP_POS;
	case TIME_WAIT:
		return n->status & STA_DEL ? VMCLOCK_LEAP_POST_NEG :
					     VMCLOCK_LEAP_POST_POS;
	default:
		return VMCLOCK_LEAP_NONE;
	}
}

uint64_t host_maxerror(const struct clock_ntp *n, int have_ntp,
		       uint64_t mono_ns, uint64_t tol_ppb,
		       uint64_t *capped_since, uint64_t *grown)
{
	uint64_t kmax = n->maxerror_ns > 0 ? (uint64_t)n->maxerror_ns : 0;
	uint64_t secs;

	if (!have_ntp || kmax < HOST_MAXERROR_CAP_NS) {
		*capped_since = 0;
		*grown = 0;
		return have_ntp ? kmax : HOST_MAXERROR_CAP_NS;
	}
	if (!*capped_since)
		*capped_since = mono_ns ? mono_ns : 1;
	secs = (mono_ns - *capped_since + 999999999) / 1000000000;
	*grown = secs * tol_ppb;
	return kmax + *grown;
}
