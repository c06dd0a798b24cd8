// SPDX-License-Identifier: MIT
/*
 * watch.c - vmclock watch: one line (or JSON object) per new seq_count,
 * naming the fields that changed and the events, and hooks run on them.
 *
 * How it wakes up: on a device whose page has NOTIFICATION_PRESENT it
 * sleeps in poll(), with Linux's semantics: POLLIN stays up until the fd
 * is read (a pread acknowledges it, done before the page is read so that
 * no update slips between the two), and POLLHUP means the device cannot
 * notify, so it falls back to reading the page every --interval, as it
 * does on plain files.  poll() and the acknowledging pread go through the
 * seams in cli.h so a test can play the device.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hooks.h"

enum { HOOK_DISRUPT, HOOK_RESTORE, HOOK_CHANGE, N_HOOKS };

/*
 * Linux raises POLLIN once more after an update that came between the
 * acknowledging read and the page read; more than this many POLLINs in a
 * row with no update mean the device does not keep Linux's semantics.
 */
#define MAX_SPURIOUS 8

struct watch_opts {
	const char *path;
	int json;
	uint64_t interval_ms;
	uint64_t count; /* stop after this many updates; 0: never */
	uint64_t timeout_ns; /* stop after this long; 0: never */
};

/* One consistent copy of the page, and what it says. */
struct page_state {
	struct vmclock_abi raw;
	struct vmclock_reading rd;
};

struct watch {
	struct watch_opts o;
	struct vmclock_reader *r;
	const char *path;
	int use_poll;
	int is_dev;
	int notified; /* the last wait ended with POLLIN */
	int spurious; /* POLLINs in a row that found no update */
	int stuck; /* the last read timed out on an odd seq_count */
	uint64_t reported;
	struct page_state last;
	struct hook hooks[N_HOOKS];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * A snapshot, checked again: the reader validates the page when it opens
 * it, and a file can be truncated or overwritten under a long watch.
 */
static int take(struct watch *w, struct page_state *s)
{
	int err = vmclock_reader_snapshot(w->r, &s->raw);
	const char *why;
	size_t len;

	/* The size field was checked against the file at open. */
	len = le32toh(s->raw.size) > sizeof(s->raw) ? le32toh(s->raw.size) :
						      sizeof(s->raw);
	if (!err && vmclock_page_validate(&s->raw, len, &why))
		die("%s: not a valid VMClock page any more: %s", w->path, why);
	if (!err)
		err = vmclock_reading_from_page(&s->raw, 0, 0, &s->rd);
	return err;
}

/* Names of the changed fields, comma-separated, into @buf. */
static const char *changed_fields(const struct page_state *a,
				  const struct page_state *b, char *buf,
				  size_t len)
{
	const size_t cal = offsetof(struct vmclock_abi, counter_period_shift);
	const size_t cal_end =
		offsetof(struct vmclock_abi, vm_generation_counter);
	const struct vmclock_reading *x = &a->rd, *y = &b->rd;
	size_t used = 0;

#define CHANGED(cond, name)                                               \
	do {                                                              \
		if ((cond) && used < len)                                 \
			used += (size_t)snprintf(buf + used, len - used,  \
						 "%s%s", used ? "," : "", \
						 name);                   \
	} while (0)
	buf[0] = 0;
	CHANGED(x->disruption_marker != y->disruption_marker,
		"disruption_marker");
	CHANGED(x->vm_generation_counter != y->vm_generation_counter,
		"vm_generation_counter");
	CHANGED(x->clock_status != y->clock_status, "clock_status");
	CHANGED(x->flags != y->flags, "flags");
	CHANGED(x->leap_indicator != y->leap_indicator, "leap_indicator");
	CHANGED(x->tai_offset_sec != y->tai_offset_sec, "tai_offset_sec");
	CHANGED(x->smearing_hint != y->smearing_hint, "smearing_hint");
	CHANGED(x->counter_id != y->counter_id || x->time_type != y->time_type,
		"counter_id/time_type");
	CHANGED(memcmp((const char *)&a->raw + cal, (const char *)&b->raw + cal,
		       cal_end - cal) != 0,
		"calibration");
#undef CHANGED
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

static void report_json(const struct watch *w, const struct page_state *s,
			uint32_t ev, const char *changed)
{
	const struct vmclock_reading *rd = &s->rd;
	uint32_t old = w->last.rd.seq_count;
	char *save = NULL, buf[256], *tok;
	struct json j;
	int n = 0;

	json_begin(&j, cli_out);
	json_uint(&j, "seq_count", rd->seq_count);
	json_uint(&j, "previous_seq_count", old);
	json_uint(&j, "updates", (uint32_t)(rd->seq_count - old) / 2);
	fputs(", \"changed\": [", cli_out);
	snprintf(buf, sizeof(buf), "%s",
		 strcmp(changed, "none") ? changed : "");
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		fprintf(cli_out, "%s\"%s\"", n++ ? ", " : "", tok);
	fputc(']', cli_out);
	json_events(&j, "events", ev);
	json_uint(&j, "disruption_marker", rd->disruption_marker);
	json_uint(&j, "vm_generation_counter", rd->vm_generation_counter);
	json_str(&j, "clock_status", vmclock_status_name(rd->clock_status));
	json_str(&j, "leap_indicator", vmclock_leap_name(rd->leap_indicator));
	json_uint(&j, "flags", rd->flags);
	json_flags(&j, "flag_names", rd->flags);
	json_end(&j);
}

static void report_text(const struct watch *w, const struct page_state *s,
			uint32_t ev, const char *changed)
{
	const struct vmclock_reading *rd = &s->rd;
	uint32_t old = w->last.rd.seq_count,
		 updates = (rd->seq_count - old) / 2;
	char evs[256], fl[256];

	fprintf(cli_out,
		"seq_count %" PRIu32 " -> %" PRIu32 " (%" PRIu32 " update%s): "
		"changed %s; events %s; disruption_marker %" PRIu64
		", vm_generation_counter %" PRIu64 ", clock_status %s, "
		"leap %s, flags %s\n",
		old, rd->seq_count, updates, updates == 1 ? "" : "s", changed,
		fmt_events(evs, sizeof(evs), ev), rd->disruption_marker,
		rd->vm_generation_counter,
		vmclock_status_name(rd->clock_status),
		vmclock_leap_name(rd->leap_indicator),
		fmt_flags(fl, sizeof(fl), rd->flags));
	fflush(cli_out);
}

static void env_u64(struct hook_env *e, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	hook_add_env(e, name, buf);
}

static void make_env(const struct watch *w, const struct vmclock_reading *rd,
		     uint32_t ev, const char *changed, struct hook_env *e)
{
	char buf[256];

	memset(e, 0, sizeof(*e));
	hook_add_env(e, "VMCLOCK_EVENT", "change");
	hook_add_env(e, "VMCLOCK_EVENTS",
		     ev ? fmt_events(buf, sizeof(buf), ev) : "");
	hook_add_env(e, "VMCLOCK_CHANGED", changed);
	env_u64(e, "VMCLOCK_DISRUPTION_MARKER", rd->disruption_marker);
	env_u64(e, "VMCLOCK_VM_GENERATION_COUNTER", rd->vm_generation_counter);
	env_u64(e, "VMCLOCK_SEQ_COUNT", rd->seq_count);
	env_u64(e, "VMCLOCK_PREVIOUS_SEQ_COUNT", w->last.rd.seq_count);
	hook_add_env(e, "VMCLOCK_CLOCK_STATUS",
		     vmclock_status_name(rd->clock_status));
	hook_add_env(e, "VMCLOCK_LEAP_INDICATOR",
		     vmclock_leap_name(rd->leap_indicator));
	snprintf(buf, sizeof(buf), "0x%" PRIx64, rd->flags);
	hook_add_env(e, "VMCLOCK_FLAGS", buf);
	hook_add_env(e, "VMCLOCK_DEVICE", w->path);
	snprintf(e->seq, sizeof(e->seq), "%" PRIu32, rd->seq_count);
}

/* VMCLOCK_EVENT is the first entry: what this hook is run for. */
static void run_hooks(struct watch *w, const struct vmclock_reading *rd,
		      uint32_t ev, const char *changed)
{
	struct hook_env e;

	make_env(w, rd, ev, changed, &e);
	hook_queue(&w->hooks[HOOK_CHANGE], &e);
	snprintf(e.value[0], sizeof(e.value[0]), "disruption");
	if (ev & VMCLOCK_EVENT_DISRUPTED)
		hook_queue(&w->hooks[HOOK_DISRUPT], &e);
	snprintf(e.value[0], sizeof(e.value[0]), "restore");
	if (ev & VMCLOCK_EVENT_RESTORED)
		hook_queue(&w->hooks[HOOK_RESTORE], &e);
}

static void on_update(struct watch *w, const struct page_state *s)
{
	uint32_t ev = vmclock_events_between(&w->last.rd, &s->rd);
	char changed[256];

	changed_fields(&w->last, s, changed, sizeof(changed));
	if (w->o.json)
		report_json(w, s, ev, changed);
	else
		report_text(w, s, ev, changed);
	run_hooks(w, &s->rd, ev, changed);
	w->reported++;
}

static void no_notify(struct watch *w, const char *why)
{
	warnx_("%s: the device does not notify (poll: %s); reading the page "
	       "every %" PRIu64 " ms",
	       w->path, why, w->o.interval_ms);
	w->use_poll = 0;
}

/* Read the page; report when seq_count moved.  Non-zero: stop watching. */
static int read_and_report(struct watch *w)
{
	struct page_state s;
	int err = take(w, &s);

	if (err == -ETIMEDOUT) {
		if (!w->stuck)
			warnx_("%s: %s; still watching", w->path,
			       vmclock_strerror(err));
		w->stuck = 1;
		return 0;
	}
	if (err)
		die_read(w->path, err);
	if (w->stuck)
		warnx_("%s: the page is readable again", w->path);
	w->stuck = 0;
	/* Notified for nothing, again and again: not Linux's semantics. */
	if (w->notified && s.rd.seq_count == w->last.rd.seq_count &&
	    ++w->spurious > MAX_SPURIOUS)
		no_notify(w, "notified without updates");
	else if (s.rd.seq_count != w->last.rd.seq_count)
		w->spurious = 0;
	w->notified = 0;
	if (s.rd.seq_count != w->last.rd.seq_count)
		on_update(w, &s);
	/* The flag can appear after start: notifications from then on. */
	if ((s.rd.flags & ~w->last.rd.flags &
	     VMCLOCK_FLAG_NOTIFICATION_PRESENT) &&
	    w->is_dev && !w->use_poll) {
		warnx_("%s: the page now has NOTIFICATION_PRESENT: sleeping in poll()",
		       w->path);
		w->use_poll = 1;
	}
	w->last = s;
	return w->o.count && w->reported >= w->o.count;
}

/* Acknowledge a notification: any successful read of the fd does. */
static void ack(struct watch *w)
{
	struct vmclock_abi buf;

	if (cli_pread(vmclock_reader_fd(w->r), &buf, sizeof(buf), 0) < 0)
		warnx_("%s: read to acknowledge the notification: %s", w->path,
		       strerror(errno));
}


/*
 * Sleep in poll() until notified or @ms pass.  A device without poll
 * support (Linux before 7.0) answers with the default mask, POLLOUT
 * included, which Linux's vmclock never sets: asking for POLLOUT tells
 * the two apart.  POLLHUP: the device cannot notify.  Either way, fall
 * back to reading the page every interval.
 */
static void wait_update(struct watch *w, int ms)
{
	struct pollfd pfd;
	int n;

	if (!w->use_poll) {
		if (cli_poll(NULL, 0, ms) < 0 && errno != EINTR)
			die_errno(errno, "poll");
		return;
	}
	pfd.fd = vmclock_reader_fd(w->r);
	pfd.events = POLLIN | POLLOUT;
	pfd.revents = 0;
	n = cli_poll(&pfd, 1, ms);
	if (n < 0 && errno != EINTR)
		die_errno(errno, "poll %s", w->path);
	if (n <= 0)
		return;
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
		no_notify(w, pfd.revents & POLLHUP ? "POLLHUP" : "poll error");
	else if (pfd.revents & POLLOUT)
		no_notify(w,
			  "always ready: a driver without poll, Linux < 7.0");
	else if (pfd.revents & POLLIN) {
		ack(w);
		w->notified = 1;
	}
}

static int is_device(int fd)
{
	struct stat st;

	return fd >= 0 && !fstat(fd, &st) && !S_ISREG(st.st_mode);
}

/*
 * Milliseconds to wait now: the interval, cut to the time left.  With
 * notifications the device wakes us, so only a running hook (to be reaped,
 * and its queued runs started) or the deadline needs a timeout.
 */
static int wait_ms(const struct watch *w, uint64_t deadline)
{
	uint64_t ms = w->o.interval_ms, now;

	if (w->use_poll && !hooks_busy(w->hooks, N_HOOKS))
		ms = UINT64_MAX;

	if (deadline) {
		now = cli_mono_ns();
		if (now >= deadline)
			return 0;
		if ((deadline - now + 999999) / 1000000 < ms)
			ms = (deadline - now + 999999) / 1000000;
	}
	if (ms == UINT64_MAX)
		return -1;
	return ms > 1000000000 ? 1000000000 : (int)ms;
}

static int watch_loop(struct watch *w)
{
	uint64_t deadline = w->o.timeout_ns ? cli_mono_ns() + w->o.timeout_ns : 0;

	while (!stop_requested) {
		if (deadline && cli_mono_ns() >= deadline)
			break;
		wait_update(w, wait_ms(w, deadline));
		hooks_reap(w->hooks, N_HOOKS);
		if (read_and_report(w))
			return EXIT_OK;
	}
	if (!w->o.count || stop_requested)
		return EXIT_OK;
	warnx_("timed out after %" PRIu64 " of %" PRIu64 " updates",
	       w->reported, w->o.count);
	return EXIT_FAIL;
}

static int watch_usage(FILE *f, int code)
{
	fputs("usage: vmclock watch [--device PATH] [--interval MS] [--json]\n"
	      "                     [--on-disrupt CMD] [--on-restore CMD]\n"
	      "                     [--on-change CMD] [--count N] [--timeout S]\n"
	      "Print one line per page update, naming what changed and the events;\n"
	      "run hooks through 'sh -c CMD' with VMCLOCK_* in the environment.\n",
	      f);
	return code;
}

static void watch_parse(int argc, char **argv, struct watch *w)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "on-disrupt", required_argument, NULL, 'D' },
		{ "on-restore", required_argument, NULL, 'R' },
		{ "on-change", required_argument, NULL, 'C' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "d:i:n:t:jh", opts, NULL)) != -1) {
		if (c == 'd')
			w->o.path = optarg;
		else if (c == 'i')
			w->o.interval_ms =
				parse_u64("watch", "--interval", optarg);
		else if (c == 'D' || c == 'R' || c == 'C')
			w->hooks[c == 'D' ? HOOK_DISRUPT :
				 c == 'R' ? HOOK_RESTORE :
					    HOOK_CHANGE]
				.cmd = optarg;
		else if (c == 'n')
			w->o.count = parse_u64("watch", "--count", optarg);
		else if (c == 't')
			w->o.timeout_ns =
				parse_seconds("watch", "--timeout", optarg);
		else if (c == 'j')
			w->o.json = 1;
		else if (c == 'h')
			exit(watch_usage(stdout, EXIT_OK));
		else
			usage_error("watch", "bad option");
	}
	if (optind != argc)
		usage_error("watch", "unexpected argument '%s'", argv[optind]);
	if (!w->o.interval_ms)
		usage_error("watch", "--interval must be at least 1 ms");
}

static void watch_init(struct watch *w)
{
	memset(w, 0, sizeof(*w));
	w->o.interval_ms = 100;
	w->hooks[HOOK_DISRUPT].name = "on-disrupt";
	w->hooks[HOOK_RESTORE].name = "on-restore";
	w->hooks[HOOK_CHANGE].name = "on-change";
}

int cmd_watch(int argc, char **argv)
{
	struct sigaction sa;
	struct watch w;
	int err, rc;

	watch_init(&w);
	watch_parse(argc, argv, &w);
	w.r = cli_open(w.o.path);
	w.path = cli_device_path(w.o.path);
	err = take(&w, &w.last);
	if (err)
		die_read(w.o.path, err);
	w.is_dev = cli_force_poll || is_device(vmclock_reader_fd(w.r));
	w.use_poll = (w.last.rd.flags & VMCLOCK_FLAG_NOTIFICATION_PRESENT) &&
		     w.is_dev;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	stop_requested = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	warnx_("watching %s (seq_count %" PRIu32 ", %s)", w.path,
	       w.last.rd.seq_count, w.use_poll ? "notifications" : "interval");
	rc = watch_loop(&w);
	hooks_drain(w.hooks, N_HOOKS);
	vmclock_reader_close(w.r);
	return rc;
}
