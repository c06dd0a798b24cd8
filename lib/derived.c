// SPDX-License-Identifier: MIT
/*
 * derived.c - clocks derived from TAI and the page's leap state: UTC with
 * the inserted second represented as 23:59:60, and the NOON_LINEAR and
 * UTC_SLS smeared clocks.  Pure integer functions; the definitions are in
 * vmclock-derived.h.
 */
#include <errno.h>

#include <vmclock/vmclock-derived.h>

#include "internal.h"

#define NS     1000000000ll
#define DAY_NS (86400ll * NS)
#define NOON_S 43200ll
#define SLS_S  1000ll

/* The leap an indicator refers to, in POSIX and TAI terms. */
struct leap {
	int dir; /* +1 inserted, -1 deleted, 0 none */
	int64_t m_ns; /* POSIX ns of the month boundary it sits at */
	int64_t pre_ns; /* TAI - UTC before it, ns */
	int64_t post_ns; /* TAI - UTC after it, ns */
};

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* POSIX ns of the first of the month that @utc_ns is in, and of the next. */
static void month_bounds(int64_t utc_ns, int64_t *start, int64_t *next)
{
	int64_t y;
	int m, d;

	civil_from_days(floor_div(utc_ns, DAY_NS), &y, &m, &d);
	*start = days_from_civil(y, m, 1) * DAY_NS;
	*next = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) *
		DAY_NS;
}

/* The boundary a leap refers to, seen from POSIX time @u. */
static int64_t leap_boundary(int64_t u, int pre)
{
	int64_t start, next;

	month_bounds(u, &start, &next);
	if (pre)
		return u - start < VMCLOCK_LEAP_LATE_NS ? start : next;
	return u - start <= next - u ? start : next;
}

/* Which leap @leap_indicator means at TAI @tai with offset @off_s. */
static int leap_find(int64_t tai, int16_t off_s, uint8_t ind, struct leap *lp)
{
	int64_t off = (int64_t)off_s * NS;

	lp->dir = 0;
	lp->pre_ns = lp->post_ns = off;
	lp->m_ns = 0;
	switch (ind) {
	case VMCLOCK_LEAP_NONE:
		return 0;
	case VMCLOCK_LEAP_PRE_POS:
	case VMCLOCK_LEAP_POS:
	case VMCLOCK_LEAP_PRE_NEG:
		lp->dir = ind == VMCLOCK_LEAP_PRE_NEG ? -1 : 1;
		break;
	case VMCLOCK_LEAP_POST_POS:
	case VMCLOCK_LEAP_POST_NEG:
		lp->dir = ind == VMCLOCK_LEAP_POST_NEG ? -1 : 1;
		lp->pre_ns = off - lp->dir * NS;
		break;
	default:
		return -EINVAL;
	}
	lp->m_ns =
		leap_boundary(tai - off, ind == VMCLOCK_LEAP_PRE_POS ||
						 ind == VMCLOCK_LEAP_PRE_NEG);
	/* POS with the new offset already (Linux): 23:59:59 seems to repeat. */
	if (ind == VMCLOCK_LEAP_POS && tai - off >= lp->m_ns - NS &&
	    tai - off < lp->m_ns)
		lp->pre_ns = off - NS;
	lp->post_ns = lp->pre_ns + lp->dir * NS;
	return 0;
}

/* TAI at which UTC stops following the pre-leap offset. */
static int64_t leap_start_tai(const struct leap *lp)
{
	return lp->m_ns + lp->pre_ns - (lp->dir < 0 ? NS : 0);
}

/* Is @tai far enough from zero that the offsets cannot overflow? */
static int tai_in_range(int64_t tai)
{
	return tai > INT64_MIN / 2 && tai < INT64_MAX / 2;
}

/*
 * The TAI instant at which UTC stops being @tai - @off_s on a page that
 * announces a leap (PRE_POS, PRE_NEG), for a @tai before it: from @tai up
 * to that instant every vmclock_tai_to_utc() gives @tai - @off_s.
 * INT64_MIN when there is no such span (no leap announced, @tai already at
 * or past it, or out of range).
 */
int64_t vmc_leap_start_tai(int64_t tai, int16_t off_s, uint8_t ind)
{
	struct leap lp;
	int64_t l;

	if ((ind != VMCLOCK_LEAP_PRE_POS && ind != VMCLOCK_LEAP_PRE_NEG) ||
	    !tai_in_range(tai) || leap_find(tai, off_s, ind, &lp))
		return INT64_MIN;
	l = leap_start_tai(&lp);
	return tai < l && lp.pre_ns == (int64_t)off_s * NS ? l : INT64_MIN;
}

VMC_API int vmclock_tai_to_utc(int64_t tai_ns, int16_t tai_offset_sec,
			       uint8_t leap_indicator, struct vmclock_utc *out)
{
	struct leap lp;
	int64_t l;
	int err;

	if (!tai_in_range(tai_ns))
		return -ERANGE;
	err = leap_find(tai_ns, tai_offset_sec, leap_indicator, &lp);
	if (err)
		return err;
	out->leap_second = 0;
	if (!lp.dir) {
		out->utc_ns = tai_ns - lp.pre_ns;
		out->tai_offset_sec = tai_offset_sec;
		return 0;
	}
	l = leap_start_tai(&lp);
	if (tai_ns < l || (lp.dir > 0 && tai_ns >= l + NS)) {
		/* Before the leap, or after it (23:59:60 lasts one second). */
		out->utc_ns = tai_ns - (tai_ns < l ? lp.pre_ns : lp.post_ns);
	} else if (lp.dir > 0) {
		/* 23:59:60: POSIX repeats 23:59:59. */
		out->utc_ns = lp.m_ns - NS + (tai_ns - l);
		out->leap_second = 1;
	} else {
		out->utc_ns = tai_ns - lp.post_ns;
	}
	out->tai_offset_sec =
		(int16_t)((tai_ns < l || out->leap_second ? lp.pre_ns :
							    lp.post_ns) /
			  NS);
	return 0;
}

/* Has @rd what the derived clocks need? */
static int reading_has_tai(const struct vmclock_reading *rd)
{
	return (rd->valid & VMCLOCK_VALID_TAI) &&
	       (rd->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID);
}

VMC_API int vmclock_reading_utc(const struct vmclock_reading *rd,
				struct vmclock_utc *out)
{
	if (!reading_has_tai(rd))
		return -ENODATA;
	return vmclock_tai_to_utc(rd->tai_ns, rd->tai_offset_sec,
				  rd->leap_indicator, out);
}

/* The smear window: UTC start, SI length and UTC length, in seconds. */
static int smear_window(uint8_t hint, const struct leap *lp, int64_t *start,
			int64_t *utc_s)
{
	switch (hint) {
	case VMCLOCK_SMEARING_NOON_LINEAR:
		*start = lp->m_ns - NOON_S * NS;
		*utc_s = 2 * NOON_S;
		return 0;
	case VMCLOCK_SMEARING_UTC_SLS:
		*start = lp->m_ns - SLS_S * NS;
		*utc_s = SLS_S;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The smeared UTC of @tai around the leap @lp. */
static int64_t smear_at(int64_t tai, const struct leap *lp, int64_t start,
			int64_t utc_s)
{
	int64_t x = tai - (start + lp->pre_ns);

	if (!lp->dir || x < 0)
		return tai - lp->pre_ns;
	if (x >= (utc_s + lp->dir) * NS)
		return tai - lp->post_ns;
	/* x * utc_s < 86401e9 * 86400 < 2^63: no overflow. */
	return start + x * utc_s / (utc_s + lp->dir);
}

/* The leap @tai names and @hint's window around it, as smear_at() takes. */
static int smear_find(int64_t tai, int16_t off_s, uint8_t ind, uint8_t hint,
		      struct leap *lp, int64_t *start, int64_t *utc_s)
{
	int err;

	if (!tai_in_range(tai))
		return -ERANGE;
	err = leap_find(tai, off_s, ind, lp);
	return err ? err : smear_window(hint, lp, start, utc_s);
}

VMC_API int vmclock_tai_to_smeared(int64_t tai_ns, int16_t tai_offset_sec,
				   uint8_t leap_indicator, uint8_t hint,
				   int64_t *smeared_ns)
{
	int64_t start, utc_s;
	struct leap lp;
	int err = smear_find(tai_ns, tai_offset_sec, leap_indicator, hint, &lp,
			     &start, &utc_s);

	if (err)
		return err;
	*smeared_ns = smear_at(tai_ns, &lp, start, utc_s);
	return 0;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_add_overflow(a, b, &r) ?
		       (b > 0 ? INT64_MAX : INT64_MIN) :
		       r;
}

/*
 * The other reading of a POS page's offset than @lp's (after the leap
 * instead of before it, or the reverse), if its 23:59:60 meets the TAI
 * span [@a, @b].
 */
static int pos_other_reading(const struct leap *lp, int16_t off_s, int64_t a,
			     int64_t b, struct leap *alt)
{
	int64_t off = (int64_t)off_s * NS, l;

	*alt = *lp;
	alt->pre_ns = lp->pre_ns == off ? off - NS : off;
	alt->post_ns = alt->pre_ns + NS;
	l = leap_start_tai(alt);
	return a < l + NS && b >= l;
}

VMC_API int vmclock_reading_smeared(const struct vmclock_reading *rd,
				    uint8_t hint, struct vmclock_smeared *out)
{
	int64_t start, utc_s, e, a, b;
	struct leap lp, alt;
	int err;

	if (!reading_has_tai(rd))
		return -ENODATA;
	out->bounded = 0;
	err = smear_find(rd->tai_ns, rd->tai_offset_sec, rd->leap_indicator,
			 hint, &lp, &start, &utc_s);
	if (err)
		return err;
	out->time_ns = smear_at(rd->tai_ns, &lp, start, utc_s);
	if (!(rd->valid & VMCLOCK_VALID_MAXERROR) ||
	    rd->maxerror_ns > (uint64_t)INT64_MAX / 4)
		return 0;
	e = (int64_t)rd->maxerror_ns;
	a = sat_add(rd->tai_ns, -e);
	b = sat_add(rd->tai_ns, e);
	if (!tai_in_range(a) || !tai_in_range(b))
		return 0;
	/*
	 * Both ends around the leap the time itself refers to, so the bound
	 * is that of one monotonic clock.  A POS page does not say whether
	 * its offset is the one before the leap or after it: when the span
	 * meets the inserted second of the other reading too, the bound
	 * covers both.
	 */
	out->earliest_ns = smear_at(a, &lp, start, utc_s);
	out->latest_ns = smear_at(b, &lp, start, utc_s);
	if (rd->leap_indicator == VMCLOCK_LEAP_POS &&
	    pos_other_reading(&lp, rd->tai_offset_sec, a, b, &alt)) {
		int64_t ea = smear_at(a, &alt, start, utc_s);
		int64_t lb = smear_at(b, &alt, start, utc_s);

		if (ea < out->earliest_ns)
			out->earliest_ns = ea;
		if (lb > out->latest_ns)
			out->latest_ns = lb;
	}
	out->bounded = 1;
	return 0;
}

VMC_API int vmclock_utc_civil(const struct vmclock_utc *utc,
			      struct vmclock_civil *out)
{
	int64_t days = floor_div(utc->utc_ns, DAY_NS);
	int64_t tod = utc->utc_ns - days * DAY_NS;

	civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(tod / (3600 * NS));
	out->min = (int)(tod / (60 * NS) % 60);
	out->sec = (int)(tod / NS % 60) + (utc->leap_second ? 1 : 0);
	out->nsec = (uint32_t)(tod % NS);
	return 0;
}
