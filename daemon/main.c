// SPDX-License-Identifier: MIT
/*
 * main.c - vmclockd: set-up (settings, files, socket, privileges), the
 * periodic update that turns the host reference into every page, and the
 * daemon operations the control socket calls.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <vmclock/vmclock.h>

#include "daemon.h"
#include "host.h"
#include "log.h"
#include "qemu-guest.h"
#include "sched.h"

#define TIMER_UPDATE 0
#define TIMER_NTP 1

static void line_of_page(const struct guest *g, struct vmclock_line *l)
{
	const volatile struct vmclock_abi *p = vmclock_writer_page(g->w);

	/* We are the page's only writer: plain reads are consistent. */
	l->counter_value = p->counter_value;
	l->period_frac = p->counter_period_frac_sec;
	l->time_sec = p->time_sec;
	l->time_frac = p->time_frac_sec;
	l->shift = p->counter_period_shift;
}

static void update_tai(struct daemon *d, int64_t utc)
{
	d->leap_info = (struct leapsec_info){ 0 };
	if (d->ntp.tai > 0) {
		d->tai_source = "kernel";
		d->tai_offset = (int16_t)d->ntp.tai;
		d->tai_valid = 1;
		return;
	}
	if (!d->have_leap) {
		d->tai_source = "none";
		d->tai_offset = 0;
		d->tai_valid = 0;
		return;
	}
	leapsec_lookup(&d->leap, utc, &d->leap_info);
	d->tai_source = "leap-seconds-file";
	d->tai_offset = (int16_t)d->leap_info.offset;
	d->tai_valid = 1;
	if (d->leap_info.expired && !d->expired_logged) {
		d->expired_logged = 1;
		log_warn("%s expired %lld s ago: keeping TAI-UTC = %d s, announcing no leap second; %u possible leap second(s) since then widen the time bound",
			 d->conf.leap_seconds_file,
			 (long long)(utc - d->leap.expires), d->tai_offset,
			 d->leap_info.unknown_leaps);
	}
}

static void host_state(struct daemon *d, struct ref_budget *b)
{
	d->status = host_status(&d->ntp, d->have_ntp);
	b->kernel_max_ns = host_maxerror(&d->ntp, d->have_ntp,
					 clock_monotonic_ns(d->ops),
					 d->conf.freq_tolerance_ppb,
					 &d->unsync_since_ns, &d->kernel_extra_ns);
	b->kernel_est_ns = (uint64_t)(d->ntp.esterror_ns > 0 ?
				      d->ntp.esterror_ns : 0);
	d->leap_indicator = d->ntp.tai > 0 || !d->have_leap ?
			    host_leap(&d->ntp) : d->leap_info.leap;
}

static void fill_budget(struct daemon *d, struct ref_budget *b)
{
	memset(b, 0, sizeof(*b));
	host_state(d, b);
	if (d->time_type == VMCLOCK_TIME_TAI) {
		b->offset_sec = d->sample_tai ? 0 : d->tai_offset;
		/* Each leap second the expired list may lack is 1 s. */
		if (!strcmp(d->tai_source, "leap-seconds-file"))
			b->extra_max_ns = (uint64_t)d->leap_info.unknown_leaps *
					  1000000000ull;
	}
	b->freq_tol_ppb = d->conf.freq_tolerance_ppb;
	b->max_slew_ppb = (uint64_t)d->conf.max_slew_ppm * 1000;
	b->interval_ns = (uint64_t)d->conf.interval_ms * 1000000;
	/*
	 * The line must not be behind the last one wherever a mapped page
	 * switches to it: from now until the last of them is written (the
	 * last publish took publish_ticks; twice that), plus a writer's own
	 * publish window, which a guest counts in its ticks (twice: guest
	 * counters down to half the host's rate).
	 */
	b->window_ticks = 2 * PUBLISH_WINDOW_TICKS + 2 * d->publish_ticks;
}

/*
 * The counter a page's update is checked from (struct
 * vmclock_calibration's switch_counter: "now, as the caller publishes";
 * the writer's TIME_MONOTONIC check covers the publish window after it).
 * A fleet takes longer than that window to walk, so it is read again
 * every GUEST_BATCH mapped pages and before each page written with
 * pwrite(), which takes microseconds.  Mapped pages go first: the host
 * line is made to hold until the last of them (fill_budget()); a page
 * written later whose line would be behind is moved forward by its
 * writer.
 */
#define GUEST_BATCH 64

/* Publish d->cal to @only, or (NULL) to the host page and every guest. */
static void publish(struct daemon *d, struct guest *only)
{
	/* Guests of one TSC scale share the rescaled period of this update. */
	struct vmclock_calibration cal = d->cal;
	struct guest_moved moved = { 0, 0 };
	struct guest_update u = { &cal, cal.switch_counter, d->status,
				  d->tai_offset, d->tai_valid,
				  d->leap_indicator, &d->rates, ++d->update_gen,
				  &moved };
	unsigned long io[3];
	unsigned int k = 0;
	int unmapped;
	struct guest *g;

	if (only) {
		u.moved = NULL;	/* its own log line */
		if (guest_update(only, &u))
			log_ratelimited(&d->warn_count, 60, LOG_WARNING,
					"%s: calibration refused", only->name);
		return;
	}
	if (guest_update(&d->host, &u))
		log_ratelimited(&d->warn_count, 60, LOG_WARNING,
				"host page: calibration refused");
	guest_io_counts(io);
	for (unmapped = 0; unmapped < 2; unmapped++) {
		for (g = d->guests; g; g = g->next) {
			if ((g->io != GUEST_IO_MAPPED) != unmapped)
				continue;
			guest_prefetch_next(g);
			if (unmapped || ++k == GUEST_BATCH) {
				cal.switch_counter = d->ops->counter(d->ops->ctx);
				u.gen = ++d->update_gen;
				k = 0;
			}
			if (guest_update(g, &u))
				log_ratelimited(&d->warn_count, 60, LOG_WARNING,
						"%s: calibration refused",
						g->name);
		}
		if (!unmapped)
			d->publish_ticks = d->ops->counter(d->ops->ctx) -
					   d->cal.switch_counter;
		if (!io[GUEST_IO_PWRITE] && !io[GUEST_IO_REOPEN])
			break;
	}
	if (moved.pages)
		log_debug("%lu pages: line moved forward up to %llu ns for "
			  "TIME_MONOTONIC",
			  moved.pages, (unsigned long long)moved.max_ns);
}

static void read_ntp(struct daemon *d)
{
	int ret = d->ops->ntp(d->ops->ctx, &d->ntp);

	if (ret && d->have_ntp)
		log_warn("adjtimex: %s: status UNRELIABLE", strerror(-ret));
	d->have_ntp = !ret;
}

/*
 * Publish the current fit to every page (or to @only, a page just added,
 * unless the host's status changed), with the host state of now.
 */
static void republish(struct daemon *d, struct guest *only)
{
	struct vmclock_line prev;
	struct ref_budget b;
	uint8_t old = d->status;

	if (!d->ref.fit.n)
		return;
	fill_budget(d, &b);
	line_of_page(&d->host, &prev);
	if (ref_line(&d->ref.fit, &b, &prev, d->ops->counter(d->ops->ctx),
		     &d->cal, &d->pub))
		return;
	if (d->pub.gap_ns)
		log_debug("fit %llu ns behind the published line: slewing %llu ppb",
			  (unsigned long long)d->pub.gap_ns,
			  (unsigned long long)d->pub.slew_ppb);
	d->have_cal = 1;
	if (only && old == d->status) {
		publish(d, only);
		return;
	}
	publish(d, NULL);
	d->updates++;
	if (old != d->status)
		log_info("host clock status %s (kernel maxerror %lld ns)",
			 vmclock_status_name(d->status),
			 (long long)d->ntp.maxerror_ns);
}

/*
 * CLOCK_TAI when the kernel knows TAI - UTC (continuous across a leap
 * second), else CLOCK_REALTIME plus the list's offset.
 */
static clockid_t sample_clock(struct daemon *d)
{
	int tai = d->time_type == VMCLOCK_TIME_TAI && d->ntp.tai > 0;

	if (tai != d->sample_tai) {
		log_info("sampling %s", tai ? "CLOCK_TAI" : "CLOCK_REALTIME");
		ref_reset(&d->ref);
	}
	d->sample_tai = tai;
	return tai ? CLOCK_TAI : CLOCK_REALTIME;
}

static void update(struct daemon *d, int sample, struct guest *only)
{
	clockid_t clk;
	struct ref_point p;
	int64_t utc;

	read_ntp(d);
	clk = sample_clock(d);
	utc = clock_utc_sec(d->ops);
	/* Events reuse the fit: bursts of them must not crowd its points. */
	if (sample || !d->ref.fit.n) {
		if (ref_sample(&d->ref, clk, &p)) {
			log_ratelimited(&d->warn_count, 60, LOG_WARNING,
					"clock sample failed");
			return;
		}
		if (ref_add(&d->ref, &p))
			log_info("host clock stepped: refitting");
		/* The offset of the very second that was sampled. */
		if (clk == CLOCK_REALTIME)
			utc = p.ns / 1000000000;
	}
	update_tai(d, utc);
	republish(d, only);
}

void daemon_update(struct daemon *d)
{
	update(d, 0, NULL);
}

static void on_update_timer(void *ctx)
{
	struct daemon *d = ctx;
	uint64_t next = (uint64_t)d->conf.interval_ms * 1000000;

	update(d, 1, NULL);
	/* Build a baseline quickly after a start or a step. */
	if (d->ref.npts < 2)
		next = next < 10000000 ? next : 10000000;
	else if (d->ref.npts < 4)
		next = next < 100000000 ? next : 100000000;
	sched_timer(TIMER_UPDATE, next, on_update_timer, d);
}

static int ntp_changed(const struct clock_ntp *a, const struct clock_ntp *b)
{
	return a->state != b->state || a->status != b->status ||
	       a->tai != b->tai || a->freq != b->freq || a->tick != b->tick;
}

static void on_ntp_timer(void *ctx)
{
	struct daemon *d = ctx;
	struct clock_ntp n;

	if (!d->ops->ntp(d->ops->ctx, &n) && d->have_ntp &&
	    ntp_changed(&n, &d->ntp)) {
		log_info("kernel NTP state changed (status 0x%x, freq %ld, tai %d): updating",
			 n.status, n.freq, n.tai);
		update(d, 1, NULL);
	}
	sched_timer(TIMER_NTP, (uint64_t)d->conf.ntp_poll_ms * 1000000,
		    on_ntp_timer, d);
}

static void on_clock_set(void *ctx)
{
	struct daemon *d = ctx;

	ref_reset(&d->ref);
	update(d, 1, NULL);
	sched_timer(TIMER_UPDATE, 10000000, on_update_timer, d);
}

/*
 * Guests by name: a fleet's list is too long (and too cold) to walk for
 * every request.  Guests join the list only through daemon_link_guest()
 * and leave it only through daemon_remove_guest(), which keep the index in
 * step; it is built on the first lookup, and again after it was dropped
 * (no memory, or grown past half full).
 */
struct name_node {
	struct guest *g;
	struct name_node *next;
};

static size_t name_hash(const char *s, size_t mask)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h & mask;
}

static void index_free(struct daemon *d)
{
	size_t i;

	for (i = 0; d->by_name && i < d->by_name_len; i++)
		while (d->by_name[i]) {
			struct name_node *n = d->by_name[i];

			d->by_name[i] = n->next;
			free(n);
		}
	free(d->by_name);
	d->by_name = NULL;
	d->by_name_len = 0;
}

static int index_put(struct daemon *d, struct guest *g)
{
	struct name_node *n = malloc(sizeof(*n));
	size_t i;

	if (!n)
		return -ENOMEM;
	i = name_hash(g->name, d->by_name_len - 1);
	n->g = g;
	n->next = d->by_name[i];
	d->by_name[i] = n;
	return 0;
}

static int index_rebuild(struct daemon *d)
{
	size_t len = 64;
	struct guest *g;

	index_free(d);
	while (len < 2 * (size_t)d->nguests)
		len *= 2;
	d->by_name = calloc(len, sizeof(*d->by_name));
	if (!d->by_name)
		return -ENOMEM;
	d->by_name_len = len;
	for (g = d->guests; g; g = g->next)
		if (index_put(d, g)) {
			index_free(d);
			return -ENOMEM;
		}
	return 0;
}

/* After @g joined the list (else: rebuilt on the next lookup). */
static void index_add(struct daemon *d, struct guest *g)
{
	if (d->by_name &&
	    (2 * (size_t)d->nguests > d->by_name_len || index_put(d, g)))
		index_free(d);
}

/* Before @g leaves the list. */
static void index_del(struct daemon *d, struct guest *g)
{
	struct name_node **pp, *n;

	if (!d->by_name)
		return;
	pp = &d->by_name[name_hash(g->name, d->by_name_len - 1)];
	for (; (n = *pp); pp = &n->next)
		if (n->g == g) {
			*pp = n->next;
			free(n);
			return;
		}
}

struct guest *daemon_find_guest(struct daemon *d, const char *name)
{
	struct name_node *n;
	struct guest *g;

	if (d->by_name || !index_rebuild(d)) {
		for (n = d->by_name[name_hash(name, d->by_name_len - 1)]; n;
		     n = n->next)
			if (!strcmp(n->g->name, name))
				return n->g;
		return NULL;
	}
	/* No memory for the index: the list itself. */
	for (g = d->guests; g; g = g->next)
		if (!strcmp(g->name, name))
			return g;
	return NULL;
}

void daemon_link_guest(struct daemon *d, struct guest *g)
{
	g->next = d->guests;
	g->pprev = &d->guests;
	if (g->next)
		g->next->pprev = &g->next;
	d->guests = g;
	d->nguests++;
	index_add(d, g);
}

static int open_guest(struct daemon *d, const char *name, struct guest **out)
{
	char path[600], state[620];
	struct guest *g = guest_alloc();
	int ret;

	if (!g)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", d->guest_dir, name);
	snprintf(state, sizeof(state), "%s.state", path);
	ret = guest_open(g, name, path, state, d->time_type);
	if (ret) {
		guest_free(g);
		return ret;
	}
	daemon_link_guest(d, g);
	*out = g;
	return 0;
}

int daemon_guest_allowed(struct daemon *d, const char *name, char *err,
			 size_t errlen)
{
	if (guest_name_ok(name)) {
		snprintf(err, errlen, "guest: \"%s\" is not a name ([A-Za-z0-9_.-], 1-63, no leading dot, not ending in .state or .tmp)", name);
		return -EINVAL;
	}
	if (daemon_find_guest(d, name)) {
		snprintf(err, errlen, "guest \"%s\" exists", name);
		return -EEXIST;
	}
	if (d->nguests >= d->conf.max_guests) {
		snprintf(err, errlen, "max-guests (%u) reached", d->conf.max_guests);
		return -ENOSPC;
	}
	return 0;
}

int daemon_add_guest(struct daemon *d, const char *name,
		     const struct guest_mapping *m, const char *notify,
		     char *err, size_t errlen)
{
	struct guest *g;
	int ret;

	ret = daemon_guest_allowed(d, name, err, errlen);
	if (ret)
		return ret;
	ret = open_guest(d, name, &g);
	if (ret) {
		snprintf(err, errlen, "%s: %s", name, strerror(-ret));
		return ret;
	}
	if (guest_set_mapping(g, m) || guest_set_notify(g, notify))
		log_warn("%s: could not save its state file", name);
	log_info("guest %s added: %s", name, g->path);
	/* Its first line now; the other pages have theirs (O(1) per add). */
	update(d, 0, g);
	return 0;
}

int daemon_remove_guest(struct daemon *d, const char *name, char *err,
			size_t errlen)
{
	struct guest *g = daemon_find_guest(d, name);

	if (!g) {
		snprintf(err, errlen, "no guest \"%s\"", name);
		return -ENOENT;
	}
	index_del(d, g);
	*g->pprev = g->next;
	if (g->next)
		g->next->pprev = g->pprev;
	qemu_guest_remove(g);
	guest_close(g, 1);
	guest_free(g);
	d->nguests--;
	log_info("guest %s removed", name);
	return 0;
}

static void adopt_guests(struct daemon *d)
{
	DIR *dir = opendir(d->guest_dir);
	struct dirent *e;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		char name[GUEST_NAME_MAX];
		struct guest *g;

		if (n < 7 || n - 6 >= sizeof(name) ||
		    strcmp(e->d_name + n - 6, ".state"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 6), e->d_name);
		if (guest_name_ok(name) || d->nguests >= d->conf.max_guests ||
		    open_guest(d, name, &g))
			log_warn("%s/%s: not adopted", d->guest_dir, e->d_name);
	}
	closedir(dir);
}

/*
 * The run directory and guests/ hold files vmclockd (maybe root) writes
 * and state files whose notify= it runs: refuse ones others could write
 * (or, for guests/, a symlink), as sshd's StrictModes.
 */
static int dir_safe(const struct daemon *d, const char *path, int nofollow)
{
	struct passwd *pw = d->conf.user[0] ? getpwnam(d->conf.user) : NULL;
	struct stat st;

	if ((nofollow ? lstat(path, &st) : stat(path, &st)) ||
	    !S_ISDIR(st.st_mode)) {
		log_err("%s: not a directory", path);
		return -ENOTDIR;
	}
	if (st.st_mode & 022) {
		log_err("%s is group or other writable: refusing it (chmod go-w)",
			path);
		return -EPERM;
	}
	if (st.st_uid != geteuid() && (!pw || st.st_uid != pw->pw_uid)) {
		log_err("%s is owned by uid %u, not by vmclockd's user: refusing it",
			path, (unsigned int)st.st_uid);
		return -EPERM;
	}
	return 0;
}

static int make_dirs(struct daemon *d)
{
	struct statfs sfs;

	snprintf(d->guest_dir, sizeof(d->guest_dir), "%s/guests", d->conf.run_dir);
	if ((mkdir(d->conf.run_dir, 0755) && errno != EEXIST) ||
	    (mkdir(d->guest_dir, 0755) && errno != EEXIST)) {
		log_err("%s: %s", d->conf.run_dir, strerror(errno));
		return -errno;
	}
	if (dir_safe(d, d->conf.run_dir, 0) || dir_safe(d, d->guest_dir, 1))
		return -EPERM;
	if (!statfs(d->conf.run_dir, &sfs) && sfs.f_type != TMPFS_MAGIC &&
	    sfs.f_type != RAMFS_MAGIC)
		log_info("%s is not on tmpfs: the pages survive a reboot there, and are written back to disk",
			 d->conf.run_dir);
	return 0;
}

static int choose_time_type(struct daemon *d)
{
	char err[256];

	if (d->conf.leap_seconds_file[0] &&
	    leapsec_load(d->conf.leap_seconds_file, &d->leap, err, sizeof(err)))
		log_warn("%s: %s: no TAI offset from it",
			 d->conf.leap_seconds_file, err);
	else
		d->have_leap = d->conf.leap_seconds_file[0] != '\0';
	read_ntp(d);
	if (!strcmp(d->conf.time_type, "utc")) {
		d->time_type = VMCLOCK_TIME_UTC;
	} else if (d->ntp.tai > 0 || d->have_leap) {
		d->time_type = VMCLOCK_TIME_TAI;
	} else if (!strcmp(d->conf.time_type, "tai")) {
		log_err("time-type tai: the kernel has no TAI offset and there is no leap-second list");
		return -EINVAL;
	} else {
		d->time_type = VMCLOCK_TIME_UTC;
	}
	update_tai(d, clock_utc_sec(d->ops));
	log_info("pages in %s; TAI - UTC = %d s from %s",
		 vmclock_time_type_name(d->time_type), d->tai_offset,
		 d->tai_source);
	return 0;
}

static int socket_gid(struct daemon *d)
{
	const char *name = d->conf.socket_group;
	static char cmd[] = "groupadd", opt[] = "--system";
	char *argv[] = { cmd, opt, (char *)(uintptr_t)name, NULL };
	struct group *gr;

	if (!name[0])
		return -1;
	gr = getgrnam(name);
	if (!gr && d->conf.create_group) {
		int ret = sched_run_command(argv);

		if (ret)
			log_warn("groupadd %s failed (%d)", name, ret);
		gr = getgrnam(name);
	}
	if (gr)
		return (int)gr->gr_gid;
	log_warn("group \"%s\" does not exist: the control socket is for its owner only (create the group, set create-group=yes, or set socket-group=)",
		 name);
	return -2;
}

static int open_socket(struct daemon *d)
{
	char path[CONF_PATH_MAX + 16];
	unsigned int mode = d->conf.socket_mode;
	int gid = socket_gid(d), fd;

	if (gid == -2)
		mode &= 0700;
	if (d->conf.control_socket[0])
		snprintf(path, sizeof(path), "%s", d->conf.control_socket);
	else
		snprintf(path, sizeof(path), "%s/control", d->conf.run_dir);
	fd = control_listen(path, mode, gid);
	if (fd < 0) {
		log_err("control socket %s: %s", path, strerror(-fd));
		return fd;
	}
	memcpy(d->sock_path, path, sizeof(path));
	return control_serve(d, fd);
}

static void chown_all(struct daemon *d, uid_t uid, gid_t gid)
{
	struct guest *g;

	if (chown(d->conf.run_dir, uid, gid) || chown(d->guest_dir, uid, gid) ||
	    chown(d->host.path, uid, gid) ||
	    lchown(d->sock_path, uid, (gid_t)-1))
		log_warn("chown to %u: %s", (unsigned int)uid, strerror(errno));
	for (g = d->guests; g; g = g->next)
		if (chown(g->path, uid, gid) || chown(g->state_path, uid, gid))
			log_warn("%s: chown: %s", g->name, strerror(errno));
}

static int drop_privileges(struct daemon *d)
{
	struct passwd *pw;

	if (!d->conf.user[0])
		return 0;
	pw = getpwnam(d->conf.user);
	if (!pw) {
		log_err("user \"%s\" does not exist", d->conf.user);
		return -EINVAL;
	}
	chown_all(d, pw->pw_uid, pw->pw_gid);
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		log_err("dropping privileges to %s: %s", d->conf.user,
			strerror(errno));
		return -errno;
	}
	log_info("running as %s", d->conf.user);
	return 0;
}

/*
 * One writer per page: the run directory itself is flock()ed, so a second
 * vmclockd on it stops (and no lock file sits beside the pages).
 */
static int lock_run_dir(struct daemon *d)
{
	int fd = open(d->conf.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		log_err("%s: %s", d->conf.run_dir, errno == EWOULDBLOCK ?
			"another vmclockd is running on this run directory" :
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EBUSY;
	}
	/* Held until exit; the descriptor is never closed. */
	return 0;
}

/*
 * A page needs no descriptor while mapped, but those past the mappings a
 * process may have (vm.max_map_count) keep one: raise the soft limit of
 * descriptors to the hard one, then say how many pages may be mapped.
 */
static void page_limits(struct daemon *d)
{
	struct guest_limits l;
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &r))
			log_warn("RLIMIT_NOFILE: %s", strerror(errno));
	}
	guest_default_limits(&l);
	if (d->conf.max_mapped_pages)
		l.max_mapped = d->conf.max_mapped_pages;
	guest_set_limits(&l);
	log_info("pages: up to %lu mapped, past that written with pwrite() (up to %lu with a descriptor each)",
		 l.max_mapped, l.max_fds);
}

static int start(struct daemon *d)
{
	char path[CONF_PATH_MAX + 8];
	int ret;

	ret = make_dirs(d);
	if (!ret)
		ret = lock_run_dir(d);
	if (!ret)
		ret = choose_time_type(d);
	if (ret)
		return ret;
	page_limits(d);
	snprintf(path, sizeof(path), "%s/host", d->conf.run_dir);
	ret = guest_open(&d->host, "host", path, NULL, d->time_type);
	if (ret)
		return ret;
	d->time_type = vmclock_writer_page(d->host.w)->time_type;
	adopt_guests(d);
	ret = sched_init(d->ops);
	if (!ret)
		ret = open_socket(d);
	if (!ret)
		ret = drop_privileges(d);
	/* add-qemu guests: attached again once their QEMU is verified. */
	if (!ret)
		qemu_guest_adopt(d);
	if (!ret)
		ret = sched_on_clock_set(on_clock_set, d);
	return ret;
}

static void usage_exit(int help)
{
	conf_usage(help ? stdout : stderr);
	exit(help ? 0 : 2);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	int print, help, ret;
	char err[512];

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("vmclockd %s\n", VMCLOCKD_VERSION);
		return 0;
	}
	if (conf_parse_args(&d.conf, argc, argv, &print, &help, err,
			    sizeof(err))) {
		fprintf(stderr, "vmclockd: %s\n", err);
		return 2;
	}
	if (help)
		usage_exit(1);
	if (print) {
		conf_print(&d.conf, stdout);
		return 0;
	}
	log_init("vmclockd", log_parse_target(d.conf.log),
		 log_parse_level(d.conf.log_level));
	signal(SIGPIPE, SIG_IGN);
	d.ops = &clock_real_ops;
	ref_init(&d.ref, d.ops, d.conf.samples, d.conf.fit_points);
	if (start(&d))
		return 1;
	/* Notification commands reap themselves. */
	signal(SIGCHLD, SIG_IGN);
	log_info("vmclockd %s started: run dir %s, %u guest(s) adopted",
		 VMCLOCKD_VERSION, d.conf.run_dir, d.nguests);
	on_update_timer(&d);
	on_ntp_timer(&d);
	ret = sched_run();
	control_close();
	sched_exit();
	/* Free all that was allocated; the files stay for the next start. */
	while (d.guests) {
		struct guest *g = d.guests;

		d.guests = g->next;
		qemu_guest_release(g);
		guest_close(g, 0);
		guest_free(g);
	}
	guest_release_slabs();
	guest_close(&d.host, 0);
	index_free(&d);
	log_info("stopped; pages left in place for the next start");
	return ret ? 1 : 0;
}
