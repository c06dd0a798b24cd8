// SPDX-License-Identifier: MIT
/*
 * log.c - vmclockd's log.  Messages go to stderr (with a level prefix, for
 * tests and systemd's journal) and/or syslog; no timestamps, since both
 * sinks add their own and this file must not read the clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int log_targets = LOG_TO_STDERR;
static int log_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERR] = "error",  [LOG_WARNING] = "warning",
	[LOG_INFO] = "info",  [LOG_DEBUG] = "debug",
};

int log_parse_level(const char *s)
{
	unsigned int i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] && !strcmp(s, level_names[i]))
			return (int)i;
	return -1;
}

int log_parse_target(const char *s)
{
	if (!strcmp(s, "stderr"))
		return LOG_TO_STDERR;
	if (!strcmp(s, "syslog"))
		return LOG_TO_SYSLOG;
	if (!strcmp(s, "both"))
		return LOG_TO_STDERR | LOG_TO_SYSLOG;
	return -1;
}

void log_init(const char *ident, int targets, int level)
{
	log_targets = targets;
	log_level = level;
	if (targets & LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void log_vmsg(int level, const char *fmt, va_list ap)
{
	va_list ap2;

	if (level > log_level)
		return;
	va_copy(ap2, ap);
	if (log_targets & LOG_TO_STDERR) {
		fprintf(stderr, "vmclockd: %s: ", level_names[level] ?
			level_names[level] : "log");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	}
	if (log_targets & LOG_TO_SYSLOG)
		vsyslog(level, fmt, ap2);
	va_end(ap2);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_ratelimited(unsigned int *count, unsigned int every, int level,
		     const char *fmt, ...)
{
	va_list ap;

	if ((*count)++ % (every ? every : 1))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
