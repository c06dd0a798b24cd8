// SPDX-License-Identifier: MIT
/*
 * e2e-adapter.c - e2e-guest's commands for make check-e2e, where the page
 * is written by the QEMU adapter and only host time and the page hash come
 * through the test mailbox.  Included by e2e-guest.c (one static binary).
 *
 * The accuracy checks are exact intervals: the host reads CLOCK_TAI after
 * our request and before its answer, so a clock read between two answers
 * happened within [h0, h1] of host time, and a clock that is within its
 * published max error must read within [h0 - maxerror, h1 + maxerror].
 * The error reported is against the middle of that window.  The adapter's
 * TSC probes are answered by `vmclock respond`, the shipped responder.
 */

static int read_page(int fd, struct vmclock_abi *pg)
{
	return pread(fd, pg, sizeof(*pg), 0) == (ssize_t)sizeof(*pg) ? 0 : -1;
}

/*
 * A bounded page (SYNCHRONIZED, or FREERUNNING: a host without NTP says
 * so and publishes its large bound), and a marker other than @not (when
 * @have_not).
 */
static int usable(const struct vmclock_abi *pg)
{
	return pg->clock_status == VMCLOCK_STATUS_SYNCHRONIZED ||
	       pg->clock_status == VMCLOCK_STATUS_FREERUNNING;
}

static int wait_sync(int secs, int have_not, uint64_t not)
{
	int fd = open(DEV, O_RDONLY);
	int64_t end = now_ns() + secs * 1000 * MS;
	struct vmclock_abi pg;

	while (fd >= 0 && now_ns() < end) {
		if (!read_page(fd, &pg) && usable(&pg) &&
		    (!have_not || pg.disruption_marker != not)) {
			printf("%llu %llu\n",
			       (unsigned long long)pg.disruption_marker,
			       (unsigned long long)pg.vm_generation_counter);
			close(fd);
			return 0;
		}
		poll_fd(fd, 200);
	}
	if (fd >= 0)
		close(fd);
	return 1;
}

/* mmap == pread == the host's copy, retried while an update races us. */
static void devchecks(void)
{
	static unsigned char a[4096], b[4096];
	int fd = open(DEV, O_RDONLY), i, ok = 0;
	const unsigned char *m;
	uint64_t hm = 0, ha = 0, hh = 0;
	char d[160];

	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	for (i = 0; fd >= 0 && m != MAP_FAILED && i < 20 && !ok; i++) {
		if (pread(fd, a, 4096, 0) != 4096)
			break;
		hm = mbox_fnv1a(m, 4096);
		hh = host_val(MBOX_PAGEHASH, 0);
		if (pread(fd, b, 4096, 0) != 4096 || memcmp(a, b, 4096))
			continue;	/* an update came in between */
		ha = mbox_fnv1a(a, 4096);
		ok = ha == hm && hm == hh && !memcmp(a, "VCLK", 4);
	}
	snprintf(d, sizeof(d), "mmap=%016llx pread=%016llx host=%016llx",
		 (unsigned long long)hm, (unsigned long long)ha,
		 (unsigned long long)hh);
	check(ok, "mmap == pread == the host's page", d);
	if (m != MAP_FAILED)
		munmap((void *)m, 4096);
	if (fd >= 0)
		close(fd);
	check_write_refused();
}

/* @n notified updates: each wakes poll once and is one seq_count step. */
static void pollcount(int n)
{
	int fd = open(DEV, O_RDONLY), i, ok = fd >= 0;
	struct vmclock_abi pg;
	uint32_t prev = 0;
	short r, again;
	char d[128] = "";
	int64_t lat, lat_max = 0, lat_sum = 0;

	if (ok)
		ok = !read_page(fd, &pg);
	prev = pg.seq_count;
	host(MBOX_PING, 0, NULL);
	for (i = 0; ok && i < n; i++) {
		r = poll_fd(fd, 5000);
		lat = (int64_t)host_val(MBOX_HOSTTIME, 0);
		ok = !read_page(fd, &pg);
		/* From the host sample the update carries to our wake-up. */
		lat -= (int64_t)(pg.time_sec * 1000000000ull +
				 (uint64_t)(((unsigned __int128)pg.time_frac_sec *
					     1000000000u) >> 64));
		lat_sum += lat;
		if (lat > lat_max)
			lat_max = lat;
		again = poll_fd(fd, 0);
		snprintf(d, sizeof(d), "wake %d: revents=%#x seq %u -> %u, then %#x",
			 i + 1, r, prev, pg.seq_count, again);
		ok &= r == (POLLIN | POLLRDNORM) && pg.seq_count == prev + 2 &&
		      !again;
		prev = pg.seq_count;
	}
	check(ok, "poll wakes once per notified host update", d);
	printf("E2E-LAT host sample -> guest wake-up: mean %lld us, max %lld us over %d updates\n",
	       (long long)(i ? lat_sum / i / 1000 : 0),
	       (long long)(lat_max / 1000), i);
	if (fd >= 0)
		close(fd);
}

/* @want 1: POLLHUP within 10 s (notifications withdrawn); 0: a wake. */
static void hup(int want)
{
	int fd = open(DEV, O_RDONLY);
	int64_t end = now_ns() + 10000 * MS;
	char buf[4096], d[64];
	short r = 0;

	while (fd >= 0 && now_ns() < end) {
		pread(fd, buf, sizeof(buf), 0);
		r = poll_fd(fd, 2000);
		if (!!(r & POLLHUP) == want && (want || (r & POLLIN)))
			break;
	}
	snprintf(d, sizeof(d), "revents=%#x", r);
	check(!!(r & POLLHUP) == want && (want || (r & POLLIN)),
	      want ? "POLLHUP once the host withdraws NOTIFICATION_PRESENT" :
		     "poll wakes again once notifications are back", d);
	if (fd >= 0)
		close(fd);
}

#define MAX_SAMPLES 1000

/*
 * Every sample must hold the bound.  The error statistics use the quarter
 * of the samples with the narrowest host windows (or, on a loaded host,
 * those under 20 us if there are 20): the clock was read somewhere inside
 * the window, so a wide one (a syscall under TCG, an interrupt, the host
 * descheduling us) blurs the error.
 */
struct stats {
	int n, ok;
	int64_t err[MAX_SAMPLES], slack[MAX_SAMPLES];
	uint64_t bound;
};

static void stat_add(struct stats *s, int64_t v, int64_t h0, int64_t h1,
		     uint64_t maxerr)
{
	s->ok &= v >= h0 - (int64_t)maxerr && v <= h1 + (int64_t)maxerr;
	if (maxerr > s->bound)
		s->bound = maxerr;
	if (s->n < MAX_SAMPLES) {
		s->err[s->n] = v - (h0 + (h1 - h0) / 2);
		s->slack[s->n] = (h1 - h0) / 2;
		s->n++;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void stat_report(const struct stats *s, const char *label,
			const char *what)
{
	static int64_t sorted[MAX_SAMPLES];
	int64_t med = 0, min = 0, max = 0;
	double sum = 0;
	char d[220], name[160];
	int i, used = 0;

	memcpy(sorted, s->slack, sizeof(int64_t) * (size_t)s->n);
	qsort(sorted, (size_t)s->n, sizeof(int64_t), cmp_i64);
	if (s->n)
		med = sorted[s->n / 4];
	/* A loaded host: the windows under 20 us, if there are 20. */
	for (i = 0; i < s->n && sorted[i] <= 20000; i++)
		;
	if (med > 20000 && i >= 20)
		med = sorted[i - 1];
	for (i = 0; i < s->n; i++) {
		if (s->slack[i] > med)
			continue;
		if (!used || s->err[i] < min)
			min = s->err[i];
		if (!used || s->err[i] > max)
			max = s->err[i];
		sum += (double)s->err[i];
		used++;
	}
	snprintf(d, sizeof(d), "n=%d/%d mean=%.0f min=%lld max=%lld ns, bound %llu ns, slack <= %lld ns",
		 used, s->n, used ? sum / used : 0.0, (long long)min,
		 (long long)max, (unsigned long long)s->bound, (long long)med);
	printf("E2E-ACC %s %s %s\n", label, what, d);
	snprintf(name, sizeof(name), "%s: %s within the published bound of host CLOCK_TAI",
		 label, what);
	check(s->n && s->ok, name, d);
}

static void accuracy(int n, const char *label, const char *ptp)
{
	static struct stats phc, lib;
	struct vmclock_reader *r = vmclock_reader_open(DEV);
	int fd = open(ptp, O_RDONLY), i;
	struct vmclock_reading rd;
	struct timespec ts;
	int64_t h0, h1;

	phc.n = lib.n = 0;
	phc.ok = lib.ok = 1;
	if (!r || fd < 0) {
		check(0, "accuracy: open " DEV " and the PHC", ptp);
		return;
	}
	host(MBOX_PING, 0, NULL);
	for (i = 0; i < n; i++) {
		if (vmclock_reader_read(r, &rd))
			break;
		h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		if (clock_gettime(FD_TO_CLOCKID(fd), &ts))
			break;
		h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		stat_add(&phc, ts_to_ns(&ts), h0, h1, rd.maxerror_ns);
		h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		if (vmclock_reader_read(r, &rd))
			break;
		h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		stat_add(&lib, rd.tai_ns, h0, h1, rd.maxerror_ns);
	}
	stat_report(&phc, label, "PHC");
	stat_report(&lib, label, "libvmclock");
	vmclock_reader_close(r);
	close(fd);
}

/* "tai:      2026-... (1763780012345678901 ns)" and "maxerror: N ns" */
static int run_now(const char *cmd, int64_t *tai, uint64_t *maxerr)
{
	FILE *p = popen(cmd, "r");
	char line[256];
	long long t;
	unsigned long long e;
	int got = 0;

	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *paren = strrchr(line, '(');

		if (!strncmp(line, "tai:", 4) && paren &&
		    sscanf(paren, "(%lld ns)", &t) == 1) {
			*tai = t;
			got |= 1;
		}
		if (sscanf(line, "maxerror: %llu ns", &e) == 1) {
			*maxerr = e;
			got |= 2;
		}
	}
	return pclose(p) == 0 && got == 3 ? 0 : -1;
}

/*
 * The CLI's time for a TSC reading we took between two host readings
 * (vmclock now --counter): its page decoding and arithmetic, judged as
 * tightly as the PHC.  Then plain `vmclock now`, whose window is a fork
 * and exec wide.
 */
static void nowcheck(int n, const char *label)
{
	static struct stats at, live;
	uint64_t maxerr = 0, c;
	int64_t h0, h1, tai = 0;
	char cmd[96];
	int i;

	at.n = live.n = 0;
	at.ok = live.ok = 1;
	for (i = 0; i < n; i++) {
		h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		c = __rdtsc();
		h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		snprintf(cmd, sizeof(cmd), "vmclock now --counter %llu 2>&1",
			 (unsigned long long)c);
		if (run_now(cmd, &tai, &maxerr)) {
			at.ok = 0;
			break;
		}
		stat_add(&at, tai, h0, h1, maxerr);
		h0 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		if (run_now("vmclock now 2>&1", &tai, &maxerr)) {
			live.ok = 0;
			break;
		}
		h1 = (int64_t)host_val(MBOX_HOSTTIME, 0);
		stat_add(&live, tai, h0, h1, maxerr);
	}
	stat_report(&at, label, "vmclock now --counter");
	stat_report(&live, label, "vmclock now");
}

/* Our restore uevent among what the socket holds (5 s); @d says what came. */
static int uevent_seen(int fd, uint64_t gen, char *d, size_t dlen)
{
	static char buf[4096];
	char want[64];
	int64_t end = now_ns() + 5000 * MS;
	int n = 0, ev, g;
	ssize_t r, i;

	snprintf(want, sizeof(want), "VMCLOCK_VM_GENERATION_COUNTER=%llu",
		 (unsigned long long)gen);
	snprintf(d, dlen, "no uevent at all");
	while (now_ns() < end) {
		if (!(poll_fd(fd, 500) & POLLIN))
			continue;
		r = recv(fd, buf, sizeof(buf) - 1, 0);
		if (r <= 0)
			continue;
		buf[r] = 0;
		snprintf(d, dlen, "%d uevent(s), last:", ++n);
		for (ev = g = 0, i = 0; i < r; i += (ssize_t)strlen(buf + i) + 1) {
			ev |= !strcmp(buf + i, "VMCLOCK_EVENT=restore");
			g |= !strcmp(buf + i, want);
			if (!strncmp(buf + i, "VMCLOCK", 7) && strlen(d) < dlen - 2)
				snprintf(d + strlen(d), dlen - strlen(d), " %s",
					 buf + i);
		}
		if (ev && g)
			return 1;
	}
	return 0;
}

/* After a miss: does a synthetic uevent reach the old and a new socket? */
static void uevent_probe(int old, char *d, size_t dlen)
{
	int fresh = uevent_open(), fd, a = 0, b = 0;
	size_t n = strlen(d);
	char buf[4096];

	fd = open(SYSFS "uevent", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "change", 6) < 0)
			n += 0;
		close(fd);
	}
	while (poll_fd(old, 1000) & POLLIN && recv(old, buf, sizeof(buf), 0) > 0)
		a++;
	while (fresh >= 0 && poll_fd(fresh, 1000) & POLLIN &&
	       recv(fresh, buf, sizeof(buf), 0) > 0)
		b++;
	snprintf(d + n, dlen - n, "; synthetic change: old socket %d, new %d", a, b);
	if (fresh >= 0)
		close(fresh);
}

/* Ask for the snapshot, then judge the restored copy we wake up in. */
static void restore_check(uint64_t marker, uint64_t gen)
{
	int ufd = uevent_open(), fd = open(DEV, O_RDONLY), got = 0;
	int64_t end = now_ns() + 300000 * MS;
	struct vmclock_abi pg = { 0 };
	char d[400];

	printf("E2E-REQ snapshot\n");
	fflush(stdout);
	while (fd >= 0 && now_ns() < end) {
		if (!read_page(fd, &pg) && pg.vm_generation_counter != gen &&
		    usable(&pg))
			break;
		poll_fd(fd, 200);
	}
	printf("E2E: restored generation=%llu marker=%llu\n",
	       (unsigned long long)pg.vm_generation_counter,
	       (unsigned long long)pg.disruption_marker);
	snprintf(d, sizeof(d), "generation %llu -> %llu, marker %llu -> %llu",
		 (unsigned long long)gen,
		 (unsigned long long)pg.vm_generation_counter,
		 (unsigned long long)marker,
		 (unsigned long long)pg.disruption_marker);
	check(pg.vm_generation_counter != gen &&
	      pg.disruption_marker != marker && usable(&pg),
	      "restore: new generation, new marker, bounded again", d);
	if (ufd >= 0)
		got = uevent_seen(ufd, pg.vm_generation_counter, d, sizeof(d));
	if (!got && ufd >= 0)
		uevent_probe(ufd, d, sizeof(d));
	check(got, "restore: uevent VMCLOCK_EVENT=restore with the new generation", d);
	if (ufd >= 0)
		close(ufd);
	if (fd >= 0)
		close(fd);
}

/* -1: not ours. */
static int adapter_command(int argc, char **argv)
{
	const char *c = argv[1];

	if (!strcmp(c, "wait-sync") && argc >= 3) {
		exit(wait_sync(atoi(argv[2]), argc > 3,
			       argc > 3 ? strtoull(argv[3], NULL, 0) : 0));
	}
	if (!strcmp(c, "devchecks"))
		devchecks();
	else if (!strcmp(c, "pollcount") && argc == 3)
		pollcount(atoi(argv[2]));
	else if (!strcmp(c, "hup") && argc == 3)
		hup(atoi(argv[2]));
	else if (!strcmp(c, "accuracy") && argc == 5)
		accuracy(atoi(argv[2]), argv[3], argv[4]);
	else if (!strcmp(c, "nowcheck") && argc == 4)
		nowcheck(atoi(argv[2]), argv[3]);
	else if (!strcmp(c, "restore-check") && argc == 4)
		restore_check(strtoull(argv[2], NULL, 0),
			      strtoull(argv[3], NULL, 0));
	else
		return -1;
	return 0;
}
