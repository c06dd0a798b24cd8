// SPDX-License-Identifier: MIT
/*
 * e2e-vmm.c - drive QEMUs the way vmclockd's QEMU adapter does, with
 * libvmclock's writer and the adapter's pieces (daemon/qmp.c, qemu.c):
 * the page in each guest's RAM file, the doorbell over one kept QMP
 * connection, the counter mapping measured through the mailbox, and the
 * page rules for migration, snapshot restore and stop/cont (docs/qemu.md).
 *
 * It is the e2e harness's host side until vmclockd carries the adapter; the
 * time it publishes is the host's CLOCK_TAI against the TSC, re-anchored
 * every second, with the mapping's uncertainty added to the error.
 *
 * Commands, one a line, from the FIFO given on the command line:
 *	attach NAME QMP RAM fresh|incoming
 *	incoming NAME URI | restore NAME FILE
 *	migrate NAME URI | save NAME FILE
 *	stopcont NAME | notify NAME on|off | detach NAME | quit
 * Log lines ("e2e-vmm: NAME ...") say what happened; the harness waits
 * for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>

#include "../../../daemon/qemu.h"
#include "../../../daemon/ssdt.h"

#define MAX_VMS 4
#define GPA QEMU_DEFAULT_GPA
#define MBOX_GPA (QEMU_DEFAULT_GPA + 0x1000)
#define NS 1000000000ull
#define UPDATE_NS NS
/* Host CLOCK_TAI against the TSC: what we do not measure (NTP slew). */
#define BASE_ERR_NS 2000
#define PERIOD_ERR_PPB 1000

struct vm {
	char name[32];
	char qmp_path[256];
	struct qmp *qmp;
	struct qemu_ram ram;
	struct qemu_track track;
	struct vmclock_writer *w;
	int64_t offset;		/* guest TSC - host TSC */
	uint64_t map_err_ns;	/* half the probe window */
	int stale;		/* mapping unknown: measure when running */
	int running;
	int cont_on_stop;
	int saving;
	unsigned int tries;	/* wide bursts in a row */
	uint64_t next_update, next_try;
};

static struct vm vms[MAX_VMS];
static uint64_t ref_tsc, ref_ns;
static double tsc_ghz = 1.0;

static uint64_t ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mono(void *ctx)
{
	(void)ctx;
	return ts_ns(CLOCK_MONOTONIC);
}

static uint64_t tsc(void *ctx)
{
	(void)ctx;
	return __rdtsc();
}

static const struct qemu_clock clk = { tsc, mono, NULL };

__attribute__((format(printf, 2, 3)))
static void say(const struct vm *v, const char *fmt, ...)
{
	va_list ap;

	printf("e2e-vmm: %s ", v ? v->name : "-");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* TAI: CLOCK_REALTIME + the kernel's TAI offset, or + 37 s without one. */
static uint64_t tai_ns(void)
{
	static int tai = -1;
	struct timex tx = { 0 };

	if (tai < 0)
		tai = adjtimex(&tx) >= 0 && tx.tai > 0 ? tx.tai : 37;
	return ts_ns(CLOCK_REALTIME) + (uint64_t)tai * NS;
}

/* TAI and the TSC at its middle; the bracket's half in *half. */
static void tai_pair(uint64_t *t, uint64_t *ns, uint64_t *half)
{
	uint64_t t0 = __rdtsc(), t1;

	*ns = tai_ns();
	t1 = __rdtsc();
	*t = t0 + (t1 - t0) / 2;
	*half = (t1 - t0) / 2 + 1;
}

/* This host's line, in the guest's counter domain. */
static int calibrate(struct vm *v, struct vmclock_calibration *cal)
{
	uint64_t t, ns, half, half_ns;
	int ret;

	memset(cal, 0, sizeof(*cal));
	tai_pair(&t, &ns, &half);
	ret = vmclock_period_from_ns(ns - ref_ns, t - ref_tsc,
				     &cal->period_frac, &cal->period_shift);
	if (ret)
		return ret;
	tsc_ghz = (double)(t - ref_tsc) / (double)(ns - ref_ns);
	half_ns = (uint64_t)((double)half / tsc_ghz) + 1;
	cal->counter_value = t + (uint64_t)v->offset;
	cal->time_sec = ns / NS;
	cal->time_frac = vmclock_nsec_to_frac((uint32_t)(ns % NS));
	cal->time_maxerror_ns = BASE_ERR_NS + half_ns + v->map_err_ns;
	cal->time_esterror_ns = half_ns + v->map_err_ns / 2;
	/* 1 ppm of the period, in its own units. */
	cal->period_maxerror_rate = cal->period_frac / (NS / PERIOD_ERR_PPB);
	cal->period_esterror_rate = cal->period_maxerror_rate / 10;
	cal->valid = VMCLOCK_CAL_TIME_MAXERROR | VMCLOCK_CAL_TIME_ESTERROR |
		     VMCLOCK_CAL_PERIOD_MAXERROR | VMCLOCK_CAL_PERIOD_ESTERROR;
	cal->switch_counter = cal->counter_value;
	return 0;
}

static void doorbell(void *ctx, uint32_t seq)
{
	struct vm *v = ctx;
	int ret;

	(void)seq;
	if (!v->qmp || !qmp_connected(v->qmp))
		return;
	ret = qemu_doorbell(v->qmp, QEMU_DEFAULT_IRQ);
	if (ret)
		say(v, "doorbell failed: %s", strerror(-ret));
}

/* Publish the line; status SYNCHRONIZED only with a known mapping. */
static int publish(struct vm *v)
{
	struct vmclock_calibration cal;
	int ret;

	if (!v->w)
		return 0;
	ret = calibrate(v, &cal);
	if (ret)
		return ret;
	ret = vmclock_writer_begin(v->w);
	if (!ret)
		ret = vmclock_writer_set_calibration(v->w, &cal, NULL);
	vmclock_writer_set_status(v->w, v->stale ?
				  VMCLOCK_STATUS_INITIALIZING :
				  VMCLOCK_STATUS_SYNCHRONIZED);
	vmclock_writer_commit(v->w);
	v->next_update = mono(NULL) + UPDATE_NS;
	return ret;
}

static int make_writer(struct vm *v, int adopt)
{
	struct vmclock_writer_config cfg = {
		.counter_id = VMCLOCK_COUNTER_X86_TSC,
		.time_type = VMCLOCK_TIME_TAI,
		.size = 4096,
		.adopt = adopt,
		.notify = doorbell,
		.notify_ctx = v,
	};

	vmclock_writer_destroy(v->w);
	v->w = vmclock_writer_create(v->ram.page, 4096, &cfg);
	if (!v->w)
		return -errno;
	if (!vmclock_writer_adopted(v->w)) {
		vmclock_writer_begin(v->w);
		vmclock_writer_bump_generation(v->w, 1);
		vmclock_writer_set_flags(v->w,
					 VMCLOCK_FLAG_NOTIFICATION_PRESENT, 0);
		vmclock_writer_set_tai_offset(v->w, 37, 1);
		vmclock_writer_commit(v->w);
	}
	return 0;
}

/*
 * The counter was (or may have been) disrupted: a new marker, status
 * INITIALIZING until the mapping is measured again; a restore also gets
 * a generation no other clone of the snapshot has.
 */
static int disrupt(struct vm *v, int restore)
{
	const volatile struct vmclock_abi *p = vmclock_writer_page(v->w);
	uint64_t gen = 0;
	int ret;

	v->stale = 1;
	if (restore && qemu_random_generation(p->vm_generation_counter, &gen))
		return -EIO;
	ret = vmclock_writer_begin(v->w);
	if (ret)
		return ret;
	vmclock_writer_bump_disruption(v->w, 0);
	if (restore)
		vmclock_writer_bump_generation(v->w, gen);
	vmclock_writer_set_status(v->w, VMCLOCK_STATUS_INITIALIZING);
	ret = vmclock_writer_commit(v->w);
	say(v, "disrupted: marker=%" PRIu64 " generation=%" PRIu64,
	    p->disruption_marker, p->vm_generation_counter);
	return ret;
}

/* Destination of a migration or restore, paused: rewrite, notify, cont. */
static void arrived(struct vm *v, int restore)
{
	int ret = make_writer(v, 1);

	if (!ret)
		ret = disrupt(v, restore);
	if (!ret)
		ret = publish(v);
	if (!ret)
		ret = qemu_cont(v->qmp);
	say(v, "%s: %s", restore ? "restored" : "migrated-in",
	    ret ? strerror(-ret) : "page rewritten, cont");
}

static void act(struct vm *v, enum qemu_action a)
{
	switch (a) {
	case QEMU_ACT_MIGRATED_IN:
	case QEMU_ACT_RESTORED:
		arrived(v, a == QEMU_ACT_RESTORED);
		break;
	case QEMU_ACT_MIGRATED_OUT:
		say(v, "%s", v->saving ? "saved" : "migrated-out");
		vmclock_writer_destroy(v->w);
		v->w = NULL;
		v->saving = 0;
		break;
	case QEMU_ACT_STOPPED:
		v->running = 0;
		if (v->w && !v->track.outgoing)
			disrupt(v, 0);
		if (v->cont_on_stop) {
			v->cont_on_stop = 0;
			qemu_cont(v->qmp);
		}
		break;
	case QEMU_ACT_RESUMED:
		v->running = 1;
		v->next_try = 0;
		break;
	case QEMU_ACT_RESET:
		if (v->w)
			disrupt(v, 0);
		break;
	default:
		break;
	}
}

static void events(struct vm *v)
{
	struct qmp_event ev;
	enum qemu_action a;

	while (v->qmp && qmp_next_event(v->qmp, &ev)) {
		a = qemu_track_event(&v->track, &ev);
		say(v, "event %s%s%s -> %s", ev.name, ev.status[0] ? " " : "",
		    ev.status, qemu_action_name(a));
		act(v, a);
	}
}

/* A stale mapping, a running guest: ask its responder. */
static void measure(struct vm *v)
{
	struct qemu_offset o;
	int ret;

	if (!v->stale || !v->running || !v->w || !v->ram.mbox ||
	    mono(NULL) < v->next_try)
		return;
	ret = qemu_mbox_measure(v->ram.mbox, &clk, 200, 50000000, &o);
	v->next_try = mono(NULL) + 100000000;
	if (ret)
		return;
	/* As vmclockd: a busy guest answers late; try a quieter moment. */
	if ((double)o.window / tsc_ghz > 40000 && ++v->tries < 25)
		return;
	v->tries = 0;
	v->offset = o.offset;
	v->map_err_ns = (uint64_t)((double)(o.window / 2 + 1) / tsc_ghz) + 1;
	v->stale = 0;
	say(v, "mapping: offset=%" PRId64 " window=%" PRIu64
	    " cycles (+-%" PRIu64 " ns), %u probes", o.offset, o.window,
	    v->map_err_ns, o.probes);
	publish(v);
}

static void connect_qmp(struct vm *v)
{
	if (v->qmp && qmp_connected(v->qmp))
		return;
	if (mono(NULL) < v->next_try)
		return;
	v->next_try = mono(NULL) + 100000000;
	if (v->qmp) {
		if (qmp_reconnect(v->qmp))
			return;
	} else if (!(v->qmp = qmp_connect(v->qmp_path, 10000))) {
		return;
	}
	{
		char st[32] = "";

		qmp_query_status(v->qmp, st, sizeof(st));
		v->running = !strcmp(st, "running");
		say(v, "qmp connected, %s", st);
	}
}

static struct vm *find(const char *name)
{
	int i;

	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].name[0] && !strcmp(vms[i].name, name))
			return &vms[i];
	return NULL;
}

static void detach(struct vm *v)
{
	vmclock_writer_destroy(v->w);
	qmp_close(v->qmp);
	qemu_ram_unmap(&v->ram);
	say(v, "detached");
	memset(v, 0, sizeof(*v));
}

static int attach(char *name, char *qmp, char *ram, char *mode)
{
	struct vm *v = find(name);
	int i, ret;

	for (i = 0; !v && i < MAX_VMS; i++)
		if (!vms[i].name[0])
			v = &vms[i];
	if (!v || v->name[0] || !mode)
		return -EINVAL;
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->qmp_path, sizeof(v->qmp_path), "%s", qmp);
	ret = qemu_ram_map(&v->ram, ram, GPA, MBOX_GPA);
	if (ret) {
		v->name[0] = 0;
		return ret;
	}
	qemu_mbox_init(v->ram.mbox);
	v->stale = 1;
	if (!strcmp(mode, "fresh")) {
		memset(v->ram.page, 0, 4096);
		ret = make_writer(v, 0);
		if (!ret)
			ret = publish(v);
	}
	connect_qmp(v);
	return ret;
}

static int with_file(struct vm *v, const char *file, int save)
{
	char uri[512];
	int ret = save ? qemu_save_uri(file, uri, sizeof(uri)) :
			 qemu_restore_uri(file, uri, sizeof(uri));

	if (ret)
		return ret;
	if (save) {
		v->saving = 1;
		v->track.outgoing = 1;
		ret = qemu_stop(v->qmp);
		return ret ? ret : qemu_migrate(v->qmp, uri);
	}
	v->track.expect = QEMU_IN_RESTORE;
	return qemu_migrate_incoming(v->qmp, uri);
}

static int vm_command(struct vm *v, const char *cmd, const char *arg)
{
	if (!v->qmp || !qmp_connected(v->qmp))
		return -ENOTCONN;
	if (!strcmp(cmd, "incoming")) {
		v->track.expect = qemu_uri_kind(arg);
		return qemu_migrate_incoming(v->qmp, arg);
	}
	if (!strcmp(cmd, "migrate")) {
		v->track.outgoing = 1;
		return qemu_migrate(v->qmp, arg);
	}
	if (!strcmp(cmd, "save") || !strcmp(cmd, "restore"))
		return with_file(v, arg, !strcmp(cmd, "save"));
	if (!strcmp(cmd, "stopcont")) {
		v->cont_on_stop = 1;
		return qemu_stop(v->qmp);
	}
	if (!strcmp(cmd, "notify") && v->w)
		return vmclock_writer_set_flags(v->w,
			!strcmp(arg, "on") ? VMCLOCK_FLAG_NOTIFICATION_PRESENT : 0,
			!strcmp(arg, "on") ? 0 : VMCLOCK_FLAG_NOTIFICATION_PRESENT);
	return -EINVAL;
}

/* One command line; 1 for quit. */
static int command(char *line)
{
	char *argv[6] = { 0 }, *save = NULL;
	struct vm *v;
	int argc = 0, ret;

	for (char *t = strtok_r(line, " \t\n", &save); t && argc < 6;
	     t = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = t;
	if (!argc)
		return 0;
	if (!strcmp(argv[0], "quit"))
		return 1;
	if (!strcmp(argv[0], "attach") && argc == 5) {
		ret = attach(argv[1], argv[2], argv[3], argv[4]);
	} else if (argc >= 2 && (v = find(argv[1]))) {
		if (!strcmp(argv[0], "detach")) {
			detach(v);
			ret = 0;
		} else {
			ret = vm_command(v, argv[0], argc > 2 ? argv[2] : "");
		}
	} else {
		ret = -ENOENT;
	}
	say(NULL, "%s %s: %s", ret ? "error" : "ok", argv[0],
	    ret ? strerror(-ret) : "done");
	return 0;
}

/* Lines from the FIFO; 1 on quit. */
static int read_commands(int fd)
{
	static char buf[4096];
	static size_t n;
	char *nl;
	ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

	if (r <= 0)
		return 0;
	n += (size_t)r;
	buf[n] = 0;
	while ((nl = strchr(buf, '\n'))) {
		*nl = 0;
		if (command(buf))
			return 1;
		memmove(buf, nl + 1, n - (size_t)(nl + 1 - buf) + 1);
		n -= (size_t)(nl + 1 - buf);
	}
	return 0;
}

static void tick(struct vm *v)
{
	connect_qmp(v);
	if (v->qmp && qmp_connected(v->qmp))
		qmp_pump(v->qmp, 0);
	if (v->qmp && !qmp_connected(v->qmp))
		say(v, "qmp disconnected");
	events(v);
	measure(v);
	if (v->w && v->running && mono(NULL) >= v->next_update)
		publish(v);
	events(v);
}

int main(int argc, char **argv)
{
	struct pollfd p[1 + MAX_VMS];
	uint64_t half;
	int fd, i, n;

	if (argc == 3 && !strcmp(argv[1], "--ssdt"))
		return ssdt_write_file(argv[2], GPA, QEMU_DEFAULT_IRQ) ? 1 : 0;
	if (argc != 2) {
		fprintf(stderr, "usage: e2e-vmm COMMAND_FIFO | --ssdt FILE\n");
		return 2;
	}
	/* O_RDWR: the FIFO never reports EOF when a writer goes. */
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("e2e-vmm: fifo");
		return 1;
	}
	tai_pair(&ref_tsc, &ref_ns, &half);
	say(NULL, "ready");
	for (;;) {
		p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		for (i = 0, n = 1; i < MAX_VMS; i++)
			if (vms[i].qmp && qmp_fd(vms[i].qmp) >= 0)
				p[n++] = (struct pollfd){
					.fd = qmp_fd(vms[i].qmp),
					.events = POLLIN };
		poll(p, (nfds_t)n, 20);
		if ((p[0].revents & POLLIN) && read_commands(fd))
			break;
		for (i = 0; i < MAX_VMS; i++)
			if (vms[i].name[0])
				tick(&vms[i]);
	}
	for (i = 0; i < MAX_VMS; i++)
		if (vms[i].name[0])
			detach(&vms[i]);
	return 0;
}
