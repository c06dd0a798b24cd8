// SPDX-License-Identifier: MIT
/*
 * qemu-guest.c - vmclockd's QEMU adapter (see qemu-guest.h): guests whose
 * page is in a QEMU's RAM file, with the doorbell, the QMP events and the
 * measured counter mapping wired into the daemon's guest pages.
 *
 * A control client names the RAM file, so nothing is opened for writing
 * until QEMU, over QMP, has said that this file is its guest RAM (and the
 * QMP peer could write it itself): before that the guest has no page
 * (g->w == NULL, stopped) and waits.  Each new QMP connection checks
 * again, so a QEMU restarted on another file moves the page with it.
 *
 * What each event does to the page (docs/qemu.md):
 *  - destination of a live migration (MIGRATION completed after our
 *    "incoming"): adopt the page that came in the RAM, new marker, same
 *    generation, INITIALIZING until the mapping is known, notify, cont;
 *  - restore (a snapshot vmclockd hands QEMU as a descriptor): the same,
 *    and a random generation;
 *  - STOP (not ours to migrate) and RESET: with a measured mapping the
 *    counter is disrupted (TCG: the guest TSC stands still while stopped),
 *    so a new marker and INITIALIZING; the page is not updated while
 *    stopped;
 *  - RESUME: measure the mapping again (mailbox), then SYNCHRONIZED.
 * A guest whose VMM sets the mapping (set-counter-mapping, no mailbox)
 * keeps it across STOP/RESUME.
 *
 * Across a restart of vmclockd, RUN-DIR/guests/.NAME.qemu keeps what
 * add-qemu was given and the adapter's own state (an incoming migration
 * under way, the measured mapping's uncertainty); .NAME.qemu-page is the
 * page's state (guest.c).  Guest names never start with a dot, so neither
 * can be any guest's page.  On re-attach the page is adopted (marker and
 * generation kept), what QEMU did meanwhile is caught up with (a stop, a
 * resume, a migration that completed), and a measured mapping is measured
 * again: INITIALIZING meanwhile, and a new marker only if it moved.
 *
 * The daemon loop runs this: one sched timer (reconnects, checks,
 * measurements) and each QMP socket as a sched fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmclock/vmclock-writer.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "qemu-guest.h"
#include "qemu.h"
#include "sched.h"

#define QEMU_TIMER 2
#define QMP_TIMEOUT_MS 5000
#define RETRY_NS 200000000ull
#define RETRY_TIMEOUT_MS 1000
#define SLOW_RETRY_NS 10000000000ull
#define RECHECK_NS 1000000000ull
#define PROBES 200
#define SAVE_TIMEOUT_MS 300000
/* A burst whose best window is wider is tried again, up to this often. */
#define GOOD_WINDOW_NS 20000
#define MEASURE_TRIES 25
#define RECORD_MAX 2048

struct qemu_guest {
	struct daemon *d;
	struct guest *g;
	char qmp_path[108];
	char ram[256];
	uint64_t gpa, mbox_gpa;
	uint32_t irq;
	struct qmp *qmp;
	int fd;			/* registered with sched, or -1 */
	struct qemu_ram rm;	/* the verified RAM file: page, mailbox */
	struct qemu_track track;
	int running;
	int need_measure;
	unsigned int tries;
	int attached;		/* rm is mapped and g has its page */
	int adopt;		/* attach as after a restart, not as new */
	int pending;		/* a destination: its RAM has yet to come */
	int check_mapping;	/* a measured mapping from before: compare */
	uint64_t old_offset;
	uint64_t map_err_ns;	/* of the measured mapping (in the record) */
	uint64_t next_check_ns;
	uint64_t next_connect_ns;
	char why[480];		/* while not attached: what it waits for */
	char rec_path[CONF_PATH_MAX + 96];
};

static uint64_t q_counter(void *ctx)
{
	const struct clock_ops *ops = ctx;

	return ops->counter(ops->ctx);
}

static uint64_t q_mono(void *ctx)
{
	return clock_monotonic_ns(ctx);
}

static void arm(struct daemon *d, uint64_t ns);
static void act(struct qemu_guest *q, enum qemu_action a);

/* --- the record: what add-qemu was given, and the adapter's state --- */

static const char *incoming_name(const struct qemu_guest *q)
{
	if (!q->pending)
		return "none";
	return q->track.expect == QEMU_IN_MIGRATION ? "migration" :
	       q->track.expect == QEMU_IN_RESTORE ? "restore" : "waiting";
}

/*
 * Written as NAME.state is (state_file_create()).  The first line is the
 * add-qemu request itself.
 */
static int save_record(struct qemu_guest *q)
{
	char tmp[sizeof(q->rec_path) + 8];
	FILE *f;
	int ret;

	f = state_file_create(q->rec_path, 0600, tmp, sizeof(tmp));
	if (!f) {
		ret = -errno;
		log_warn("%s: %s", tmp, strerror(-ret));
		return ret;
	}
	fprintf(f, "add-qemu guest=%s qmp=%s ram=%s gpa=0x%llx irq=%u mailbox=0x%llx\n"
		   "adapter incoming=%s map-err-ns=%llu\n",
		q->g->name, q->qmp_path, q->ram, (unsigned long long)q->gpa,
		q->irq, (unsigned long long)q->mbox_gpa, incoming_name(q),
		(unsigned long long)q->map_err_ns);
	ret = state_file_commit(f, tmp, q->rec_path);
	if (ret)
		log_warn("%s: %s", q->rec_path, strerror(-ret));
	return ret;
}

/* --- attaching: QEMU confirms the RAM file, then the page ---------- */

static void ring(void *ctx)
{
	struct qemu_guest *q = ctx;
	int ret;

	if (!q->irq || !q->qmp || !qmp_connected(q->qmp))
		return;
	ret = qemu_doorbell(q->qmp, q->irq);
	if (ret)
		log_warn("%s: doorbell: %s", q->g->name, strerror(-ret));
}

/* The page's hooks; reapplied after each (re)open of the page. */
static void hook(struct qemu_guest *q)
{
	q->g->qemu = q;
	if (!q->irq)
		return;
	guest_set_doorbell(q->g, ring, q);
	vmclock_writer_set_flags(q->g->w, VMCLOCK_FLAG_NOTIFICATION_PRESENT, 0);
}

/*
 * (Re)open the page in the verified RAM file, through our descriptor of
 * it (so guest.c opens that inode, whatever the path points at now).
 */
static int open_page(struct qemu_guest *q)
{
	struct guest *g = q->g, *next = g->next, **pprev = g->pprev;
	char fdpath[32], state[sizeof(g->state_path)], name[sizeof(g->name)];
	int ret;

	/* guest_open_ram() clears *g first: copy what it is given. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", q->rm.fd);
	snprintf(state, sizeof(state), "%s", g->state_path);
	snprintf(name, sizeof(name), "%s", g->name);
	guest_close(g, 0);
	ret = guest_open_ram(g, name, fdpath, q->gpa, state,
			     q->d->time_type);
	g->next = next;
	g->pprev = pprev;
	g->qemu = q;
	snprintf(g->path, sizeof(g->path), "%s", q->ram);
	snprintf(g->state_path, sizeof(g->state_path), "%s", state);
	if (ret) {
		/* No page: the update loop must leave this guest alone. */
		g->stopped = 1;
		return ret;
	}
	g->map_err_ns = q->map_err_ns;
	hook(q);
	return 0;
}

/* Stop writing: the file is no longer one QEMU vouches for. */
static void detach(struct qemu_guest *q)
{
	struct guest *g = q->g;

	if (!q->attached)
		return;
	guest_close(g, 0);
	g->stopped = 1;
	guest_set_doorbell(g, NULL, NULL);
	qemu_ram_unmap(&q->rm);
	q->attached = 0;
	q->need_measure = 0;
	q->check_mapping = 0;
}

/* Note why the guest has no page; logged when the reason changes. */
static void set_why(struct qemu_guest *q, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_why(struct qemu_guest *q, int error, const char *fmt, ...)
{
	char why[sizeof(q->why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!strcmp(why, q->why))
		return;
	snprintf(q->why, sizeof(q->why), "%s", why);
	if (error)
		log_err("%s: %s", q->g->name, why);
	else
		log_info("%s: %s", q->g->name, why);
}

/*
 * A VM QEMU can snapshot carries a generation from the start, so that its
 * first restore changes a counter the guest already knows (not one that
 * merely appears).  Random, like every later one.
 */
static void present_generation(struct qemu_guest *q)
{
	const volatile struct vmclock_abi *p = vmclock_writer_page(q->g->w);
	uint64_t gen;

	if ((p->flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT) ||
	    qemu_random_generation(0, &gen))
		return;
	vmclock_writer_bump_generation(q->g->w, gen);
}

/* A page new to us: the first add-qemu, or QEMU now on another file. */
static void set_up_fresh(struct qemu_guest *q)
{
	present_generation(q);
	if (q->rm.mbox) {
		qemu_mbox_init(q->rm.mbox);
		q->g->awaiting_mapping = 1;
		q->need_measure = 1;
	}
	/* A destination's RAM arrives later: no updates until it has. */
	q->g->stopped = q->pending;
}

/*
 * A measured mapping from before (a restart, a reconnection) may have
 * moved meanwhile (the VM was stopped, QEMU restarted): INITIALIZING
 * until it is measured again; measure() compares.
 */
static void recheck_mapping(struct qemu_guest *q)
{
	if (!q->rm.mbox || q->g->awaiting_mapping || !q->map_err_ns)
		return;
	q->check_mapping = 1;
	q->old_offset = q->g->map_.offset;
	q->g->awaiting_mapping = 1;
	q->need_measure = 1;
}

/* What QEMU did while we did not watch (a restart, a reconnection). */
static void catch_up(struct qemu_guest *q)
{
	char st[32] = "", mig[32] = "";
	enum qemu_incoming kind = q->track.expect;

	qmp_query_status(q->qmp, st, sizeof(st));
	q->running = !strcmp(st, "running");
	if (q->pending) {
		q->g->stopped = 1;
		/* Our incoming completed while we were away. */
		if (kind != QEMU_IN_NONE &&
		    !qmp_query_migrate(q->qmp, mig, sizeof(mig)) &&
		    !strcmp(mig, "completed")) {
			q->track.expect = QEMU_IN_NONE;
			act(q, kind == QEMU_IN_RESTORE ? QEMU_ACT_RESTORED :
				       QEMU_ACT_MIGRATED_IN);
		}
		return;
	}
	if (!strcmp(st, "postmigrate") && !q->g->stopped)
		act(q, QEMU_ACT_MIGRATED_OUT);
	else if (!strcmp(st, "paused") && !q->g->stopped)
		act(q, QEMU_ACT_STOPPED);
	else if (q->running && q->g->stopped)
		act(q, QEMU_ACT_RESUMED);
	recheck_mapping(q);
}

/*
 * Ask QEMU which file its guest RAM is, and who QEMU is; map ram= only
 * if it is that file.  1: newly attached (or moved to a new file), 0:
 * attached to the same file as before, or -errno with @err.
 */
static int check_ram(struct qemu_guest *q, char *err, size_t errlen)
{
	struct qemu_backend b;
	struct qemu_ram rm;
	uint32_t uid, gid;
	int32_t pid;
	int ret = qmp_peer(q->qmp, &pid, &uid, &gid);

	if (ret) {
		snprintf(err, errlen, "QMP peer credentials: %s", strerror(-ret));
		return ret;
	}
	ret = qemu_ram_backend(q->qmp, &b, err, errlen);
	if (!ret)
		ret = qemu_ram_open(&rm, q->ram, &b, uid, gid, q->gpa,
				    q->mbox_gpa, err, errlen);
	if (ret)
		return ret;
	if (q->attached && rm.dev == q->rm.dev && rm.ino == q->rm.ino) {
		qemu_ram_unmap(&rm);
		return 0;
	}
	if (q->attached) {
		log_warn("%s: QEMU's guest RAM %s is another file now: the page moves to it",
			 q->g->name, q->ram);
		detach(q);
		q->adopt = 0;
	}
	q->rm = rm;
	ret = open_page(q);
	if (ret) {
		snprintf(err, errlen, "%s at 0x%llx: %s", q->ram,
			 (unsigned long long)q->gpa, strerror(-ret));
		qemu_ram_unmap(&q->rm);
		return ret;
	}
	q->attached = 1;
	q->why[0] = '\0';
	log_info("%s: QEMU (pid %d, uid %u) confirms %s (%s) as its guest RAM; page at 0x%llx",
		 q->g->name, (int)pid, (unsigned int)uid, q->ram, b.qom_path,
		 (unsigned long long)q->gpa);
	return 1;
}

/*
 * After check_ram(): a page new to us is set up; one we had (a restart,
 * a reconnection) catches up with what QEMU did meanwhile.
 */
static void settle(struct qemu_guest *q, int fresh)
{
	char st[32] = "";

	if (fresh) {
		set_up_fresh(q);
		qmp_query_status(q->qmp, st, sizeof(st));
		q->running = !strcmp(st, "running");
	} else {
		if (q->rm.mbox)
			qemu_mbox_init(q->rm.mbox);
		catch_up(q);
	}
	q->adopt = 1;
	save_record(q);
	daemon_update(q->d);
}

/* Check (again) on a connected QEMU and attach, or say why not. */
static void verify(struct qemu_guest *q)
{
	char err[sizeof(q->why) - 32];
	int ret = check_ram(q, err, sizeof(err));

	q->next_check_ns = clock_monotonic_ns(q->d->ops) + RECHECK_NS;
	if (ret < 0) {
		detach(q);
		set_why(q, 1, "refused: %s", err);
		return;
	}
	settle(q, ret == 1 && !q->adopt);
}

static void on_qmp(void *ctx, int fd, short revents);

static void unwatch(struct qemu_guest *q)
{
	if (q->fd >= 0)
		sched_remove_fd(q->fd);
	q->fd = -1;
}

static void watch(struct qemu_guest *q)
{
	q->fd = qmp_fd(q->qmp);
	if (sched_add_fd(q->fd, POLLIN, on_qmp, q))
		q->fd = -1;
}

static void waiting(struct qemu_guest *q, int err)
{
	set_why(q, 0, "waiting for QMP at %s (%s): nothing is written until QEMU answers and confirms ram= as its guest RAM",
		q->qmp_path, strerror(-err));
}

/*
 * From the timer: the daemon loop waits while we do, so the handshake
 * gets RETRY_TIMEOUT_MS, and a socket that accepts but does not greet
 * (a QEMU whose monitor serves someone else) is tried again only after
 * SLOW_RETRY_NS.  A missing or refusing socket fails at once.
 */
static void connect_qmp(struct qemu_guest *q)
{
	uint64_t now = clock_monotonic_ns(q->d->ops);
	int ret;

	if ((q->qmp && qmp_connected(q->qmp)) || now < q->next_connect_ns)
		return;
	if (q->qmp) {
		qmp_set_timeout(q->qmp, RETRY_TIMEOUT_MS);
		ret = qmp_reconnect(q->qmp);
	} else {
		q->qmp = qmp_connect(q->qmp_path, RETRY_TIMEOUT_MS);
		ret = q->qmp ? 0 : -errno;
	}
	if (q->qmp)
		qmp_set_timeout(q->qmp, QMP_TIMEOUT_MS);
	if (ret == -ETIMEDOUT)
		q->next_connect_ns = now + SLOW_RETRY_NS;
	if (ret) {
		if (!q->attached)
			waiting(q, ret);
		return;
	}
	watch(q);
	log_info("%s: QMP %s connected", q->g->name, q->qmp_path);
	/* Any event that came with the handshake is handled by the timer. */
	verify(q);
}

/* --- events --------------------------------------------------------- */

/* New marker, INITIALIZING: the counter mapping must be found again. */
static void disrupted(struct qemu_guest *q)
{
	guest_migrated_in(q->g);
	q->check_mapping = 0;
	if (q->rm.mbox)
		q->need_measure = 1;
}

static void arrived(struct qemu_guest *q, int restore)
{
	uint64_t gen = 0;
	int ret = open_page(q);

	if (ret) {
		/* The page is gone: attach again (the timer), and arrive then. */
		q->track.expect = restore ? QEMU_IN_RESTORE : QEMU_IN_MIGRATION;
		q->attached = 0;
		qemu_ram_unmap(&q->rm);
		set_why(q, 1, "%s: page lost after the %s: %s", q->ram,
			restore ? "restore" : "migration", strerror(-ret));
		return;
	}
	if (restore)
		ret = qemu_random_generation(
			vmclock_writer_page(q->g->w)->vm_generation_counter,
			&gen);
	if (ret) {
		log_err("%s: restore: %s", q->g->name, strerror(-ret));
		return;
	}
	if (restore)
		guest_restored(q->g, gen);
	else
		guest_migrated_in(q->g);
	q->pending = 0;
	q->check_mapping = 0;
	q->need_measure = !!q->rm.mbox;
	save_record(q);
	daemon_update(q->d);
	ret = qemu_cont(q->qmp);
	log_info("%s: %s: page rewritten (marker %llu, generation %llu), cont%s",
		 q->g->name, restore ? "restored" : "migrated in",
		 (unsigned long long)vmclock_writer_page(q->g->w)->disruption_marker,
		 (unsigned long long)vmclock_writer_page(q->g->w)->vm_generation_counter,
		 ret ? " failed" : "");
}

static void act(struct qemu_guest *q, enum qemu_action a)
{
	switch (a) {
	case QEMU_ACT_MIGRATED_IN:
	case QEMU_ACT_RESTORED:
		arrived(q, a == QEMU_ACT_RESTORED);
		break;
	case QEMU_ACT_MIGRATED_OUT:
		log_info("%s: migrated out (or saved)", q->g->name);
		guest_stop(q->g);
		break;
	case QEMU_ACT_STOPPED:
		q->running = 0;
		if (!q->track.outgoing && q->rm.mbox && !q->pending)
			disrupted(q);
		guest_stop(q->g);
		break;
	case QEMU_ACT_RESUMED:
		q->running = 1;
		if (q->pending)
			break;
		guest_resume(q->g);
		if (!q->rm.mbox)
			daemon_update(q->d);
		arm(q->d, 1000000);
		break;
	case QEMU_ACT_RESET:
		if (q->rm.mbox && !q->pending)
			disrupted(q);
		break;
	case QEMU_ACT_FAILED:
		log_info("%s: QEMU says %s", q->g->name, qemu_action_name(a));
		if (q->pending)
			save_record(q);
		break;
	case QEMU_ACT_GONE:
		log_info("%s: QEMU says %s", q->g->name, qemu_action_name(a));
		break;
	default:
		break;
	}
}

static void drain(struct qemu_guest *q)
{
	struct qmp_event ev;
	enum qemu_action a;

	while (q->qmp && qmp_next_event(q->qmp, &ev)) {
		a = qemu_track_event(&q->track, &ev);
		log_debug("%s: QMP %s %s -> %s%s", q->g->name, ev.name,
			  ev.status, qemu_action_name(a),
			  q->attached ? "" : " (no page: ignored)");
		/* Without a page, attaching catches up with the VM's state. */
		if (q->attached)
			act(q, a);
	}
	if (q->qmp && !qmp_connected(q->qmp)) {
		unwatch(q);
		log_warn("%s: QMP connection lost; retrying", q->g->name);
		arm(q->d, RETRY_NS);
	}
}

static void on_qmp(void *ctx, int fd, short revents)
{
	struct qemu_guest *q = ctx;

	(void)fd;
	(void)revents;
	qmp_pump(q->qmp, 0);
	drain(q);
}

/*
 * After a restart or a reconnection: is the new measurement the mapping
 * we had (within both uncertainties), or did the counter move meanwhile?
 * 1 when it is the same.
 */
static int same_mapping(struct qemu_guest *q, int64_t offset,
			uint64_t err_ns, long double ns_per_tick)
{
	int64_t diff = (int64_t)((uint64_t)offset - q->old_offset);
	long double tol = (long double)(q->map_err_ns + err_ns) / ns_per_tick;
	long double adiff = diff < 0 ? -(long double)diff : (long double)diff;

	if (adiff <= tol + 1) {
		log_info("%s: counter mapping unchanged (%lld ticks apart)",
			 q->g->name, (long long)diff);
		return 1;
	}
	log_info("%s: counter mapping moved by %lld ticks while unwatched: new marker",
		 q->g->name, (long long)diff);
	return 0;
}

static void measure(struct qemu_guest *q)
{
	struct qemu_clock clk = { q_counter, q_mono, (void *)q->d->ops };
	struct guest_mapping m;
	struct qemu_offset o;
	long double ns_per_tick = q->d->ref.fit.n ?
				  q->d->ref.fit.period_ns : 1.0L;
	int same = 0;
	uint64_t err;

	/* Comparing needs the counter's period: wait for a fit. */
	if (q->check_mapping && q->d->ref.fit.n < 2)
		return;
	if (qemu_mbox_measure(q->rm.mbox, &clk, PROBES, 20000000, &o))
		return;
	err = (uint64_t)((long double)(o.window / 2 + 1) * ns_per_tick) + 1;
	/* A busy guest answers late: wait for a quieter moment, a while. */
	if (err > GOOD_WINDOW_NS && ++q->tries < MEASURE_TRIES)
		return;
	if (q->check_mapping) {
		same = same_mapping(q, o.offset, err, ns_per_tick);
		q->check_mapping = 0;
		if (!same)
			guest_migrated_in(q->g);
	}
	guest_mapping_identity(&m);
	m.offset = (uint64_t)o.offset;
	q->g->map_err_ns = err;
	if (guest_set_mapping(q->g, &m))
		return;
	/* The same counter domain: the line stays monotonic with the old. */
	if (same)
		q->g->remap = 0;
	q->map_err_ns = err;
	q->need_measure = 0;
	q->tries = 0;
	save_record(q);
	log_info("%s: counter mapping measured: offset %lld, +-%llu ns (%u probes)",
		 q->g->name, (long long)o.offset,
		 (unsigned long long)q->g->map_err_ns, o.probes);
	daemon_update(q->d);
}

/* Reconnects, checks and measurements, for every QEMU guest. */
static void on_timer(void *ctx)
{
	struct daemon *d = ctx;
	struct qemu_guest *q;
	struct guest *g;
	int again = 0;

	for (g = d->guests; g; g = g->next) {
		q = g->qemu;
		if (!q)
			continue;
		connect_qmp(q);
		if (q->qmp && qmp_connected(q->qmp) && !q->attached &&
		    clock_monotonic_ns(d->ops) >= q->next_check_ns)
			verify(q);
		if (q->qmp && qmp_connected(q->qmp)) {
			qmp_pump(q->qmp, 0);
			drain(q);
		}
		if (q->attached && q->need_measure && q->running)
			measure(q);
		again |= q->need_measure || !q->qmp ||
			 !qmp_connected(q->qmp) || !q->attached;
	}
	/*
	 * Each second anyway: events that arrived with a reply (a doorbell
	 * inside an update, say) sit in the queue with nothing to read.
	 */
	arm(d, again ? RETRY_NS : 1000000000ull);
}

static void arm(struct daemon *d, uint64_t ns)
{
	sched_timer(QEMU_TIMER, ns, on_timer, d);
}

/* --- add-qemu, and the same from a record -------------------------- */

static int get_opts(struct qemu_guest *q, const struct control_request *req,
		    uint64_t *incoming, char *err, size_t errlen)
{
	const char *qmp = control_arg(req, "qmp"), *ram = control_arg(req, "ram");
	uint64_t irq;

	if (!qmp || !ram) {
		snprintf(err, errlen, "add-qemu needs qmp= and ram=");
		return -EINVAL;
	}
	if (strlen(qmp) >= sizeof(q->qmp_path) || strlen(ram) >= sizeof(q->ram)) {
		snprintf(err, errlen, "qmp= or ram= path too long");
		return -EINVAL;
	}
	snprintf(q->qmp_path, sizeof(q->qmp_path), "%s", qmp);
	snprintf(q->ram, sizeof(q->ram), "%s", ram);
	if (control_get_u64(req, "gpa", QEMU_DEFAULT_GPA, &q->gpa, err,
			    errlen) ||
	    control_get_u64(req, "irq", QEMU_DEFAULT_IRQ, &irq, err, errlen) ||
	    control_get_u64(req, "mailbox", 0, &q->mbox_gpa, err, errlen) ||
	    control_get_u64(req, "incoming", 0, incoming, err, errlen))
		return -EINVAL;
	if (irq && (irq > 15 || irq == 2)) {
		snprintf(err, errlen, "irq: %llu is not an ISA IRQ (1-15, not 2; 0: none)",
			 (unsigned long long)irq);
		return -EINVAL;
	}
	q->irq = (uint32_t)irq;
	return 0;
}

/* What can be checked before QEMU says anything. */
static int check_opts(const struct qemu_guest *q, char *err, size_t errlen)
{
	int ret = qemu_gpa_ok(q->gpa, UINT64_MAX);

	if (!ret && q->mbox_gpa)
		ret = q->mbox_gpa == q->gpa ? -EINVAL :
		      qemu_gpa_ok(q->mbox_gpa, UINT64_MAX);
	if (ret) {
		snprintf(err, errlen, "gpa=0x%llx mailbox=0x%llx: %s",
			 (unsigned long long)q->gpa,
			 (unsigned long long)q->mbox_gpa, ret == -ERANGE ?
			 "above 2 GiB, where the low-RAM split can start" :
			 "not page-aligned, or the mailbox is the page");
		return ret;
	}
	if (q->ram[0] != '/') {
		snprintf(err, errlen, "ram=%s: give the RAM file as an absolute path",
			 q->ram);
		return -EINVAL;
	}
	return 0;
}

static struct qemu_guest *new_guest(struct daemon *d, const char *name)
{
	struct qemu_guest *q = calloc(1, sizeof(*q));

	if (!q || !(q->g = guest_alloc())) {
		free(q);
		return NULL;
	}
	q->d = d;
	q->fd = -1;
	q->rm.fd = -1;
	q->g->fd = -1;
	/* No page yet: never updated, and its path is not ours to unlink. */
	q->g->in_ram = 1;
	q->g->stopped = 1;
	q->g->qemu = q;
	snprintf(q->g->name, sizeof(q->g->name), "%s", name);
	snprintf(q->g->state_path, sizeof(q->g->state_path),
		 "%s/.%s.qemu-page", d->guest_dir, name);
	snprintf(q->rec_path, sizeof(q->rec_path), "%s/.%s.qemu",
		 d->guest_dir, name);
	return q;
}

static void free_guest(struct qemu_guest *q)
{
	unwatch(q);
	qmp_close(q->qmp);
	qemu_ram_unmap(&q->rm);
	guest_free(q->g);
	free(q);
}

static void link_guest(struct qemu_guest *q)
{
	snprintf(q->g->path, sizeof(q->g->path), "%s", q->ram);
	daemon_link_guest(q->d, q->g);
}

static void reply(FILE *json, const struct qemu_guest *q)
{
	fprintf(json, "{\"guest\":");
	control_json_str(json, q->g->name);
	fprintf(json, ",\"state\":\"%s\",\"reason\":",
		q->attached ? "attached" : "waiting");
	control_json_str(json, q->attached ? "" : q->why);
	fputc('}', json);
}

int qemu_guest_add(struct daemon *d, const struct control_request *req,
		   FILE *json, char *err, size_t errlen)
{
	const char *name = control_arg(req, "guest");
	struct qemu_guest *q;
	uint64_t incoming = 0;
	int ret;

	ret = daemon_guest_allowed(d, name, err, errlen);
	if (ret)
		return ret;
	q = new_guest(d, name);
	if (!q)
		return -ENOMEM;
	ret = get_opts(q, req, &incoming, err, errlen);
	if (!ret)
		ret = check_opts(q, err, errlen);
	q->pending = !!incoming;
	q->qmp = ret ? NULL : qmp_connect(q->qmp_path, QMP_TIMEOUT_MS);
	if (q->qmp)
		log_info("%s: QMP %s connected", name, q->qmp_path);
	else if (!ret)
		waiting(q, -errno);
	/* QEMU answers: it must confirm ram= now, or add-qemu fails. */
	if (!ret && q->qmp && (ret = check_ram(q, err, errlen)) > 0)
		ret = 0;
	if (ret) {
		free_guest(q);
		return ret;
	}
	link_guest(q);
	if (q->qmp) {
		watch(q);
		settle(q, 1);
	} else {
		save_record(q);
	}
	arm(d, 1000000);
	log_info("guest %s added: page at 0x%llx of %s, QMP %s%s%s", name,
		 (unsigned long long)q->gpa, q->ram, q->qmp_path,
		 incoming ? " (incoming)" : "",
		 q->attached ? "" : " (waiting for QMP)");
	reply(json, q);
	return 0;
}

/* One line of a record, parsed as a control request is. */
static int record_line(FILE *f, const char *cmd, struct control_request *req)
{
	char line[CONTROL_LINE_MAX + 2], err[128];

	if (!fgets(line, sizeof(line), f) || !strchr(line, '\n'))
		return -EINVAL;
	line[strcspn(line, "\n")] = '\0';
	if (control_parse(line, req, err, sizeof(err)) || strcmp(req->cmd, cmd))
		return -EINVAL;
	return 0;
}

static int read_record(struct qemu_guest *q, FILE *f, char *err,
		       size_t errlen)
{
	struct control_request req;
	const char *v;
	uint64_t incoming;

	if (record_line(f, "add-qemu", &req) ||
	    !control_arg(&req, "guest") ||
	    strcmp(control_arg(&req, "guest"), q->g->name)) {
		snprintf(err, errlen, "first line is not this guest's add-qemu");
		return -EINVAL;
	}
	if (get_opts(q, &req, &incoming, err, errlen) ||
	    check_opts(q, err, errlen))
		return -EINVAL;
	if (record_line(f, "adapter", &req) ||
	    control_get_u64(&req, "map-err-ns", 0, &q->map_err_ns, err, errlen) ||
	    !(v = control_arg(&req, "incoming"))) {
		snprintf(err, errlen, "no valid adapter line");
		return -EINVAL;
	}
	q->pending = strcmp(v, "none") != 0;
	q->track.expect = !strcmp(v, "migration") ? QEMU_IN_MIGRATION :
			  !strcmp(v, "restore") ? QEMU_IN_RESTORE : QEMU_IN_NONE;
	if (q->pending && q->track.expect == QEMU_IN_NONE &&
	    strcmp(v, "waiting")) {
		snprintf(err, errlen, "incoming=%s", v);
		return -EINVAL;
	}
	return 0;
}

/* Open a record without following links, a regular file of ours. */
static FILE *open_record(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0)
		return NULL;
	/* Ours, or root's (written before a drop to user=). */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > RECORD_MAX ||
	    (st.st_uid != geteuid() && st.st_uid != 0) ||
	    !(f = fdopen(fd, "r"))) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	return f;
}

static void adopt_one(struct daemon *d, const char *name)
{
	char err[256] = "";
	struct qemu_guest *q;
	FILE *f;
	int ret = -ENOMEM;

	if (daemon_guest_allowed(d, name, err, sizeof(err))) {
		log_warn("%s/.%s.qemu: not re-attached: %s", d->guest_dir, name,
			 err);
		return;
	}
	q = new_guest(d, name);
	f = q ? open_record(q->rec_path) : NULL;
	if (f) {
		ret = read_record(q, f, err, sizeof(err));
		fclose(f);
	} else if (q) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
	}
	if (ret) {
		log_warn("%s/.%s.qemu: not re-attached: %s", d->guest_dir, name,
			 err[0] ? err : strerror(-ret));
		if (q)
			free_guest(q);
		return;
	}
	q->adopt = 1;
	link_guest(q);
	set_why(q, 0, "re-attaching: waiting for QMP at %s", q->qmp_path);
}

void qemu_guest_adopt(struct daemon *d)
{
	DIR *dir = opendir(d->guest_dir);
	struct dirent *e;
	int any = 0;

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);
		char name[GUEST_NAME_MAX];

		if (e->d_name[0] != '.' || n < 7 || n - 6 >= sizeof(name) ||
		    strcmp(e->d_name + n - 5, ".qemu"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 6), e->d_name + 1);
		adopt_one(d, name);
		any = 1;
	}
	closedir(dir);
	if (any)
		arm(d, 1000000);
}

/* --- commands --------------------------------------------------------- */

/*
 * The migration started by save: wait until QEMU says how it ended.  The
 * daemon loop serves only this guest meanwhile.
 */
static int await_save(struct qemu_guest *q, char *err, size_t errlen)
{
	char st[32] = "";
	int ret = 0, i;

	for (i = 0; !ret && i < SAVE_TIMEOUT_MS / 100; i++) {
		qmp_pump(q->qmp, 100);
		drain(q);
		ret = qmp_query_migrate(q->qmp, st, sizeof(st));
		if (!ret && (!strcmp(st, "completed") ||
			     !strcmp(st, "failed") || !strcmp(st, "cancelled")))
			break;
	}
	/* Events that came with the last reply are queued, not read. */
	drain(q);
	if (ret)
		snprintf(err, errlen, "save: QMP: %s", strerror(-ret));
	else if (strcmp(st, "completed"))
		snprintf(err, errlen, "save: migration %s; the VM stays paused (cont it over QMP)",
			 st[0] ? st : "timed out");
	return ret ? ret : strcmp(st, "completed") ? -EIO : 0;
}

/*
 * save: the file is vmclockd's, in snapshot-dir: created (a temporary,
 * never through a link), handed to QEMU as a descriptor, and given its
 * name once QEMU has written all of it.
 */
static int save(struct qemu_guest *q, const char *name, char *err,
		size_t errlen)
{
	const char *dir = q->d->conf.snapshot_dir;
	int dfd = qemu_snapdir_open(dir, err, errlen), fd = -1, ret;

	if (dfd < 0)
		return dfd;
	ret = fd = qemu_snapshot_create(dfd, dir, name, err, errlen);
	if (fd >= 0) {
		q->track.outgoing = 1;
		ret = qemu_stop(q->qmp);
		if (ret)
			snprintf(err, errlen, "save: stop: %s", ret == -EIO ?
				 qmp_last_error(q->qmp) : strerror(-ret));
	}
	if (!ret)
		ret = qemu_migrate_fd(q->qmp, fd, 0, err, errlen);
	if (!ret)
		ret = await_save(q, err, errlen);
	if (!ret)
		ret = qemu_snapshot_commit(dfd, dir, name, fd, err, errlen);
	else if (fd >= 0)
		qemu_snapshot_discard(dfd, name);
	if (!ret)
		log_info("%s: saved to %s/%s", q->g->name, dir, name);
	if (fd >= 0)
		close(fd);
	close(dfd);
	return ret;
}

/*
 * incoming, restore: nothing is written until the RAM has come.  A
 * restore reads our descriptor @fd; a live migration listens at @uri.
 */
static int incoming(struct qemu_guest *q, const char *uri, int fd,
		    char *err, size_t errlen)
{
	int was_stopped = q->g->stopped, was_pending = q->pending, ret;

	q->track.expect = fd >= 0 ? QEMU_IN_RESTORE : QEMU_IN_MIGRATION;
	q->g->stopped = 1;
	q->pending = 1;
	save_record(q);
	ret = fd >= 0 ? qemu_migrate_fd(q->qmp, fd, 1, err, errlen) :
	      qemu_migrate_incoming(q->qmp, uri);
	if (ret) {
		/* QEMU would not: the page goes on as it was. */
		q->track.expect = QEMU_IN_NONE;
		q->g->stopped = was_stopped;
		q->pending = was_pending;
		save_record(q);
	}
	return ret;
}

/* restore: a regular file of snapshot-dir, read through our descriptor. */
static int restore(struct qemu_guest *q, const char *name, char *err,
		   size_t errlen)
{
	const char *dir = q->d->conf.snapshot_dir;
	int dfd = qemu_snapdir_open(dir, err, errlen), fd, ret;

	if (dfd < 0)
		return dfd;
	ret = fd = qemu_snapshot_open(dfd, dir, name, err, errlen);
	close(dfd);
	if (fd < 0)
		return ret;
	ret = incoming(q, NULL, fd, err, errlen);
	if (!ret)
		log_info("%s: restoring %s/%s", q->g->name, dir, name);
	/* QEMU has its own copy now. */
	close(fd);
	return ret;
}

/*
 * What a client may name: a snapshot in snapshot-dir (save, restore), a
 * network URI (migrate, incoming).  Never a path QEMU would act on.
 */
static int request_arg(const struct control_request *req, const char *dir,
		       const char **arg, char *err, size_t errlen)
{
	const char *file = control_arg(req, "file");

	if (file) {
		*arg = qemu_snapshot_name(dir, file, err, errlen);
		return *arg ? 0 : -EINVAL;
	}
	*arg = control_arg(req, "uri");
	return qemu_net_uri_ok(*arg, err, errlen);
}

int qemu_guest_command(struct daemon *d, struct guest *g,
		       const struct control_request *req, char *err,
		       size_t errlen)
{
	struct qemu_guest *q = g->qemu;
	const char *arg;
	char why[480];
	int ret = request_arg(req, d->conf.snapshot_dir, &arg, why,
			      sizeof(why));

	if (ret) {
		snprintf(err, errlen, "%s: %s", g->name, why);
		return ret;
	}
	err[0] = '\0';
	if (!q || !q->qmp || !qmp_connected(q->qmp) || !q->attached) {
		snprintf(err, errlen, "%s: %s", g->name, !q ?
			 "not an add-qemu guest" : !q->attached ?
			 "no page yet (vmclockctl status GUEST says why)" :
			 "QMP not connected");
		return -ENOTCONN;
	}
	if (!strcmp(req->cmd, "save"))
		return save(q, arg, err, errlen);
	if (!strcmp(req->cmd, "migrate"))
		q->track.outgoing = 1;
	ret = !strcmp(req->cmd, "restore") ? restore(q, arg, err, errlen) :
	      !strcmp(req->cmd, "migrate") ? qemu_migrate(q->qmp, arg) :
	      incoming(q, arg, -1, err, errlen);
	if (ret == -EIO && !err[0])
		snprintf(err, errlen, "QEMU: %s", qmp_last_error(q->qmp));
	drain(q);
	return ret;
}

/* Let go of the QEMU side of @g; its record is unlinked if @forget. */
static void release(struct guest *g, int forget)
{
	struct qemu_guest *q = g->qemu;

	if (!q)
		return;
	unwatch(q);
	qmp_close(q->qmp);
	qemu_ram_unmap(&q->rm);
	if (forget)
		unlink(q->rec_path);
	g->qemu = NULL;
	guest_set_doorbell(g, NULL, NULL);
	/* guest_close() must never unlink the RAM file. */
	g->in_ram = 1;
	free(q);
}

void qemu_guest_remove(struct guest *g)
{
	release(g, 1);
}

void qemu_guest_release(struct guest *g)
{
	release(g, 0);
}

void qemu_guest_status(const struct guest *g, FILE *f)
{
	const struct qemu_guest *q = g->qemu;

	if (!q)
		return;
	fprintf(f, "\"qemu\":{\"qmp\":");
	control_json_str(f, q->qmp_path);
	fprintf(f, ",\"ram\":");
	control_json_str(f, q->ram);
	fprintf(f, ",\"gpa\":%llu,\"mailbox\":%llu,\"irq\":%u,\"connected\":%s,"
		   "\"state\":\"%s\",\"incoming\":\"%s\",\"reason\":",
		(unsigned long long)q->gpa, (unsigned long long)q->mbox_gpa,
		q->irq, q->qmp && qmp_connected(q->qmp) ? "true" : "false",
		q->attached ? "attached" : !strncmp(q->why, "refused", 7) ?
		"refused" : "waiting", incoming_name(q));
	control_json_str(f, q->attached ? "" : q->why);
	fputc('}', f);
}
