// SPDX-License-Identifier: MIT
/*
 * test_guest.c - guest pages: the counter mapping gives the host line's
 * time at the mapped counter (random lines and mappings, checked with the
 * exact arithmetic), is bit for bit the straightforward mapping (every
 * guest shift tried, 192-bit divisions) and an independent big-integer
 * statement of it, with and without the per-scale cache; each event
 * changes exactly the fields it names, and a reopened page is adopted
 * with its marker, generation and mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock.h>

#include "../../daemon/guest.h"
#include "../harness/bignum.h"
#include "../harness/test.h"

static struct vmclock_instant eval(const struct vmclock_calibration *c,
				   uint64_t counter)
{
	struct vmclock_line l = { c->counter_value, c->period_frac, c->time_sec,
				  c->time_frac, c->period_shift };
	struct vmclock_instant t;
	struct vmclock_span sp;

	vmclock_line_eval(&l, counter, &t, &sp);
	return t;
}

/* |a - b| in ns, rounded up. */
static uint64_t diff_ns(const struct vmclock_instant *a,
			const struct vmclock_instant *b)
{
	struct vmclock_u128 g = vmclock_instant_cmp(a, b) >= 0 ?
					vmclock_instant_gap(a, b) :
					vmclock_instant_gap(b, a);

	return vmclock_scale(g, 1000000000u, 64, VMCLOCK_ROUND_UP);
}

static struct vmclock_calibration host_cal(uint64_t hz)
{
	struct vmclock_calibration c = { 0 };

	c.counter_value = test_rand() >> 4;
	c.time_sec = 1795000000 + test_rand_below(1000);
	c.time_frac = test_rand();
	vmclock_period_for_hz(hz, &c.period_frac, &c.period_shift);
	c.period_maxerror_rate = c.period_frac / 2000; /* 500 ppm */
	c.period_esterror_rate = c.period_frac / 1000000;
	c.time_maxerror_ns = 1000;
	c.switch_counter = c.counter_value + 12345;
	return c;
}

TEST(identity_mapping_is_exact)
{
	struct vmclock_calibration h = host_cal(2600000000ull), g;
	struct guest_mapping m;

	guest_mapping_identity(&m);
	REQUIRE(!guest_map_calibration(&m, &h, &g));
	CHECK_EQ_U64(g.counter_value, h.counter_value);
	CHECK_EQ_U64(g.period_frac, h.period_frac);
	CHECK_EQ_INT(g.period_shift, h.period_shift);
	CHECK_EQ_U64(g.time_frac, h.time_frac);
	CHECK_EQ_U64(g.period_maxerror_rate, h.period_maxerror_rate);
	CHECK_EQ_U64(g.switch_counter, h.switch_counter);
}

TEST(random_mappings_give_the_host_time)
{
	int k;

	for (k = 0; k < 2000; k++) {
		uint64_t hz = 10000000 + test_rand_below(5000000000ull);
		struct vmclock_calibration h = host_cal(hz), g;
		unsigned int bits = test_rand_below(2) ? 48 : 32;
		/* Guest counters from 0.25x to 4x the host's. */
		uint64_t scale = (1ull << bits) / 4 +
				 test_rand_below((1ull << bits) * 4);
		struct guest_mapping m = { test_rand(), scale, bits };
		struct vmclock_instant th, tg;
		uint64_t c, guest_tick_ns;
		int j;

		REQUIRE(!guest_map_calibration(&m, &h, &g));
		/* One guest tick, in ns, rounded up. */
		guest_tick_ns = (uint64_t)(1e9L * (long double)(1ull << bits) /
					   ((long double)scale * hz)) + 2;
		for (j = 0; j < 5; j++) {
			c = h.counter_value + test_rand_below(hz * 10) - hz;
			th = eval(&h, c);
			tg = eval(&g, guest_map_counter(&m, c));
			/* The guest counter is the floor: at most one tick. */
			CHECK_MSG(diff_ns(&th, &tg) <= guest_tick_ns,
				  "hz %llu scale %llx: %llu ns apart",
				  (unsigned long long)hz, (unsigned long long)scale,
				  (unsigned long long)diff_ns(&th, &tg));
			/* Never later than the host's time at that counter. */
			CHECK(vmclock_instant_cmp(&tg, &th) <= 0);
		}
		CHECK_EQ_U64(g.time_maxerror_ns, h.time_maxerror_ns + 1);
		CHECK(g.period_maxerror_rate >= g.period_frac / 2001);
	}
}

/*
 * The mapping as it was first written (and as docs/daemon.md states it):
 * every guest shift from 63 down, each rescale a 192-bit division.  The
 * daemon's faster mapping must give exactly this.
 */
static uint64_t plain_rescale(uint64_t p, int k, uint64_t scale, int round)
{
	struct vmclock_u128 d = { 0, scale }, r = { 0, 0 };
	uint64_t n[3] = { 0, 0, 0 }, q;

	if (k == 0)
		n[2] = p;
	else if (k < 64)
		n[1] = p >> (64 - k), n[2] = p << k;
	else if (k == 64)
		n[1] = p;
	else
		n[0] = p >> (128 - k), n[1] = p << (k - 64);
	q = vmclock_div_u192(n, d, &r);
	if (q == VMCLOCK_U64_MAX)
		return q;
	if (round == VMCLOCK_ROUND_UP && (r.lo || r.hi))
		q = vmclock_add_sat(q, 1);
	else if (round == VMCLOCK_ROUND_NEAREST && r.lo >= scale - r.lo)
		q = vmclock_add_sat(q, 1);
	return q;
}

static int plain_map(const struct guest_mapping *m,
		     const struct vmclock_calibration *host,
		     struct vmclock_calibration *out)
{
	unsigned __int128 hs, corr;
	unsigned int sg = 0, b = m->frac_bits;
	uint64_t pg = 0, rem;
	int t, k;

	if (!m->scale || b > 63 || host->period_shift > 63)
		return -EINVAL;
	for (t = 63; t >= 0; t--) {
		k = (int)b + t - (int)host->period_shift;
		if (k < 0)
			return -ERANGE;
		if (k > 127)
			continue;
		pg = plain_rescale(host->period_frac, k, m->scale,
				   VMCLOCK_ROUND_NEAREST);
		if (pg != VMCLOCK_U64_MAX && pg) {
			sg = (unsigned int)t;
			break;
		}
	}
	if (t < 0)
		return -ERANGE;
	*out = *host;
	k = (int)b + (int)sg - (int)host->period_shift;
	out->period_frac = pg;
	out->period_shift = (uint8_t)sg;
	out->period_esterror_rate = plain_rescale(host->period_esterror_rate, k,
						  m->scale, VMCLOCK_ROUND_NEAREST);
	out->period_maxerror_rate = plain_rescale(host->period_maxerror_rate, k,
						  m->scale, VMCLOCK_ROUND_UP);
	hs = (unsigned __int128)host->counter_value * m->scale;
	rem = b ? (uint64_t)hs & ((1ull << b) - 1) : 0;
	out->counter_value = (uint64_t)(hs >> b) + m->offset;
	corr = ((unsigned __int128)rem * pg) >> (b + sg);
	if (out->time_frac < (uint64_t)corr)
		out->time_sec--;
	out->time_frac -= (uint64_t)corr;
	out->switch_counter = guest_map_counter(m, host->switch_counter);
	out->time_maxerror_ns = vmclock_add_sat(out->time_maxerror_ns, 1);
	return 0;
}

/*
 * The same statement in big integers (tests/harness/bignum.h: no 128-bit
 * types, no hardware division): q = floor(p * 2^k / scale) by long
 * division; "no fit" when q >= 2^64 - 1, as the 64-bit code reports it.
 */
static int bn_rescale(uint64_t p, int k, uint64_t scale, int round,
		      uint64_t *out)
{
	struct bn n = bn_shl(bn_u64(p), (unsigned int)k), d = bn_u64(scale);
	struct bn q = bn_u64(0), r = bn_u64(0), one = bn_u64(1), twice;
	uint64_t q64, r64 = 0;
	int i;

	/* No fit when q >= 2^64 - 1, that is when p * 2^k >= (2^64 - 1) * scale. */
	q = bn_u64(VMCLOCK_U64_MAX);
	q = bn_mul(&q, &d);
	if (bn_cmp(&n, &q) >= 0) {
		*out = VMCLOCK_U64_MAX;
		return 0;
	}
	q = bn_u64(0);
	/* p * 2^k < 2^192: the top limbs are zero. */
	for (i = 6 * 32 - 1; i >= 0; i--) {
		r = bn_shl(r, 1);
		r.l[0] |= (n.l[i / 32] >> (i % 32)) & 1;
		q = bn_shl(q, 1);
		if (bn_cmp(&r, &d) >= 0) {
			r = bn_sub(r, &d);
			q = bn_add(q, &one);
		}
	}
	if (!bn_to_u64(&q, &q64) || q64 == VMCLOCK_U64_MAX) {
		*out = VMCLOCK_U64_MAX;
		return 0;
	}
	bn_to_u64(&r, &r64);
	twice = bn_add(r, &r);
	if ((round == VMCLOCK_ROUND_UP && r64) ||
	    (round == VMCLOCK_ROUND_NEAREST && bn_cmp(&twice, &d) >= 0))
		q64++;
	*out = q64;
	return 1;
}

/* floor(@x * @scale / 2^@b) mod 2^64, and what the floor drops. */
static uint64_t bn_map_counter(uint64_t x, uint64_t scale, unsigned int b,
			       uint64_t *dropped)
{
	struct bn p = bn_u64(x), sc = bn_u64(scale), q, back;
	uint64_t low = 0;
	int inexact;

	p = bn_mul(&p, &sc);
	q = bn_shr(p, b, &inexact);
	back = bn_shl(q, b);
	back = bn_sub(p, &back);
	bn_to_u64(&back, &low);
	if (dropped)
		*dropped = low;
	return ((uint64_t)q.l[1] << 32) | q.l[0];
}

static int bn_map(const struct guest_mapping *m,
		  const struct vmclock_calibration *host,
		  struct vmclock_calibration *out)
{
	unsigned int b = m->frac_bits, s = host->period_shift, sg = 0;
	struct bn corr, pgb;
	uint64_t pg = 0, v = 0, rem;
	int t, inexact;

	if (!m->scale || b > 63 || s > 63)
		return -EINVAL;
	for (t = 63; t >= 0; t--) {
		if ((int)b + t - (int)s < 0)
			return -ERANGE;
		bn_rescale(host->period_frac, (int)b + t - (int)s, m->scale,
			   VMCLOCK_ROUND_NEAREST, &pg);
		if (pg != VMCLOCK_U64_MAX && pg) {
			sg = (unsigned int)t;
			break;
		}
	}
	if (t < 0)
		return -ERANGE;
	*out = *host;
	out->period_frac = pg;
	out->period_shift = (uint8_t)sg;
	bn_rescale(host->period_esterror_rate, (int)(b + sg) - (int)s, m->scale,
		   VMCLOCK_ROUND_NEAREST, &out->period_esterror_rate);
	bn_rescale(host->period_maxerror_rate, (int)(b + sg) - (int)s, m->scale,
		   VMCLOCK_ROUND_UP, &out->period_maxerror_rate);
	out->counter_value = bn_map_counter(host->counter_value, m->scale, b,
					    &rem) + m->offset;
	/* The time of the whole guest tick below: rem/2^b host ticks back. */
	corr = bn_u64(rem);
	pgb = bn_u64(pg);
	corr = bn_mul(&corr, &pgb);
	corr = bn_shr(corr, b + sg, &inexact);
	bn_to_u64(&corr, &v);
	if (out->time_frac < v)
		out->time_sec--;
	out->time_frac -= v;
	out->switch_counter = bn_map_counter(host->switch_counter, m->scale, b,
					     NULL) + m->offset;
	out->time_maxerror_ns = host->time_maxerror_ns == VMCLOCK_U64_MAX ?
				VMCLOCK_U64_MAX : host->time_maxerror_ns + 1;
	return 0;
}

static int same_cal(const struct vmclock_calibration *a,
		    const struct vmclock_calibration *b)
{
	return a->counter_value == b->counter_value &&
	       a->time_sec == b->time_sec && a->time_frac == b->time_frac &&
	       a->period_frac == b->period_frac &&
	       a->period_shift == b->period_shift &&
	       a->period_esterror_rate == b->period_esterror_rate &&
	       a->period_maxerror_rate == b->period_maxerror_rate &&
	       a->time_esterror_ns == b->time_esterror_ns &&
	       a->time_maxerror_ns == b->time_maxerror_ns &&
	       a->valid == b->valid && a->switch_counter == b->switch_counter;
}

/* A 64-bit value, often one of the edges of its range. */
static uint64_t edgy(void)
{
	static const uint64_t e[] = { 0, 1, 2, 3, 1ull << 31, 1ull << 32,
				      (1ull << 32) - 1, 1ull << 48,
				      (1ull << 63) - 1, 1ull << 63,
				      (1ull << 63) + 1, VMCLOCK_U64_MAX - 1,
				      VMCLOCK_U64_MAX };

	switch (test_rand_below(4)) {
	case 0:
		return e[test_rand_below(sizeof(e) / sizeof(e[0]))];
	case 1:
		return test_rand() >> test_rand_below(64);
	case 2:
		return (1ull << test_rand_below(64)) + test_rand_below(3) - 1;
	default:
		return test_rand();
	}
}

static unsigned int edgy_bits(void)
{
	static const unsigned int e[] = { 0, 1, 32, 48, 62, 63 };

	return test_rand_below(2) ? e[test_rand_below(6)] :
				    (unsigned int)test_rand_below(64);
}

/* A host calibration: realistic (a counter of 1 MHz .. 10 GHz) or not. */
static void any_host(struct vmclock_calibration *h, int realistic)
{
	memset(h, 0, sizeof(*h));
	h->counter_value = edgy();
	h->time_sec = edgy();
	h->time_frac = edgy();
	h->time_esterror_ns = edgy();
	h->time_maxerror_ns = edgy();
	h->valid = (uint32_t)test_rand_below(16);
	h->switch_counter = edgy();
	if (realistic) {
		vmclock_period_for_hz(1000000 + test_rand_below(10000000000ull),
				      &h->period_frac, &h->period_shift);
		h->period_esterror_rate = h->period_frac >> test_rand_below(40);
		h->period_maxerror_rate = h->period_frac >> test_rand_below(40);
		return;
	}
	h->period_frac = edgy();
	h->period_shift = (uint8_t)edgy_bits();
	h->period_esterror_rate = edgy();
	h->period_maxerror_rate = edgy();
}

static void any_mapping(struct guest_mapping *m, int realistic)
{
	m->offset = edgy();
	m->frac_bits = edgy_bits();
	if (realistic && m->frac_bits >= 8) {
		/* Guest counters from 1/16 to 16 times the host's. */
		m->scale = (1ull << (m->frac_bits - 4)) +
			   test_rand_below(1ull << (m->frac_bits + 4 > 63 ? 63 :
						     m->frac_bits + 4));
		return;
	}
	m->scale = edgy();
}

/* One comparison: the daemon's mapping, cached and not, and both references. */
static int check_one(const struct guest_mapping *m,
		     const struct vmclock_calibration *h,
		     struct guest_rates_cache *cache, unsigned long *ok)
{
	struct vmclock_calibration a, b, c, d;
	int ra, rb, rc, rd, same;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	memset(&c, 0x5a, sizeof(c));
	memset(&d, 0x5a, sizeof(d));
	ra = plain_map(m, h, &a);
	rb = bn_map(m, h, &b);
	rc = guest_map_calibration(m, h, &c);
	rd = guest_map_calibration_cached(m, h, &d, cache);
	same = ra == rb && ra == rc && ra == rd &&
	       (ra || (same_cal(&a, &b) && same_cal(&a, &c) &&
		       same_cal(&a, &d)));
	CHECK_MSG(same,
		  "scale %#llx bits %u, period %#llx shift %u est %#llx max %#llx: "
		  "plain %d (%#llx/%u), bignum %d (%#llx/%u), daemon %d (%#llx/%u), cached %d (%#llx/%u)",
		  (unsigned long long)m->scale, m->frac_bits,
		  (unsigned long long)h->period_frac, h->period_shift,
		  (unsigned long long)h->period_esterror_rate,
		  (unsigned long long)h->period_maxerror_rate,
		  ra, (unsigned long long)a.period_frac, a.period_shift,
		  rb, (unsigned long long)b.period_frac, b.period_shift,
		  rc, (unsigned long long)c.period_frac, c.period_shift,
		  rd, (unsigned long long)d.period_frac, d.period_shift);
	*ok += !ra;
	return same;
}

TEST(mapping_is_the_plain_mapping_bit_for_bit)
{
	struct guest_rates_cache cache;
	struct vmclock_calibration h;
	struct guest_mapping m[24];
	unsigned long ok = 0;
	int i, j, bad = 0;

	memset(&cache, 0, sizeof(cache));
	/*
	 * Rounds of one host calibration and a fleet of mappings that share
	 * few scales (so the cache hits, and entries collide and evict), with
	 * the cache kept across host calibrations, as a caller may keep it.
	 */
	for (i = 0; i < 1000 && bad < 5; i++) {
		int realistic = (int)test_rand_below(3) != 0;

		any_host(&h, realistic);
		for (j = 0; j < 24; j++) {
			if (j < 6 || test_rand_below(3) == 0)
				any_mapping(&m[j], realistic);
			else
				m[j] = m[test_rand_below(6)];
			m[j].offset = edgy();
		}
		for (j = 0; j < 24; j++)
			bad += !check_one(&m[j], &h, &cache, &ok);
		/* The same scales again after a small change of the host line. */
		h.period_maxerror_rate += test_rand_below(2);
		h.period_esterror_rate ^= test_rand_below(2);
		h.period_frac += test_rand_below(3) - 1;
		if (test_rand_below(4) == 0)
			h.period_shift ^= 1;
		for (j = 23; j >= 0; j--)
			bad += !check_one(&m[j], &h, &cache, &ok);
	}
	/* Most realistic inputs map: the comparison is not of errors alone. */
	CHECK_MSG(ok > 20000, "only %lu of the mappings succeeded", ok);
	if (test_verbose())
		printf("  %lu of %d mappings succeeded\n", ok, 1000 * 48);
}

TEST(mapping_edges_bit_for_bit)
{
	struct guest_rates_cache cache;
	struct vmclock_calibration h;
	struct guest_mapping m;
	unsigned long ok = 0;
	unsigned int b, s;
	int k;

	memset(&cache, 0, sizeof(cache));
	/*
	 * A period that rounds up to UINT64_MAX at the largest shift is no fit
	 * (p = scale - 1 at k = 64 gives q = 2^64 - 2, remainder >= scale/2
	 * for scale >= 2/3 * 2^64): the next shift down is taken.
	 */
	any_host(&h, 0);
	m.offset = 5;
	m.frac_bits = 32;
	m.scale = VMCLOCK_U64_MAX - 12345;
	h.period_frac = m.scale - 1;
	h.period_shift = 31;
	CHECK(check_one(&m, &h, &cache, &ok));
	CHECK(guest_map_calibration(&m, &h, &h) == 0 && h.period_shift == 62);
	/* Every frac_bits and host shift, at the extremes of scale and period. */
	for (b = 0; b < 64; b++)
		for (s = 0; s < 64; s++)
			for (k = 0; k < 6; k++) {
				static const uint64_t v[] = { 1, 2, 1ull << 63,
							      VMCLOCK_U64_MAX,
							      (1ull << 63) - 1, 3 };

				any_host(&h, 0);
				m.frac_bits = b;
				m.scale = k < 3 ? 1ull << b : v[test_rand_below(6)];
				h.period_shift = (uint8_t)s;
				h.period_frac = v[k];
				check_one(&m, &h, &cache, &ok);
			}
	m.frac_bits = 64;
	CHECK_EQ_INT(guest_map_calibration(&m, &h, &h), -EINVAL);
	m.frac_bits = 48;
	h.period_shift = 64;
	CHECK_EQ_INT(guest_map_calibration_cached(&m, &h, &h, &cache), -EINVAL);
}

TEST(unrepresentable_mapping_is_refused)
{
	struct vmclock_calibration h = host_cal(2600000000ull), g;
	struct guest_mapping m = { 0, 0, 48 };

	CHECK(guest_map_calibration(&m, &h, &g) < 0);
	m.scale = 1;
	m.frac_bits = 63;
	CHECK(guest_map_calibration(&m, &h, &g) < 0);
}

TEST(names)
{
	CHECK(!guest_name_ok("vm-1.a_B"));
	CHECK(guest_name_ok(""));
	CHECK(guest_name_ok(".hidden"));
	CHECK(guest_name_ok("a/b"));
	CHECK(guest_name_ok("a b"));
	CHECK(guest_name_ok("vm.state"));
	CHECK(guest_name_ok("vm.state.tmp"));
	CHECK(!guest_name_ok("vm.stated"));
	CHECK(guest_name_ok("0123456789012345678901234567890123456789012345678901234567890123"));
}

static char dir[64];

static void open_tmp(struct guest *g)
{
	char path[128], state[140];

	if (!dir[0]) {
		strcpy(dir, "/tmp/test_guest.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(path, sizeof(path), "%s/vm", dir);
	snprintf(state, sizeof(state), "%s/vm.state", dir);
	if (guest_open(g, "vm", path, state, VMCLOCK_TIME_TAI))
		abort();
}

static struct vmclock_abi snap(struct guest *g)
{
	struct vmclock_abi a;

	memcpy(&a, (const void *)vmclock_writer_page(g->w), sizeof(a));
	return a;
}

static void publish(struct guest *g)
{
	struct vmclock_calibration h = host_cal(2600000000ull);
	struct guest_update u = { &h, h.switch_counter, VMCLOCK_STATUS_SYNCHRONIZED,
				  37, 1, VMCLOCK_LEAP_NONE, NULL, 0, NULL };

	CHECK(!guest_update(g, &u));
}

#define EVENT_FLAGS (VMCLOCK_FLAG_DISRUPTION_SOON | VMCLOCK_FLAG_DISRUPTION_IMMINENT)

TEST(events_change_exactly_what_they_say)
{
	struct guest_mapping m = { 1000, 3ull << 47, 48 };
	struct vmclock_abi a, b;
	struct guest g;

	open_tmp(&g);
	a = snap(&g);
	CHECK_EQ_INT(a.clock_status, VMCLOCK_STATUS_INITIALIZING);
	CHECK(a.flags & VMCLOCK_FLAG_TIME_MONOTONIC);
	CHECK(!(a.flags & VMCLOCK_FLAG_NOTIFICATION_PRESENT));
	publish(&g);
	a = snap(&g);
	CHECK_EQ_INT(a.clock_status, VMCLOCK_STATUS_SYNCHRONIZED);

	CHECK(!guest_migrate_out(&g, "soon"));
	b = snap(&g);
	CHECK_EQ_U64(b.flags, a.flags | VMCLOCK_FLAG_DISRUPTION_SOON);
	CHECK_EQ_U64(b.disruption_marker, a.disruption_marker);
	CHECK(!guest_migrate_out(&g, "imminent"));
	b = snap(&g);
	CHECK_EQ_U64(b.flags & EVENT_FLAGS, VMCLOCK_FLAG_DISRUPTION_IMMINENT);
	CHECK(!guest_migrate_out(&g, "clear"));
	b = snap(&g);
	CHECK_EQ_U64(b.flags, a.flags);
	CHECK(guest_migrate_out(&g, "later") < 0);

	guest_migrate_out(&g, "imminent");
	guest_migrated_in(&g);
	b = snap(&g);
	CHECK(b.disruption_marker != a.disruption_marker);
	CHECK_EQ_U64(b.vm_generation_counter, a.vm_generation_counter);
	CHECK_EQ_INT(b.clock_status, VMCLOCK_STATUS_INITIALIZING);
	CHECK_EQ_U64(b.flags & EVENT_FLAGS, 0);
	publish(&g);
	CHECK_EQ_INT(snap(&g).clock_status, VMCLOCK_STATUS_INITIALIZING);
	CHECK(!guest_set_mapping(&g, &m));
	publish(&g);
	b = snap(&g);
	CHECK_EQ_INT(b.clock_status, VMCLOCK_STATUS_SYNCHRONIZED);
	CHECK(b.flags & VMCLOCK_FLAG_TIME_MONOTONIC);

	a = b;
	guest_restored(&g, 0);
	b = snap(&g);
	CHECK(b.disruption_marker != a.disruption_marker);
	CHECK(b.vm_generation_counter != a.vm_generation_counter);
	CHECK(b.flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT);
	CHECK_EQ_INT(b.clock_status, VMCLOCK_STATUS_INITIALIZING);
	a = b;
	guest_restored(&g, 0);
	b = snap(&g);
	CHECK(b.vm_generation_counter != a.vm_generation_counter);
	guest_close(&g, 0);
}

TEST(stopped_page_is_left_alone)
{
	struct vmclock_abi a, b;
	struct guest g;

	open_tmp(&g);
	publish(&g);
	a = snap(&g);
	guest_stop(&g);
	publish(&g);
	b = snap(&g);
	CHECK_EQ_INT(b.seq_count, a.seq_count);
	guest_resume(&g);
	publish(&g);
	b = snap(&g);
	CHECK(b.seq_count != a.seq_count);
	CHECK_EQ_U64(b.disruption_marker, a.disruption_marker);
	guest_close(&g, 0);
}

TEST(reopen_adopts_page_and_state)
{
	struct guest_mapping m = { 77, 5ull << 46, 48 };
	struct vmclock_abi a, b;
	struct guest g;
	char path[128];

	open_tmp(&g);
	guest_set_mapping(&g, &m);
	guest_restored(&g, 0);
	guest_set_mapping(&g, &m);
	publish(&g);
	a = snap(&g);
	guest_close(&g, 0);
	open_tmp(&g);
	b = snap(&g);
	CHECK(vmclock_writer_adopted(g.w));
	CHECK_EQ_U64(b.disruption_marker, a.disruption_marker);
	CHECK_EQ_U64(b.vm_generation_counter, a.vm_generation_counter);
	CHECK(b.seq_count >= a.seq_count);
	CHECK_EQ_U64(g.map_.offset, 77);
	CHECK_EQ_U64(g.map_.scale, 5ull << 46);
	CHECK_EQ_INT(g.awaiting_mapping, 0);
	guest_close(&g, 1);
	snprintf(path, sizeof(path), "%s/vm", dir);
	CHECK(access(path, F_OK) != 0);
	rmdir(dir);
	dir[0] = '\0';
}

/* Structs are zeroed, distinct and, from the slabs, cache-line aligned. */
TEST(guest_alloc_gives_zeroed_aligned_structs_and_reuses_freed)
{
	enum { N = 150 };	/* more than two slabs */
	static struct guest *g[N];
	struct guest *again;
	size_t i, j;

	for (i = 0; i < N; i++) {
		g[i] = guest_alloc();
		REQUIRE(g[i]);
		for (j = 0; j < sizeof(*g[i]); j++)
			if (((const unsigned char *)g[i])[j])
				break;
		CHECK_EQ_U64(j, sizeof(*g[i]));
#if !defined(__SANITIZE_ADDRESS__)
		CHECK_EQ_U64((uintptr_t)g[i] % 64, 0);
#endif
		memset(g[i], 0xa5, sizeof(*g[i]));
		for (j = 0; j < i; j++)
			CHECK(g[j] != g[i]);
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++)
			CHECK(i == j || (char *)g[i] + sizeof(*g[i]) <= (char *)g[j] ||
			      (char *)g[j] + sizeof(*g[j]) <= (char *)g[i]);
	guest_free(g[7]);
	again = guest_alloc();
	REQUIRE(again);
	CHECK(again->fd == 0 && again->name[0] == 0 && again->next == NULL);
	g[7] = again;
	for (i = 0; i < N; i++)
		guest_free(g[i]);
	guest_free(NULL);
	/* All freed: the slabs go back, and a new one comes as needed. */
	guest_release_slabs();
	again = guest_alloc();
	REQUIRE(again);
	CHECK(again->next == NULL && again->w == NULL);
	guest_free(again);
	guest_release_slabs();
}

static void count_ring(void *ctx)
{
	++*(int *)ctx;
}

/* Whether @path exists within 10 s (a spawned command's doing). */
static int appears(const char *path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000; i++) {
		if (access(path, F_OK) == 0)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The writer's hook is installed while, and only while, it has work. */
TEST(hooks_follow_doorbell_command_and_reopen)
{
	char script[160], out[160];
	int rings = 0;
	FILE *f;
	struct guest g;

	open_tmp(&g);
	guest_set_doorbell(&g, count_ring, &rings);
	publish(&g);
	CHECK_EQ_INT(rings, 1);
	guest_set_doorbell(&g, NULL, NULL);
	publish(&g);
	CHECK_EQ_INT(rings, 1);

	snprintf(script, sizeof(script), "%s/notify.sh", dir);
	snprintf(out, sizeof(out), "%s/notified", dir);
	f = fopen(script, "w");
	REQUIRE(f);
	fprintf(f, "#!/bin/sh\necho \"$1 $2\" >> %s\n", out);
	fclose(f);
	REQUIRE(!chmod(script, 0755));
	guest_set_notify(&g, script);
	publish(&g);
	CHECK(appears(out));
	/* A reopened page takes its command from the state file. */
	guest_close(&g, 0);
	unlink(out);
	open_tmp(&g);
	publish(&g);
	CHECK(appears(out));
	guest_set_notify(&g, "");
	guest_close(&g, 0);
	unlink(out);
	unlink(script);
}

/* Pages beyond what may be mapped go through pwrite(): same bytes. */
static void read_file(const char *path, uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "rb");

	memset(buf, 0xee, len);
	if (!f || fread(buf, 1, len, f) != len)
		test_fail(__FILE__, __LINE__, "%s: cannot read", path);
	if (f)
		fclose(f);
}

static int open_in(struct guest *g, const char *d, const char *name)
{
	char path[128], state[140];

	snprintf(path, sizeof(path), "%s/%s", d, name);
	snprintf(state, sizeof(state), "%s.state", path);
	return guest_open(g, name, path, state, VMCLOCK_TIME_TAI);
}

static int open_fds(void)
{
	char p[64];
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n += access(p, F_OK) == 0;
	}
	return n;
}

TEST(pages_past_the_mapping_limit_are_written_with_pwrite)
{
	static const struct guest_limits unlimited = { ULONG_MAX, ULONG_MAX };
	struct guest_limits lim = { 1, 1 };
	struct guest_mapping m = { 1000, 3ull << 47, 48 };
	char d[] = "/tmp/test_guest_io.XXXXXX", path[128];
	static const char *const names[] = { "mapped", "kept", "reopened" };
	uint8_t file[4096], zero[4096 - sizeof(struct vmclock_abi)];
	unsigned long n[3];
	struct guest g[3];
	struct vmclock_abi a, b;
	int i, fds;

	REQUIRE(mkdtemp(d));
	memset(zero, 0, sizeof(zero));
	guest_set_limits(&lim);
	fds = open_fds();
	for (i = 0; i < 3; i++)
		REQUIRE(!open_in(&g[i], d, names[i]));
	CHECK_EQ_INT(g[0].io, GUEST_IO_MAPPED);
	CHECK_EQ_INT(g[1].io, GUEST_IO_PWRITE);
	CHECK_EQ_INT(g[2].io, GUEST_IO_REOPEN);
	/* Only the page without a mapping and within max_fds keeps one. */
	CHECK(g[0].fd < 0 && g[1].fd >= 0 && g[2].fd < 0);
	CHECK_EQ_INT(open_fds(), fds + 1);
	guest_io_counts(n);
	CHECK(n[0] == 1 && n[1] == 1 && n[2] == 1);
	for (i = 0; i < 3; i++) {
		CHECK(!guest_set_mapping(&g[i], &m));
		publish(&g[i]);
		CHECK(!guest_migrate_out(&g[i], "soon"));
		snprintf(path, sizeof(path), "%s/%s", d, names[i]);
		read_file(path, file, sizeof(file));
		a = snap(&g[i]);
		CHECK(!memcmp(file, &a, sizeof(a)));
		CHECK(!memcmp(file + sizeof(a), zero, sizeof(zero)));
		CHECK(a.flags & VMCLOCK_FLAG_DISRUPTION_SOON);
		CHECK_EQ_INT(a.seq_count & 1, 0);
	}
	/* Without a mapping, a page is adopted from the file as it is. */
	a = snap(&g[2]);
	guest_close(&g[2], 0);
	guest_close(&g[1], 1);
	lim.max_mapped = 0;
	guest_set_limits(&lim);
	REQUIRE(!open_in(&g[2], d, names[2]));
	CHECK(vmclock_writer_adopted(g[2].w));
	b = snap(&g[2]);
	CHECK_EQ_U64(b.disruption_marker, a.disruption_marker);
	CHECK_EQ_U64(b.time_sec, a.time_sec);
	CHECK_EQ_U64(b.counter_value, a.counter_value);
	CHECK(b.seq_count >= a.seq_count);
	guest_io_counts(n);
	CHECK(n[0] == 1 && n[1] == 1 && n[2] == 0);
	guest_close(&g[2], 1);
	guest_close(&g[0], 1);
	guest_io_counts(n);
	CHECK(n[0] == 0 && n[1] == 0 && n[2] == 0);
	CHECK_EQ_INT(open_fds(), fds);
	guest_set_limits(&unlimited);
	CHECK(!rmdir(d));
}

/*
 * A reader of a page written with pwrite() never sees a torn page: every
 * field of update k says k, and a snapshot whose seq_count was even and
 * unchanged must be all one k.
 */
struct torn_ctx {
	const volatile struct vmclock_abi *p;
	volatile int stop;
	unsigned long good, torn;
};

static void *torn_reader(void *arg)
{
	struct torn_ctx *t = arg;

	while (!t->stop) {
		uint32_t s1 = __atomic_load_n(&t->p->seq_count, __ATOMIC_ACQUIRE);
		uint64_t cv = t->p->counter_value, sec = t->p->time_sec;
		uint64_t max = t->p->time_maxerror_nanosec;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if ((s1 & 1) || s1 != t->p->seq_count || !cv)
			continue;
		if (cv / 1000 == sec - 1800000000 && max == cv / 1000 + 1)
			t->good++;
		else
			t->torn++;
	}
	return NULL;
}

TEST(pages_written_with_pwrite_are_never_torn)
{
	static const struct guest_limits unlimited = { ULONG_MAX, ULONG_MAX };
	const struct guest_limits none = { 0, ULONG_MAX };
	char d[] = "/tmp/test_guest_torn.XXXXXX", path[128];
	struct vmclock_calibration h = host_cal(2600000000ull);
	struct guest_update u = { &h, 0, VMCLOCK_STATUS_SYNCHRONIZED, 37, 1,
				  VMCLOCK_LEAP_NONE, NULL, 0, NULL };
	struct torn_ctx t = { NULL, 0, 0, 0 };
	struct guest g;
	pthread_t th;
	void *map;
	uint64_t k;
	int fd;

	REQUIRE(mkdtemp(d));
	guest_set_limits(&none);
	REQUIRE(!open_in(&g, d, "vm"));
	guest_set_limits(&unlimited);
	REQUIRE(g.io == GUEST_IO_PWRITE);
	snprintf(path, sizeof(path), "%s/vm", d);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	REQUIRE(map != MAP_FAILED);
	t.p = map;
	REQUIRE(!pthread_create(&th, NULL, torn_reader, &t));
	h.period_frac |= 1ull << 63;
	h.valid = VMCLOCK_CAL_TIME_MAXERROR;
	for (k = 1; k <= 20000 && !t.torn; k++) {
		h.counter_value = k * 1000;
		h.time_sec = 1800000000 + k;
		h.time_frac = 0;
		h.time_maxerror_ns = k;
		h.switch_counter = h.counter_value;
		CHECK(!guest_update(&g, &u));
	}
	t.stop = 1;
	pthread_join(th, NULL);
	CHECK_MSG(!t.torn, "%lu torn snapshots (%lu good)", t.torn, t.good);
	CHECK(t.good > 0);
	if (test_verbose())
		printf("  %lu consistent snapshots, %lu torn\n", t.good, t.torn);
	munmap(map, 4096);
	guest_close(&g, 1);
	CHECK(!rmdir(d));
}

/*
 * guest_update() with a named update (gen) and a rates cache publishes
 * each scale's image moved by the guest's offset; without, every page is
 * mapped and published on its own.  Two fleets of the same guests, one
 * each way, through updates whose lines are at times behind the last (the
 * writer moves them forward), with a switch counter that moves every few
 * pages, guests of one scale, of their own scale, with a mapping error,
 * stopped, migrated and awaiting a mapping: every page the same, and
 * the moved lines counted for the update's one log line.
 */
#define TWIN_GUESTS 12

/*
 * Guest i's mapping: KVM's identity (scale 2^48), AMD's 32 fraction bits
 * at 0.9x, the same scale at 27 bits and a scale of its own, both sharing
 * a rates_slot() with one of those in its batch (guests 1-2, 8-9), with
 * or without a mapping error.
 */
static void twin_mapping(struct guest *g, int i, uint64_t salt)
{
	static const struct {
		uint64_t scale;
		unsigned int frac_bits;
		uint64_t err;
	} maps[TWIN_GUESTS] = {
		{ 1ull << 48, 48, 0 },	  { 3865470566ull, 32, 0 },
		{ 3865470566ull, 27, 0 }, { 1ull << 48, 48, 500 },
		{ 0x830000000001ull, 48, 0 }, { 1ull << 48, 48, 0 },
		{ 3865470566ull, 32, 70 },	  { 0x870000000001ull, 48, 0 },
		{ 1ull << 48, 48, 0 },	  { 0x890000000001ull, 48, 0 },
		{ 3865470566ull, 27, 0 }, { 1ull << 48, 48, 0 },
	};
	struct guest_mapping m = { (uint64_t)i * 0x9e3779b97f4a7c15ull + salt,
				   maps[i].scale, maps[i].frac_bits };

	REQUIRE(!guest_set_mapping(g, &m));
	g->map_err_ns = maps[i].err;
}

TEST(fleet_update_by_image_is_the_mapped_update)
{
	char d[2][32] = { "/tmp/test_guest_twin.XXXXXX",
			  "/tmp/test_guest_twin.XXXXXX" };
	static struct guest_rates_cache cache;
	static struct guest g[2][TWIN_GUESTS];
	struct vmclock_calibration h = host_cal(2600000000ull), c;
	struct guest_moved moved = { 0, 0 };
	uint64_t gen = 0;
	char name[16];
	int f, i, k, differ = 0;

	h.valid = VMCLOCK_CAL_PERIOD_ESTERROR | VMCLOCK_CAL_PERIOD_MAXERROR |
		  VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR;
	memset(&cache, 0, sizeof(cache));
	for (f = 0; f < 2; f++) {
		REQUIRE(mkdtemp(d[f]));
		for (i = 0; i < TWIN_GUESTS; i++) {
			snprintf(name, sizeof(name), "g%d", i);
			REQUIRE(!open_in(&g[f][i], d[f], name));
			twin_mapping(&g[f][i], i, 0);
		}
	}
	for (k = 0; k < 60; k++) {
		struct guest_update u[2] = {
			{ &c, 0, VMCLOCK_STATUS_SYNCHRONIZED, 37, 1,
			  VMCLOCK_LEAP_NONE, &cache, ++gen, &moved },
			{ &c, 0, VMCLOCK_STATUS_SYNCHRONIZED, 37, 1,
			  VMCLOCK_LEAP_NONE, NULL, 0, NULL },
		};
		struct vmclock_instant t;
		uint64_t step = 1 + test_rand_below(2600000000ull);
		int ev = (int)test_rand_below(TWIN_GUESTS * 3);

		/* The next line: at the last one's time, give or take 2 us. */
		t = eval(&h, h.counter_value + step);
		h.counter_value += step;
		h.time_sec = t.sec;
		h.time_frac = t.frac + (test_rand() % 4000 - 2000) * 18446744073ull;
		if (test_rand_below(4) == 0)
			h.period_frac += test_rand_below(1000000) - 500000;
		h.switch_counter = h.counter_value + test_rand_below(100000);
		c = h;
		/* Now and then an update no scale can take: nothing is written. */
		if (k % 10 == 9)
			c.period_shift = 64;
		/* An event for one guest of both fleets. */
		for (f = 0; f < 2 && ev < TWIN_GUESTS; f++) {
			if (k % 3 == 0)
				guest_stop(&g[f][ev]);
			else if (k % 3 == 1)
				guest_migrated_in(&g[f][ev]);
			else
				twin_mapping(&g[f][ev], ev, (uint64_t)k << 30);
		}
		for (i = 0; i < TWIN_GUESTS; i++) {
			int r[2];

			if (i == 4 || i == 8) {	/* the next batch */
				c.switch_counter += test_rand_below(1000);
				u[0].gen = ++gen;
			}
			for (f = 0; f < 2; f++)
				r[f] = guest_update(&g[f][i], &u[f]);
			CHECK_EQ_INT(r[0], r[1]);
		}
		for (i = 0; i < TWIN_GUESTS; i++) {
			struct vmclock_abi a = snap(&g[0][i]), b = snap(&g[1][i]);

			/* Markers are random; the rest is the update's. */
			differ += memcmp(&a.flags, &b.flags,
					 offsetof(struct vmclock_abi,
						  vm_generation_counter) -
						 offsetof(struct vmclock_abi,
							  flags)) != 0;
			if (g[0][i].stopped)
				for (f = 0; f < 2; f++)
					guest_resume(&g[f][i]);
		}
	}
	CHECK_EQ_INT(differ, 0);
	/* Lines behind were moved forward, and counted, not logged. */
	CHECK_MSG(moved.pages > 0 && moved.max_ns > 0,
		  "%lu pages, up to %" PRIu64 " ns", moved.pages, moved.max_ns);
	for (f = 0; f < 2; f++) {
		for (i = 0; i < TWIN_GUESTS; i++)
			guest_close(&g[f][i], 1);
		CHECK(!rmdir(d[f]));
	}
}
