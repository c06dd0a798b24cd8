// SPDX-License-Identifier: MIT
/*
 * probe.c - vmclockd-probe: look at vmclockd's pages through libvmclock's
 * reader, for the daemon test scripts and docs/accuracy.md.
 *
 *	dump PAGE                    fields as key=value lines
 *	accuracy PAGE N [SECONDS]    CLOCK_REALTIME before/after a counter
 *	                             read vs the page at that counter (spread
 *	                             over SECONDS)
 *	guestcmp HOST GUEST OFFSET SCALE BITS N
 *	                             guest page at the mapped counter vs host
 *	mono PAGE SECONDS            reads for that long: time never goes
 *	                             back; prints marker changes
 *	send SOCKET                  stdin's raw bytes to a control socket,
 *	                             the replies to stdout
 *	counter                      this CPU's counter now
 */
#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock.h>

#include "../../daemon/guest.h"

static struct vmclock_reader *open_page(const char *path)
{
	struct vmclock_reader *r = vmclock_reader_open(path);

	if (!r) {
		fprintf(stderr, "vmclockd-probe: %s: %s %s\n", path,
			strerror(errno), vmclock_reader_open_error());
		exit(2);
	}
	return r;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int dump(const char *path)
{
	struct vmclock_reader *r = open_page(path);
	struct vmclock_reading rd;
	struct vmclock_abi pg;

	if (vmclock_reader_snapshot(r, &pg) || vmclock_reader_read(r, &rd))
		return 1;
	printf("seq_count=%u\ndisruption_marker=%" PRIu64
	       "\nvm_generation_counter=%" PRIu64 "\nflags=0x%" PRIx64
	       "\nstatus=%s\ntime_type=%s\ntai_offset_sec=%d\nleap=%s\n"
	       "counter_id=%u\nshift=%u\ntime_maxerror_ns=%" PRIu64
	       "\ntime_esterror_ns=%" PRIu64 "\nperiod_maxerror_rate=%" PRIu64
	       "\nvalid=0x%x\nutc_ns=%" PRId64 "\nmaxerror_ns=%" PRIu64 "\n",
	       pg.seq_count, (uint64_t)pg.disruption_marker,
	       (uint64_t)pg.vm_generation_counter, (uint64_t)pg.flags,
	       vmclock_status_name(pg.clock_status),
	       vmclock_time_type_name(pg.time_type), (int16_t)pg.tai_offset_sec,
	       vmclock_leap_name(pg.leap_indicator), pg.counter_id,
	       pg.counter_period_shift, (uint64_t)pg.time_maxerror_nanosec,
	       (uint64_t)pg.time_esterror_nanosec,
	       (uint64_t)pg.counter_period_maxerror_rate_frac_sec, rd.valid,
	       rd.utc_ns, rd.maxerror_ns);
	vmclock_reader_close(r);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static void spread(double seconds, long n)
{
	struct timespec ts;
	double gap = seconds / (double)n;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)gap;
	ts.tv_nsec = (long)((gap - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void report_clean(const int64_t *dist, const int64_t *width, long n)
{
	int64_t *d = calloc((size_t)n, sizeof(*d));
	long i, m = 0;

	for (i = 0; d && i < n; i++)
		if (width[i] && width[i] <= 100)
			d[m++] = dist[i];
	if (m) {
		qsort(d, (size_t)m, sizeof(*d), cmp_i64);
		printf("distance_ns(bracket<=100ns) n=%ld p50=%" PRId64 " p99=%" PRId64
		       " max=%" PRId64 "\n", m, pct(d, m, 0.5), pct(d, m, 0.99),
		       d[m - 1]);
	}
	free(d);
}

static int accuracy(const char *path, long n, double seconds)
{
	struct vmclock_reader *r = open_page(path);
	int64_t *dist = calloc((size_t)n, sizeof(*dist));
	int64_t *width = calloc((size_t)n, sizeof(*width));
	long i, outside = 0, errs = 0;
	uint64_t maxerr = 0;

	if (!dist || !width)
		return 2;
	for (i = 0; i < n; i++) {
		struct vmclock_reading rd;
		int64_t t1, t2, mid;
		uint64_t c;

		spread(seconds, n);
		/* Warm the caches a sleep cooled: the bracket is the clock's. */
		realtime_ns();
		vmclock_reader_read_at(r, vmclock_counter_read(), &rd);
		t1 = realtime_ns();
		c = vmclock_counter_read();
		t2 = realtime_ns();
		if (vmclock_reader_read_at(r, c, &rd) ||
		    !(rd.valid & VMCLOCK_VALID_UTC) ||
		    !(rd.valid & VMCLOCK_VALID_MAXERROR)) {
			errs++;
			continue;
		}
		mid = t1 + (t2 - t1) / 2;
		dist[i] = rd.utc_ns > mid ? rd.utc_ns - mid : mid - rd.utc_ns;
		width[i] = t2 - t1;
		maxerr = rd.maxerror_ns;
		if (rd.utc_ns + (int64_t)rd.maxerror_ns < t1 ||
		    rd.utc_ns - (int64_t)rd.maxerror_ns > t2)
			outside++;
	}
	report_clean(dist, width, n);
	qsort(dist, (size_t)n, sizeof(*dist), cmp_i64);
	qsort(width, (size_t)n, sizeof(*width), cmp_i64);
	printf("samples=%ld errors=%ld outside=%ld\n", n, errs, outside);
	printf("distance_ns p50=%" PRId64 " p99=%" PRId64 " max=%" PRId64 "\n",
	       pct(dist, n, 0.5), pct(dist, n, 0.99), dist[n - 1]);
	printf("bracket_ns p50=%" PRId64 " p99=%" PRId64 " max=%" PRId64 "\n",
	       pct(width, n, 0.5), pct(width, n, 0.99), width[n - 1]);
	printf("maxerror_ns=%" PRIu64 "\n", maxerr);
	vmclock_reader_close(r);
	free(dist);
	free(width);
	return errs || outside ? 1 : 0;
}

static uint64_t map_counter(uint64_t h, uint64_t off, uint64_t scale,
			    unsigned int bits)
{
	unsigned __int128 p = (unsigned __int128)h * scale;

	return (uint64_t)(p >> bits) + off;
}

/*
 * Snapshots of the host page and of a guest page that carry the same fit:
 * vmclockd may publish between the two reads, and then they hold
 * consecutive lines, which differ by that update's correction.  A fit is
 * known by its period: the guest's must be the host's mapped, exactly as
 * vmclockd maps it (guest_map_calibration()).  The anchors may differ (a
 * guest just added gets the fit moved to that moment before the host page
 * does), which does not change the line.  A guest written late in a
 * fleet's walk (a pwrite page behind a thousand others, on a loaded
 * machine) can lag the host page for milliseconds, so the pairs are
 * retried for up to SAME_FIT_SECONDS rather than a number of times.
 * Return: 0, or -1 when no matching pair came in that long.
 */
#define SAME_FIT_SECONDS 10

static int same_fit(struct vmclock_reader *h, struct vmclock_reader *g,
		    const struct guest_mapping *m, struct vmclock_abi *ph,
		    struct vmclock_abi *pg, long *retries)
{
	struct vmclock_calibration hc = { 0 }, gc;
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += SAME_FIT_SECONDS;
	for (;;) {
		if (vmclock_reader_snapshot(h, ph) || vmclock_reader_snapshot(g, pg))
			return -1;
		/* Snapshots are the page's little-endian bytes. */
		hc.counter_value = le64toh(ph->counter_value);
		hc.period_frac = le64toh(ph->counter_period_frac_sec);
		hc.period_shift = ph->counter_period_shift;
		if (!guest_map_calibration(m, &hc, &gc) &&
		    gc.period_frac == le64toh(pg->counter_period_frac_sec) &&
		    gc.period_shift == pg->counter_period_shift)
			return 0;
		++*retries;
		/* Let vmclockd, which may share this CPU, finish its walk. */
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return -1;
	}
}

static int guestcmp(char **argv)
{
	struct vmclock_reader *h = open_page(argv[0]), *g = open_page(argv[1]);
	uint64_t off = strtoull(argv[2], NULL, 0), scale = strtoull(argv[3], NULL, 0);
	unsigned int bits = (unsigned int)strtoul(argv[4], NULL, 0);
	long i, n = atol(argv[5]), bad = 0, retries = 0;
	struct guest_mapping m = { off, scale, bits };
	int64_t worst = 0;

	for (i = 0; i < n; i++) {
		/* Counters from now to a second ahead, in odd steps. */
		uint64_t c = vmclock_counter_read() + (uint64_t)i * 999983ull % 3000000000ull;
		struct vmclock_reading rh, rg;
		struct vmclock_abi ph, pg;
		int64_t d;

		/* No pair in SAME_FIT_SECONDS: no later sample would find one. */
		if (same_fit(h, g, &m, &ph, &pg, &retries)) {
			bad++;
			break;
		}
		if (vmclock_reading_from_page(&ph, c, VMCLOCK_DEFAULT_DRIFT_PPB, &rh) ||
		    vmclock_reading_from_page(&pg, map_counter(c, off, scale, bits),
					      VMCLOCK_DEFAULT_DRIFT_PPB, &rg) ||
		    !(rh.valid & rg.valid & VMCLOCK_VALID_TIME)) {
			bad++;
			continue;
		}
		d = rg.time_ns - rh.time_ns;
		if (d < 0)
			d = -d;
		worst = d > worst ? d : worst;
		if (rg.maxerror_ns < rh.maxerror_ns)
			bad++;
	}
	printf("samples=%ld bad=%ld max_difference_ns=%" PRId64
	       " (pairs retried across an update: %ld)\n", n, bad, worst, retries);
	vmclock_reader_close(h);
	vmclock_reader_close(g);
	return bad || worst > 2 ? 1 : 0;
}

static int mono(const char *path, double seconds)
{
	struct vmclock_reader *r = open_page(path);
	int64_t last = 0, end = realtime_ns() + (int64_t)(seconds * 1e9);
	uint64_t marker = 0, gen = 0, reads = 0;
	long back = 0, markers = 0, first = 1;

	while (realtime_ns() < end) {
		struct vmclock_reading rd;

		if (vmclock_reader_read(r, &rd) || !(rd.valid & VMCLOCK_VALID_TIME))
			continue;
		reads++;
		if (!first && rd.disruption_marker != marker) {
			markers++;
			printf("marker changed %" PRIu64 " -> %" PRIu64 "\n", marker,
			       rd.disruption_marker);
		}
		if (!first && rd.time_ns < last) {
			back++;
			printf("time went back %" PRId64 " ns\n", last - rd.time_ns);
		}
		marker = rd.disruption_marker;
		gen = rd.vm_generation_counter;
		last = rd.time_ns;
		first = 0;
	}
	printf("reads=%" PRIu64 " backward=%ld marker_changes=%ld generation=%" PRIu64 "\n",
	       reads, back, markers, gen);
	vmclock_reader_close(r);
	return back || markers || !reads ? 1 : 0;
}

static int send_raw(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	char buf[65536];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror(path);
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			return 1;
	shutdown(fd, SHUT_WR);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "send"))
		return send_raw(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "counter")) {
		printf("%" PRIu64 "\n", vmclock_counter_read());
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return dump(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "accuracy"))
		return accuracy(argv[2], atol(argv[3]),
				argc == 5 ? atof(argv[4]) : 0);
	if (argc == 8 && !strcmp(argv[1], "guestcmp"))
		return guestcmp(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "mono"))
		return mono(argv[2], atof(argv[3]));
	fprintf(stderr, "usage: vmclockd-probe dump|accuracy|guestcmp|mono ...\n");
	return 2;
}
