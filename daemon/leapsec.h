/* SPDX-License-Identifier: MIT */
/*
 * leapsec.h - the system's leap-second list (IERS leap-seconds.list, as
 * Debian's tzdata ships it in /usr/share/zoneinfo): TAI - UTC at any UTC
 * second, the next scheduled leap second, and whether the list has
 * expired.
 *
 * vmclockd uses it when the kernel does not know the TAI offset (no NTP
 * daemon has set it), so guests still get TAI.  Past the list's expiry
 * the last offset is kept, no leap second is announced (the list cannot
 * know of one), and each June/December month end after the expiry counts
 * as a leap second the list may be missing: the caller widens its bound
 * by one second for each.
 */
#ifndef VMCLOCK_DAEMON_LEAPSEC_H
#define VMCLOCK_DAEMON_LEAPSEC_H

#include <stddef.h>
#include <stdint.h>

#define LEAPSEC_MAX 128
#define LEAPSEC_DEFAULT_PATH "/usr/share/zoneinfo/leap-seconds.list"
/* Seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix). */
#define LEAPSEC_NTP_UNIX 2208988800ll

/**
 * struct leapsec_table - a parsed list
 * @n: entries used.
 * @utc: the Unix second from which @offset applies (ascending).
 * @offset: TAI - UTC from then on.
 * @updated: the list's "last update" (#$), Unix seconds, or 0.
 * @expires: its expiry (#@), Unix seconds.
 */
struct leapsec_table {
	size_t n;
	int64_t utc[LEAPSEC_MAX];
	int offset[LEAPSEC_MAX];
	int64_t updated;
	int64_t expires;
};

/**
 * struct leapsec_info - what the list says at one UTC second
 * @offset: TAI - UTC.
 * @leap: VMCLOCK_LEAP_* (PRE_POS/PRE_NEG during the month before a
 *	scheduled leap second, POST_POS/POST_NEG for a day after it).
 * @expired: the list has expired at that second.
 * @unknown_leaps: June/December month ends between the expiry and then:
 *	leap seconds the list could not know about.
 */
struct leapsec_info {
	int offset;
	uint8_t leap;
	int expired;
	unsigned int unknown_leaps;
};

/*
 * Parse the text of a list.  Return 0, or -EINVAL with "line N: why" in
 * @err (no entries, no expiry, unordered or non-numeric lines, offsets that
 * do not step by one second).
 */
int leapsec_parse(const char *text, struct leapsec_table *t, char *err,
		  size_t errlen);
/* Read and parse @path; -errno of the read with the reason in @err. */
int leapsec_load(const char *path, struct leapsec_table *t, char *err,
		 size_t errlen);
/* What @t says at Unix second @now. */
void leapsec_lookup(const struct leapsec_table *t, int64_t now,
		    struct leapsec_info *info);

#endif /* VMCLOCK_DAEMON_LEAPSEC_H */
