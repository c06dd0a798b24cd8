// SPDX-License-Identifier: MIT
/*
 * e2e-hostd.c - the host side of the kmod end-to-end test.
 *
 * Owns the VMClock page inside the guest's shared RAM file through
 * libvmclock's writer, and serves the guest test tool's mailbox requests
 * (tests/e2e/mailbox.h): page changes, the ACPI doorbell over QMP, host TSC
 * and CLOCK_TAI readings.
 *
 * Under TCG the guest TSC is the host TSC plus an offset that moves by the
 * paused time (lab REPORT.md Q8), so the host cannot calibrate the page in
 * the guest's counter domain alone.  The guest measures the offset with
 * MBOX_TSC probes (keeping the tightest round trip) and sends it with
 * MBOX_CALIBRATE; the host then publishes a line whose counter_value is in
 * the guest's domain and whose time is the host's CLOCK_TAI.  The period is
 * the host TSC rate against CLOCK_TAI measured since start-up.
 *
 * More pages give the guest devices it must treat differently: a basic
 * page (no counter, no time, no notifications) at +8 KiB, one with a bad
 * magic at +12 KiB, and at +16 KiB a precise page in UTC with
 * tai_offset_sec = +37 (TAI - UTC), whose PTP clock must still read TAI.
 *
 * With --serve, the page belongs to someone else (vmclockd's QEMU adapter
 * in make check-e2e): only the read-only requests are served (ping, host
 * TSC, host CLOCK_TAI, page hash, quit).
 *
 * Usage: e2e-hostd SHMFILE QMP_SOCKET [TIMEOUT_S]
 *        e2e-hostd --serve SHMFILE [TIMEOUT_S]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>

#include "../mailbox.h"

#define PAGE_ADDR 0x1f000000ull
#define MAP_LEN 20480
#define TAI_UTC 37

struct hostd {
	struct vmclock_writer *w;
	struct vmclock_writer *basic;
	struct vmclock_writer *utc;
	volatile struct vmclock_abi *page;
	volatile struct mbox *mb;
	const char *qmp_path;
	FILE *qmp;
	int ring;		/* notify through the doorbell */
	uint64_t ref_tsc;
	uint64_t ref_ns;
	uint64_t last_seq;
};

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * TAI as vmclockd publishes it: CLOCK_REALTIME plus the kernel's TAI
 * offset, or plus 37 s (its leap-second-file fallback) when the kernel
 * was never told one and CLOCK_TAI is just CLOCK_REALTIME.
 */
static uint64_t true_tai_ns(void)
{
	struct timex tx = { 0 };
	int tai = adjtimex(&tx) >= 0 && tx.tai > 0 ? tx.tai : TAI_UTC;

	return ts_ns(CLOCK_REALTIME) + (uint64_t)tai * 1000000000ull;
}

/* A CLOCK_TAI reading and the TSC at its middle. */
static void tai_pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t t0 = __rdtsc(), t1;

	*ns = ts_ns(CLOCK_TAI);
	t1 = __rdtsc();
	*tsc = t0 + (t1 - t0) / 2;
}

static int qmp_line(FILE *f, const char *want)
{
	char line[4096];

	while (fgets(line, sizeof(line), f))
		if (strstr(line, want) || strstr(line, "\"error\""))
			return strstr(line, want) ? 0 : -1;
	return -1;
}

static FILE *qmp_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	FILE *f;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("e2e-hostd: qmp connect");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	f = fdopen(fd, "r+");
	if (!f)
		return NULL;
	setvbuf(f, NULL, _IOLBF, 0);
	fputs("{\"execute\":\"qmp_capabilities\"}\n", f);
	if (qmp_line(f, "\"return\"")) {
		fclose(f);
		return NULL;
	}
	return f;
}

static int qmp_hmp(struct hostd *h, const char *cmd)
{
	if (!h->qmp)
		h->qmp = qmp_open(h->qmp_path);
	if (!h->qmp)
		return -1;
	fprintf(h->qmp, "{\"execute\":\"human-monitor-command\","
		"\"arguments\":{\"command-line\":\"%s\"}}\n", cmd);
	return qmp_line(h->qmp, "\"return\"");
}

/* pc-testdev: a write to port 0x2003 sets ISA IRQ 3, the GED's line. */
static void doorbell(void *ctx, uint32_t seq)
{
	struct hostd *h = ctx;

	(void)seq;
	if (!h->ring)
		return;
	if (qmp_hmp(h, "o /b 0x2003 1") || qmp_hmp(h, "o /b 0x2003 0"))
		fprintf(stderr, "e2e-hostd: doorbell failed\n");
}

/*
 * A line in the guest's TSC domain (guest TSC = host TSC + @offset), in
 * TAI or, for @w in UTC, TAI_UTC seconds behind.
 */
static int calibrate_one(struct hostd *h, struct vmclock_writer *w,
			 int64_t offset, uint64_t behind_ns)
{
	struct vmclock_calibration cal = { 0 };
	uint64_t tsc, ns;
	int ret;

	tai_pair(&tsc, &ns);
	ret = vmclock_period_from_ns(ns - h->ref_ns, tsc - h->ref_tsc,
				     &cal.period_frac, &cal.period_shift);
	if (ret)
		return ret;
	cal.counter_value = tsc + (uint64_t)offset;
	ns -= behind_ns;
	cal.time_sec = ns / 1000000000ull;
	cal.time_frac = vmclock_nsec_to_frac((uint32_t)(ns % 1000000000ull));
	cal.time_maxerror_ns = 1000000;
	cal.valid = VMCLOCK_CAL_TIME_MAXERROR;
	cal.switch_counter = cal.counter_value;
	return vmclock_writer_set_calibration(w, &cal, NULL);
}

static int calibrate(struct hostd *h, int64_t offset)
{
	int ret = calibrate_one(h, h->w, offset, 0);

	if (!ret && h->utc)
		ret = calibrate_one(h, h->utc, offset,
				    TAI_UTC * 1000000000ull);
	return ret;
}

static int restore(struct hostd *h, int ring, uint64_t *gen)
{
	int ret;

	h->ring = ring;
	ret = vmclock_writer_begin(h->w);
	if (!ret)
		ret = vmclock_writer_bump_generation(h->w, 0);
	if (!ret)
		ret = vmclock_writer_bump_disruption(h->w, 0);
	if (!ret)
		ret = vmclock_writer_commit(h->w);
	h->ring = 1;
	*gen = h->page->vm_generation_counter;
	return ret;
}

/* seq_count += 2 with nothing else changed, then the doorbell. */
static int update(struct vmclock_writer *w)
{
	int ret = vmclock_writer_begin(w);

	return ret ? ret : vmclock_writer_commit(w);
}

static int flag(struct vmclock_writer *w, uint64_t on)
{
	uint64_t f = VMCLOCK_FLAG_NOTIFICATION_PRESENT;

	return vmclock_writer_set_flags(w, on ? f : 0, on ? 0 : f);
}

static int serve(struct hostd *h, uint64_t op, uint64_t arg, uint64_t *val)
{
	if (!h->w && op != MBOX_PING && op != MBOX_TSC && op != MBOX_HOSTTIME &&
	    op != MBOX_PAGEHASH)
		return -EPERM;
	switch (op) {
	case MBOX_PING:
		return 0;
	case MBOX_TSC:
		*val = __rdtsc();
		return 0;
	case MBOX_CALIBRATE:
		return calibrate(h, (int64_t)arg);
	case MBOX_HOSTTIME:
		*val = h->w ? ts_ns(CLOCK_TAI) : true_tai_ns();
		return 0;
	case MBOX_PAGEHASH:
		*val = mbox_fnv1a(h->page, 4096);
		return 0;
	case MBOX_STUCK:
		return vmclock_writer_begin(h->w);
	case MBOX_UNSTICK:
		return vmclock_writer_commit(h->w);
	case MBOX_NOTIFY_FLAG:
		return flag(h->w, arg);
	case MBOX_BASIC_FLAG:
		return flag(h->basic, arg);
	case MBOX_STATUS:
		return vmclock_writer_set_status(h->w, (uint8_t)arg);
	case MBOX_RESTORE:
		return restore(h, (int)arg, val);
	default:
		return -EINVAL;
	}
}

/* Answer one request; a delayed update happens after the answer. */
static int handle(struct hostd *h, uint64_t seq)
{
	volatile struct mbox *mb = h->mb;
	uint64_t op = mb->op, arg = mb->arg, val = 0;
	int ret = 0;

	int delayed = op == MBOX_UPDATE || op == MBOX_BASIC_UPDATE;

	if (!delayed && op != MBOX_QUIT)
		ret = serve(h, op, arg, &val);
	mb->val = val;
	mb->status = ret;
	__atomic_store_n(&mb->resp_seq, seq, __ATOMIC_RELEASE);
	h->last_seq = seq;
	if (delayed) {
		usleep((useconds_t)arg * 1000);
		if (update(op == MBOX_UPDATE ? h->w : h->basic))
			fprintf(stderr, "e2e-hostd: update failed\n");
	}
	return op == MBOX_QUIT;
}

static int page_init(struct hostd *h, void *map)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_TAI,
		.size = 4096,
		.notify = doorbell,
		.notify_ctx = h,
	};
	int ret;

	memset(map, 0, MAP_LEN);
	h->mb = (volatile struct mbox *)((char *)map + 4096);
	h->w = vmclock_writer_create(map, 4096, &cfg);
	if (!h->w)
		return -errno;
	h->page = vmclock_writer_page(h->w);
	ret = vmclock_writer_begin(h->w);
	if (!ret)
		ret = vmclock_writer_set_status(h->w,
						VMCLOCK_STATUS_SYNCHRONIZED);
	if (!ret)
		ret = flag(h->w, 1);
	if (!ret)
		ret = vmclock_writer_bump_generation(h->w, 1);
	if (!ret)
		ret = calibrate(h, 0);
	if (!ret)
		ret = vmclock_writer_commit(h->w);
	h->ring = 1;
	return ret;
}

static int utc_page(struct hostd *h, char *map)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_UTC,
		.size = 4096,
	};
	int ret;

	h->utc = vmclock_writer_create(map + 16384, 4096, &cfg);
	if (!h->utc)
		return -1;
	ret = vmclock_writer_begin(h->utc);
	if (!ret)
		ret = vmclock_writer_set_tai_offset(h->utc, TAI_UTC, 1);
	if (!ret)
		ret = vmclock_writer_set_status(h->utc,
						VMCLOCK_STATUS_SYNCHRONIZED);
	if (!ret)
		ret = calibrate_one(h, h->utc, 0, TAI_UTC * 1000000000ull);
	if (!ret)
		ret = vmclock_writer_commit(h->utc);
	return ret;
}

/* The basic page at +8 KiB, the bad one at +12 KiB, UTC at +16 KiB. */
static int extra_pages(struct hostd *h, char *map)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_INVALID,
		.time_type = VMCLOCK_TIME_UTC,
		.size = 4096,
		.notify = doorbell,
		.notify_ctx = h,
	};
	volatile struct vmclock_abi *bad;

	h->basic = vmclock_writer_create(map + 8192, 4096, &cfg);
	if (!h->basic || vmclock_writer_bump_disruption(h->basic, 0))
		return -1;
	bad = (volatile struct vmclock_abi *)(map + 12288);
	bad->magic = 0x4b4c4357;
	bad->size = 4096;
	bad->version = 1;
	return utc_page(h, map);
}

static void *map_page(const char *path)
{
	int fd = open(path, O_RDWR);
	void *map;

	if (fd < 0)
		return NULL;
	map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)PAGE_ADDR);
	close(fd);
	return map == MAP_FAILED ? NULL : map;
}

/* Spin while the guest is busy with us, doze while it is not. */
static void run(struct hostd *h, uint64_t timeout_ns)
{
	uint64_t end = ts_ns(CLOCK_MONOTONIC) + timeout_ns, busy_until = 0;
	struct timespec doze = { 0, 100000 };
	uint64_t seq, now;

	for (;;) {
		seq = __atomic_load_n(&h->mb->req_seq, __ATOMIC_ACQUIRE);
		now = ts_ns(CLOCK_MONOTONIC);
		if (seq != h->last_seq) {
			if (handle(h, seq))
				return;
			busy_until = now + 20000000;
		} else if (now > end) {
			fprintf(stderr, "e2e-hostd: timed out\n");
			return;
		} else if (now > busy_until) {
			nanosleep(&doze, NULL);
		}
	}
}

/* The page is someone else's: answer what does not change it. */
static int serve_only(struct hostd *h, const char *shm, const char *timeout)
{
	void *map = map_page(shm);

	if (!map) {
		perror("e2e-hostd: map");
		return 1;
	}
	h->page = map;
	h->mb = (volatile struct mbox *)((char *)map + 4096);
	printf("e2e-hostd: serving\n");
	fflush(stdout);
	run(h, (uint64_t)(timeout ? atoi(timeout) : 300) * 1000000000ull);
	return 0;
}

int main(int argc, char **argv)
{
	struct hostd h = { 0 };
	struct timespec settle = { 0, 20000000 };
	void *map;

	if (argc < 3) {
		fprintf(stderr, "usage: e2e-hostd SHMFILE QMP_SOCKET [TIMEOUT_S]\n"
			"       e2e-hostd --serve SHMFILE [TIMEOUT_S]\n");
		return 2;
	}
	if (!strcmp(argv[1], "--serve"))
		return serve_only(&h, argv[2], argc > 3 ? argv[3] : NULL);
	h.qmp_path = argv[2];
	map = map_page(argv[1]);
	if (!map) {
		perror("e2e-hostd: map");
		return 1;
	}
	tai_pair(&h.ref_tsc, &h.ref_ns);
	nanosleep(&settle, NULL);	/* a first, rough period */
	if (page_init(&h, map) || extra_pages(&h, map)) {
		fprintf(stderr, "e2e-hostd: page init failed\n");
		return 1;
	}
	printf("e2e-hostd: ready seq=%u\n", h.page->seq_count);
	fflush(stdout);
	run(&h, (uint64_t)(argc > 3 ? atoi(argv[3]) : 300) * 1000000000ull);
	vmclock_writer_destroy(h.utc);
	vmclock_writer_destroy(h.basic);
	vmclock_writer_destroy(h.w);
	return 0;
}
