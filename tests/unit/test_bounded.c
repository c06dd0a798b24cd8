// SPDX-License-Identifier: MIT
/*
 * test_bounded.c - bounded time in every mode (lib/bounded.c): the basic
 * bound from injected adjtimex() states (synced, unsynced, maxerror growth
 * between re-reads, the re-read rate), the disruption marker voiding it
 * until the kernel re-syncs, delegation to the page in precise mode, and
 * wait-sync with its timeout, all through the ops seam with fake clocks.
 */
#include <errno.h>
#include <string.h>
#include <sys/timex.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-bounded.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "../harness/test.h"

#define NS  1000000000ll
#define MS  1000000ll
#define UTC 1800000000ll /* a UTC second in 2027 */

static union {
	struct vmclock_abi abi;
	uint8_t bytes[4096];
} page __attribute__((aligned(4096)));

/* The fake system: two clocks, a kernel NTP state, counts of calls. */
struct fake {
	int64_t realtime;
	int64_t mono;
	int ret;
	long maxerror;
	long esterror;
	int status;
	int tai;
	int adjtimex_calls;
	int realtime_calls;
	int mono_calls;
	int counter_calls;
	/* Bump the page's marker inside the next CLOCK_REALTIME read. */
	int disrupt_in_clock;
	int sleeps;
	/* After this many sleeps the kernel becomes synchronised (0: never). */
	int sync_after_sleeps;
	uint64_t counter;
};

static struct fake fk;
static struct vmclock_writer *w;

static int fake_adjtimex(void *ctx, struct timex *tx)
{
	struct fake *f = ctx;

	f->adjtimex_calls++;
	tx->maxerror = f->maxerror;
	tx->esterror = f->esterror;
	tx->status = f->status;
	tx->tai = f->tai;
	return f->ret;
}

static int fake_clock_gettime(void *ctx, clockid_t id, struct timespec *ts)
{
	struct fake *f = ctx;
	int64_t v = id == CLOCK_REALTIME ? f->realtime : f->mono;

	if (id == CLOCK_REALTIME)
		f->realtime_calls++;
	else
		f->mono_calls++;
	if (id == CLOCK_REALTIME && f->disrupt_in_clock) {
		f->disrupt_in_clock = 0;
		vmclock_writer_bump_disruption(w, 0);
	}

	ts->tv_sec = v / NS;
	ts->tv_nsec = v % NS;
	return 0;
}

static void advance(int64_t ns)
{
	fk.realtime += ns;
	fk.mono += ns;
}

static void fake_sleep(void *ctx, uint64_t ns)
{
	struct fake *f = ctx;

	advance((int64_t)ns);
	if (++f->sleeps == f->sync_after_sleeps) {
		f->status = 0;
		f->ret = TIME_OK;
		f->maxerror = 2000;
	}
}

static uint64_t fake_counter(void *ctx)
{
	((struct fake *)ctx)->counter_calls++;
	return ((struct fake *)ctx)->counter;
}

static uint64_t fake_mono(void *ctx)
{
	return (uint64_t)((struct fake *)ctx)->mono;
}

static const struct vmclock_bounded_ops ops = {
	fake_adjtimex,
	fake_clock_gettime,
	fake_sleep,
	&fk,
};

static struct vmclock_reader *rd;

/* A synchronised kernel: 1 ms max error, 50 us estimated. */
static void kernel_synced(void)
{
	fk.ret = TIME_OK;
	fk.status = STA_PLL;
	fk.maxerror = 1000;
	fk.esterror = 50;
}

/* A basic-mode page (marker only) and a fresh system at UTC, mono 1000 s. */
static void setup(void)
{
	struct vmclock_writer_config cfg = { 0 };

	memset(&fk, 0, sizeof(fk));
	fk.realtime = UTC * NS;
	fk.mono = 1000 * NS;
	kernel_synced();
	cfg.counter_id = VMCLOCK_COUNTER_X86_TSC;
	cfg.time_type = VMCLOCK_TIME_UTC;
	cfg.size = 4096;
	vmclock_writer_destroy(w);
	vmclock_reader_close(rd);
	memset(&page, 0, sizeof(page));
	w = vmclock_writer_create(&page, sizeof(page), &cfg);
	vmclock_writer_bump_disruption(w, 41);
	rd = vmclock_reader_open_memory(&page, sizeof(page));
}

static struct vmclock_bounded *make(enum vmclock_bound_mode mode)
{
	struct vmclock_bounded_config cfg = { 0 };

	cfg.mode = mode;
	cfg.ops = &ops;
	return vmclock_bounded_create(rd, &cfg);
}

/* Precise page: 1 GHz counter, UTC 1.8e9 s at counter 10^12, 1 us max. */
static void make_precise(uint8_t status)
{
	struct vmclock_calibration cal = { 0 };

	vmclock_period_for_hz(1000000000, &cal.period_frac, &cal.period_shift);
	cal.counter_value = 1000000000000ull;
	cal.time_sec = UTC;
	cal.period_maxerror_rate = cal.period_frac / 100000; /* 10 ppm */
	cal.time_maxerror_ns = 1000;
	cal.time_esterror_ns = 100;
	cal.valid = VMCLOCK_CAL_PERIOD_MAXERROR | VMCLOCK_CAL_TIME_MAXERROR |
		    VMCLOCK_CAL_TIME_ESTERROR;
	cal.switch_counter = cal.counter_value;
	vmclock_writer_set_calibration(w, &cal, NULL);
	vmclock_writer_set_tai_offset(w, 37, 1);
	vmclock_writer_set_status(w, status);
	vmclock_reader_set_counter(rd, fake_counter, fake_mono, &fk);
	fk.counter = 1000000000000ull + 1000000; /* 1 ms later */
}

TEST(basic_synced_bound)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_SYSTEM);
	CHECK_EQ_INT(out.clock_status, VMCLOCK_STATUS_SYNCHRONIZED);
	CHECK_EQ_INT(out.utc_ns, UTC * NS);
	/* 1 ms + the second the kernel has not added yet (500 us). */
	CHECK_EQ_U64(out.maxerror_ns, 1500000);
	CHECK_EQ_U64(out.esterror_ns, 50000);
	CHECK_EQ_INT(out.earliest_ns, UTC * NS - 1500000);
	CHECK_EQ_INT(out.latest_ns, UTC * NS + 1500000);
	CHECK(out.valid & VMCLOCK_VALID_MAXERROR);
	CHECK(!(out.valid & VMCLOCK_VALID_TAI));
	CHECK_EQ_U64(out.page.disruption_marker, 41);
	vmclock_bounded_destroy(b);
}

TEST(basic_maxerror_grows_between_rereads)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	int calls;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	calls = fk.adjtimex_calls;
	advance(50 * MS);
	fk.maxerror = 9999; /* not seen until the refresh interval passes */
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(fk.adjtimex_calls, calls);
	/* 50 ms at 500 ppm is 25 us. */
	CHECK_EQ_U64(out.maxerror_ns, 1500000 + 25000);
	CHECK_EQ_INT(out.utc_ns, UTC * NS + 50 * MS);
	advance(50 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(fk.adjtimex_calls, calls + 1);
	CHECK_EQ_U64(out.maxerror_ns, 9999000 + 500000);
	vmclock_bounded_destroy(b);
}

TEST(basic_hot_path_rereads_at_most_every_interval)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	int i, calls;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	calls = fk.adjtimex_calls;
	/* 10000 reads over 1 s: 10 refresh intervals of 100 ms. */
	for (i = 0; i < 10000; i++) {
		advance(100000);
		CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	}
	CHECK_EQ_INT(fk.adjtimex_calls - calls, 10);
	vmclock_bounded_destroy(b);
}

/*
 * The hot path on a page without precise time is one clock_gettime(): no
 * CLOCK_MONOTONIC, no counter read, no adjtimex() within the interval.
 */
TEST(basic_hot_path_is_one_clock_read)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	int i, calls;

	setup();
	vmclock_reader_set_counter(rd, fake_counter, fake_mono, &fk);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	calls = fk.adjtimex_calls;
	fk.realtime_calls = fk.mono_calls = fk.counter_calls = 0;
	for (i = 0; i < 1000; i++) {
		advance(10000);
		CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	}
	CHECK_EQ_INT(fk.realtime_calls, 1000);
	CHECK_EQ_INT(fk.mono_calls, 0);
	CHECK_EQ_INT(fk.counter_calls, 0);
	CHECK_EQ_INT(fk.adjtimex_calls, calls);
	/* The cache still ages: 10 ms at 500 ppm. */
	CHECK_EQ_U64(out.maxerror_ns, 1500000 + 5000);
	/* Forced basic mode on a precise page reads no counter either. */
	vmclock_bounded_destroy(b);
	make_precise(VMCLOCK_STATUS_SYNCHRONIZED);
	b = make(VMCLOCK_BOUND_BASIC);
	REQUIRE(b);
	fk.counter_calls = 0;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_SYSTEM);
	CHECK_EQ_INT(fk.counter_calls, 0);
	vmclock_bounded_destroy(b);
}

/*
 * A migration that lands between the page read and the clock read must
 * not give the migrated clock the old verdict: the marker is read after
 * the clock.
 */
TEST(disruption_just_before_the_clock_read_is_seen)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	fk.disrupt_in_clock = 1;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	CHECK(out.page.events & VMCLOCK_EVENT_DISRUPTED);
	CHECK_EQ_U64(out.page.disruption_marker, 42);
	vmclock_bounded_destroy(b);
	/* The same when the precise page's status sends AUTO to basic mode. */
	setup();
	make_precise(VMCLOCK_STATUS_UNKNOWN);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_SYSTEM);
	fk.disrupt_in_clock = 1;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	CHECK(out.page.events & VMCLOCK_EVENT_DISRUPTED);
	vmclock_bounded_destroy(b);
}

/* A step of CLOCK_REALTIME, either way, re-reads the kernel at once. */
TEST(realtime_step_rereads_the_kernel)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	int calls;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	calls = fk.adjtimex_calls;
	advance(MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(fk.adjtimex_calls, calls);
	/* A step clears the kernel's NTP state; the re-read sees it. */
	fk.realtime -= 2 * MS;
	fk.status = STA_UNSYNC;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENODATA);
	CHECK_EQ_INT(fk.adjtimex_calls, calls + 1);
	kernel_synced();
	fk.realtime += 3600 * NS;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(fk.adjtimex_calls, calls + 2);
	CHECK_EQ_U64(out.maxerror_ns, 1500000);
	vmclock_bounded_destroy(b);
}

TEST(basic_leap_second_in_progress_widens_by_one_second)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	fk.ret = TIME_OOP;
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_U64(out.maxerror_ns, 1500000 + NS);
	fk.ret = TIME_WAIT;
	advance(200 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_U64(out.maxerror_ns, 1500000);
	vmclock_bounded_destroy(b);
}

TEST(basic_unsynced_is_unknown)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	fk.status = STA_UNSYNC;
	fk.ret = TIME_ERROR;
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENODATA);
	CHECK_EQ_U64(out.maxerror_ns, VMCLOCK_ERROR_UNKNOWN);
	CHECK(!(out.valid & VMCLOCK_VALID_MAXERROR));
	CHECK(out.valid & VMCLOCK_VALID_UTC);
	CHECK_EQ_INT(out.clock_status, VMCLOCK_STATUS_UNKNOWN);
	/* Each signal alone is enough. */
	fk.status = 0;
	advance(200 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENODATA);
	fk.ret = TIME_OK;
	fk.status = STA_CLOCKERR;
	advance(200 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENODATA);
	fk.status = 0;
	fk.maxerror = VMCLOCK_BOUNDED_KERNEL_MAXERROR_US;
	advance(200 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENODATA);
	fk.maxerror = 3000;
	advance(200 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_U64(out.maxerror_ns, 3500000);
	vmclock_bounded_destroy(b);
}

/* Kernel growth only: maxerror + 500 us per second boundary. */
static void kernel_seconds(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		advance(NS);
		fk.maxerror += 500;
	}
}

TEST(marker_change_voids_until_maxerror_rewritten)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	int calls;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	calls = fk.adjtimex_calls;
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	CHECK_EQ_INT(fk.adjtimex_calls, calls + 1); /* the baseline */
	CHECK_EQ_U64(out.maxerror_ns, VMCLOCK_ERROR_UNKNOWN);
	CHECK(out.page.disruption_marker == 42);
	/* The kernel's own growth is no re-sync, however long. */
	kernel_seconds(1);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	kernel_seconds(30);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	advance(300 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	/* The NTP daemon writes a fresh maxerror: re-synced. */
	fk.maxerror = 800;
	advance(200 * MS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_U64(out.maxerror_ns, 1300000);
	/* A second change voids it again. */
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	vmclock_bounded_destroy(b);
}

TEST(marker_change_resync_by_larger_maxerror_or_unsync)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	b = make(VMCLOCK_BOUND_BASIC);
	REQUIRE(b);
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	/* A write above the growth the kernel could have added. */
	advance(2500 * MS);
	fk.maxerror += 1500 + 1;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);

	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	/* Lost sync and regained it, maxerror as growth would have it. */
	fk.status = STA_UNSYNC;
	kernel_seconds(1);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	fk.status = STA_PLL;
	kernel_seconds(1);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	vmclock_bounded_destroy(b);
}

TEST(marker_at_create_is_the_baseline)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	vmclock_writer_bump_disruption(w, 1000);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	vmclock_bounded_destroy(b);
}

TEST(no_page_basic_only)
{
	struct vmclock_bounded_config cfg = { 0 };
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	fk.tai = 37;
	cfg.ops = &ops;
	b = vmclock_bounded_create(NULL, &cfg);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK(out.valid & VMCLOCK_VALID_TAI);
	CHECK_EQ_INT(out.tai_ns, (UTC + 37) * NS);
	vmclock_bounded_destroy(b);
	cfg.mode = VMCLOCK_BOUND_PRECISE;
	b = vmclock_bounded_create(NULL, &cfg);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENOTSUP);
	vmclock_bounded_destroy(b);
}

TEST(precise_delegates_to_reader_now)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	struct vmclock_reading ref;
	int calls;

	setup();
	make_precise(VMCLOCK_STATUS_SYNCHRONIZED);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	calls = fk.adjtimex_calls;
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(fk.adjtimex_calls, calls);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_PAGE);
	CHECK_EQ_INT(vmclock_reader_now(rd, &ref), 0);
	CHECK_EQ_INT(out.utc_ns, ref.utc_ns);
	/* 1 GHz has no exact period in the page's units: within 1 ns. */
	CHECK(out.utc_ns >= UTC * NS + MS - 1 && out.utc_ns <= UTC * NS + MS);
	CHECK_EQ_U64(out.maxerror_ns, ref.maxerror_ns);
	CHECK_EQ_INT(out.earliest_ns, ref.earliest_ns);
	CHECK_EQ_INT(out.latest_ns, ref.latest_ns);
	CHECK_EQ_INT(out.tai_ns, out.utc_ns + 37 * NS);
	/* Precise mode does not care about the kernel. */
	fk.status = STA_UNSYNC;
	advance(NS);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	vmclock_bounded_destroy(b);
}

TEST(precise_status_unknown_falls_back_to_basic)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	make_precise(VMCLOCK_STATUS_UNKNOWN);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_SYSTEM);
	CHECK_EQ_INT(out.page.clock_status, VMCLOCK_STATUS_UNKNOWN);
	vmclock_bounded_destroy(b);
	b = make(VMCLOCK_BOUND_PRECISE);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ENODATA);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_PAGE);
	vmclock_writer_set_status(w, VMCLOCK_STATUS_UNRELIABLE);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -EIO);
	vmclock_bounded_destroy(b);
	/* UNRELIABLE in AUTO falls back too (not taken for a read error). */
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	CHECK_EQ_INT(out.source, VMCLOCK_SOURCE_SYSTEM);
	vmclock_bounded_destroy(b);
}

TEST(precise_marker_change_still_voids_basic)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	make_precise(VMCLOCK_STATUS_SYNCHRONIZED);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	vmclock_writer_bump_disruption(w, 0);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0); /* the page is fine */
	vmclock_writer_clear_calibration(w);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	vmclock_bounded_destroy(b);
}

TEST(wait_sync_until_synced)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	fk.status = STA_UNSYNC;
	fk.ret = TIME_ERROR;
	fk.sync_after_sleeps = 5;
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_wait_sync(b, 10 * NS, 0, &out), 0);
	CHECK_EQ_INT(fk.sleeps, 5);
	CHECK_EQ_U64(out.maxerror_ns, 2500000);
	vmclock_bounded_destroy(b);
}

TEST(wait_sync_times_out)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;
	int64_t start;

	setup();
	fk.status = STA_UNSYNC;
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	start = fk.mono;
	CHECK_EQ_INT(vmclock_bounded_wait_sync(b, 2 * NS, 0, &out), -ETIMEDOUT);
	CHECK(fk.mono - start >= 2 * NS);
	CHECK(fk.mono - start <= 2 * NS + 100 * MS);
	/* Synced but not within the requested error. */
	kernel_synced();
	CHECK_EQ_INT(vmclock_bounded_wait_sync(b, 1 * NS, 1000000, &out),
		     -ETIMEDOUT);
	CHECK_EQ_INT(vmclock_bounded_wait_sync(b, 0, 2000000, &out), 0);
	vmclock_bounded_destroy(b);
}

TEST(wait_sync_after_disruption)
{
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	vmclock_writer_bump_disruption(w, 0);
	fk.sync_after_sleeps = 3; /* the daemon writes maxerror 2 ms */
	CHECK_EQ_INT(vmclock_bounded_wait_sync(b, 10 * NS, 0, &out), 0);
	CHECK_EQ_INT(fk.sleeps, 3);
	vmclock_bounded_destroy(b);
}

TEST(bad_config_and_strerror)
{
	struct vmclock_bounded_config cfg = { 0 };

	setup();
	cfg.mode = (enum vmclock_bound_mode)7;
	CHECK(!vmclock_bounded_create(rd, &cfg));
	CHECK_EQ_INT(errno, EINVAL);
	CHECK(strstr(vmclock_bounded_strerror(-ESTALE), "re-synced"));
	CHECK(strcmp(vmclock_bound_source_name(VMCLOCK_SOURCE_PAGE), "page") ==
	      0);
	CHECK(strcmp(vmclock_bound_source_name(9), "?") == 0);
}

TEST(state_carries_a_disruption_across_handles)
{
	struct vmclock_bounded_state st;
	struct vmclock_bounded *b;
	struct vmclock_bound out;

	setup();
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	vmclock_bounded_get_state(b, &st);
	CHECK_EQ_U64(st.marker, 41);
	CHECK_EQ_INT(st.flags, 0);
	vmclock_bounded_destroy(b);

	/* Migrated while no process ran: the next one alone cannot tell. */
	vmclock_writer_bump_disruption(w, 0);
	advance(NS);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	vmclock_bounded_set_state(b, &st);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	vmclock_bounded_get_state(b, &st);
	CHECK_EQ_U64(st.marker, 42);
	CHECK(st.flags & VMCLOCK_BSTATE_STALE);
	CHECK_EQ_INT(st.base_maxerror_us, 1000);
	vmclock_bounded_destroy(b);

	/* Still stale for the next process while only the kernel grows it. */
	kernel_seconds(3);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	vmclock_bounded_set_state(b, &st);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), -ESTALE);
	vmclock_bounded_destroy(b);

	/* The NTP daemon writes: the process after that sees the re-sync. */
	fk.maxerror = 400;
	advance(NS);
	b = make(VMCLOCK_BOUND_AUTO);
	REQUIRE(b);
	vmclock_bounded_set_state(b, &st);
	CHECK_EQ_INT(vmclock_bounded_now(b, &out), 0);
	vmclock_bounded_get_state(b, &st);
	CHECK_EQ_INT(st.flags, 0);
	vmclock_bounded_destroy(b);
}
