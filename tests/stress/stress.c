// SPDX-License-Identifier: MIT
/*
 * stress.c - the sequence lock under fire: libvmclock's writer publishing at
 * its maximum rate while libvmclock's readers read the same page, through
 * caller memory, through their own read-only mmap of the tmpfs file the
 * writer maps, and through pread() of that file.
 *
 * Every field of update k is a different function of k (marker and
 * generation are k, seq_count moves on by 2 per update, the line, the errors, the flags,
 * the status, the leap indicator, the hint and the TAI offset all move), so
 * a snapshot mixing two updates disagrees with itself.  Each reading is
 * checked against the page built here, byte by byte and independently of
 * the writer, for the k its marker names, evaluated at the counter the
 * reader read inside its window; every 16th read is a raw snapshot that
 * must equal that page exactly.  Readers must also never go back to an
 * older k.
 *
 * Sizes come from the environment: STRESS_READS (default 2000000) reads in
 * all, at most STRESS_SECONDS (default 60) seconds; STRESS_MIN_DISTINCT
 * (default 10) updates each mapped reader must see.  make check-stress runs
 * 10^8.  Prints "stress: N reads, M inconsistent" and the harness's
 * "N passed, N failed".
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "../harness/test.h"

#define PAGE 4096
#define FIXED_FLAGS                                                            \
	(VMCLOCK_FLAG_PERIOD_ESTERROR_VALID |                                  \
	 VMCLOCK_FLAG_PERIOD_MAXERROR_VALID |                                  \
	 VMCLOCK_FLAG_TIME_ESTERROR_VALID | VMCLOCK_FLAG_TIME_MAXERROR_VALID | \
	 VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT)
#define MOVING_FLAGS                                                       \
	(VMCLOCK_FLAG_DISRUPTION_SOON | VMCLOCK_FLAG_DISRUPTION_IMMINENT | \
	 VMCLOCK_FLAG_NOTIFICATION_PRESENT)

/* Update k, as the writer is asked to publish it. */
struct update {
	struct vmclock_calibration cal;
	uint64_t set_flags;
	int16_t tai;
	int tai_valid;
	uint8_t status, leap, hint;
};

static uint64_t base_counter;
/* seq_count after vmclock_writer_create(): a fresh page starts anywhere. */
static uint32_t seq0;

static void make_update(uint64_t k, struct update *u)
{
	memset(u, 0, sizeof(*u));
	u->cal.counter_value = base_counter + k * 7919;
	u->cal.time_sec = 1700000000ull + k;
	u->cal.time_frac = k * 0x9e3779b97f4a7c15ull;
	u->cal.period_frac = 0x8000000000000000ull | (k * 0x9e3779b9ull);
	u->cal.period_shift = (uint8_t)(29 + k % 4);
	u->cal.period_esterror_rate = (k & 0xffff) + 1;
	u->cal.period_maxerror_rate = (k & 0xffff) * 3 + 7;
	u->cal.time_esterror_ns = k % 1000;
	u->cal.time_maxerror_ns = 1000 + k % 1000;
	u->cal.valid = VMCLOCK_CAL_PERIOD_ESTERROR |
		       VMCLOCK_CAL_PERIOD_MAXERROR | VMCLOCK_CAL_TIME_ESTERROR |
		       VMCLOCK_CAL_TIME_MAXERROR;
	u->set_flags = ((k & 1) ? VMCLOCK_FLAG_DISRUPTION_SOON : 0) |
		       ((k & 2) ? VMCLOCK_FLAG_DISRUPTION_IMMINENT : 0) |
		       ((k & 4) ? VMCLOCK_FLAG_NOTIFICATION_PRESENT : 0);
	u->tai = (int16_t)((int)(k % 20000) - 10000);
	u->tai_valid = (k & 8) != 0;
	u->status = (uint8_t)(k % 5);
	u->leap = (uint8_t)(k % 6);
	u->hint = (uint8_t)(k % 3);
}

static int publish(struct vmclock_writer *w, uint64_t k)
{
	struct update u;
	int err = 0;

	make_update(k, &u);
	vmclock_writer_begin(w);
	err |= vmclock_writer_set_calibration(w, &u.cal, NULL);
	err |= vmclock_writer_set_flags(w, u.set_flags, MOVING_FLAGS);
	err |= vmclock_writer_set_tai_offset(w, u.tai, u.tai_valid);
	err |= vmclock_writer_set_status(w, u.status);
	err |= vmclock_writer_set_leap(w, u.leap);
	err |= vmclock_writer_set_smearing_hint(w, u.hint);
	err |= vmclock_writer_bump_disruption(w, k);
	err |= vmclock_writer_bump_generation(w, k);
	err |= vmclock_writer_commit(w);
	return err;
}

/* Little-endian stores into a byte image, whatever this CPU's order. */
static void put_le(uint8_t *p, size_t off, uint64_t v, size_t bytes)
{
	size_t i;

	for (i = 0; i < bytes; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

#define PUT(img, field, v)                                                \
	put_le((img), offsetof(struct vmclock_abi, field), (uint64_t)(v), \
	       sizeof(((struct vmclock_abi *)0)->field))

/* The page update k must leave, built from the ABI, not by the writer. */
static void expected_page(uint64_t k, struct vmclock_abi *pg)
{
	uint8_t *img = (uint8_t *)pg;
	struct update u;

	make_update(k, &u);
	memset(pg, 0, sizeof(*pg));
	PUT(img, magic, VMCLOCK_MAGIC);
	PUT(img, size, PAGE);
	PUT(img, version, 1);
	PUT(img, counter_id, VMCLOCK_COUNTER_X86_TSC);
	PUT(img, time_type, VMCLOCK_TIME_UTC);
	PUT(img, seq_count, (uint32_t)(seq0 + 2 * k));
	PUT(img, disruption_marker, k);
	PUT(img, flags,
	    FIXED_FLAGS | u.set_flags |
		    (u.tai_valid ? VMCLOCK_FLAG_TAI_OFFSET_VALID : 0));
	PUT(img, clock_status, u.status);
	PUT(img, leap_second_smearing_hint, u.hint);
	PUT(img, tai_offset_sec, (uint16_t)u.tai);
	PUT(img, leap_indicator, u.leap);
	PUT(img, counter_period_shift, u.cal.period_shift);
	PUT(img, counter_value, u.cal.counter_value);
	PUT(img, counter_period_frac_sec, u.cal.period_frac);
	PUT(img, counter_period_esterror_rate_frac_sec,
	    u.cal.period_esterror_rate);
	PUT(img, counter_period_maxerror_rate_frac_sec,
	    u.cal.period_maxerror_rate);
	PUT(img, time_sec, u.cal.time_sec);
	PUT(img, time_frac_sec, u.cal.time_frac);
	PUT(img, time_esterror_nanosec, u.cal.time_esterror_ns);
	PUT(img, time_maxerror_nanosec, u.cal.time_maxerror_ns);
	PUT(img, vm_generation_counter, k);
}

static int same_reading(const struct vmclock_reading *a,
			const struct vmclock_reading *b)
{
	return a->counter == b->counter && a->valid == b->valid &&
	       a->time_ns == b->time_ns && a->tai_ns == b->tai_ns &&
	       a->utc_ns == b->utc_ns && a->maxerror_ns == b->maxerror_ns &&
	       a->esterror_ns == b->esterror_ns &&
	       a->earliest_ns == b->earliest_ns &&
	       a->latest_ns == b->latest_ns && a->flags == b->flags &&
	       a->seq_count == b->seq_count &&
	       a->disruption_marker == b->disruption_marker &&
	       a->vm_generation_counter == b->vm_generation_counter &&
	       a->tai_offset_sec == b->tai_offset_sec &&
	       a->clock_status == b->clock_status &&
	       a->leap_indicator == b->leap_indicator &&
	       a->smearing_hint == b->smearing_hint &&
	       a->counter_id == b->counter_id && a->time_type == b->time_type;
}

/* Shared between the threads; every access is atomic. */
static int stop;
static uint64_t total_reads;
static uint64_t writer_k;

struct reader_ctx {
	struct vmclock_reader *r;
	const char *name;
	uint64_t reads, inconsistent, timeouts, errors, went_back, distinct;
	uint64_t first_bad_k;
	uint64_t limit;
};

static int get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* One read: 0 if it is a page the writer published, else 1. */
static int check_one(struct reader_ctx *c, uint64_t i, uint64_t *last_k,
		     struct vmclock_abi *exp, uint64_t *exp_k)
{
	struct vmclock_reading rd, want;
	struct vmclock_abi snap;
	uint64_t k;
	int err;

	if (i % 16 == 15) {
		err = vmclock_reader_snapshot(c->r, &snap);
		if (err)
			return err;
		k = (uint64_t)snap.disruption_marker; /* LE; k < 2^56 */
		k = le64toh(k);
	} else {
		err = vmclock_reader_read(c->r, &rd);
		if (err)
			return err;
		k = rd.disruption_marker;
	}
	if (k < *last_k)
		c->went_back++;
	if (k != *last_k)
		c->distinct++;
	*last_k = k;
	if (k != *exp_k) {
		expected_page(k, exp);
		*exp_k = k;
	}
	if (i % 16 == 15)
		return memcmp(&snap, exp, sizeof(snap)) != 0;
	vmclock_reading_from_page(exp, rd.counter, VMCLOCK_DEFAULT_DRIFT_PPB,
				  &want);
	rd.events = 0;
	return !same_reading(&rd, &want);
}

static void *reader_main(void *arg)
{
	struct reader_ctx *c = arg;
	struct vmclock_abi exp;
	uint64_t i, last_k = 0, exp_k = UINT64_MAX;
	int err;

	/* The page as created is no update k: start once one is published. */
	while (!__atomic_load_n(&writer_k, __ATOMIC_RELAXED) && !get(&stop))
		;
	for (i = 0; !get(&stop); i++) {
		err = check_one(c, i, &last_k, &exp, &exp_k);
		if (err == -ETIMEDOUT)
			c->timeouts++;
		else if (err < 0)
			c->errors++;
		else if (err > 0 && !c->inconsistent++)
			c->first_bad_k = last_k;
		c->reads += err >= 0;
		if ((i & 4095) == 4095 &&
		    __atomic_add_fetch(&total_reads, 4096, __ATOMIC_RELAXED) >=
			    c->limit)
			__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	struct vmclock_writer *w = arg;
	uint64_t k;

	/* Update 1 was published before the readers started. */
	for (k = 2; !get(&stop); k++) {
		if (publish(w, k))
			break;
		__atomic_store_n(&writer_k, k, __ATOMIC_RELAXED);
	}
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A page file on tmpfs, mapped shared and writable for the writer. */
static void *map_page_file(char *path, size_t len)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	void *map;
	int fd;

	snprintf(path, len, "%s/vmclock-stress-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, PAGE)) {
		close(fd);
		return NULL;
	}
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return map == MAP_FAILED ? NULL : map;
}

static struct vmclock_reader *open_pread(const char *path)
{
	struct vmclock_reader *r;

	setenv("VMCLOCK_ACCESS", "pread", 1);
	r = vmclock_reader_open(path);
	unsetenv("VMCLOCK_ACCESS");
	return r;
}

static void report(const struct reader_ctx *c, int n, uint64_t wk, uint64_t ns)
{
	uint64_t reads = 0, bad = 0;
	int i;

	for (i = 0; i < n; i++) {
		printf("  %-6s %10" PRIu64 " reads, %" PRIu64
		       " distinct updates seen, %" PRIu64 " timeouts, %" PRIu64
		       " errors, %" PRIu64 " inconsistent\n",
		       c[i].name, c[i].reads, c[i].distinct, c[i].timeouts,
		       c[i].errors, c[i].inconsistent);
		reads += c[i].reads;
		bad += c[i].inconsistent + c[i].went_back;
	}
	printf("  writer %" PRIu64 " updates in %.1f s\n", wk,
	       (double)ns / 1e9);
	printf("stress: %" PRIu64 " reads, %" PRIu64 " inconsistent\n", reads,
	       bad);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static void check_results(const struct reader_ctx *c, int n, uint64_t want)
{
	/* Under qemu-user (tests/cross) threads interleave far less. */
	uint64_t min = env_u64("STRESS_MIN_DISTINCT", 10), reads = 0;
	int i;

	for (i = 0; i < n; i++) {
		reads += c[i].reads;
		CHECK_MSG(!c[i].inconsistent,
			  "%s: %" PRIu64 " inconsistent, first at k=%" PRIu64,
			  c[i].name, c[i].inconsistent, c[i].first_bad_k);
		CHECK_MSG(!c[i].went_back, "%s: went back %" PRIu64 " times",
			  c[i].name, c[i].went_back);
		CHECK_MSG(!c[i].errors, "%s: %" PRIu64 " errors", c[i].name,
			  c[i].errors);
		/*
		 * Every reader must have seen the page move.  A pread attempt
		 * takes three system calls, longer than one update, so it
		 * succeeds mostly while the writer is preempted: fewer.
		 */
		CHECK_MSG(c[i].distinct >= (i == 2 ? 2u : min),
			  "%s saw only %" PRIu64 " updates", c[i].name,
			  c[i].distinct);
	}
	CHECK_MSG(reads >= want,
		  "only %" PRIu64 " of %" PRIu64 " reads before the time limit",
		  reads, want);
}

/*
 * The checker itself: a page holding update 5 with one field of update 6
 * stored past the sequence lock must be caught, through read and snapshot.
 */
TEST(checker_catches_a_mixed_snapshot)
{
	static struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_UTC,
		.size = PAGE,
	};
	static uint64_t page[PAGE / 8];
	struct reader_ctx c = { .name = "check" };
	struct vmclock_abi exp;
	struct vmclock_writer *w = vmclock_writer_create(page, PAGE, &cfg);
	uint64_t i, last_k = 0, exp_k = UINT64_MAX, k;
	int bad;

	REQUIRE(w);
	seq0 = le32toh(((volatile struct vmclock_abi *)page)->seq_count);
	c.r = vmclock_reader_open_memory(page, PAGE);
	REQUIRE(c.r);
	for (k = 1; k <= 5; k++)
		REQUIRE(!publish(w, k));
	for (i = 14; i < 16; i++)
		CHECK(check_one(&c, i, &last_k, &exp, &exp_k) == 0);
	/*
	 * One field of update 6, stored without the sequence lock.  A new
	 * handle: an open one may keep its decoding while seq_count stays.
	 */
	((volatile struct vmclock_abi *)page)->time_sec =
		htole64(1700000006ull);
	vmclock_reader_close(c.r);
	c.r = vmclock_reader_open_memory(page, PAGE);
	REQUIRE(c.r);
	for (i = 14; i < 16; i++) {
		bad = check_one(&c, i, &last_k, &exp, &exp_k);
		CHECK_MSG(bad == 1, "%s: mix not caught (%d)",
			  i == 15 ? "snapshot" : "read", bad);
	}
	vmclock_reader_close(c.r);
	vmclock_writer_destroy(w);
}

TEST(max_rate_writer_never_tears_a_read)
{
	static struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_UTC,
		.size = PAGE,
	};
	uint64_t want = env_u64("STRESS_READS", 2000000);
	uint64_t secs = env_u64("STRESS_SECONDS", 60), t0, deadline;
	struct reader_ctx c[3] = { { .name = "memory" },
				   { .name = "mmap" },
				   { .name = "pread" } };
	pthread_t tw, tr[3];
	struct vmclock_writer *w;
	char path[64];
	void *map;
	int i;

	base_counter = vmclock_counter_read();
	map = map_page_file(path, sizeof(path));
	REQUIRE(map);
	w = vmclock_writer_create(map, PAGE, &cfg);
	REQUIRE(w);
	seq0 = le32toh(((volatile struct vmclock_abi *)map)->seq_count);
	c[0].r = vmclock_reader_open_memory(map, PAGE);
	c[1].r = vmclock_reader_open(path);
	c[2].r = open_pread(path);
	unlink(path);
	REQUIRE(c[0].r && c[1].r && c[2].r);
	CHECK(vmclock_reader_method(c[1].r) == VMCLOCK_ACCESS_MMAP);
	CHECK(vmclock_reader_method(c[2].r) == VMCLOCK_ACCESS_PREAD);
	for (i = 0; i < 3; i++)
		c[i].limit = want;
	/* Every reader must find an update k >= 1: the fresh page is not one. */
	REQUIRE(!publish(w, 1));
	t0 = now_ns();
	deadline = t0 + secs * 1000000000ull;
	REQUIRE(!pthread_create(&tw, NULL, writer_main, w));
	for (i = 0; i < 3; i++)
		REQUIRE(!pthread_create(&tr[i], NULL, reader_main, &c[i]));
	while (!get(&stop) && now_ns() < deadline)
		usleep(10000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 3; i++)
		pthread_join(tr[i], NULL);
	pthread_join(tw, NULL);
	report(c, 3, __atomic_load_n(&writer_k, __ATOMIC_RELAXED),
	       now_ns() - t0);
	check_results(c, 3, want);
	for (i = 0; i < 3; i++)
		vmclock_reader_close(c[i].r);
	vmclock_writer_destroy(w);
	munmap(map, PAGE);
}
