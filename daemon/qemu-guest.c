// SPDX-License-Identifier: MIT
/*
 * qemu-guest.c - vmclockd's QEMU adapter (see qemu-guest.h): guests whose
 * page is in a QEMU's RAM file, with the doorbell, the QMP events and the
 * measured counter mapping wired into the daemon's guest pages.
 *
 * What each event does to the page (docs/qemu.md):
 *  - destination of a live migration (MIGRATION completed after our
 *    "incoming"): adopt the page that came in the RAM, new marker, same
 *    generation, INITIALIZING until the mapping is known, notify, cont;
 *  - restore (an exec:/file: incoming): the same, and a random generation;
 *  - STOP (not ours to migrate) and RESET: with a measured mapping the
 *    counter is disrupted (TCG: the guest TSC stands still while stopped),
 *    so a new marker and INITIALIZING; the page is not updated while
 *    stopped;
 *  - RESUME: measure the mapping again (mailbox), then SYNCHRONIZED.
 * A guest whose VMM sets the mapping (set-counter-mapping, no mailbox)
 * keeps it across STOP/RESUME.
 *
 * The daemon loop runs this: one sched timer (reconnects, measurements)
 * and each QMP socket as a sched fd.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define PROBES 200
#define SAVE_TIMEOUT_MS 300000
/* A burst whose best window is wider is tried again, up to this often. */
#define GOOD_WINDOW_NS 20000
#define MEASURE_TRIES 25

struct qemu_guest {
	struct daemon *d;
	struct guest *g;
	char qmp_path[108];
	char ram[256];
	uint64_t gpa, mbox_gpa;
	uint32_t irq;
	struct qmp *qmp;
	int fd;			/* registered with sched, or -1 */
	struct qemu_ram rm;	/* for the mailbox */
	struct qemu_track track;
	int running;
	int need_measure;
	unsigned int tries;
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
	q->g->doorbell = ring;
	q->g->doorbell_ctx = q;
	vmclock_writer_set_flags(q->g->w, VMCLOCK_FLAG_NOTIFICATION_PRESENT, 0);
}

/* The page came in with the guest's RAM: take it over as it is. */
static int reopen(struct qemu_guest *q)
{
	struct guest *g = q->g, *next = g->next;
	char state[sizeof(g->state_path)], name[sizeof(g->name)];
	int ret;

	/* guest_open_ram() clears *g first: copy what it is given. */
	snprintf(state, sizeof(state), "%s", g->state_path);
	snprintf(name, sizeof(name), "%s", g->name);
	guest_close(g, 0);
	ret = guest_open_ram(g, name, q->ram, q->gpa, state,
			     q->d->time_type);
	g->next = next;
	if (ret) {
		/* No page: the update loop must leave this guest alone. */
		g->stopped = 1;
		g->qemu = q;
		return ret;
	}
	hook(q);
	return 0;
}

static void on_qmp(void *ctx, int fd, short revents);

static void unwatch(struct qemu_guest *q)
{
	if (q->fd >= 0)
		sched_remove_fd(q->fd);
	q->fd = -1;
}

static void connect_qmp(struct qemu_guest *q)
{
	char st[32] = "";

	if (q->qmp && qmp_connected(q->qmp))
		return;
	if (q->qmp ? qmp_reconnect(q->qmp) :
		     !(q->qmp = qmp_connect(q->qmp_path, QMP_TIMEOUT_MS)))
		return;
	qmp_query_status(q->qmp, st, sizeof(st));
	q->running = !strcmp(st, "running");
	q->fd = qmp_fd(q->qmp);
	if (sched_add_fd(q->fd, POLLIN, on_qmp, q))
		q->fd = -1;
	/* Any event that came with the handshake is handled by the timer. */
	log_info("%s: QMP %s connected, VM %s", q->g->name, q->qmp_path, st);
}

/* New marker, INITIALIZING: the counter mapping must be found again. */
static void disrupted(struct qemu_guest *q)
{
	guest_migrated_in(q->g);
	if (q->rm.mbox)
		q->need_measure = 1;
}

static void arrived(struct qemu_guest *q, int restore)
{
	uint64_t gen = 0;
	int ret = reopen(q);

	if (!ret && restore)
		ret = qemu_random_generation(
			vmclock_writer_page(q->g->w)->vm_generation_counter,
			&gen);
	if (ret) {
		log_err("%s: %s: %s", q->g->name,
			restore ? "restore" : "migration", strerror(-ret));
		return;
	}
	if (restore)
		guest_restored(q->g, gen);
	else
		guest_migrated_in(q->g);
	q->need_measure = !!q->rm.mbox;
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
		if (!q->track.outgoing && q->rm.mbox)
			disrupted(q);
		guest_stop(q->g);
		break;
	case QEMU_ACT_RESUMED:
		q->running = 1;
		guest_resume(q->g);
		if (!q->rm.mbox)
			daemon_update(q->d);
		arm(q->d, 1000000);
		break;
	case QEMU_ACT_RESET:
		if (q->rm.mbox)
			disrupted(q);
		break;
	case QEMU_ACT_GONE:
	case QEMU_ACT_FAILED:
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
		log_debug("%s: QMP %s %s -> %s", q->g->name, ev.name, ev.status,
			  qemu_action_name(a));
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

static void measure(struct qemu_guest *q)
{
	struct qemu_clock clk = { q_counter, q_mono, (void *)q->d->ops };
	struct guest_mapping m;
	struct qemu_offset o;
	long double ns_per_tick = q->d->ref.fit.n ?
				  q->d->ref.fit.period_ns : 1.0L;

	uint64_t err;

	if (qemu_mbox_measure(q->rm.mbox, &clk, PROBES, 20000000, &o))
		return;
	err = (uint64_t)((long double)(o.window / 2 + 1) * ns_per_tick) + 1;
	/* A busy guest answers late: wait for a quieter moment, a while. */
	if (err > GOOD_WINDOW_NS && ++q->tries < MEASURE_TRIES)
		return;
	guest_mapping_identity(&m);
	m.offset = (uint64_t)o.offset;
	q->g->map_err_ns = err;
	if (guest_set_mapping(q->g, &m))
		return;
	q->need_measure = 0;
	q->tries = 0;
	log_info("%s: counter mapping measured: offset %lld, +-%llu ns (%u probes)",
		 q->g->name, (long long)o.offset,
		 (unsigned long long)q->g->map_err_ns, o.probes);
	daemon_update(q->d);
}

/* Reconnects and measurements, for every QEMU guest. */
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
		if (q->qmp && qmp_connected(q->qmp)) {
			qmp_pump(q->qmp, 0);
			drain(q);
		}
		if (q->need_measure && q->running)
			measure(q);
		again |= q->need_measure || !q->qmp || !qmp_connected(q->qmp);
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

static int get_opts(struct qemu_guest *q, const struct control_request *req,
		    uint64_t *incoming, char *err, size_t errlen)
{
	uint64_t irq;

	if (strlen(control_arg(req, "qmp")) >= sizeof(q->qmp_path) ||
	    strlen(control_arg(req, "ram")) >= sizeof(q->ram)) {
		snprintf(err, errlen, "qmp= or ram= path too long");
		return -EINVAL;
	}
	snprintf(q->qmp_path, sizeof(q->qmp_path), "%s",
		 control_arg(req, "qmp"));
	snprintf(q->ram, sizeof(q->ram), "%s", control_arg(req, "ram"));
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

static int open_qemu_guest(struct daemon *d, struct qemu_guest *q,
			   const char *name, char *err, size_t errlen)
{
	char state[CONF_PATH_MAX + 96];
	int ret;

	ret = qemu_ram_map(&q->rm, q->ram, q->gpa, q->mbox_gpa);
	if (ret) {
		snprintf(err, errlen, "%s at 0x%llx: %s", q->ram,
			 (unsigned long long)q->gpa,
			 ret == -ERANGE ? "outside the file or above 2 GiB" :
			 strerror(-ret));
		return ret;
	}
	/* Not NAME.state: adopt_guests() would take it for a page file. */
	snprintf(state, sizeof(state), "%s/%s.qemu", d->guest_dir, name);
	ret = guest_open_ram(q->g, name, q->ram, q->gpa, state, d->time_type);
	if (ret) {
		snprintf(err, errlen, "%s: %s", q->ram, strerror(-ret));
		qemu_ram_unmap(&q->rm);
	}
	return ret;
}

int qemu_guest_add(struct daemon *d, const struct control_request *req,
		   char *err, size_t errlen)
{
	const char *name = control_arg(req, "guest");
	struct qemu_guest *q;
	uint64_t incoming = 0;
	int ret;

	if (guest_name_ok(name) || daemon_find_guest(d, name) ||
	    d->nguests >= d->conf.max_guests) {
		snprintf(err, errlen, "guest \"%s\": bad name, exists, or max-guests reached",
			 name);
		return -EINVAL;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->g = calloc(1, sizeof(*q->g)))) {
		free(q);
		return -ENOMEM;
	}
	q->d = d;
	q->fd = -1;
	ret = get_opts(q, req, &incoming, err, errlen);
	if (!ret)
		ret = open_qemu_guest(d, q, name, err, errlen);
	if (ret) {
		free(q->g);
		free(q);
		return ret;
	}
	hook(q);
	present_generation(q);
	if (q->rm.mbox) {
		qemu_mbox_init(q->rm.mbox);
		q->g->awaiting_mapping = 1;
		q->need_measure = 1;
	}
	/* A destination's RAM arrives later: no writes until it has. */
	q->g->stopped = !!incoming;
	q->g->next = d->guests;
	d->guests = q->g;
	d->nguests++;
	connect_qmp(q);
	arm(d, 1000000);
	log_info("guest %s added: page at 0x%llx of %s, QMP %s%s", name,
		 (unsigned long long)q->gpa, q->ram, q->qmp_path,
		 incoming ? " (incoming)" : "");
	daemon_update(d);
	return 0;
}

/* save: stop, migrate to exec:cat > FILE, and wait until it is done. */
static int save(struct qemu_guest *q, const char *file, char *err,
		size_t errlen)
{
	char uri[600], st[32] = "";
	int ret = qemu_save_uri(file, uri, sizeof(uri)), i;

	if (ret)
		return ret;
	q->track.outgoing = 1;
	ret = qemu_stop(q->qmp);
	if (!ret)
		ret = qemu_migrate(q->qmp, uri);
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
	if (!ret && strcmp(st, "completed")) {
		snprintf(err, errlen, "save: migration %s", st[0] ? st : "timed out");
		return -EIO;
	}
	return ret;
}

int qemu_guest_command(struct daemon *d, struct guest *g,
		       const struct control_request *req, char *err,
		       size_t errlen)
{
	struct qemu_guest *q = g->qemu;
	const char *uri = control_arg(req, "uri");
	const char *file = control_arg(req, "file");
	char buf[600];
	int ret;

	(void)d;
	if (!q || !q->qmp || !qmp_connected(q->qmp)) {
		snprintf(err, errlen, "%s: %s", g->name, q ?
			 "QMP not connected" : "not an add-qemu guest");
		return -ENOTCONN;
	}
	if (!strcmp(req->cmd, "save"))
		return save(q, file, err, errlen);
	if (!strcmp(req->cmd, "restore")) {
		ret = qemu_restore_uri(file, buf, sizeof(buf));
		if (ret)
			return ret;
		uri = buf;
	}
	/*
	 * An exec: URI is a command QEMU runs as its user: only the ones
	 * save and restore build (cat, the file quoted) are ever sent.
	 */
	if (uri != buf && !strncmp(uri, "exec:", 5)) {
		snprintf(err, errlen, "%s: exec: URIs are refused; use save "
			 "GUEST FILE or restore GUEST FILE", g->name);
		return -EPERM;
	}
	if (!strcmp(req->cmd, "migrate")) {
		q->track.outgoing = 1;
		ret = qemu_migrate(q->qmp, uri);
	} else {
		q->track.expect = qemu_uri_kind(uri);
		g->stopped = 1;
		ret = q->track.expect == QEMU_IN_NONE ? -EINVAL :
		      qemu_migrate_incoming(q->qmp, uri);
	}
	if (ret == -EIO)
		snprintf(err, errlen, "QEMU: %s", qmp_last_error(q->qmp));
	drain(q);
	return ret;
}

void qemu_guest_remove(struct guest *g)
{
	struct qemu_guest *q = g->qemu;

	if (!q)
		return;
	unwatch(q);
	qmp_close(q->qmp);
	qemu_ram_unmap(&q->rm);
	g->qemu = NULL;
	g->doorbell = NULL;
	free(q);
}
