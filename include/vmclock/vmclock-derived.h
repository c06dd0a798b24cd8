/* SPDX-License-Identifier: MIT */
/*
 * vmclock-derived.h - libvmclock: clocks derived from TAI and the page's
 * leap state: UTC that represents an inserted second as 23:59:60, and the
 * two smeared UTC clocks the page's leap_second_smearing_hint names.
 *
 * All functions are pure: they take TAI (as struct vmclock_reading's tai_ns
 * gives it), the page's tai_offset_sec (TAI - UTC) and leap_indicator, and
 * compute; no state, no clock, no I/O.
 *
 * The leap the indicator refers to happens at a UTC month boundary M (the
 * POSIX time of the 1st, 00:00:00).  A positive leap inserts 23:59:60
 * before M; a negative one deletes 23:59:59.  The page's tai_offset_sec is
 * the value before the leap while the indicator is PRE_* or POS, and the
 * value after it once the indicator is POST_*.  M is found from the time
 * itself:
 *   - PRE_*: the end of the current month, except within
 *     VMCLOCK_LEAP_LATE_NS after a month boundary, where it is taken as a
 *     leap that has just happened and the host has not yet flipped the
 *     indicator;
 *   - POS, POST_*: the month boundary nearest to the time.
 * So the result does not depend on exactly when the host moves the
 * indicator from PRE to POS to POST, as long as the offset it publishes
 * goes with the indicator.  During POS either offset is understood: the
 * one before the leap (IERS: TAI - UTC changes when 23:59:60 ends), or the
 * one after it (Linux increments its TAI offset as 23:59:60 begins, so
 * TAI - offset repeats 23:59:59): TAI - offset within a second of M on
 * either side is the inserted second.  So POS must be published only
 * during 23:59:60 itself; a host that raises it early by its own clock
 * error makes that much of 23:59:59 read as 23:59:60.
 *
 * Smeared clocks absorb the leap by running slow (inserted second) or fast
 * (deleted second) over a window, so they never repeat or skip a second:
 *   - NOON_LINEAR: from 12:00:00 UTC before M to 12:00:00 UTC after it,
 *     86,400 smeared seconds over 86,400 +- 1 SI seconds (rate 1/86401).
 *   - UTC_SLS: the last 1,000 s of UTC before M (Kuhn's UTC-SLS),
 *     1,000 smeared seconds over 1,000 +- 1 SI seconds.
 * Outside the window both equal UTC.  A smeared clock is non-decreasing and
 * never moves faster than TAI, so it maps a TAI bound [earliest, latest]
 * onto a bound of the smeared time.
 */
#ifndef VMCLOCK_VMCLOCK_DERIVED_H
#define VMCLOCK_VMCLOCK_DERIVED_H

#include <stdint.h>

#include <vmclock/vmclock.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How late after a month boundary a PRE_* indicator still means that leap. */
#define VMCLOCK_LEAP_LATE_NS (3600ll * 1000000000ll) /* 1 h */

/**
 * struct vmclock_utc - UTC with the leap second represented
 * @utc_ns: POSIX time in ns (86,400 s a day).  During the inserted second
 *	23:59:60 it holds 23:59:59 plus the fraction, so @leap_second is what
 *	tells the two seconds apart.
 * @leap_second: 1 while in the inserted second 23:59:60, else 0.
 * @tai_offset_sec: TAI - UTC in effect at this instant, s (during 23:59:60,
 *	the value before the leap).
 */
struct vmclock_utc {
	int64_t utc_ns;
	int leap_second;
	int16_t tai_offset_sec;
};

/**
 * struct vmclock_civil - a broken-down UTC time
 * @year: e.g. 2026.
 * @month: 1..12.
 * @day: 1..31.
 * @hour: 0..23.
 * @min: 0..59.
 * @sec: 0..60 (60 only in an inserted leap second).
 * @nsec: 0..999,999,999.
 */
struct vmclock_civil {
	int64_t year;
	int month, day, hour, min, sec;
	uint32_t nsec;
};

/**
 * struct vmclock_smeared - a smeared UTC time and its bound
 * @time_ns: smeared UTC, POSIX ns.
 * @earliest_ns: the smeared time of the reading's earliest TAI, ns.
 * @latest_ns: the smeared time of the reading's latest TAI, ns.
 * @bounded: 1 when @earliest_ns and @latest_ns are set.
 */
struct vmclock_smeared {
	int64_t time_ns;
	int64_t earliest_ns;
	int64_t latest_ns;
	int bounded;
};

/**
 * vmclock_tai_to_utc() - UTC of a TAI time, with 23:59:60 represented
 * @tai_ns: TAI, ns since 1970-01-01 00:00:00 TAI.
 * @tai_offset_sec: the page's TAI - UTC, s.
 * @leap_indicator: the page's VMCLOCK_LEAP_*.
 * @out: the result.
 *
 * Return: 0; -EINVAL for an unknown @leap_indicator; -ERANGE when the
 * result does not fit.
 */
int vmclock_tai_to_utc(int64_t tai_ns, int16_t tai_offset_sec,
		       uint8_t leap_indicator, struct vmclock_utc *out);

/**
 * vmclock_reading_utc() - UTC of a reading, with 23:59:60 represented
 * @rd: a reading with VMCLOCK_VALID_TAI and a valid TAI offset.
 * @out: the result.
 *
 * Return: as vmclock_tai_to_utc(), or -ENODATA when @rd has no TAI or no
 * valid TAI offset.
 */
int vmclock_reading_utc(const struct vmclock_reading *rd,
			struct vmclock_utc *out);

/**
 * vmclock_tai_to_smeared() - smeared UTC of a TAI time
 * @tai_ns: TAI, ns.
 * @tai_offset_sec: the page's TAI - UTC, s.
 * @leap_indicator: the page's VMCLOCK_LEAP_*.
 * @hint: VMCLOCK_SMEARING_NOON_LINEAR or VMCLOCK_SMEARING_UTC_SLS.
 * @smeared_ns: the smeared UTC, POSIX ns, rounded down.
 *
 * Return: 0; -EINVAL for another @hint or an unknown @leap_indicator;
 * -ERANGE when the result does not fit.
 */
int vmclock_tai_to_smeared(int64_t tai_ns, int16_t tai_offset_sec,
			   uint8_t leap_indicator, uint8_t hint,
			   int64_t *smeared_ns);

/**
 * vmclock_reading_smeared() - smeared UTC of a reading, with its bound
 * @rd: a reading with VMCLOCK_VALID_TAI and a valid TAI offset.
 * @hint: VMCLOCK_SMEARING_NOON_LINEAR or _UTC_SLS (e.g. @rd->smearing_hint).
 * @out: the smeared time; bounded when @rd has VMCLOCK_VALID_MAXERROR.
 *
 * @out->time_ns is vmclock_tai_to_smeared() of @rd's TAI.  The bound
 * smears @rd's earliest and latest TAI around the same leap (the one
 * @rd's TAI names), so earliest <= time <= latest.  With POS, where the
 * offset may be the one before the leap or after it, a bound that meets
 * the inserted second of the other reading as well covers both: it is
 * up to a second wider within max error of 23:59:60's start and end.
 *
 * Return: as vmclock_tai_to_smeared(), or -ENODATA as
 * vmclock_reading_utc().
 */
int vmclock_reading_smeared(const struct vmclock_reading *rd, uint8_t hint,
			    struct vmclock_smeared *out);

/**
 * vmclock_utc_civil() - break a UTC time down into date and time of day
 * @utc: the time; @utc->leap_second turns 23:59:59 into 23:59:60.
 * @out: the result.
 *
 * Return: 0.
 */
int vmclock_utc_civil(const struct vmclock_utc *utc, struct vmclock_civil *out);

#ifdef __cplusplus
}
#endif

#endif /* VMCLOCK_VMCLOCK_DERIVED_H */
