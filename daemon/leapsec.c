// SPDX-License-Identifier: MIT
/*
 * leapsec.c - parser and lookup for IERS leap-seconds.list.
 *
 * Lines are "NTP-SECONDS OFFSET [# comment]"; "#$ NTP" is the last update
 * and "#@ NTP" the expiry; other '#' lines are comments.  The file is
 * untrusted input: every line is checked and a bad one is an error with
 * its line number, never a guess.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vmclock/vmclock-abi.h>

#include "leapsec.h"

#define LEAPSEC_MAX_FILE (1 << 20)

/* A non-negative decimal; *p advances past it. */
static int parse_num(const char **p, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		if (v > (INT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (*s++ - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* Only blanks, or a comment, may follow. */
static int at_end(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	return *s == '\0' || *s == '#';
}

static int parse_special(const char *s, struct leapsec_table *t)
{
	int64_t v;
	const char *p = s + 2;

	if (parse_num(&p, &v) || !at_end(p) || v < LEAPSEC_NTP_UNIX)
		return -EINVAL;
	if (s[1] == '$')
		t->updated = v - LEAPSEC_NTP_UNIX;
	else
		t->expires = v - LEAPSEC_NTP_UNIX;
	return 0;
}

static int parse_entry(const char *s, struct leapsec_table *t,
		       const char **why)
{
	int64_t ntp, off;
	const char *p = s;

	if (parse_num(&p, &ntp) || parse_num(&p, &off) || !at_end(p) ||
	    ntp < LEAPSEC_NTP_UNIX || off > 1000) {
		*why = "expected \"NTP-SECONDS OFFSET\"";
		return -EINVAL;
	}
	if (t->n == LEAPSEC_MAX) {
		*why = "too many entries";
		return -EINVAL;
	}
	if (t->n && (ntp - LEAPSEC_NTP_UNIX <= t->utc[t->n - 1] ||
		     (off - t->offset[t->n - 1] != 1 &&
		      off - t->offset[t->n - 1] != -1))) {
		*why = "entries must ascend and step by one second";
		return -EINVAL;
	}
	t->utc[t->n] = ntp - LEAPSEC_NTP_UNIX;
	t->offset[t->n] = (int)off;
	t->n++;
	return 0;
}

static int parse_line(const char *s, struct leapsec_table *t,
		      const char **why)
{
	if (s[0] == '#' && (s[1] == '$' || s[1] == '@')) {
		*why = "bad #$ or #@ line";
		return parse_special(s, t);
	}
	if (at_end(s))
		return 0;
	return parse_entry(s, t, why);
}

int leapsec_parse(const char *text, struct leapsec_table *t, char *err,
		  size_t errlen)
{
	const char *s = text, *why = "";
	unsigned int line = 0;
	char buf[256];

	memset(t, 0, sizeof(*t));
	while (*s) {
		size_t len = strcspn(s, "\n");

		line++;
		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "line %u: line too long", line);
			return -EINVAL;
		}
		memcpy(buf, s, len);
		buf[len] = '\0';
		s += len + (s[len] == '\n');
		if (parse_line(buf, t, &why)) {
			snprintf(err, errlen, "line %u: %s", line, why);
			return -EINVAL;
		}
	}
	if (!t->n || !t->expires) {
		snprintf(err, errlen, "%s", !t->n ? "no leap-second entries" :
			 "no expiry date (#@ line)");
		return -EINVAL;
	}
	return 0;
}

int leapsec_load(const char *path, struct leapsec_table *t, char *err,
		 size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		return ret;
	}
	text = malloc(LEAPSEC_MAX_FILE + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, LEAPSEC_MAX_FILE, f);
	text[n] = '\0';
	fclose(f);
	if (n == LEAPSEC_MAX_FILE || memchr(text, '\0', n)) {
		snprintf(err, errlen, "not a text file under 1 MiB");
		free(text);
		return -EINVAL;
	}
	ret = leapsec_parse(text, t, err, errlen);
	free(text);
	return ret;
}

/* 00:00 UTC on the first of the month that @sec lies in. */
static int64_t month_start(int64_t sec)
{
	time_t tt = (time_t)sec;
	struct tm tm;

	gmtime_r(&tt, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm);
}

/* 1 January and 1 July 00:00 UTC in (@from, @to]. */
static unsigned int half_years_between(int64_t from, int64_t to)
{
	time_t tt = (time_t)from;
	unsigned int n = 0;
	struct tm tm;
	int y, m;

	gmtime_r(&tt, &tm);
	y = tm.tm_year;
	m = tm.tm_mon < 6 ? 6 : 12;
	for (;;) {
		struct tm b = { .tm_year = y + (m == 12), .tm_mon = m % 12,
				.tm_mday = 1 };
		int64_t at = (int64_t)timegm(&b);

		if (at > to || n > 1000)
			return n;
		n++;
		if (m == 12) {
			y++;
			m = 6;
		} else {
			m = 12;
		}
	}
}

void leapsec_lookup(const struct leapsec_table *t, int64_t now,
		    struct leapsec_info *info)
{
	size_t i = 0;

	memset(info, 0, sizeof(*info));
	while (i < t->n && t->utc[i] <= now)
		i++;
	info->offset = i ? t->offset[i - 1] : t->offset[0];
	info->expired = now >= t->expires;
	if (info->expired) {
		info->unknown_leaps = half_years_between(t->expires, now);
		return;
	}
	/* A scheduled leap second at the end of this month. */
	if (i < t->n && i > 0 && month_start(t->utc[i] - 1) <= now)
		info->leap = t->offset[i] > t->offset[i - 1] ?
			     VMCLOCK_LEAP_PRE_POS : VMCLOCK_LEAP_PRE_NEG;
	else if (i > 1 && now < t->utc[i - 1] + 86400)
		info->leap = t->offset[i - 1] > t->offset[i - 2] ?
			     VMCLOCK_LEAP_POST_POS : VMCLOCK_LEAP_POST_NEG;
}
