// SPDX-License-Identifier: MIT
/*
 * test_writer.c - the hypervisor writer: page set-up and adoption, the
 * transaction protocol and its notifications, every setter, writer-to-
 * reader round trips, and the TIME_MONOTONIC rule.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "../../lib/monotonic.h"
#include "../harness/test.h"

#define NS 1000000000ll

static union {
	struct vmclock_abi abi;
	uint8_t bytes[4096];
} page __attribute__((aligned(4096)));

static uint32_t notified[64];
static int notifications;

static void on_notify(void *ctx, uint32_t seq)
{
	(void)ctx;
	if (notifications < 64)
		notified[notifications] = seq;
	notifications++;
}

static struct vmclock_writer *new_writer(int adopt)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_TAI,
		.size = 4096,
		.adopt = adopt,
		.publish_window_ticks = 1000000, /* 1 ms at 1 GHz */
		.notify = on_notify,
	};

	notifications = 0;
	return vmclock_writer_create(&page, sizeof(page), &cfg);
}

/* A 1 GHz line through (counter, sec + nsec). */
static struct vmclock_calibration line_1ghz(uint64_t counter, uint64_t sec,
					    uint32_t nsec)
{
	struct vmclock_calibration c;

	memset(&c, 0, sizeof(c));
	c.counter_value = counter;
	c.switch_counter = counter;
	c.time_sec = sec;
	c.time_frac = vmclock_nsec_to_frac(nsec);
	vmclock_period_for_hz(1000000000, &c.period_frac, &c.period_shift);
	c.period_maxerror_rate = c.period_frac / 100000; /* 10 ppm */
	c.period_esterror_rate = c.period_frac / 1000000;
	c.time_maxerror_ns = 1000;
	c.time_esterror_ns = 100;
	c.valid = VMCLOCK_CAL_PERIOD_ESTERROR | VMCLOCK_CAL_PERIOD_MAXERROR |
		  VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR;
	return c;
}

static int64_t tai_at(uint64_t counter)
{
	struct vmclock_reader *r = vmclock_reader_open_memory(&page, sizeof(page));
	struct vmclock_reading rd;
	int64_t t = -1;

	if (r && vmclock_reader_read_at(r, counter, &rd) == 0 &&
	    (rd.valid & VMCLOCK_VALID_TAI))
		t = rd.tai_ns;
	vmclock_reader_close(r);
	return t;
}

TEST(fresh_page_is_valid_basic_mode)
{
	struct vmclock_writer *w;

	memset(&page, 0xa5, sizeof(page));
	w = new_writer(0);
	REQUIRE(w);
	CHECK(!vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.magic, VMCLOCK_MAGIC);
	CHECK_EQ_U64(page.abi.size, 4096);
	CHECK_EQ_U64(page.abi.version, 1);
	CHECK_EQ_U64(page.abi.counter_id, VMCLOCK_COUNTER_X86_TSC);
	CHECK_EQ_U64(page.abi.time_type, VMCLOCK_TIME_TAI);
	CHECK_EQ_U64(page.abi.seq_count & 1, 0);
	CHECK_EQ_U64(page.abi.clock_status, VMCLOCK_STATUS_UNKNOWN);
	CHECK_EQ_U64(page.abi.flags, 0);
	CHECK_EQ_U64(page.bytes[200], 0); /* the rest of the page is zeroed */
	CHECK_EQ_INT(notifications, 1);
	CHECK_EQ_U64(notified[0], page.abi.seq_count);
	CHECK(vmclock_page_validate(&page, sizeof(page), NULL) == 0);
	vmclock_writer_destroy(w);
}

TEST(bad_config_is_refused)
{
	struct vmclock_writer_config cfg = { .size = 64 };

	CHECK(vmclock_writer_create(&page, sizeof(page), &cfg) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	cfg.size = 8192;
	CHECK(vmclock_writer_create(&page, sizeof(page), &cfg) == NULL);
	cfg.size = 4096;
	CHECK(vmclock_writer_create((char *)&page + 1, 4000, &cfg) == NULL);
	CHECK(vmclock_writer_create(NULL, 4096, &cfg) == NULL);
}

TEST(each_setter_is_one_transaction)
{
	struct vmclock_writer *w = new_writer(0);
	uint32_t s0 = page.abi.seq_count;
	int i;

	REQUIRE(w);
	CHECK_EQ_INT(vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED), 0);
	CHECK_EQ_INT(vmclock_writer_set_leap(w, VMCLOCK_LEAP_PRE_POS), 0);
	CHECK_EQ_INT(vmclock_writer_set_smearing_hint(w, VMCLOCK_SMEARING_UTC_SLS), 0);
	CHECK_EQ_INT(vmclock_writer_set_tai_offset(w, 37, 1), 0);
	CHECK_EQ_INT(notifications, 5);
	for (i = 0; i < 5; i++)
		CHECK_EQ_U64(notified[i], s0 + 2 * i);
	CHECK_EQ_U64(page.abi.seq_count, s0 + 8);
	CHECK_EQ_U64(page.abi.clock_status, VMCLOCK_STATUS_SYNCHRONIZED);
	CHECK_EQ_U64(page.abi.leap_indicator, VMCLOCK_LEAP_PRE_POS);
	CHECK_EQ_U64(page.abi.leap_second_smearing_hint, VMCLOCK_SMEARING_UTC_SLS);
	CHECK_EQ_U64(page.abi.tai_offset_sec, 37);
	CHECK(page.abi.flags & VMCLOCK_FLAG_TAI_OFFSET_VALID);
	CHECK_EQ_INT(vmclock_writer_set_status(w, 5), -EINVAL);
	CHECK_EQ_INT(vmclock_writer_set_leap(w, 6), -EINVAL);
	CHECK_EQ_INT(vmclock_writer_set_smearing_hint(w, 3), -EINVAL);
	CHECK_EQ_INT(notifications, 5);
	CHECK_EQ_INT(vmclock_writer_set_tai_offset(w, -5, 0), 0);
	CHECK(!(page.abi.flags & VMCLOCK_FLAG_TAI_OFFSET_VALID));
	CHECK_EQ_U64(page.abi.tai_offset_sec, (uint16_t)-5);
	vmclock_writer_destroy(w);
}

TEST(grouped_changes_notify_once_and_stay_odd_inside)
{
	struct vmclock_writer *w = new_writer(0);
	uint32_t s0 = page.abi.seq_count;

	REQUIRE(w);
	CHECK_EQ_INT(vmclock_writer_begin(w), 0);
	CHECK_EQ_INT(vmclock_writer_begin(w), -EBUSY);
	CHECK(page.abi.seq_count & 1);
	vmclock_writer_bump_disruption(w, 0);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_INITIALIZING);
	CHECK(page.abi.seq_count & 1);
	CHECK_EQ_INT(notifications, 1);
	CHECK_EQ_INT(vmclock_writer_commit(w), 0);
	CHECK_EQ_INT(vmclock_writer_commit(w), -EINVAL);
	CHECK_EQ_U64(page.abi.seq_count, s0 + 2);
	CHECK_EQ_INT(notifications, 2);
	CHECK_EQ_U64(page.abi.disruption_marker, 1);
	vmclock_writer_destroy(w);
}

static int other_hook_calls;
static void *other_hook_ctx;

static void other_hook(void *ctx, uint32_t seq)
{
	(void)seq;
	other_hook_ctx = ctx;
	other_hook_calls++;
}

TEST(set_notify_changes_the_hook_of_later_commits)
{
	struct vmclock_writer *w = new_writer(0);
	int ctx;

	REQUIRE(w);
	CHECK_EQ_INT(notifications, 1);
	other_hook_calls = 0;
	/* Inside a transaction: its own commit calls the new hook. */
	CHECK_EQ_INT(vmclock_writer_begin(w), 0);
	CHECK_EQ_INT(vmclock_writer_set_notify(w, other_hook, &ctx), 0);
	CHECK_EQ_INT(vmclock_writer_commit(w), 0);
	CHECK_EQ_INT(other_hook_calls, 1);
	CHECK(other_hook_ctx == &ctx);
	CHECK_EQ_INT(notifications, 1);
	/* None: commits go on, and nobody is called. */
	CHECK_EQ_INT(vmclock_writer_set_notify(w, NULL, NULL), 0);
	CHECK_EQ_INT(vmclock_writer_set_status(w, VMCLOCK_STATUS_INITIALIZING), 0);
	CHECK_EQ_INT(other_hook_calls, 1);
	CHECK_EQ_INT(notifications, 1);
	CHECK(!(page.abi.seq_count & 1));
	CHECK_EQ_INT(vmclock_writer_set_notify(w, on_notify, NULL), 0);
	CHECK_EQ_INT(vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED), 0);
	CHECK_EQ_INT(notifications, 2);
	CHECK_EQ_U64(notified[1], page.abi.seq_count);
	vmclock_writer_destroy(w);
}

TEST(markers_never_repeat)
{
	struct vmclock_writer *w = new_writer(0);

	REQUIRE(w);
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_U64(page.abi.disruption_marker, 1);
	vmclock_writer_bump_disruption(w, 0x1234);
	CHECK_EQ_U64(page.abi.disruption_marker, 0x1234);
	vmclock_writer_bump_disruption(w, 0x1234); /* same value: still moves */
	CHECK_EQ_U64(page.abi.disruption_marker, 0x1235);
	CHECK(!(page.abi.flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT));
	vmclock_writer_bump_generation(w, 0);
	CHECK_EQ_U64(page.abi.vm_generation_counter, 1);
	CHECK(page.abi.flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT);
	vmclock_writer_bump_generation(w, 1);
	CHECK_EQ_U64(page.abi.vm_generation_counter, 2);
	vmclock_writer_destroy(w);
}

TEST(flags_owned_by_other_setters_are_refused)
{
	struct vmclock_writer *w = new_writer(0);

	REQUIRE(w);
	CHECK_EQ_INT(vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MAXERROR_VALID, 0),
		     -EINVAL);
	CHECK_EQ_INT(vmclock_writer_set_flags(w, VMCLOCK_FLAG_TAI_OFFSET_VALID, 0),
		     -EINVAL);
	CHECK_EQ_INT(vmclock_writer_set_flags(w, 1ull << 10, 0), -EINVAL);
	CHECK_EQ_INT(vmclock_writer_set_flags(w, VMCLOCK_FLAG_DISRUPTION_SOON |
						      VMCLOCK_FLAG_NOTIFICATION_PRESENT, 0),
		     0);
	CHECK_EQ_U64(page.abi.flags, VMCLOCK_FLAG_DISRUPTION_SOON |
					     VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	CHECK_EQ_INT(vmclock_writer_set_flags(w, VMCLOCK_FLAG_DISRUPTION_IMMINENT,
					      VMCLOCK_FLAG_DISRUPTION_SOON), 0);
	CHECK_EQ_U64(page.abi.flags, VMCLOCK_FLAG_DISRUPTION_IMMINENT |
					     VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	vmclock_writer_destroy(w);
}

TEST(calibration_round_trips_through_reader)
{
	struct vmclock_writer *w = new_writer(0);
	struct vmclock_calibration c = line_1ghz(5000000000ull, 1800000000, 250000000);
	struct vmclock_publish_result res;
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	REQUIRE(w);
	vmclock_writer_set_tai_offset(w, 37, 1);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED);
	REQUIRE(vmclock_writer_set_calibration(w, &c, &res) == 0);
	CHECK(!res.adjusted);
	r = vmclock_reader_open_memory(&page, sizeof(page));
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, 5000000000ull, &rd) == 0);
	CHECK_EQ_INT(rd.tai_ns, 1800000000 * NS + 250000000);
	CHECK_EQ_INT(rd.utc_ns, rd.tai_ns - 37 * NS);
	CHECK_EQ_U64(rd.maxerror_ns, 1000);
	CHECK_EQ_U64(rd.esterror_ns, 100);
	CHECK(rd.flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID);
	REQUIRE(vmclock_reader_read_at(r, 5000000000ull + 1000, &rd) == 0);
	/* 1000 ticks = 1000 ns less the period's sub-attosecond rounding. */
	CHECK_EQ_INT(rd.tai_ns, 1800000000 * NS + 250000000 + 999);
	/* Withdrawing precise time clears the VALID flags. */
	vmclock_writer_clear_calibration(w);
	REQUIRE(vmclock_reader_read_at(r, 5000000000ull, &rd) == 0);
	CHECK(!(rd.valid & VMCLOCK_VALID_TIME));
	CHECK(!(rd.flags & (VMCLOCK_FLAG_TIME_MAXERROR_VALID |
			    VMCLOCK_FLAG_PERIOD_ESTERROR_VALID)));
	CHECK(rd.flags & VMCLOCK_FLAG_TAI_OFFSET_VALID);
	vmclock_reader_close(r);
	vmclock_writer_destroy(w);
}

TEST(partial_error_validity_is_published)
{
	struct vmclock_writer *w = new_writer(0);
	struct vmclock_calibration c = line_1ghz(0, 1800000000, 0);

	REQUIRE(w);
	c.valid = VMCLOCK_CAL_TIME_MAXERROR;
	REQUIRE(vmclock_writer_set_calibration(w, &c, NULL) == 0);
	CHECK_EQ_U64(page.abi.flags & (0xfull << 3), VMCLOCK_FLAG_TIME_MAXERROR_VALID);
	CHECK_EQ_U64(page.abi.time_esterror_nanosec, 0);
	CHECK_EQ_U64(page.abi.counter_period_maxerror_rate_frac_sec, 0);
	CHECK_EQ_U64(page.abi.time_maxerror_nanosec, 1000);
	c.period_shift = 64;
	CHECK_EQ_INT(vmclock_writer_set_calibration(w, &c, NULL), -EINVAL);
	c.period_shift = 29;
	c.period_frac = 0;
	CHECK_EQ_INT(vmclock_writer_set_calibration(w, &c, NULL), -EINVAL);
	vmclock_writer_destroy(w);
}

/*
 * TIME_MONOTONIC: the host clock was slightly ahead and a new fit says the
 * time at "now" is 3 us earlier and the counter a little slower.  Published
 * naively, a reader would see time step back at the switch.
 */
static void monotonic_case(enum vmclock_monotonic_policy policy)
{
	const uint64_t now = 10000000000ull; /* switch at 10 s of counter */
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC, .time_type = VMCLOCK_TIME_TAI,
		.size = 4096, .policy = policy, .publish_window_ticks = 1000000,
	};
	struct vmclock_calibration old = line_1ghz(0, 1800000000, 0);
	struct vmclock_calibration nl = line_1ghz(now, 1800000010, 0);
	struct vmclock_publish_result res;
	struct vmclock_writer *w = vmclock_writer_create(&page, sizeof(page), &cfg);
	static int64_t old_at[1001];
	int64_t before, after;
	uint32_t seq;
	uint64_t c;

	REQUIRE(w);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	REQUIRE(vmclock_writer_set_calibration(w, &old, NULL) == 0);
	for (c = 0; c <= 1000; c++)
		old_at[c] = tai_at(now + c * 1000);
	before = old_at[1000]; /* old line, end of the window */
	nl.time_frac = 0;
	nl.time_sec = 1800000009;
	nl.time_frac = vmclock_nsec_to_frac(999997000); /* 3 us behind */
	nl.period_frac -= nl.period_frac / 100000;	/* and 10 ppm slower */
	seq = page.abi.seq_count;
	if (policy == VMCLOCK_MONOTONIC_REFUSE) {
		CHECK_EQ_INT(vmclock_writer_set_calibration(w, &nl, &res), -ERANGE);
		CHECK_EQ_U64(page.abi.seq_count, seq); /* page untouched */
		CHECK_EQ_INT(tai_at(now + 1000000), before);
		vmclock_writer_destroy(w);
		return;
	}
	REQUIRE(vmclock_writer_set_calibration(w, &nl, &res) == 0);
	CHECK(res.adjusted);
	/* 3 us at the switch plus 10 ppm of the 1 ms window. */
	CHECK_MSG(res.adjust_ns >= 3010 && res.adjust_ns <= 3012, "adjust %llu",
		  (unsigned long long)res.adjust_ns);
	CHECK_EQ_U64(page.abi.time_maxerror_nanosec, 1000 + res.adjust_ns);
	CHECK_EQ_U64(page.abi.time_esterror_nanosec, 100 + res.adjust_ns);
	/* Over the whole window the new line is never behind the old one. */
	for (c = 0; c <= 1000; c++) {
		after = tai_at(now + c * 1000);
		CHECK_MSG(after >= old_at[c], "counter +%llu us: %lld < %lld",
			  (unsigned long long)c, (long long)after, (long long)old_at[c]);
	}
	after = tai_at(now + 1000000);
	CHECK(after >= before);
	vmclock_writer_destroy(w);
}

TEST(time_monotonic_adjusts_a_backward_step)
{
	monotonic_case(VMCLOCK_MONOTONIC_ADJUST);
}

TEST(time_monotonic_refuses_when_asked)
{
	monotonic_case(VMCLOCK_MONOTONIC_REFUSE);
}

TEST(without_time_monotonic_steps_are_published_as_is)
{
	struct vmclock_writer *w = new_writer(0);
	struct vmclock_calibration old = line_1ghz(0, 1800000000, 0);
	struct vmclock_calibration nl = line_1ghz(1000, 1700000000, 0);
	struct vmclock_publish_result res;

	REQUIRE(w);
	REQUIRE(vmclock_writer_set_calibration(w, &old, NULL) == 0);
	REQUIRE(vmclock_writer_set_calibration(w, &nl, &res) == 0);
	CHECK(!res.adjusted);
	CHECK_EQ_INT(tai_at(1000), 1700000000 * NS);
	vmclock_writer_destroy(w);
}

TEST(forward_recalibration_is_not_adjusted)
{
	struct vmclock_writer *w = new_writer(0);
	struct vmclock_calibration old = line_1ghz(0, 1800000000, 0);
	struct vmclock_calibration nl = line_1ghz(1000000000, 1800000001, 500);
	struct vmclock_publish_result res;

	REQUIRE(w);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	REQUIRE(vmclock_writer_set_calibration(w, &old, NULL) == 0);
	REQUIRE(vmclock_writer_set_calibration(w, &nl, &res) == 0);
	CHECK(!res.adjusted);
	CHECK_EQ_U64(page.abi.time_maxerror_nanosec, 1000);
	vmclock_writer_destroy(w);
}

TEST(adopting_keeps_state_and_continues_seq)
{
	struct vmclock_writer *w = new_writer(0);
	uint32_t s0;
	struct vmclock_calibration c = line_1ghz(0, 1800000000, 0);

	REQUIRE(w);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	vmclock_writer_set_calibration(w, &c, NULL);
	vmclock_writer_bump_disruption(w, 41);
	vmclock_writer_bump_generation(w, 9);
	vmclock_writer_destroy(w);
	s0 = page.abi.seq_count;
	/* A writer that died mid-update leaves seq odd. */
	page.abi.seq_count = s0 + 1;
	w = new_writer(1);
	REQUIRE(w);
	CHECK(vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.seq_count, s0 + 2);
	CHECK_EQ_U64(page.abi.disruption_marker, 41);
	CHECK_EQ_U64(page.abi.vm_generation_counter, 9);
	CHECK(page.abi.flags & VMCLOCK_FLAG_TIME_MONOTONIC);
	CHECK_EQ_INT(tai_at(0), 1800000000 * NS);
	/* The adopted line still guards TIME_MONOTONIC. */
	c = line_1ghz(1000, 1799999999, 0);
	c.switch_counter = 1000;
	{
		struct vmclock_publish_result res;

		REQUIRE(vmclock_writer_set_calibration(w, &c, &res) == 0);
		CHECK(res.adjusted);
		CHECK(tai_at(1000) >= 1800000000 * NS + 1000);
	}
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_U64(page.abi.disruption_marker, 42);
	vmclock_writer_destroy(w);
}

TEST(adopting_refuses_a_different_counter_or_time_type)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_ARM_VCNT, .time_type = VMCLOCK_TIME_TAI,
		.size = 4096, .adopt = 1,
	};
	struct vmclock_writer *w = new_writer(0);

	REQUIRE(w);
	vmclock_writer_destroy(w);
	CHECK(vmclock_writer_create(&page, sizeof(page), &cfg) == NULL);
	CHECK_EQ_INT(errno, EINVAL);
	/* An invalid page is not adopted: it is initialised. */
	page.abi.magic = 0;
	w = vmclock_writer_create(&page, sizeof(page), &cfg);
	REQUIRE(w);
	CHECK(!vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.counter_id, VMCLOCK_COUNTER_ARM_VCNT);
	vmclock_writer_destroy(w);
}

/* Readers cache by seq_count: re-initialising in place must not repeat one. */
TEST(reinit_in_place_never_repeats_seq)
{
	struct vmclock_writer *w = new_writer(0);
	uint32_t before;

	REQUIRE(w);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED);
	vmclock_writer_destroy(w);
	before = page.abi.seq_count;
	w = new_writer(0);
	REQUIRE(w);
	CHECK(!vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.seq_count, before + 2);
	CHECK_EQ_U64(page.abi.clock_status, VMCLOCK_STATUS_UNKNOWN);
	vmclock_writer_destroy(w);
}

/* A reader holding a decoded page sees a re-initialised one, not its cache. */
TEST(reader_cache_follows_reinit)
{
	struct vmclock_writer *w = new_writer(0);
	struct vmclock_calibration c = line_1ghz(0, 1800000000, 0);
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	REQUIRE(w);
	vmclock_writer_set_calibration(w, &c, NULL);
	r = vmclock_reader_open_memory(&page, sizeof(page));
	REQUIRE(r);
	REQUIRE(vmclock_reader_read_at(r, 0, &rd) == 0);
	CHECK(rd.valid & VMCLOCK_VALID_TAI);
	REQUIRE(vmclock_reader_read_at(r, 0, &rd) == 0); /* from the cache */
	CHECK(rd.valid & VMCLOCK_VALID_TAI);
	vmclock_writer_destroy(w);
	w = new_writer(0);
	REQUIRE(w);
	REQUIRE(vmclock_reader_read_at(r, 0, &rd) == 0);
	CHECK(!(rd.valid & VMCLOCK_VALID_TAI)); /* basic mode again */
	vmclock_reader_close(r);
	vmclock_writer_destroy(w);
}

/* Found by the reliability work: a 2^64 s step back slipped through. */
TEST(time_monotonic_holds_at_the_extremes)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC, .time_type = VMCLOCK_TIME_TAI,
		.size = 4096, .policy = VMCLOCK_MONOTONIC_REFUSE,
	};
	struct vmclock_calibration old = {
		.time_sec = UINT64_MAX, .time_frac = UINT64_MAX,
		.period_frac = 1, .period_shift = 1,
	};
	struct vmclock_calibration nl = {
		.counter_value = 1, .period_frac = 1, .switch_counter = 1,
	};
	struct vmclock_writer *w = vmclock_writer_create(&page, sizeof(page), &cfg);

	REQUIRE(w);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	REQUIRE(vmclock_writer_set_calibration(w, &old, NULL) == 0);
	CHECK_EQ_INT(vmclock_writer_set_calibration(w, &nl, NULL), -ERANGE);
	CHECK_EQ_U64(page.abi.time_sec, UINT64_MAX);
	vmclock_writer_destroy(w);
	/* ADJUST cannot move a line 2^64 s forward either. */
	cfg.policy = VMCLOCK_MONOTONIC_ADJUST;
	w = vmclock_writer_create(&page, sizeof(page), &cfg);
	REQUIRE(w);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	REQUIRE(vmclock_writer_set_calibration(w, &old, NULL) == 0);
	CHECK_EQ_INT(vmclock_writer_set_calibration(w, &nl, NULL), -ERANGE);
	vmclock_writer_destroy(w);
}

/* Adopting a page at rest changes nothing a watcher could see. */
TEST(adopting_a_page_at_rest_does_not_commit)
{
	struct vmclock_writer *w = new_writer(0);
	uint32_t seq;

	REQUIRE(w);
	vmclock_writer_destroy(w);
	seq = page.abi.seq_count;
	w = new_writer(1);
	REQUIRE(w);
	CHECK(vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.seq_count, seq);
	CHECK_EQ_INT(notifications, 0);
	vmclock_writer_destroy(w);
}

/* After a disruption the next line may be anywhere: not held to the old. */
TEST(disruption_releases_the_monotonic_check)
{
	struct vmclock_writer *w = new_writer(0);
	struct vmclock_calibration old = line_1ghz(0, 1800000000, 0);
	struct vmclock_calibration nl = line_1ghz(5, 1700000000, 0);
	struct vmclock_publish_result res;
	struct vmclock_line l;

	REQUIRE(w);
	CHECK_EQ_INT(vmclock_writer_line(w, &l), -ENODATA);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	REQUIRE(vmclock_writer_set_calibration(w, &old, NULL) == 0);
	REQUIRE(vmclock_writer_line(w, &l) == 0);
	CHECK_EQ_U64(l.time_sec, 1800000000);
	vmclock_writer_begin(w);
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_INT(vmclock_writer_line(w, &l), -ENODATA);
	REQUIRE(vmclock_writer_set_calibration(w, &nl, &res) == 0);
	vmclock_writer_commit(w);
	CHECK(!res.adjusted);
	CHECK_EQ_INT(tai_at(5), 1700000000 * NS);
	CHECK(page.abi.flags & VMCLOCK_FLAG_TIME_MONOTONIC);
	vmclock_writer_destroy(w);
}

/*
 * The writer's quick TIME_MONOTONIC test (lib/monotonic.h) against the
 * exact check it stands in for: both lines evaluated with
 * vmclock_line_eval() at both ends of the window, "not behind" when every
 * evaluation is in range and the new time is at or after the old one at
 * each end (vmclock_instant_gap() is 0).  The quick test may only say yes
 * when the exact check does; it must also say yes whenever the exact
 * check does, or it would not be quick.
 */
static int exact_not_behind(const struct vmclock_line *old,
			    const struct vmclock_line *nl, uint64_t c,
			    uint64_t window)
{
	struct vmclock_instant to, tn;
	struct vmclock_span sp;
	struct vmclock_u128 g;
	int end;

	for (end = 0; end < 2; end++, c += window) {
		if (vmclock_line_eval(old, c, &to, &sp) ||
		    vmclock_line_eval(nl, c, &tn, &sp))
			return 0;
		g = vmclock_instant_gap(&to, &tn);
		if (g.hi || g.lo)
			return 0;
	}
	return 1;
}

static uint64_t edgy64(void)
{
	static const uint64_t e[] = { 0, 1, 2, (1ull << 63) - 1, 1ull << 63,
				      UINT64_MAX - 1, UINT64_MAX };

	switch (test_rand_below(4)) {
	case 0:
		return e[test_rand_below(sizeof(e) / sizeof(e[0]))];
	case 1:
		return test_rand() >> test_rand_below(64);
	default:
		return test_rand();
	}
}

/* A realistic line: 1 MHz .. 10 GHz, a 2026-ish time, anchor anywhere. */
static struct vmclock_line some_line(void)
{
	struct vmclock_line l;
	uint64_t p;
	uint8_t s;

	vmclock_period_for_hz(1000000 + test_rand_below(10000000000ull), &p, &s);
	l.counter_value = test_rand() >> test_rand_below(8);
	l.period_frac = p;
	l.shift = s;
	l.time_sec = 1700000000 + test_rand_below(100000000);
	l.time_frac = test_rand();
	return l;
}

/* The old line's exact time at @c, moved by @units of 2^-64 s (signed). */
static int at_plus(const struct vmclock_line *l, uint64_t c, int64_t units,
		   uint64_t *sec, uint64_t *frac, int *rem)
{
	struct vmclock_instant t;
	struct vmclock_span sp;
	uint64_t f;

	if (vmclock_line_eval(l, c, &t, &sp))
		return -1;
	f = t.frac + (uint64_t)units;
	*sec = t.sec + (units >= 0 ? (f < t.frac) : -(uint64_t)(f > t.frac));
	*frac = f;
	*rem = t.rem != 0;
	return 0;
}

/* Near-equal lines: what vmclockd's slewing and mapping produce. */
static struct vmclock_line near_line(const struct vmclock_line *old,
				     uint64_t c, uint64_t window)
{
	struct vmclock_line nl = *old;
	uint64_t at = test_rand_below(2) ? c + window : c;
	int rem;

	switch (test_rand_below(6)) {
	case 0: /* the same line */
		return nl;
	case 1: /* the same line anchored elsewhere, or exactly on it */
		nl.counter_value = at;
		break;
	case 2: /* a period a few units off */
		nl.period_frac += test_rand_below(7) - 3;
		nl.counter_value = at;
		break;
	case 3: /* the same period at the next shift */
		if (nl.shift < 63 && nl.period_frac < (1ull << 63)) {
			nl.period_frac <<= 1;
			nl.period_frac += test_rand_below(3) - 1;
			nl.shift++;
		} else if (nl.shift > 0) {
			nl.period_frac >>= 1;
			nl.shift--;
		}
		nl.counter_value = at;
		break;
	case 4: /* slewed: slower by a few ppb to ppm */
		nl.period_frac -= nl.period_frac >> (20 + test_rand_below(10));
		nl.counter_value = at;
		break;
	default: /* anchored elsewhere, any period */
		nl.counter_value = at - test_rand_below(3000000) + 1500000;
		nl.period_frac = test_rand() | 1ull << 63;
		break;
	}
	if (at_plus(old, nl.counter_value, (int64_t)test_rand_below(7) - 3,
		    &nl.time_sec, &nl.time_frac, &rem))
		nl.time_sec = test_rand();
	return nl;
}

static int compare_tests(const struct vmclock_line *old,
			 const struct vmclock_line *nl, uint64_t c,
			 uint64_t window, unsigned long *yes)
{
	int e = exact_not_behind(old, nl, c, window);
	int q = vmc_not_behind(old, nl, c, window);

	CHECK_MSG(e == q,
		  "old (%llu, %#llx >> %u, %llu.%016llx) new (%llu, %#llx >> %u, %llu.%016llx) at %llu + %llu: exact %d quick %d",
		  (unsigned long long)old->counter_value,
		  (unsigned long long)old->period_frac, old->shift,
		  (unsigned long long)old->time_sec,
		  (unsigned long long)old->time_frac,
		  (unsigned long long)nl->counter_value,
		  (unsigned long long)nl->period_frac, nl->shift,
		  (unsigned long long)nl->time_sec,
		  (unsigned long long)nl->time_frac, (unsigned long long)c,
		  (unsigned long long)window, e, q);
	*yes += (unsigned long)e;
	return e == q;
}

TEST(quick_monotonic_test_is_the_exact_one)
{
	unsigned long yes = 0, n = 0;
	int i, bad = 0;

	for (i = 0; i < 300000 && bad < 5; i++, n++) {
		struct vmclock_line old, nl;
		uint64_t c, window = test_rand_below(2) ? 1000000 :
							 edgy64() >> test_rand_below(64);

		if (test_rand_below(4)) {
			old = some_line();
			c = old.counter_value + test_rand_below(20000000000ull) -
			    10000000000ull;
			nl = near_line(&old, c, window);
		} else {
			/* Anything: every field at its edges, shifts 0..63. */
			old = (struct vmclock_line){ edgy64(), edgy64(), edgy64(),
						     edgy64(),
						     (uint8_t)test_rand_below(64) };
			nl = (struct vmclock_line){ edgy64(), edgy64(), edgy64(),
						    edgy64(),
						    (uint8_t)test_rand_below(64) };
			c = edgy64();
			if (test_rand_below(2))
				nl = near_line(&old, c, window);
		}
		bad += !compare_tests(&old, &nl, c, window, &yes);
	}
	/* Both answers occur often: the comparison is not one-sided. */
	CHECK_MSG(yes > n / 5 && yes < n - n / 5, "%lu of %lu not behind", yes, n);
}

/* Ties to the last 2^-128 s: equal times are not behind, one unit less is. */
TEST(quick_monotonic_test_on_exact_ties)
{
	unsigned long yes = 0;
	int i;

	for (i = 0; i < 20000; i++) {
		struct vmclock_line old = some_line(), nl = old;
		uint64_t c = old.counter_value + test_rand_below(4000000000ull) -
			     2000000000ull;

		/* The same line at twice the period and one more shift. */
		if (old.shift == 63 || old.period_frac >> 63)
			continue;
		nl.period_frac <<= 1;
		nl.shift++;
		compare_tests(&old, &nl, c, 1000000, &yes);
		CHECK(vmc_not_behind(&old, &nl, c, 1000000));
		/* Now 2^-(65 + shift) s per tick slower: behind at a later end. */
		nl.period_frac--;
		compare_tests(&old, &nl, c, 1000000, &yes);
		/* And the same, anchored at the later end: behind before it. */
		nl.counter_value = c + 1000000;
		if (!at_plus(&old, nl.counter_value, 0, &nl.time_sec,
			     &nl.time_frac, &(int){ 0 }))
			compare_tests(&old, &nl, c, 1000000, &yes);
	}
	/* Before 0 s and beyond 2^64 s the quick test declines. */
	{
		struct vmclock_line l = { 10, 1ull << 63, 0, 5, 0 };

		CHECK(!vmc_not_behind(&l, &l, 0, 1));
		l.time_sec = UINT64_MAX;
		l.time_frac = UINT64_MAX;
		CHECK(!vmc_not_behind(&l, &l, 11, 1));
		CHECK(vmc_not_behind(&l, &l, 10, 0));
		l.shift = 64;
		CHECK(!vmc_not_behind(&l, &l, 10, 0));
	}
}

/*
 * Through the writer: published after a random old line, a new line is
 * unchanged exactly when the exact check finds no gap, and otherwise
 * moved forward by the gap the exact check measures.
 */
TEST(time_monotonic_publishes_what_the_exact_check_says)
{
	int i;

	for (i = 0; i < 20000; i++) {
		struct vmclock_writer *w = new_writer(0);
		struct vmclock_line old = some_line(), nl, got;
		struct vmclock_calibration co, cn;
		struct vmclock_publish_result res;
		uint64_t c = old.counter_value + test_rand_below(2000000000ull);
		int ret, holds;

		REQUIRE(w);
		nl = near_line(&old, c, 1000000);
		memset(&co, 0, sizeof(co));
		co.counter_value = old.counter_value;
		co.period_frac = old.period_frac;
		co.period_shift = old.shift;
		co.time_sec = old.time_sec;
		co.time_frac = old.time_frac;
		co.valid = VMCLOCK_CAL_TIME_MAXERROR;
		cn = co;
		cn.counter_value = nl.counter_value;
		cn.period_frac = nl.period_frac;
		cn.period_shift = nl.shift;
		cn.time_sec = nl.time_sec;
		cn.time_frac = nl.time_frac;
		cn.switch_counter = c;
		vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
		REQUIRE(vmclock_writer_set_calibration(w, &co, NULL) == 0);
		holds = exact_not_behind(&old, &nl, c, 1000000);
		ret = vmclock_writer_set_calibration(w, &cn, &res);
		REQUIRE(vmclock_writer_line(w, &got) == 0);
		if (holds) {
			CHECK_EQ_INT(ret, 0);
			CHECK(!res.adjusted);
			CHECK_EQ_U64(got.time_sec, nl.time_sec);
			CHECK_EQ_U64(got.time_frac, nl.time_frac);
		} else if (!ret) {
			CHECK(res.adjusted);
			CHECK(exact_not_behind(&old, &got, c, 1000000));
			CHECK_EQ_U64(page.abi.time_maxerror_nanosec, res.adjust_ns);
		}
		vmclock_writer_destroy(w);
	}
}

/*
 * vmclock_writer_publish() is the four setters in one transaction: the
 * same page bytes, the same result and the same notifications, over random
 * updates (lines ahead, behind and refused, bad status and leap values),
 * also inside a transaction the caller holds.
 */
static union {
	struct vmclock_abi abi;
	uint8_t bytes[4096];
} page2 __attribute__((aligned(4096)));

static uint32_t last_seq[2];
static int count[2];

static void on_notify2(void *ctx, uint32_t seq)
{
	int i = ctx == &page2;

	last_seq[i] = seq;
	count[i]++;
}

TEST(publish_is_the_four_setters_in_one_transaction)
{
	int i, k;

	for (i = 0; i < 400; i++) {
		struct vmclock_writer_config cfg = {
			.counter_id = VMCLOCK_COUNTER_X86_TSC,
			.time_type = VMCLOCK_TIME_TAI, .size = 4096,
			.policy = test_rand_below(2) ? VMCLOCK_MONOTONIC_ADJUST :
						       VMCLOCK_MONOTONIC_REFUSE,
			.publish_window_ticks = test_rand_below(3000000),
			.notify = on_notify2, .notify_ctx = &page,
		};
		struct vmclock_writer *a, *b;
		struct vmclock_line prev = some_line();
		uint64_t c = prev.counter_value;

		memset(&page, 0, sizeof(page));
		a = vmclock_writer_create(&page, sizeof(page), &cfg);
		REQUIRE(a);
		if (test_rand_below(4))
			vmclock_writer_set_flags(a, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
		memcpy(&page2, &page, sizeof(page));
		cfg.adopt = 1;
		cfg.notify_ctx = &page2;
		b = vmclock_writer_create(&page2, sizeof(page2), &cfg);
		REQUIRE(b);
		count[0] = count[1] = 0;
		for (k = 0; k < 20; k++) {
			struct vmclock_calibration cal;
			struct vmclock_publish_result ra, rb;
			struct vmclock_writer_update u;
			struct vmclock_line nl;
			int ea, eb, held = test_rand_below(4) == 0;

			c += test_rand_below(3000000000ull);
			nl = near_line(&prev, c, cfg.publish_window_ticks);
			memset(&cal, 0, sizeof(cal));
			cal.counter_value = nl.counter_value;
			cal.period_frac = test_rand_below(20) ? nl.period_frac : 0;
			cal.period_shift = test_rand_below(20) ? nl.shift : 64;
			cal.time_sec = nl.time_sec;
			cal.time_frac = nl.time_frac;
			cal.period_esterror_rate = test_rand();
			cal.period_maxerror_rate = test_rand();
			cal.time_esterror_ns = edgy64();
			cal.time_maxerror_ns = edgy64();
			cal.valid = (uint32_t)test_rand_below(16);
			cal.switch_counter = c;
			u = (struct vmclock_writer_update){
				test_rand_below(8) ? &cal : NULL,
				(uint8_t)test_rand_below(6),
				(uint8_t)test_rand_below(7),
				(int16_t)test_rand(), (int)test_rand_below(2) };
			vmclock_writer_begin(a);
			ea = u.cal ? vmclock_writer_set_calibration(a, u.cal, &ra) : 0;
			if (!u.cal)
				memset(&ra, 0, sizeof(ra));
			if (vmclock_writer_set_status(a, u.status) && !ea)
				ea = -EINVAL;
			vmclock_writer_set_tai_offset(a, u.tai_offset_sec, u.tai_valid);
			if (vmclock_writer_set_leap(a, u.leap) && !ea)
				ea = -EINVAL;
			vmclock_writer_commit(a);
			if (held)
				vmclock_writer_begin(b);
			eb = vmclock_writer_publish(b, &u, &rb);
			if (held) {
				CHECK(page2.abi.seq_count & 1);
				vmclock_writer_commit(b);
			}
			CHECK_EQ_INT(ea, eb);
			CHECK_EQ_INT(ra.adjusted, rb.adjusted);
			CHECK_EQ_U64(ra.adjust_ns, rb.adjust_ns);
			CHECK(!memcmp(&page, &page2, sizeof(page)));
			CHECK_EQ_INT(count[0], count[1]);
			CHECK_EQ_U64(last_seq[0], last_seq[1]);
			if (vmclock_writer_line(b, &prev))
				prev = some_line();
		}
		vmclock_writer_destroy(a);
		vmclock_writer_destroy(b);
	}
}

/*
 * A writer on the struct alone (a shadow of a page it cannot map): the
 * size field says the whole page, only the struct is written, and a
 * valid shadow of a page of that size is adopted.
 */
TEST(a_shadow_of_the_struct_stands_for_a_page)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC, .time_type = VMCLOCK_TIME_TAI,
		.size = 4096, .adopt = 1,
	};
	struct vmclock_calibration c = line_1ghz(0, 1800000000, 0);
	struct vmclock_writer *w;
	uint32_t seq;

	memset(&page, 0xa5, sizeof(page));
	w = vmclock_writer_create(&page, sizeof(struct vmclock_abi), &cfg);
	REQUIRE(w);
	CHECK(!vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.size, 4096);
	CHECK_EQ_U64(page.abi.magic, VMCLOCK_MAGIC);
	/* Only the struct is the writer's: the bytes after it are not touched. */
	CHECK_EQ_U64(page.bytes[sizeof(struct vmclock_abi)], 0xa5);
	CHECK_EQ_U64(page.bytes[4095], 0xa5);
	CHECK(vmclock_page_validate(&page, 4096, NULL) == 0);
	REQUIRE(vmclock_writer_set_calibration(w, &c, NULL) == 0);
	seq = page.abi.seq_count;
	vmclock_writer_destroy(w);
	w = vmclock_writer_create(&page, sizeof(struct vmclock_abi), &cfg);
	REQUIRE(w);
	CHECK(vmclock_writer_adopted(w));
	CHECK_EQ_U64(page.abi.seq_count, seq);
	vmclock_writer_destroy(w);
	/* Other lengths below the size stay refused. */
	CHECK(!vmclock_writer_create(&page, sizeof(struct vmclock_abi) + 8, &cfg));
	cfg.size = 64;
	CHECK(!vmclock_writer_create(&page, sizeof(struct vmclock_abi), &cfg));
}

/*
 * vmclock_writer_publish_memo() and vmclock_writer_publish_image()
 * against vmclock_writer_publish(): a fleet of pages, each given one line
 * moved by its own counter offset, as vmclockd gives the guests of one TSC
 * scale.  Pages are disrupted, moved to another offset, switched at
 * another counter, written without TIME_MONOTONIC or refused, so the memo
 * and the image answer some and miss others; updates carry random error
 * fields and now and then a bad status, leap or period.  Every page,
 * writer line, result and return value must be the plain publish's.
 */
#define FLEET 13

struct fleet_page {
	union {
		struct vmclock_abi abi;
		uint8_t bytes[4096];
	} a, b, c;
	struct vmclock_writer *wa, *wb, *wc;
	uint64_t offset;
	uint64_t extra_err;	/* the page's own error, for the image */
};

static struct fleet_page fleet[FLEET] __attribute__((aligned(4096)));

/* A fresh page at f->a with TIME_MONOTONIC set: its writer, or NULL. */
static struct vmclock_writer *fleet_writer(struct fleet_page *f,
					   const struct vmclock_writer_config *cfg)
{
	memset(&f->a, 0, sizeof(f->a));
	f->wa = vmclock_writer_create(&f->a, sizeof(f->a), cfg);
	if (f->wa)
		vmclock_writer_set_flags(f->wa, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	return f->wa;
}

/* A random update of @nl, switching at @sw: errors, status, leap. */
static void fleet_update(struct vmclock_calibration *cal,
			 struct vmclock_writer_update *u,
			 const struct vmclock_line *nl, uint64_t sw)
{
	memset(cal, 0, sizeof(*cal));
	cal->counter_value = nl->counter_value;
	cal->switch_counter = sw;
	cal->period_frac = test_rand_below(40) ? nl->period_frac : 0;
	cal->period_shift = nl->shift;
	cal->time_sec = nl->time_sec;
	cal->time_frac = nl->time_frac;
	cal->period_esterror_rate = test_rand_below(1000000);
	cal->period_maxerror_rate = test_rand_below(10000000);
	cal->time_esterror_ns = test_rand_below(3) ? test_rand_below(1000) :
						     edgy64();
	cal->time_maxerror_ns = test_rand_below(3) ? test_rand_below(100000) :
						     edgy64();
	cal->valid = (uint32_t)test_rand_below(16);
	*u = (struct vmclock_writer_update){
		cal,
		(uint8_t)(test_rand_below(30) ? VMCLOCK_STATUS_SYNCHRONIZED :
						test_rand_below(256)),
		(uint8_t)(test_rand_below(30) ? VMCLOCK_LEAP_NONE :
						test_rand_below(256)),
		(int16_t)test_rand_below(65536), (int)test_rand_below(2)
	};
}

TEST(memo_and_image_publish_what_publish_publishes)
{
	unsigned long fresh = 0, checked = 0;
	int round, i, k;

	for (round = 0; round < 300; round++) {
		struct vmclock_writer_config cfg = {
			.counter_id = VMCLOCK_COUNTER_X86_TSC,
			.time_type = VMCLOCK_TIME_TAI, .size = 4096,
			.policy = test_rand_below(4) ? VMCLOCK_MONOTONIC_ADJUST :
						       VMCLOCK_MONOTONIC_REFUSE,
			.publish_window_ticks = test_rand_below(3000000),
		};
		struct vmclock_monotonic_memo memo;
		struct vmclock_line base = some_line();
		uint64_t c = base.counter_value;

		memset(&memo, 0, sizeof(memo));
		for (i = 0; i < FLEET; i++) {
			struct fleet_page *f = &fleet[i];

			REQUIRE(fleet_writer(f, &cfg));
			memcpy(&f->b, &f->a, sizeof(f->a));
			cfg.adopt = 1;
			f->wb = vmclock_writer_create(&f->b, sizeof(f->b), &cfg);
			cfg.adopt = 0;
			REQUIRE(f->wb);
			memcpy(&f->c, &f->a, sizeof(f->a));
			cfg.adopt = 1;
			f->wc = vmclock_writer_create(&f->c, sizeof(f->c), &cfg);
			cfg.adopt = 0;
			REQUIRE(f->wc);
			f->offset = test_rand_below(3) ? edgy64() : 0;
			f->extra_err = test_rand_below(2) ? 0 :
				       test_rand_below(3) ? test_rand_below(1000) :
							    edgy64();
		}
		for (k = 0; k < 12; k++) {
			struct vmclock_calibration cal, base_cal;
			struct vmclock_writer_update u, base_u;
			struct vmclock_writer_image img;
			struct vmclock_line nl;
			uint64_t sw;

			c += test_rand_below(3000000000ull);
			nl = near_line(&base, c, cfg.publish_window_ticks);
			/* Most pages switch together; some a little later. */
			sw = c;
			fleet_update(&base_cal, &base_u, &nl, sw);
			REQUIRE(!vmclock_writer_image_prepare(&img, &base_u));
			cal = base_cal;
			u = base_u;
			u.cal = &cal;
			for (i = 0; i < FLEET; i++) {
				struct fleet_page *f = &fleet[i];
				struct vmclock_publish_result ra, rb, rc;
				struct vmclock_line la, lc;
				int ea, eb, ec;

				switch (test_rand_below(12)) {
				case 0:	/* a migration */
					vmclock_writer_bump_disruption(f->wa, 7);
					vmclock_writer_bump_disruption(f->wb, 7);
					vmclock_writer_bump_disruption(f->wc, 7);
					break;
				case 1:	/* another mapping */
					f->offset += test_rand_below(1000) + 1;
					break;
				case 2:	/* the next batch's switch counter */
					sw += test_rand_below(100000) + 1;
					base_cal.switch_counter = sw;
					REQUIRE(!vmclock_writer_image_prepare(
						&img, &base_u));
					break;
				case 3:	/* without TIME_MONOTONIC for once */
					vmclock_writer_set_flags(f->wa, 0,
						VMCLOCK_FLAG_TIME_MONOTONIC);
					vmclock_writer_set_flags(f->wb, 0,
						VMCLOCK_FLAG_TIME_MONOTONIC);
					vmclock_writer_set_flags(f->wc, 0,
						VMCLOCK_FLAG_TIME_MONOTONIC);
					break;
				default:
					break;
				}
				cal.counter_value = nl.counter_value + f->offset;
				cal.switch_counter = sw + f->offset;
				cal.time_esterror_ns = vmclock_add_sat(
					base_cal.time_esterror_ns, f->extra_err);
				cal.time_maxerror_ns = vmclock_add_sat(
					base_cal.time_maxerror_ns, f->extra_err);
				ea = vmclock_writer_publish(f->wa, &u, &ra);
				eb = vmclock_writer_publish_memo(f->wb, &u, &rb,
								 &memo);
				CHECK_EQ_INT(ea, eb);
				CHECK_EQ_INT(ra.adjusted, rb.adjusted);
				CHECK_EQ_U64(ra.adjust_ns, rb.adjust_ns);
				CHECK(!memcmp(&f->a, &f->b, sizeof(f->a)));
				ec = vmclock_writer_publish_image(f->wc, &img,
								  f->offset,
								  f->extra_err,
								  &rc);
				CHECK_EQ_INT(ea, ec);
				CHECK_EQ_INT(ra.adjusted, rc.adjusted);
				CHECK_EQ_U64(ra.adjust_ns, rc.adjust_ns);
				CHECK(!memcmp(&f->a, &f->c, sizeof(f->a)));
				memset(&la, 0, sizeof(la));
				memset(&lc, 0, sizeof(lc));
				CHECK_EQ_INT(vmclock_writer_line(f->wa, &la),
					     vmclock_writer_line(f->wc, &lc));
				CHECK(la.counter_value == lc.counter_value &&
				      la.period_frac == lc.period_frac &&
				      la.time_sec == lc.time_sec &&
				      la.time_frac == lc.time_frac &&
				      la.shift == lc.shift);
				fresh += ra.adjusted || ea;
				checked++;
				vmclock_writer_set_flags(f->wa,
					VMCLOCK_FLAG_TIME_MONOTONIC, 0);
				vmclock_writer_set_flags(f->wb,
					VMCLOCK_FLAG_TIME_MONOTONIC, 0);
				vmclock_writer_set_flags(f->wc,
					VMCLOCK_FLAG_TIME_MONOTONIC, 0);
			}
			if (vmclock_writer_line(fleet[0].wa, &base))
				base = some_line();
			else
				base.counter_value -= fleet[0].offset;
		}
		for (i = 0; i < FLEET; i++) {
			vmclock_writer_destroy(fleet[i].wa);
			vmclock_writer_destroy(fleet[i].wb);
			vmclock_writer_destroy(fleet[i].wc);
		}
	}
	/* Lines were moved forward or refused often enough to matter. */
	CHECK_MSG(fresh > checked / 20, "%lu of %lu adjusted or refused",
		  fresh, checked);
}

/*
 * The memo and the image are used, and only when they answer: a planted
 * answer comes back for a page whose lines and switch are the memo's
 * moved by an offset (whose old line is the image's), and a page whose
 * old line, new line, switch counter, window or policy differs is checked
 * afresh.  Page a is written with the memo, page c with the image.
 */
TEST(memo_and_image_answer_only_the_same_check)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_TAI, .size = 4096,
		.publish_window_ticks = 1000000,
	};
	struct vmclock_calibration old = line_1ghz(1000, 1800000000, 0), cal;
	struct vmclock_writer_update u = { &cal, VMCLOCK_STATUS_SYNCHRONIZED,
					   VMCLOCK_LEAP_NONE, 37, 1 };
	struct vmclock_monotonic_memo memo, planted;
	struct vmclock_writer_image img, planted_img;
	struct vmclock_publish_result r, rc;
	int i;

	memset(&memo, 0, sizeof(memo));
	for (i = 0; i < FLEET; i++) {
		struct fleet_page *f = &fleet[i];

		REQUIRE(fleet_writer(f, &cfg));
		memcpy(&f->c, &f->a, sizeof(f->a));
		cfg.adopt = 1;
		f->wc = vmclock_writer_create(&f->c, sizeof(f->c), &cfg);
		cfg.adopt = 0;
		REQUIRE(f->wc);
		f->offset = (uint64_t)i << 40;
		cal = old;
		/*
		 * Pages 2, 6, 10 and 12 had other old lines: 1 ns later,
		 * faster, 1 s later, half as fast (the same period_frac
		 * at the next shift).
		 */
		cal.time_frac += i == 2 ? vmclock_nsec_to_frac(1) : 0;
		cal.period_frac += i == 6;
		cal.time_sec += i == 10;
		cal.period_shift += i == 12;
		cal.counter_value += f->offset;
		cal.switch_counter += f->offset;
		REQUIRE(vmclock_writer_set_calibration(f->wa, &cal, NULL) == 0);
		REQUIRE(vmclock_writer_set_calibration(f->wc, &cal, NULL) == 0);
	}
	/* 1 ms later, a line 1 us behind: the writer moves it 1 us. */
	cal = line_1ghz(1000 + 1000000, 1800000000, 999000);
	REQUIRE(!vmclock_writer_image_prepare(&img, &u));
	CHECK_EQ_INT(vmclock_writer_publish_image(fleet[0].wc, &img,
						  fleet[0].offset, 0, &rc),
		     0);
	CHECK(img.checked);
	cal.counter_value += fleet[0].offset;
	cal.switch_counter += fleet[0].offset;
	CHECK_EQ_INT(vmclock_writer_publish_memo(fleet[0].wa, &u, &r, &memo), 0);
	CHECK(r.adjusted);
	CHECK(r.adjust_ns >= 1000 && r.adjust_ns <= 1001);
	CHECK_EQ_U64(rc.adjust_ns, r.adjust_ns);
	CHECK(memo.valid);
	planted = memo;
	planted.adj = 4242;
	planted_img = img;
	planted_img.adj = 4242;
	for (i = 1; i < FLEET; i++) {
		struct fleet_page *f = &fleet[i];

		cal = line_1ghz(1000 + 1000000, 1800000000, 999000);
		cal.counter_value += f->offset;
		cal.switch_counter += f->offset + (i == 3);
		/* Other new lines: faster, 1 ns later, 1 s later, half as fast. */
		cal.period_frac += i == 5;
		cal.time_frac += i == 8 ? vmclock_nsec_to_frac(1) : 0;
		cal.time_sec += i == 9;
		cal.period_shift += i == 11;
		if (i == 4 || i == 7) {	/* adopted: another window, policy */
			vmclock_writer_destroy(f->wa);
			vmclock_writer_destroy(f->wc);
			cfg.adopt = 1;
			cfg.publish_window_ticks = i == 4 ? 2000000 : 1000000;
			cfg.policy = i == 7 ? VMCLOCK_MONOTONIC_REFUSE :
					      VMCLOCK_MONOTONIC_ADJUST;
			f->wa = vmclock_writer_create(&f->a, sizeof(f->a), &cfg);
			f->wc = vmclock_writer_create(&f->c, sizeof(f->c), &cfg);
			REQUIRE(f->wa && f->wc);
			REQUIRE(vmclock_writer_line(f->wa, &(struct vmclock_line){ 0 }) == 0);
			REQUIRE(vmclock_writer_line(f->wc, &(struct vmclock_line){ 0 }) == 0);
		}
		memo = planted;
		(void)vmclock_writer_publish_memo(f->wa, &u, &r, &memo);
		if (i == 1)	/* the same check: the planted answer */
			CHECK_EQ_U64(r.adjust_ns, 4242);
		else	/* another check: measured afresh */
			CHECK(r.adjust_ns != 4242);
		/* The image's new line and switch are its own. */
		if (i == 3 || i == 5 || i == 8 || i == 9 || i == 11)
			continue;
		img = planted_img;
		(void)vmclock_writer_publish_image(f->wc, &img, f->offset, 0,
						   &rc);
		CHECK_MSG(i == 1 ? rc.adjust_ns == 4242 : rc.adjust_ns != 4242,
			  "page %d: adjusted %" PRIu64, i, rc.adjust_ns);
	}
	for (i = 0; i < FLEET; i++) {
		vmclock_writer_destroy(fleet[i].wa);
		vmclock_writer_destroy(fleet[i].wc);
	}
}
