// SPDX-License-Identifier: MIT
/*
 * common.c - the vmclock command's shared parts: errors that tell the user
 * what to do (which kernel or module gives the device, which group and
 * udev rule grant access, which field of the page is wrong), number and
 * time formatting, and a JSON writer small enough to audit.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int (*cli_poll)(struct pollfd *fds, nfds_t n, int timeout_ms) = poll;
const struct vmclock_bounded_ops *cli_bounded_ops;
ssize_t (*cli_pread)(int fd, void *buf, size_t n, off_t off) = pread;
int cli_force_poll;
FILE *cli_out;

static void vmsg(const char *fmt, va_list ap, int err)
{
	fflush(cli_out ? cli_out : stdout);
	fputs("vmclock: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
	exit(EXIT_FAIL);
}

void die_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, err);
	va_end(ap);
	exit(EXIT_FAIL);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap, 0);
	va_end(ap);
}

void usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmclock %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vmclock %s --help'.\n", cmd);
	exit(EXIT_USAGE);
}

const char *cli_device_path(const char *path)
{
	if (!path)
		path = getenv("VMCLOCK_DEVICE");
	if (!path || !*path)
		path = VMCLOCK_DEFAULT_DEVICE;
	return path;
}

static void __attribute__((noreturn)) die_no_device(const char *path)
{
	die("%s: no such device: no VMClock on this machine, or no driver.\n"
	    "  The device comes from Linux >= 6.13 (ptp_vmclock, "
	    "CONFIG_PTP_1588_CLOCK_VMCLOCK; >= 7.0 for vm_generation_counter\n"
	    "  and notifications) or from this project's module vmclock_guest "
	    "(kmod/: 'modprobe vmclock_guest'),\n"
	    "  on a hypervisor that offers VMClock (ACPI AMZNC10C/VMCLOCK). "
	    "A page file can be named with\n"
	    "  --device PATH or VMCLOCK_DEVICE.",
	    path);
}

struct vmclock_reader *cli_open(const char *path)
{
	struct vmclock_reader *r;
	const char *why;

	path = cli_device_path(path);
	r = vmclock_reader_open(path);
	if (r)
		return r;
	switch (errno) {
	case ENOENT:
	case ENXIO:
		die_no_device(path);
	case EACCES:
	case EPERM:
		die("%s: permission denied: the device is readable by the group "
		    "'vmclock' (udev rule 60-vmclock.rules,\n"
		    "  installed in /usr/lib/udev/rules.d): add the user to it "
		    "('usermod -aG vmclock USER', then log in again) or run as root.",
		    path);
	case ENODEV:
		why = vmclock_reader_open_error();
		die("%s: not a valid VMClock page: %s", path,
		    why && *why ? why : "unknown reason");
	default:
		die_errno(errno, "%s", path);
	}
}

void die_read(const char *path, int err)
{
	die("%s: %s", cli_device_path(path), vmclock_strerror(err));
}

uint64_t parse_u64(const char *cmd, const char *opt, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		usage_error(cmd, "%s: not a non-negative integer: '%s'", opt,
			    s);
	return v;
}

uint64_t parse_seconds(const char *cmd, const char *opt, const char *s)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		usage_error(cmd, "%s: not a number of seconds: '%s'", opt, s);
	return (uint64_t)(v * 1e9 + 0.5);
}

const char *fmt_time(char *buf, size_t len, int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "%" PRId64 " ns", ns);
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRId64 "Z",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* Join the names of the set bits, by @name, with @sep. */
static const char *fmt_bits(char *buf, size_t len, uint64_t bits,
			    const char *(*name)(unsigned int), const char *sep)
{
	size_t used = 0;
	unsigned int i;
	int n;

	buf[0] = 0;
	for (i = 0; i < 64 && used < len; i++) {
		const char *s;

		if (!(bits & (1ull << i)))
			continue;
		s = name(i);
		n = s ? snprintf(buf + used, len - used, "%s%s",
				 used ? sep : "", s) :
			snprintf(buf + used, len - used, "%sbit%u",
				 used ? sep : "", i);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

const char *fmt_events(char *buf, size_t len, uint32_t events)
{
	return fmt_bits(buf, len, events, vmclock_event_name, ",");
}

const char *fmt_flags(char *buf, size_t len, uint64_t flags)
{
	return fmt_bits(buf, len, flags, vmclock_flag_name, " ");
}

/* JSON: one object per call sequence, written straight to the stream. */

static void json_key(struct json *j, const char *key)
{
	fputs(j->n++ ? ", " : "", j->f);
	fprintf(j->f, "\"%s\": ", key);
}

static void json_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void json_begin(struct json *j, FILE *f)
{
	j->f = f;
	j->n = 0;
	fputc('{', f);
}

void json_end(struct json *j)
{
	fputs("}\n", j->f);
	fflush(j->f);
}

void json_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, int v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	if (v)
		json_quote(j->f, v);
	else
		fputs("null", j->f);
}

void json_double(struct json *j, const char *key, double v, int digits)
{
	json_key(j, key);
	fprintf(j->f, "%.*f", digits, v);
}

void json_err(struct json *j, const char *key, uint64_t v)
{
	if (v == VMCLOCK_ERROR_UNKNOWN)
		json_null(j, key);
	else
		json_uint(j, key, v);
}

static void json_names(struct json *j, const char *key, uint64_t bits,
		       const char *(*name)(unsigned int))
{
	unsigned int i, n = 0;

	json_key(j, key);
	fputc('[', j->f);
	for (i = 0; i < 64; i++) {
		if (!(bits & (1ull << i)))
			continue;
		fputs(n++ ? ", " : "", j->f);
		if (name(i))
			json_quote(j->f, name(i));
		else
			fprintf(j->f, "\"bit%u\"", i);
	}
	fputc(']', j->f);
}

void json_events(struct json *j, const char *key, uint32_t events)
{
	json_names(j, key, events, vmclock_event_name);
}

void json_flags(struct json *j, const char *key, uint64_t flags)
{
	json_names(j, key, flags, vmclock_flag_name);
}

/*
 * The disruption state carried from one run to the next (see
 * vmclock_bounded_set_state()), one file per device, in
 * $VMCLOCK_STATE_DIR, else $XDG_RUNTIME_DIR/vmclock, else /run/vmclock for
 * root; "none" turns it off.  Keyed by boot: the baseline is on
 * CLOCK_MONOTONIC.
 */
static char state_file[512];
static char boot_id[64];

static int state_path(const char *device)
{
	const char *dir = getenv("VMCLOCK_STATE_DIR"), *x;
	char d[256];
	size_t i, n;
	FILE *f;

	if (dir && (!*dir || !strcmp(dir, "none")))
		return -1;
	x = getenv("XDG_RUNTIME_DIR");
	if (!dir && x && *x)
		snprintf(d, sizeof(d), "%s/vmclock", x);
	else if (!dir && geteuid() == 0)
		snprintf(d, sizeof(d), "/run/vmclock");
	else if (!dir)
		return -1;
	else
		snprintf(d, sizeof(d), "%s", dir);
	mkdir(d, 0755);
	n = (size_t)snprintf(state_file, sizeof(state_file), "%s/bounded", d);
	for (i = 0; device[i] && n + 1 < sizeof(state_file); i++)
		state_file[n++] =
			isalnum((unsigned char)device[i]) ? device[i] : '_';
	state_file[n] = 0;
	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f || !fgets(boot_id, sizeof(boot_id), f))
		boot_id[0] = 0;
	if (f)
		fclose(f);
	boot_id[strcspn(boot_id, "\n")] = 0;
	return boot_id[0] ? 0 : -1;
}

static void state_load(struct vmclock_bounded *b, const char *device)
{
	struct vmclock_bounded_state st;
	char boot[64], line[256];
	FILE *f;

	state_file[0] = 0;
	if (state_path(device))
		return;
	f = fopen(state_file, "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) &&
	    sscanf(line,
		   "vmclock-bounded 1 %63s %" SCNu64 " %" SCNu32 " %" SCNu64
		   " %" SCNd64,
		   boot, &st.marker, &st.flags, &st.base_mono_ns,
		   &st.base_maxerror_us) == 5 &&
	    !strcmp(boot, boot_id))
		vmclock_bounded_set_state(b, &st);
	fclose(f);
}

/* Write the state to a new file and rename it over the old one. */
static void state_save(const struct vmclock_bounded *b)
{
	struct vmclock_bounded_state st;
	char tmp[600];
	FILE *f;

	if (!state_file[0])
		return;
	vmclock_bounded_get_state(b, &st);
	snprintf(tmp, sizeof(tmp), "%s.%d", state_file, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f,
		"vmclock-bounded 1 %s %" PRIu64 " %" PRIu32 " %" PRIu64
		" %" PRId64 "\n",
		boot_id, st.marker, st.flags, st.base_mono_ns,
		st.base_maxerror_us);
	if (fclose(f) || rename(tmp, state_file))
		unlink(tmp);
}

struct vmclock_bounded *cli_bounded(struct vmclock_reader *r, const char *path)
{
	struct vmclock_bounded_config cfg = { 0 };
	struct vmclock_bounded *b;

	cfg.ops = cli_bounded_ops;
	b = vmclock_bounded_create(r, &cfg);
	if (!b)
		die_read(path, -errno);
	state_load(b, cli_device_path(path));
	return b;
}

void cli_bounded_done(struct vmclock_bounded *b)
{
	state_save(b);
	vmclock_bounded_destroy(b);
}

void json_bound(struct json *j, const struct vmclock_bound *b, int err)
{
	json_bool(j, "bounded", !err);
	json_str(j, "reason", err ? vmclock_bounded_strerror(err) : NULL);
	json_err(j, "maxerror_ns",
		 err ? VMCLOCK_ERROR_UNKNOWN : b->maxerror_ns);
	json_str(j, "clock_status", vmclock_status_name(b->clock_status));
	json_str(j, "source", vmclock_bound_source_name(b->source));
	json_uint(j, "disruption_marker", b->page.disruption_marker);
}

uint64_t cli_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
