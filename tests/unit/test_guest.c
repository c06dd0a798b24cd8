// SPDX-License-Identifier: MIT
/*
 * test_guest.c - guest pages: the counter mapping gives the host line's
 * time at the mapped counter (random lines and mappings, checked with the
 * exact arithmetic), each event changes exactly the fields it names, and
 * a reopened page is adopted with its marker, generation and mapping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock.h>

#include "../../daemon/guest.h"
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
				  37, 1, VMCLOCK_LEAP_NONE };

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
