// SPDX-License-Identifier: MIT
/*
 * daemon_proto.c - a prototype of a cheaper guest_map_calibration() and
 * guest_update() (daemon/guest.c), to measure what the change proposed for
 * vmclockd would buy.  Results are the daemon's bit for bit (the smoke run
 * of bench_daemon compares them over random mappings and calibrations).
 *
 * guest.c rescales the period and both rates with vmclock_div_u192(), a
 * 192-step bitwise long division meant for producers, and guest_period()
 * tries every guest shift from 63 down, one division each: about 30
 * divisions per guest per update.  Here:
 *   - a numerator that fits 128 bits (k <= 64, every realistic mapping) is
 *     divided with the compiler's 128-by-64 division; others still take
 *     vmclock_div_u192();
 *   - the search starts at the largest shift that can fit (from the bit
 *     lengths of the period and the scale), so it ends in one or two tries;
 *   - the rescaled period and rates depend only on the host calibration
 *     and the guest's scale, so the last result is kept per scale: a fleet
 *     of guests with one TSC rate pays for one rescale per update.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-arith.h>

#include "daemon_proto.h"

/* daemon/guest.c's rescale(), unchanged: the slow path. */
static uint64_t rescale_slow(uint64_t p, int k, uint64_t scale, int round)
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

static uint64_t rescale(uint64_t p, int k, uint64_t scale, int round)
{
	unsigned __int128 n, q;
	uint64_t r, q64;

	if (k > 64)
		return rescale_slow(p, k, scale, round);
	n = (unsigned __int128)p << k;
	q = n / scale;
	r = (uint64_t)(n % scale);
	if (q >= VMCLOCK_U64_MAX)
		return VMCLOCK_U64_MAX;
	q64 = (uint64_t)q;
	if (round == VMCLOCK_ROUND_UP && r)
		q64 = vmclock_add_sat(q64, 1);
	else if (round == VMCLOCK_ROUND_NEAREST && r >= scale - r)
		q64 = vmclock_add_sat(q64, 1);
	return q64;
}

static int log2u(uint64_t v)
{
	return v ? 63 - __builtin_clzll(v) : -1;
}

/* guest.c's guest_period(), starting where a fit is possible. */
static int guest_period(const struct guest_mapping *m, uint64_t p,
			unsigned int s, uint64_t *pg, unsigned int *sg)
{
	/* For larger t, p * 2^(b+t-s) / scale >= 2^64: no fit. */
	int t = 64 - log2u(p) - (int)m->frac_bits + (int)s + log2u(m->scale);

	if (t > 63)
		t = 63;
	for (; t >= 0; t--) {
		int k = (int)m->frac_bits + t - (int)s;

		if (k < 0)
			return -ERANGE;
		if (k > 127)
			continue;
		*pg = rescale(p, k, m->scale, VMCLOCK_ROUND_NEAREST);
		if (*pg != VMCLOCK_U64_MAX && *pg) {
			*sg = (unsigned int)t;
			return 0;
		}
	}
	return -ERANGE;
}

/* The per-scale part of a mapping, kept for the next guest. */
struct rates {
	uint64_t scale, p, est, max;
	unsigned int b, s;
	int err;
	uint64_t pg, est_g, max_g;
	unsigned int sg;
};

static void map_rates(const struct guest_mapping *m,
		      const struct vmclock_calibration *host, struct rates *c)
{
	int k;

	c->scale = m->scale;
	c->b = m->frac_bits;
	c->p = host->period_frac;
	c->s = host->period_shift;
	c->est = host->period_esterror_rate;
	c->max = host->period_maxerror_rate;
	c->err = guest_period(m, host->period_frac, host->period_shift, &c->pg,
			      &c->sg);
	if (c->err)
		return;
	k = (int)m->frac_bits + (int)c->sg - (int)host->period_shift;
	c->est_g = rescale(host->period_esterror_rate, k, m->scale,
			   VMCLOCK_ROUND_NEAREST);
	c->max_g = rescale(host->period_maxerror_rate, k, m->scale,
			   VMCLOCK_ROUND_UP);
}

static int same_key(const struct rates *c, const struct guest_mapping *m,
		    const struct vmclock_calibration *h)
{
	return c->scale == m->scale && c->b == m->frac_bits &&
	       c->p == h->period_frac && c->s == h->period_shift &&
	       c->est == h->period_esterror_rate &&
	       c->max == h->period_maxerror_rate;
}

int proto_map_calibration(const struct guest_mapping *m,
			  const struct vmclock_calibration *host,
			  struct vmclock_calibration *out, int memo)
{
	static struct rates cache = { .scale = 0 };
	struct rates tmp, *c = memo ? &cache : &tmp;
	unsigned __int128 hs, corr;
	unsigned int b = m->frac_bits;
	uint64_t rem;

	if (!m->scale || b > 63 || host->period_shift > 63)
		return -EINVAL;
	if (!memo || !same_key(c, m, host))
		map_rates(m, host, c);
	if (c->err)
		return -ERANGE;
	*out = *host;
	out->period_frac = c->pg;
	out->period_shift = (uint8_t)c->sg;
	out->period_esterror_rate = c->est_g;
	out->period_maxerror_rate = c->max_g;
	hs = (unsigned __int128)host->counter_value * m->scale;
	rem = b ? (uint64_t)hs & ((1ull << b) - 1) : 0;
	out->counter_value = (uint64_t)(hs >> b) + m->offset;
	corr = ((unsigned __int128)rem * c->pg) >> (b + c->sg);
	if (out->time_frac < (uint64_t)corr)
		out->time_sec--;
	out->time_frac -= (uint64_t)corr;
	out->switch_counter = guest_map_counter(m, host->switch_counter);
	out->time_maxerror_ns = vmclock_add_sat(out->time_maxerror_ns, 1);
	return 0;
}

/*
 * daemon/guest.c's guest_update() with the mapping above, for a running
 * guest with a known mapping (what the benchmark exercises).  It touches
 * only g->w and g->map_, so that the daemon's struct can change freely.
 */
int proto_guest_update(struct guest *g, const struct guest_update *u)
{
	struct vmclock_calibration gc;
	struct vmclock_publish_result res;
	int ret;

	if (proto_map_calibration(&g->map_, u->cal, &gc, 1))
		return -ERANGE;
	vmclock_writer_begin(g->w);
	ret = vmclock_writer_set_calibration(g->w, &gc, &res);
	vmclock_writer_set_status(g->w, u->status);
	vmclock_writer_set_tai_offset(g->w, u->tai_offset, u->tai_valid);
	vmclock_writer_set_leap(g->w, u->leap);
	vmclock_writer_commit(g->w);
	return ret;
}
