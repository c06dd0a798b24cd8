// SPDX-License-Identifier: MIT
/*
 * test_derived.c - the derived clocks (lib/derived.c) against their
 * definitions: UTC with 23:59:60 represented through a positive leap, a
 * deleted 23:59:59, independence from when the host moves the indicator,
 * and the NOON_LINEAR and UTC_SLS smears checked against an independent
 * 128-bit evaluation of their definition.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-derived.h>

#include "../harness/test.h"

#define NS  1000000000ll
#define DAY (86400ll * NS)

/* 2017-01-01 00:00:00 UTC: the last leap second (TAI - UTC 36 -> 37). */
#define M2017 (1483228800ll * NS)
/* 2026-07-01 00:00:00 UTC: a made-up negative leap (37 -> 36). */
#define M2026 (1782864000ll * NS)

static struct vmclock_utc utc(int64_t tai, int16_t off, uint8_t ind)
{
	struct vmclock_utc u;

	memset(&u, 0xa5, sizeof(u));
	CHECK_EQ_INT(vmclock_tai_to_utc(tai, off, ind, &u), 0);
	return u;
}

static void check_civil(const struct vmclock_utc *u, int64_t y, int mo, int d,
			int h, int mi, int s, uint32_t ns)
{
	struct vmclock_civil c;

	CHECK_EQ_INT(vmclock_utc_civil(u, &c), 0);
	CHECK_MSG(c.year == y && c.month == mo && c.day == d && c.hour == h &&
			  c.min == mi && c.sec == s && c.nsec == ns,
		  "got %lld-%02d-%02d %02d:%02d:%02d.%09u, want "
		  "%lld-%02d-%02d %02d:%02d:%02d.%09u",
		  (long long)c.year, c.month, c.day, c.hour, c.min, c.sec,
		  c.nsec, (long long)y, mo, d, h, mi, s, ns);
}

TEST(civil_known_dates)
{
	struct vmclock_utc u = { 0, 0, 0 };

	check_civil(&u, 1970, 1, 1, 0, 0, 0, 0);
	u.utc_ns = -1;
	check_civil(&u, 1969, 12, 31, 23, 59, 59, 999999999);
	u.utc_ns = 951782400ll * NS + 5; /* 2000-02-29 */
	check_civil(&u, 2000, 2, 29, 0, 0, 0, 5);
	u.utc_ns = M2017 - NS + 250000000;
	u.leap_second = 1;
	check_civil(&u, 2016, 12, 31, 23, 59, 60, 250000000);
}

/* The 2016-12-31 leap second, seen through each indicator value. */
TEST(positive_leap_represents_23_59_60)
{
	static const uint8_t inds[] = { VMCLOCK_LEAP_PRE_POS, VMCLOCK_LEAP_POS,
					VMCLOCK_LEAP_POST_POS };
	static const int16_t offs[] = { 36, 36, 37 };
	struct vmclock_utc u;
	size_t i;

	/* Linux's convention: the new offset already during 23:59:60. */
	u = utc(M2017 + 36 * NS + 400000000, 37, VMCLOCK_LEAP_POS);
	check_civil(&u, 2016, 12, 31, 23, 59, 60, 400000000);
	CHECK_EQ_INT(u.tai_offset_sec, 36);
	for (i = 0; i < 3; i++) {
		/* POS is the inserted second itself: not asked before it. */
		if (inds[i] != VMCLOCK_LEAP_POS) {
			u = utc(M2017 + 36 * NS - 1, offs[i], inds[i]);
			check_civil(&u, 2016, 12, 31, 23, 59, 59, 999999999);
			CHECK_EQ_INT(u.leap_second, 0);
			CHECK_EQ_INT(u.tai_offset_sec, 36);
		}
		u = utc(M2017 + 36 * NS, offs[i], inds[i]);
		check_civil(&u, 2016, 12, 31, 23, 59, 60, 0);
		CHECK_EQ_INT(u.leap_second, 1);
		CHECK_EQ_INT(u.utc_ns, M2017 - NS);
		CHECK_EQ_INT(u.tai_offset_sec, 36);
		u = utc(M2017 + 37 * NS - 1, offs[i], inds[i]);
		check_civil(&u, 2016, 12, 31, 23, 59, 60, 999999999);
		u = utc(M2017 + 37 * NS, offs[i], inds[i]);
		check_civil(&u, 2017, 1, 1, 0, 0, 0, 0);
		CHECK_EQ_INT(u.leap_second, 0);
		CHECK_EQ_INT(u.tai_offset_sec, 37);
	}
}

TEST(negative_leap_skips_23_59_59)
{
	static const uint8_t inds[] = { VMCLOCK_LEAP_PRE_NEG,
					VMCLOCK_LEAP_POST_NEG };
	static const int16_t offs[] = { 37, 36 };
	struct vmclock_utc u;
	size_t i;

	for (i = 0; i < 2; i++) {
		u = utc(M2026 - 2 * NS + 37 * NS + 7, offs[i], inds[i]);
		check_civil(&u, 2026, 6, 30, 23, 59, 58, 7);
		u = utc(M2026 - NS + 37 * NS - 1, offs[i], inds[i]);
		check_civil(&u, 2026, 6, 30, 23, 59, 58, 999999999);
		u = utc(M2026 - NS + 37 * NS, offs[i], inds[i]);
		check_civil(&u, 2026, 7, 1, 0, 0, 0, 0);
		CHECK_EQ_INT(u.tai_offset_sec, 36);
		CHECK_EQ_INT(u.leap_second, 0);
	}
}

/* The independent mapping: which TAI a (utc, leap_second) pair names. */
static int64_t tai_of(const struct vmclock_utc *u, int64_t m, int64_t pre,
		      int dir)
{
	if (u->leap_second)
		return m + pre + (u->utc_ns - (m - NS));
	return u->utc_ns + (u->utc_ns < m ? pre : pre + dir * NS);
}

/*
 * Random instants two days around each leap: every indicator that is
 * valid there gives the same answer, and that answer names the same TAI
 * again (nothing folded).
 */
TEST(indicator_timing_does_not_matter)
{
	int n;

	for (n = 0; n < 20000; n++) {
		int neg = n & 1, dir = neg ? -1 : 1;
		int64_t m = neg ? M2026 : M2017, pre = (neg ? 37 : 36) * NS;
		int64_t tai =
			m + pre - 2 * DAY + (int64_t)test_rand_below(4 * DAY);
		int16_t pre_s = (int16_t)(pre / NS),
			post_s = (int16_t)(pre_s + dir);
		struct vmclock_utc a, b;

		b = utc(tai, post_s,
			neg ? VMCLOCK_LEAP_POST_NEG : VMCLOCK_LEAP_POST_POS);
		CHECK_EQ_INT(tai_of(&b, m, pre, dir), tai);
		if (!neg && tai >= m + pre) {
			a = utc(tai, pre_s, VMCLOCK_LEAP_POS);
			CHECK(a.utc_ns == b.utc_ns &&
			      a.leap_second == b.leap_second);
		}
		if (tai - pre - m >= VMCLOCK_LEAP_LATE_NS)
			continue;
		a = utc(tai, pre_s,
			neg ? VMCLOCK_LEAP_PRE_NEG : VMCLOCK_LEAP_PRE_POS);
		CHECK_MSG(a.utc_ns == b.utc_ns &&
				  a.leap_second == b.leap_second &&
				  a.tai_offset_sec == b.tai_offset_sec,
			  "tai %lld: pre %lld/%d, post %lld/%d", (long long)tai,
			  (long long)a.utc_ns, a.leap_second,
			  (long long)b.utc_ns, b.leap_second);
	}
}

TEST(pre_indicator_early_in_month_means_its_end)
{
	/* PRE_POS on 2016-12-01 02:00 refers to the end of December. */
	int64_t tai = M2017 - 31 * DAY + 2 * 3600 * NS + 36 * NS;
	struct vmclock_utc u = utc(tai, 36, VMCLOCK_LEAP_PRE_POS);

	CHECK_EQ_INT(u.utc_ns, tai - 36 * NS);
	/* ... but in the first hour, a leap the host has not cleared. */
	u = utc(M2017 + 37 * NS + 60 * NS, 36, VMCLOCK_LEAP_PRE_POS);
	CHECK_EQ_INT(u.utc_ns, M2017 + 60 * NS);
}

TEST(none_is_plain_offset_and_errors)
{
	struct vmclock_utc u;
	int64_t s;

	u = utc(M2017 + 123, 37, VMCLOCK_LEAP_NONE);
	CHECK_EQ_INT(u.utc_ns, M2017 + 123 - 37 * NS);
	CHECK_EQ_INT(vmclock_tai_to_utc(0, 37, 6, &u), -EINVAL);
	CHECK_EQ_INT(vmclock_tai_to_utc(INT64_MAX, 37, 0, &u), -ERANGE);
	CHECK_EQ_INT(vmclock_tai_to_smeared(0, 37, 0, VMCLOCK_SMEARING_STRICT,
					    &s),
		     -EINVAL);
	CHECK_EQ_INT(vmclock_tai_to_smeared(0, 37, 9, VMCLOCK_SMEARING_UTC_SLS,
					    &s),
		     -EINVAL);
	CHECK_EQ_INT(vmclock_tai_to_smeared(M2017, 37, 0,
					    VMCLOCK_SMEARING_UTC_SLS, &s),
		     0);
	CHECK_EQ_INT(s, M2017 - 37 * NS);
}

/*
 * The definition, evaluated independently in 128 bits: over SI seconds
 * [S, S + W + dir) from S = start + pre, smeared = start + x * W / (W + dir).
 */
static int64_t smear_ref(int64_t tai, int64_t m, int64_t pre, int dir,
			 int64_t before_s, int64_t window_s)
{
	int64_t start = m - before_s * NS;
	__int128 x = (__int128)tai - (start + pre);

	if (x < 0)
		return tai - pre;
	if (x >= (__int128)(window_s + dir) * NS)
		return tai - pre - dir * NS;
	return start + (int64_t)(x * window_s / (window_s + dir));
}

static int64_t smeared(int64_t tai, int16_t off, uint8_t ind, uint8_t hint)
{
	int64_t s = 0;

	CHECK_EQ_INT(vmclock_tai_to_smeared(tai, off, ind, hint, &s), 0);
	return s;
}

TEST(smears_match_definition)
{
	int n;

	for (n = 0; n < 40000; n++) {
		int neg = n & 1, dir = neg ? -1 : 1, sls = (n >> 1) & 1;
		uint8_t hint = sls ? VMCLOCK_SMEARING_UTC_SLS :
				     VMCLOCK_SMEARING_NOON_LINEAR;
		int64_t m = neg ? M2026 : M2017, pre = (neg ? 37 : 36) * NS;
		int64_t span = sls ? 2000 * NS : 2 * DAY;
		int64_t tai =
			m + pre - span + (int64_t)test_rand_below(2 * span);
		int64_t want = sls ? smear_ref(tai, m, pre, dir, 1000, 1000) :
				     smear_ref(tai, m, pre, dir, 43200, 86400);
		int16_t post_s = (int16_t)(pre / NS + dir);

		CHECK_EQ_INT(smeared(tai, post_s,
				     neg ? VMCLOCK_LEAP_POST_NEG :
					   VMCLOCK_LEAP_POST_POS,
				     hint),
			     want);
		if (tai - pre - m < VMCLOCK_LEAP_LATE_NS)
			CHECK_EQ_INT(smeared(tai, (int16_t)(pre / NS),
					     neg ? VMCLOCK_LEAP_PRE_NEG :
						   VMCLOCK_LEAP_PRE_POS,
					     hint),
				     want);
	}
}

TEST(smear_endpoints_and_rate)
{
	int64_t pre = 36 * NS, s0, s1, t;

	/* NOON_LINEAR: noon to noon, 86,401 SI seconds. */
	t = M2017 - 43200 * NS + pre;
	CHECK_EQ_INT(smeared(t, 36, VMCLOCK_LEAP_PRE_POS, 1),
		     M2017 - 43200 * NS);
	CHECK_EQ_INT(smeared(t + 86401 * NS, 37, VMCLOCK_LEAP_POST_POS, 1),
		     M2017 + 43200 * NS);
	/* Halfway through the SI window the smear is half a second behind. */
	CHECK_EQ_INT(smeared(t + 43200 * NS + NS / 2, 36, VMCLOCK_LEAP_POS, 1),
		     M2017);
	/* UTC_SLS: the last 1000 s, 1001 SI seconds, ending at midnight. */
	t = M2017 - 1000 * NS + pre;
	CHECK_EQ_INT(smeared(t, 36, VMCLOCK_LEAP_PRE_POS, 2),
		     M2017 - 1000 * NS);
	CHECK_EQ_INT(smeared(t + 1001 * NS, 37, VMCLOCK_LEAP_POST_POS, 2),
		     M2017);
	CHECK_EQ_INT(smeared(M2017 + pre, 36, VMCLOCK_LEAP_POS, 2),
		     M2017 - 1000 * NS + 1000000 * NS / 1001);
	/* Never faster than TAI, never backwards, across the whole window. */
	for (t = M2017 + pre - 1100 * NS, s0 = INT64_MIN;
	     t < M2017 + pre + 100 * NS; t += 999999937) {
		s1 = smeared(t, 37, VMCLOCK_LEAP_POST_POS, 2);
		CHECK(s1 >= s0 && (s0 == INT64_MIN || s1 - s0 <= 999999937));
		s0 = s1;
	}
}

TEST(reading_wrappers)
{
	struct vmclock_reading rd;
	struct vmclock_smeared sm;
	struct vmclock_utc u;

	memset(&rd, 0, sizeof(rd));
	CHECK_EQ_INT(vmclock_reading_utc(&rd, &u), -ENODATA);
	rd.valid = VMCLOCK_VALID_TIME | VMCLOCK_VALID_TAI;
	CHECK_EQ_INT(vmclock_reading_utc(&rd, &u), -ENODATA);
	rd.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID;
	rd.tai_ns = M2017 + 36 * NS + 5;
	rd.tai_offset_sec = 36;
	rd.leap_indicator = VMCLOCK_LEAP_POS;
	CHECK_EQ_INT(vmclock_reading_utc(&rd, &u), 0);
	CHECK_EQ_INT(u.leap_second, 1);
	CHECK_EQ_INT(
		vmclock_reading_smeared(&rd, VMCLOCK_SMEARING_UTC_SLS, &sm), 0);
	CHECK_EQ_INT(sm.bounded, 0);
	rd.valid |= VMCLOCK_VALID_MAXERROR;
	rd.maxerror_ns = 2 * NS;
	CHECK_EQ_INT(
		vmclock_reading_smeared(&rd, VMCLOCK_SMEARING_UTC_SLS, &sm), 0);
	CHECK_EQ_INT(sm.bounded, 1);
	CHECK(sm.earliest_ns < sm.time_ns && sm.time_ns < sm.latest_ns);
	/*
	 * 4 s of TAI, widened by the second the page's offset leaves open:
	 * its +-2 s meet 23:59:60 whether 36 is the offset before the leap
	 * or after it.
	 */
	CHECK(sm.latest_ns - sm.earliest_ns <= 5 * NS);
	CHECK(sm.latest_ns - sm.earliest_ns >= 5 * NS - 5 * NS / 1000);
}

static struct vmclock_reading pos_reading(int64_t tai, int16_t off,
					  uint64_t maxerror)
{
	struct vmclock_reading rd;

	memset(&rd, 0, sizeof(rd));
	rd.valid = VMCLOCK_VALID_TIME | VMCLOCK_VALID_TAI |
		   VMCLOCK_VALID_MAXERROR;
	rd.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID;
	rd.tai_ns = tai;
	rd.tai_offset_sec = off;
	rd.leap_indicator = VMCLOCK_LEAP_POS;
	rd.maxerror_ns = maxerror;
	return rd;
}

/*
 * The smeared bound of a POS reading centred at @c with max error @e,
 * ordered and holding the true smeared time at TAI @t: the smear of the
 * 2017 leap, which PRE_POS with 36 names without ambiguity.
 */
static void check_pos_bound(uint8_t hint, int16_t off, int64_t t, int64_t c,
			    int64_t e)
{
	struct vmclock_reading rd = pos_reading(c, off, (uint64_t)e);
	struct vmclock_smeared sm;
	int64_t want;

	REQUIRE(!vmclock_tai_to_smeared(t, 36, VMCLOCK_LEAP_PRE_POS, hint,
					&want));
	REQUIRE(!vmclock_reading_smeared(&rd, hint, &sm));
	REQUIRE(sm.bounded);
	CHECK_MSG(sm.earliest_ns <= sm.time_ns && sm.time_ns <= sm.latest_ns &&
			  sm.earliest_ns <= want && want <= sm.latest_ns,
		  "hint %u off %d TAI %lld read %lld +- %lld: %lld <= %lld <= "
		  "%lld, true %lld",
		  hint, off, (long long)t, (long long)c, (long long)e,
		  (long long)sm.earliest_ns, (long long)sm.time_ns,
		  (long long)sm.latest_ns, (long long)want);
}

/*
 * A host publishes POS during 23:59:60 with the offset before the leap
 * (36, IERS) or after it (37, Linux).  For every true TAI in that second
 * and a reading off by up to its max error either way, the smeared bound
 * is ordered and holds the true smeared time.
 */
TEST(pos_smeared_bound_holds_either_offset)
{
	static const int64_t errs[] = { 0, 1000, 1000000, 400000000, 2 * NS };
	static const int64_t ins[] = { 0,      1,      1000,
				       999999, NS / 2, NS - 1000000,
				       NS - 1 };
	int64_t t, e;
	int16_t off;
	uint8_t hint;
	size_t i, j;

	for (hint = VMCLOCK_SMEARING_NOON_LINEAR;
	     hint <= VMCLOCK_SMEARING_UTC_SLS; hint++)
		for (off = 36; off <= 37; off++)
			for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++)
				for (j = 0; j < sizeof(errs) / sizeof(errs[0]);
				     j++) {
					t = M2017 + 36 * NS + ins[i];
					e = errs[j];
					check_pos_bound(hint, off, t, t - e, e);
					check_pos_bound(hint, off, t, t, e);
					check_pos_bound(hint, off, t, t + e, e);
				}
}

/*
 * The other reading of the offset widens only a bound that meets its
 * 23:59:60: in the middle of the inserted second a 1 ms bound is the 2 ms
 * of TAI smeared, with either offset.
 */
TEST(pos_smeared_bound_widens_only_at_the_seam)
{
	uint8_t hint;
	int16_t off;

	for (hint = VMCLOCK_SMEARING_NOON_LINEAR;
	     hint <= VMCLOCK_SMEARING_UTC_SLS; hint++)
		for (off = 36; off <= 37; off++) {
			struct vmclock_reading rd = pos_reading(
				M2017 + 36 * NS + NS / 2, off, 1000000);
			struct vmclock_smeared sm;

			REQUIRE(!vmclock_reading_smeared(&rd, hint, &sm));
			REQUIRE(sm.bounded);
			CHECK(sm.latest_ns - sm.earliest_ns <= 2000000);
			CHECK(sm.latest_ns - sm.earliest_ns >= 1990000);
		}
}
