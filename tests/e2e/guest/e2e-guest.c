// SPDX-License-Identifier: MIT
/*
 * e2e-guest.c - the guest side of the kmod end-to-end test (static binary).
 *
 * Exercises /dev/vmclock0 and the vmclock PTP clock the way a program
 * would, and asks the host servant (e2e-hostd, through the mailbox page of
 * tests/e2e/mailbox.h) to change the page, ring the ACPI doorbell and say
 * what its own page and CLOCK_TAI are.  Prints "PASS: ..." or "FAIL: ..."
 * per check; the harness counts them.
 *
 * Usage: e2e-guest all PTPDEV EXPECT_PRECISE
 *        e2e-guest hosttime | quit
 *        e2e-guest between H0_NS H1_NS TOL_NS "phc_ctl output"
 *        e2e-guest basic DEV    (a page without notifications or time)
 *        e2e-guest utc PTPDEV   (a UTC page with tai_offset_sec = +37)
 *
 * make check-e2e (the page written by the QEMU adapter, e2e-hostd --serve
 * answering host time and page hash; the adapter's TSC probes are answered
 * by the shipped `vmclock respond`):
 *        e2e-guest wait-sync S [M]    synchronized (and marker != M) in S s;
 *                                     prints "MARKER GENERATION"
 *        e2e-guest devchecks          mmap == pread == host page, writes
 *        e2e-guest pollcount N        N notified updates, one wake each
 *        e2e-guest hup 1|0            POLLHUP expected or not
 *        e2e-guest accuracy N LABEL PTPDEV   PHC and reader vs host TAI
 *        e2e-guest nowcheck N LABEL   `vmclock now` vs host TAI
 *        e2e-guest restore-check MARKER GEN  (prints E2E-REQ snapshot)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/ptp_clock.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <vmclock/vmclock.h>

#include "../mailbox.h"

#define DEV "/dev/vmclock0"
#define SYSFS "/sys/bus/platform/devices/AMZNC10C:00/"
#define FD_TO_CLOCKID(fd) ((~(clockid_t)(fd) << 3) | 3)
#define MS 1000000ll

static volatile struct mbox *mb;
static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what,
	       detail[0] ? " -- " : "", detail);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int mbox_open(void)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	void *p;

	if (fd < 0)
		return -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 MBOX_PAGE_ADDR);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	mb = p;
	return 0;
}

/* One request; the host answers within 10 s or the test is broken. */
static int64_t host(uint64_t op, uint64_t arg, uint64_t *val)
{
	uint64_t seq = mb->req_seq + 1;
	int64_t end = now_ns() + 10000 * MS;

	mb->op = op;
	mb->arg = arg;
	__atomic_store_n(&mb->req_seq, seq, __ATOMIC_RELEASE);
	while (__atomic_load_n(&mb->resp_seq, __ATOMIC_ACQUIRE) != seq) {
		if (now_ns() > end) {
			fprintf(stderr, "e2e-guest: host did not answer op %llu\n",
				(unsigned long long)op);
			exit(3);
		}
	}
	if (val)
		*val = mb->val;
	return mb->status;
}

static uint64_t host_val(uint64_t op, uint64_t arg)
{
	uint64_t v = 0;

	host(op, arg, &v);
	return v;
}

static void check_page(void)
{
	static unsigned char buf[8192];
	int fd = open(DEV, O_RDONLY);
	const unsigned char *m;
	char d[160];
	uint64_t hm, hp, hh;
	ssize_t n, eof;

	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	check(fd >= 0 && m != MAP_FAILED, "open and mmap " DEV, "");
	if (fd < 0 || m == MAP_FAILED)
		return;
	n = pread(fd, buf, sizeof(buf), 0);
	eof = pread(fd, buf + 4096, 16, 4096);
	hm = mbox_fnv1a(m, 4096);
	hp = mbox_fnv1a(buf, 4096);
	hh = host_val(MBOX_PAGEHASH, 0);
	snprintf(d, sizeof(d), "pread=%zd eof=%zd mmap=%016llx pread=%016llx host=%016llx",
		 n, eof, (unsigned long long)hm, (unsigned long long)hp,
		 (unsigned long long)hh);
	check(n == 4096 && eof == 0 && hm == hp && hp == hh &&
	      !memcmp(m, "VCLK", 4), "mmap == pread == host page", d);
	munmap((void *)m, 4096);
	close(fd);
}

static int map_fails(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return errno;
	munmap(p, len);
	return 0;
}

static int mprotect_fails(int fd, int flags)
{
	void *p = mmap(NULL, 4096, PROT_READ, flags, fd, 0);
	int ret;

	if (p == MAP_FAILED)
		return -1;
	ret = mprotect(p, 4096, PROT_READ | PROT_WRITE) ? errno : 0;
	munmap(p, 4096);
	return ret;
}

/* O_RDWR, so that only the driver stands between us and a write. */
static void check_write_refused(void)
{
	int fd = open(DEV, O_RDWR);
	int w, off, len, mp, mpp;
	char d[128];

	w = map_fails(fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	off = map_fails(fd, 4096, PROT_READ, MAP_SHARED, 4096);
	len = map_fails(fd, 8192, PROT_READ, MAP_SHARED, 0);
	snprintf(d, sizeof(d), "write=%s offset=%s length=%s", strerror(w),
		 strerror(off), strerror(len));
	check(fd >= 0 && w == EROFS && off == EINVAL && len == EINVAL,
	      "writable, offset and oversized mmap refused", d);
	mp = mprotect_fails(fd, MAP_SHARED);
	mpp = mprotect_fails(fd, MAP_PRIVATE);
	snprintf(d, sizeof(d), "shared=%s private=%s", strerror(mp),
		 strerror(mpp));
	check(mp > 0 && mpp > 0, "mprotect(PROT_WRITE) refused", d);
	close(fd);
}

static void check_timeout(void)
{
	static char buf[4096];
	int fd = open(DEV, O_RDONLY);
	int64_t t0, el;
	ssize_t n, n2;
	int err;
	char d[96];

	host(MBOX_STUCK, 0, NULL);
	t0 = now_ns();
	n = pread(fd, buf, sizeof(buf), 0);
	err = errno;
	el = now_ns() - t0;
	host(MBOX_UNSTICK, 0, NULL);
	n2 = pread(fd, buf, sizeof(buf), 0);
	snprintf(d, sizeof(d), "ret=%zd (%s) after %lld ms, then %zd", n,
		 n < 0 ? strerror(err) : "-", (long long)(el / MS), n2);
	check(n < 0 && err == ETIMEDOUT && el >= 100 * MS && el < 1000 * MS &&
	      n2 == 4096, "pread on a stuck odd seq: ETIMEDOUT after 100 ms",
	      d);
	close(fd);
}

static short poll_fd(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };

	return poll(&p, 1, timeout_ms) > 0 ? p.revents : 0;
}

/* One host update, notified 300 ms after we are asleep in poll(). */
static int one_wake(int fd, char *buf, char *d, size_t dlen)
{
	short before, woke, again, after;
	int64_t t0, el;

	before = poll_fd(fd, 0);
	host(MBOX_UPDATE, 300, NULL);
	t0 = now_ns();
	woke = poll_fd(fd, 10000);
	el = now_ns() - t0;
	again = poll_fd(fd, 0);
	pread(fd, buf, 4096, 0);
	after = poll_fd(fd, 500);
	snprintf(d, dlen, "before=%#x woke=%#x after %lld ms, level=%#x, after read=%#x",
		 before, woke, (long long)(el / MS), again, after);
	return !before && woke == (POLLIN | POLLRDNORM) && el >= 200 * MS &&
	       again == woke && !after;
}

static void check_poll(void)
{
	static char buf[4096];
	int fd = open(DEV, O_RDONLY);
	short fresh = poll_fd(fd, 0);
	char d[160];
	int i, ok;

	pread(fd, buf, sizeof(buf), 0);
	check(fresh == (POLLIN | POLLRDNORM) && !poll_fd(fd, 0),
	      "poll: POLLIN on a fresh fd, quiet after a read", "");
	for (i = 1; i <= 3; i++) {
		ok = one_wake(fd, buf, d, sizeof(d));
		check(ok, i == 1 ? "poll wakes once per notified update (1)" :
		      i == 2 ? "poll wakes once per notified update (2)" :
		      "poll wakes once per notified update (3)", d);
	}
	close(fd);
}

static void check_hup(void)
{
	int fd = open(DEV, O_RDONLY);
	short off, on;
	char d[64];

	host(MBOX_NOTIFY_FLAG, 0, NULL);
	off = poll_fd(fd, 5000);
	host(MBOX_NOTIFY_FLAG, 1, NULL);
	on = poll_fd(fd, 0);
	snprintf(d, sizeof(d), "without=%#x with=%#x", off, on);
	check((off & POLLHUP) && !(on & POLLHUP),
	      "poll: POLLHUP without NOTIFICATION_PRESENT (live flag)", d);
	close(fd);
}

/* The best of 200 probes: guest TSC - host TSC, within its window. */
static int64_t tsc_offset(uint64_t *window)
{
	uint64_t best = UINT64_MAX, g0, g1, h;
	int64_t off = 0;
	int i;

	for (i = 0; i < 200; i++) {
		g0 = __rdtsc();
		host(MBOX_TSC, 0, &h);
		g1 = __rdtsc();
		if (g1 - g0 < best) {
			best = g1 - g0;
			off = (int64_t)(g0 + (g1 - g0) / 2 - h);
		}
	}
	*window = best;
	return off;
}

static int64_t ts_to_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

static int64_t pct_ns(const struct ptp_clock_time *t)
{
	return t->sec * 1000000000ll + t->nsec;
}

/* PHC readings must fall between two host CLOCK_TAI readings, +- 1 ms. */
static void check_phc_time(clockid_t clk, const char *what)
{
	struct timespec ts;
	int64_t h0, h1, phc, worst = 0;
	int i, ok = 1;
	char d[128];

	for (i = 0; i < 5; i++) {
		h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		ok &= !clock_gettime(clk, &ts);
		h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		phc = ts_to_ns(&ts);
		ok &= phc >= h0 - MS && phc <= h1 + MS;
		if (phc - h1 > worst)
			worst = phc - h1;
		if (h0 - phc > worst)
			worst = h0 - phc;
	}
	snprintf(d, sizeof(d), "last phc-host=%lld ns (window %lld ns), worst outside %lld ns",
		 (long long)(phc - h0), (long long)(h1 - h0), (long long)worst);
	check(ok, what, d);
}

static void check_phc_ioctls(int fd, int expect_precise)
{
	struct ptp_sys_offset_extended ext = { .n_samples = 3 };
	struct ptp_sys_offset_precise pr;
	struct ptp_clock_caps caps;
	int64_t h0, h1, dev;
	int e, p, pe;
	char d[128];

	e = ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &ext);
	check(!e && pct_ns(&ext.ts[0][0]) <= pct_ns(&ext.ts[0][2]),
	      "PTP_SYS_OFFSET_EXTENDED: pre <= post", "");
	memset(&pr, 0, sizeof(pr));
	h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
	p = ioctl(fd, PTP_SYS_OFFSET_PRECISE, &pr);
	pe = errno;
	h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
	dev = pct_ns(&pr.device);
	if (p)
		snprintf(d, sizeof(d), "ret=%d (%s)", p, strerror(pe));
	else
		snprintf(d, sizeof(d), "device-host=%lld ns (host window %lld ns)",
			 (long long)(dev - h0), (long long)(h1 - h0));
	if (expect_precise)
		check(!p && dev >= h0 - MS && dev <= h1 + MS,
		      "PTP_SYS_OFFSET_PRECISE cross-timestamp (clocksource tsc)",
		      d);
	else
		check(p && pe == EOPNOTSUPP,
		      "PTP_SYS_OFFSET_PRECISE unsupported on this kernel", d);
	check(!ioctl(fd, PTP_CLOCK_GETCAPS, &caps) && caps.max_adj == 0,
	      "PTP caps: max_adj 0", "");
}

static void check_phc_readonly(clockid_t clk)
{
	struct timex tx = { .modes = ADJ_FREQUENCY, .freq = 0 };
	struct timespec ts = { 1, 0 };
	int s, a, se, ae;
	char d[96];

	s = clock_settime(clk, &ts);
	se = errno;
	a = clock_adjtime(clk, &tx);
	ae = errno;
	snprintf(d, sizeof(d), "settime %s, adjtime %s", strerror(se),
		 strerror(ae));
	check(s && se == EOPNOTSUPP && a < 0 && ae == EOPNOTSUPP,
	      "PHC adjustments: EOPNOTSUPP", d);
}

static void check_unreliable(clockid_t clk)
{
	struct timespec ts;
	int r, err, r2;
	char d[64];

	host(MBOX_STATUS, 4, NULL);
	r = clock_gettime(clk, &ts);
	err = errno;
	host(MBOX_STATUS, 2, NULL);
	r2 = clock_gettime(clk, &ts);
	snprintf(d, sizeof(d), "unreliable: %s, synchronized: %d",
		 r ? strerror(err) : "ok", r2);
	check(r && err == EINVAL && !r2, "PHC: EINVAL while UNRELIABLE", d);
}

/* libvmclock's reader on the device node must tell the same time. */
static void check_libvmclock(void)
{
	struct vmclock_reader *r = vmclock_reader_open(DEV);
	struct vmclock_reading rd;
	int64_t h0, h1;
	int ret = -1;
	char d[128];

	h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
	if (r)
		ret = vmclock_reader_read(r, &rd);
	h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
	if (ret)
		snprintf(d, sizeof(d), "open %s, read %d",
			 r ? "ok" : strerror(errno), ret);
	else
		snprintf(d, sizeof(d), "tai-host=%lld ns (host window %lld ns), method %d",
			 (long long)(rd.tai_ns - h0), (long long)(h1 - h0),
			 (int)vmclock_reader_method(r));
	check(!ret && rd.tai_ns >= h0 - MS && rd.tai_ns <= h1 + MS,
	      "libvmclock reader on " DEV " agrees with host CLOCK_TAI", d);
	vmclock_reader_close(r);
}

static void check_phc(const char *path, int expect_precise)
{
	int fd = open(path, O_RDWR);
	clockid_t clk = FD_TO_CLOCKID(fd);
	uint64_t window;
	int64_t off;
	char d[96];

	off = tsc_offset(&window);
	snprintf(d, sizeof(d), "guest-host TSC offset %lld, window %llu cycles",
		 (long long)off, (unsigned long long)window);
	check(fd >= 0 && !host(MBOX_CALIBRATE, (uint64_t)off, NULL),
	      "calibrate the page in the guest's TSC domain", d);
	if (fd < 0)
		return;
	check_phc_time(clk, "PHC clock_gettime agrees with host CLOCK_TAI");
	check_phc_ioctls(fd, expect_precise);
	check_phc_readonly(clk);
	check_unreliable(clk);
	check_libvmclock();
	close(fd);
}

static int uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

/* Wait up to 5 s for our uevent naming generation @gen. */
static int uevent_wait(int fd, uint64_t gen)
{
	char buf[4096], want[64];
	int64_t end = now_ns() + 5000 * MS;
	int found_ev, found_gen;
	ssize_t n, i;

	snprintf(want, sizeof(want), "VMCLOCK_VM_GENERATION_COUNTER=%llu",
		 (unsigned long long)gen);
	while (now_ns() < end) {
		if (!(poll_fd(fd, 500) & POLLIN))
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		found_ev = found_gen = 0;
		for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
			found_ev |= !strcmp(buf + i, "VMCLOCK_EVENT=restore");
			found_gen |= !strcmp(buf + i, want);
		}
		if (found_ev && found_gen)
			return 1;
	}
	return 0;
}

static uint64_t sysfs_u64(const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), SYSFS "%s", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static void check_restore(void)
{
	static char buf[4096];
	int ufd = uevent_open(), dfd = open(DEV, O_RDONLY), got;
	uint64_t gen;
	char d[96];

	gen = host_val(MBOX_RESTORE, 1);
	got = uevent_wait(ufd, gen);
	snprintf(d, sizeof(d), "generation %llu, sysfs %llu",
		 (unsigned long long)gen,
		 (unsigned long long)sysfs_u64("vm_generation_counter"));
	check(ufd >= 0 && got && sysfs_u64("vm_generation_counter") == gen,
	      "restore seen at a notify: uevent + sysfs", d);
	gen = host_val(MBOX_RESTORE, 0);
	pread(dfd, buf, sizeof(buf), 0);
	got = uevent_wait(ufd, gen);
	snprintf(d, sizeof(d), "generation %llu", (unsigned long long)gen);
	check(got, "restore seen at a read (no notify): uevent", d);
	close(ufd);
	close(dfd);
}

/* "clock time is 1763780012.345678901 or ..." -> ns */
static int64_t parse_phc_ctl(const char *out)
{
	const char *p = strstr(out, "clock time is ");
	long long sec = 0;
	char frac[10] = "000000000";
	int n = 0;

	if (!p || sscanf(p + 14, "%lld.%n", &sec, &n) != 1 || !n)
		return -1;
	p += 14 + n;
	for (n = 0; n < 9 && p[n] >= '0' && p[n] <= '9'; n++)
		frac[n] = p[n];
	return sec * 1000000000ll + atoll(frac);
}

static int between(char **argv)
{
	int64_t h0 = atoll(argv[0]), h1 = atoll(argv[1]);
	int64_t tol = atoll(argv[2]), phc = parse_phc_ctl(argv[3]);
	char d[128];

	snprintf(d, sizeof(d), "phc-host=%lld ns, host window %lld ns",
		 (long long)(phc - h0), (long long)(h1 - h0));
	check(phc >= h0 - tol && phc <= h1 + tol,
	      "phc_ctl get agrees with host CLOCK_TAI", d);
	return phc >= h0 - tol && phc <= h1 + tol ? 0 : 1;
}

/*
 * A basic-mode page, probed without NOTIFICATION_PRESENT: POLLHUP at once;
 * once the host sets the flag, a notified update must wake us, which
 * upstream (handler installed only if the flag was there at probe) misses.
 */
static int basic(const char *dev)
{
	char buf[4096], d[96];
	int fd = open(dev, O_RDONLY);
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	short r = poll_fd(fd, 5000), woke;
	int64_t t0, el;

	snprintf(d, sizeof(d), "pread=%zd poll=%#x", n, r);
	check(n == 4096 && !memcmp(buf, "VCLK", 4) && r == POLLHUP,
	      "basic page: pread works, poll says POLLHUP", d);
	host(MBOX_BASIC_FLAG, 1, NULL);
	pread(fd, buf, sizeof(buf), 0);
	host(MBOX_BASIC_UPDATE, 300, NULL);
	t0 = now_ns();
	woke = poll_fd(fd, 10000);
	el = now_ns() - t0;
	snprintf(d, sizeof(d), "woke=%#x after %lld ms", woke,
		 (long long)(el / MS));
	check(woke == (POLLIN | POLLRDNORM) && el >= 200 * MS,
	      "flag gained after probe: notify still wakes poll", d);
	close(fd);
	return 0;
}

/* Calibrated by "all" already: TAI = UTC + 37 s, our sign convention. */
static int utc(const char *path)
{
	int fd = open(path, O_RDONLY);

	check_phc_time(FD_TO_CLOCKID(fd),
		       "UTC page + tai_offset_sec 37: PHC reads TAI (UTC + 37 s)");
	close(fd);
	return 0;
}

#include "e2e-adapter.c"

int main(int argc, char **argv)
{
	if (argc < 2 || mbox_open()) {
		fprintf(stderr, "usage: see the comment at the top of e2e-guest.c\n");
		return 2;
	}
	if (!strcmp(argv[1], "hosttime")) {
		printf("%llu\n",
		       (unsigned long long)host_val(MBOX_HOSTTIME, 0));
		return 0;
	}
	if (!strcmp(argv[1], "quit"))
		return host(MBOX_QUIT, 0, NULL) ? 1 : 0;
	if (!strcmp(argv[1], "utc") && argc == 3)
		return utc(argv[2]);
	if (!strcmp(argv[1], "basic") && argc == 3)
		return basic(argv[2]);
	if (!strcmp(argv[1], "between") && argc == 6)
		return between(argv + 2);
	if (adapter_command(argc, argv) >= 0)
		return failed ? 1 : 0;
	if (strcmp(argv[1], "all") || argc != 4)
		return 2;
	check_page();
	check_write_refused();
	check_timeout();
	check_poll();
	check_hup();
	check_phc(argv[2], atoi(argv[3]));
	check_restore();
	return failed ? 1 : 0;
}
