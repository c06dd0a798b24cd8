// SPDX-License-Identifier: MIT
/*
 * test_leapsec.c - the leap-second list: parsing (and refusing) lines,
 * TAI - UTC at any second, announcements around a leap, and expiry.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vmclock/vmclock-abi.h>

#include "../../daemon/leapsec.h"
#include "../harness/test.h"

#define NTP(unix) ((long long)(unix) + LEAPSEC_NTP_UNIX)

/* 2017-01-01 (37), then a made-up +1 on 2030-01-01, expiring 2030-06-28. */
static const char sample[] =
	"#\tleap-seconds.list\n"
	"#$\t3676924800\n"
	"#@\t4433356800\n"
	"2272060800\t10\t# 1 Jan 1972\n"
	"3692217600\t37\t# 1 Jan 2017\n";

static void make_list(char *buf, size_t len)
{
	snprintf(buf, len,
		 "#$ %lld\n#@ %lld\n%lld 35\n%lld 36\n%lld 37\n%lld 38\n",
		 NTP(1483228800LL), NTP(1908835200LL), NTP(1341100800LL),
		 NTP(1435708800LL), NTP(1483228800LL), NTP(1893456000LL));
}

TEST(parse_minimal)
{
	struct leapsec_table t;
	char err[128];

	CHECK(leapsec_parse(sample, &t, err, sizeof(err)) == -22);
	CHECK_MSG(strstr(err, "line 5"), "%s", err); /* 10 -> 37 jumps */
}

TEST(lookup_offsets)
{
	struct leapsec_table t;
	struct leapsec_info in;
	char buf[512], err[128];

	make_list(buf, sizeof(buf));
	REQUIRE(!leapsec_parse(buf, &t, err, sizeof(err)));
	CHECK_EQ_INT(t.n, 4);
	CHECK_EQ_INT(t.expires, 1908835200LL);
	leapsec_lookup(&t, 1483228799LL, &in);
	CHECK_EQ_INT(in.offset, 36);
	leapsec_lookup(&t, 1483228800LL, &in);
	CHECK_EQ_INT(in.offset, 37);
	leapsec_lookup(&t, 1700000000LL, &in);
	CHECK_EQ_INT(in.offset, 37);
	CHECK_EQ_INT(in.leap, VMCLOCK_LEAP_NONE);
	CHECK_EQ_INT(in.expired, 0);
}

TEST(announce_in_the_month_before)
{
	struct leapsec_table t;
	struct leapsec_info in;
	char buf[512], err[128];

	make_list(buf, sizeof(buf));
	REQUIRE(!leapsec_parse(buf, &t, err, sizeof(err)));
	/* 2029-12-01 00:00 UTC = 1890777600: the month of the leap. */
	leapsec_lookup(&t, 1890777599LL, &in);
	CHECK_EQ_INT(in.leap, VMCLOCK_LEAP_NONE);
	leapsec_lookup(&t, 1890777600LL, &in);
	CHECK_EQ_INT(in.leap, VMCLOCK_LEAP_PRE_POS);
	CHECK_EQ_INT(in.offset, 37);
	leapsec_lookup(&t, 1893456000LL, &in);
	CHECK_EQ_INT(in.offset, 38);
	CHECK_EQ_INT(in.leap, VMCLOCK_LEAP_POST_POS);
	leapsec_lookup(&t, 1893456000LL + 86400, &in);
	CHECK_EQ_INT(in.leap, VMCLOCK_LEAP_NONE);
}

TEST(expired_keeps_offset_announces_nothing)
{
	struct leapsec_table t;
	struct leapsec_info in;
	char buf[512], err[128];

	make_list(buf, sizeof(buf));
	REQUIRE(!leapsec_parse(buf, &t, err, sizeof(err)));
	/* Expiry 2030-06-28; 2030-06-30 is still before the July boundary. */
	leapsec_lookup(&t, 1908835200LL + 2 * 86400, &in);
	CHECK_EQ_INT(in.expired, 1);
	CHECK_EQ_INT(in.offset, 38);
	CHECK_EQ_INT(in.leap, VMCLOCK_LEAP_NONE);
	CHECK_EQ_INT(in.unknown_leaps, 0);
	/* 2030-07-01 00:00 = 1909094400: one possible leap since. */
	leapsec_lookup(&t, 1909094400LL, &in);
	CHECK_EQ_INT(in.unknown_leaps, 1);
	/* 2031-07-01 = 1940630400: three (Jul 30, Jan 31, Jul 31). */
	leapsec_lookup(&t, 1940630400LL, &in);
	CHECK_EQ_INT(in.unknown_leaps, 3);
	CHECK_EQ_INT(in.offset, 38);
}

TEST(bad_lists_are_refused_with_a_line)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "#@ 4000000000\n2272060800 10\nabc 11\n", "line 3" },
		{ "#@ 4000000000\n2272060800 10\n2272060800 11\n", "ascend" },
		{ "#@ 4000000000\n2272060800 10\n2272060801 12\n", "step by one" },
		{ "#@ 4000000000\n2272060800 10 junk\n", "line 2" },
		{ "#@ x\n2272060800 10\n", "line 1" },
		{ "2272060800 10\n", "no expiry" },
		{ "#@ 4000000000\n# nothing\n", "no leap-second entries" },
		{ "#@ 4000000000\n99999999999999999999999 10\n", "line 2" },
		{ "#@ 4000000000\n12 10\n", "line 2" },
		{ "", "no leap-second entries" },
	};
	struct leapsec_table t;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_MSG(leapsec_parse(cases[i].text, &t, err, sizeof(err)),
			  "case %zu accepted", i);
		CHECK_MSG(strstr(err, cases[i].why), "case %zu: %s", i, err);
	}
}

TEST(system_list_if_present)
{
	struct leapsec_table t;
	struct leapsec_info in;
	char err[128];

	if (leapsec_load(LEAPSEC_DEFAULT_PATH, &t, err, sizeof(err))) {
		printf("  (no %s: %s)\n", LEAPSEC_DEFAULT_PATH, err);
		return;
	}
	/* 2020-01-01: TAI - UTC was 37 s. */
	leapsec_lookup(&t, 1577836800LL, &in);
	CHECK_EQ_INT(in.offset, 37);
	CHECK(t.expires > 1577836800LL);
	CHECK(leapsec_load("/nonexistent", &t, err, sizeof(err)) < 0);
}
