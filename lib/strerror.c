// SPDX-License-Identifier: MIT
/*
 * strerror.c - names of the page's values and messages for libvmclock's
 * errors, in this library's terms.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock.h>

#include "internal.h"

#define NAME(table, i) \
	((i) < sizeof(table) / sizeof((table)[0]) && (table)[i] ? (table)[i] : "?")

VMC_API const char *vmclock_status_name(unsigned int status)
{
	static const char *const names[] = { "UNKNOWN", "INITIALIZING",
					     "SYNCHRONIZED", "FREERUNNING",
					     "UNRELIABLE" };
	return NAME(names, status);
}

VMC_API const char *vmclock_leap_name(unsigned int leap)
{
	static const char *const names[] = { "NONE", "PRE_POS", "PRE_NEG",
					     "POS", "POST_POS", "POST_NEG" };
	return NAME(names, leap);
}

VMC_API const char *vmclock_smearing_name(unsigned int hint)
{
	static const char *const names[] = { "STRICT", "NOON_LINEAR", "UTC_SLS" };
	return NAME(names, hint);
}

VMC_API const char *vmclock_counter_name(unsigned int counter_id)
{
	static const char *const names[] = { "ARM_VCNT", "X86_TSC" };

	if (counter_id == VMCLOCK_COUNTER_INVALID)
		return "INVALID";
	return NAME(names, counter_id);
}

VMC_API const char *vmclock_time_type_name(unsigned int time_type)
{
	static const char *const names[] = { "UTC", "TAI", "MONOTONIC",
					     "INVALID_SMEARED",
					     "INVALID_MAYBE_SMEARED" };
	return NAME(names, time_type);
}

VMC_API const char *vmclock_flag_name(unsigned int bit)
{
	static const char *const names[] = {
		"TAI_OFFSET_VALID",	 "DISRUPTION_SOON",
		"DISRUPTION_IMMINENT",	 "PERIOD_ESTERROR_VALID",
		"PERIOD_MAXERROR_VALID", "TIME_ESTERROR_VALID",
		"TIME_MAXERROR_VALID",	 "TIME_MONOTONIC",
		"VM_GEN_COUNTER_PRESENT", "NOTIFICATION_PRESENT",
	};
	return bit < sizeof(names) / sizeof(names[0]) ? names[bit] : NULL;
}

VMC_API const char *vmclock_event_name(unsigned int bit)
{
	static const char *const names[] = {
		"disruption", "restore",	    "status", "flags", "leap",
		"maintenance-soon", "maintenance-imminent", "tai-offset",
	};
	return bit < sizeof(names) / sizeof(names[0]) ? names[bit] : NULL;
}

VMC_API const char *vmclock_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ETIMEDOUT:
		return "the page stayed mid-update (seq_count odd) past the "
		       "deadline: its writer is stuck or gone";
	case -ENOTSUP:
		return "the page has no precise time usable here (basic mode, "
		       "another CPU counter, a smeared or monotonic time, or "
		       "UTC without a TAI offset)";
	case -ENODATA:
		return "the clock status is UNKNOWN or the page gives no "
		       "maximum error: no bound on the time";
	case -EAGAIN:
		return "the clock status is INITIALIZING: retry later";
	case -EIO:
		return "the clock status is UNRELIABLE (or the page could not "
		       "be read)";
	case -ERANGE:
		return "the counter is too far from the calibration to "
		       "compute a time";
	case -ENODEV:
		return "not a valid VMClock page";
	case -EINVAL:
		return "invalid argument";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
