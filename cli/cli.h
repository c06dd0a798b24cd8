/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the files of the vmclock command share: the subcommands,
 * error exits with the hint a user needs (which module, which group, which
 * field), option parsing, a small JSON writer, and the seams the C tests
 * replace (poll(), the bounded clock's system calls).
 */
#ifndef VMCLOCK_CLI_H
#define VMCLOCK_CLI_H

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include <vmclock/vmclock-bounded.h>
#include <vmclock/vmclock.h>

/* Exit codes: the same for every subcommand. */
#define EXIT_OK	   0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* Each subcommand: argv[0] is its name; returns the exit code. */
int cmd_status(int argc, char **argv);
int cmd_now(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_wait_sync(int argc, char **argv);
int cmd_respond(int argc, char **argv);

/* The seams: real poll() and real system calls unless a test sets them. */
extern int (*cli_poll)(struct pollfd *fds, nfds_t n, int timeout_ms);
extern const struct vmclock_bounded_ops *cli_bounded_ops;
/* watch acknowledges a notification with a read of the device. */
extern ssize_t (*cli_pread)(int fd, void *buf, size_t n, off_t off);
/* Non-zero: watch treats a regular file as a device (for the fake). */
extern int cli_force_poll;
/* Where subcommands write their results (stdout unless a test sets it). */
extern FILE *cli_out;

/* Print "vmclock: MSG" to stderr and exit EXIT_FAIL. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* As die(), with ": strerror(err)" appended (err positive or negative). */
void die_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* Print "vmclock: MSG" to stderr. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "vmclock CMD: MSG" and a pointer to --help, exit EXIT_USAGE. */
void usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Open the page at @path (NULL: $VMCLOCK_DEVICE, else /dev/vmclock0), or
 * die with what to do about it: no device (which kernel or module gives
 * one), no permission (which group and udev rule), not a page (which
 * field).
 */
struct vmclock_reader *cli_open(const char *path);
/* The path cli_open() will use for @path. */
const char *cli_device_path(const char *path);
/* Die with the meaning of a read error of the page. */
void die_read(const char *path, int err) __attribute__((noreturn));

/*
 * A bounded clock over @r with the test seam, continuing from the state the
 * previous run saved (a disruption it saw, a re-sync pending), or die.
 */
struct vmclock_bounded *cli_bounded(struct vmclock_reader *r, const char *path);
/* Save the state for the next run and free @b. */
void cli_bounded_done(struct vmclock_bounded *b);

/* Parse numbers for options, or usage_error(). */
/* CLOCK_MONOTONIC in ns: the commands' deadlines and intervals. */
uint64_t cli_mono_ns(void);

uint64_t parse_u64(const char *cmd, const char *opt, const char *s);
/* Seconds with an optional fraction ("1.5") into ns. */
uint64_t parse_seconds(const char *cmd, const char *opt, const char *s);

/* RFC 3339 UTC with nanoseconds, into @buf (at least 40 bytes). */
const char *fmt_time(char *buf, size_t len, int64_t ns);
/* Comma-separated names of VMCLOCK_EVENT_* bits ("none" when 0). */
const char *fmt_events(char *buf, size_t len, uint32_t events);
/* Space-separated names of VMCLOCK_FLAG_* bits ("none" when 0). */
const char *fmt_flags(char *buf, size_t len, uint64_t flags);

/*
 * A JSON object written as it goes: keys are emitted in call order, with
 * the commas handled here.  Strings are escaped.
 */
struct json {
	FILE *f;
	int n;
};

void json_begin(struct json *j, FILE *f);
void json_end(struct json *j); /* closes the object and ends the line */
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_null(struct json *j, const char *key);
void json_bool(struct json *j, const char *key, int v);
void json_str(struct json *j, const char *key, const char *v);
void json_double(struct json *j, const char *key, double v, int digits);
/* An error bound: the number, or null when VMCLOCK_ERROR_UNKNOWN. */
void json_err(struct json *j, const char *key, uint64_t v);
/* Array of event names, of flag names. */
void json_events(struct json *j, const char *key, uint32_t events);
void json_flags(struct json *j, const char *key, uint64_t flags);

/* bounded, reason, maxerror_ns, clock_status, source, disruption_marker. */
void json_bound(struct json *j, const struct vmclock_bound *b, int err);

#endif /* VMCLOCK_CLI_H */
