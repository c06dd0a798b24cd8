/* SPDX-License-Identifier: MIT */
/*
 * log.h - vmclockd's log: stderr, syslog or both, with a level threshold.
 *
 * Runtime problems are logged and the daemon goes on; log_ratelimited()
 * keeps a recurring failure from flooding the log.
 */
#ifndef VMCLOCK_DAEMON_LOG_H
#define VMCLOCK_DAEMON_LOG_H

#include <syslog.h>

#define LOG_TO_STDERR 1
#define LOG_TO_SYSLOG 2

int log_parse_level(const char *s);
int log_parse_target(const char *s);
void log_init(const char *ident, int targets, int level);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Log at most once every @every calls of the same site (*@count). */
void log_ratelimited(unsigned int *count, unsigned int every, int level,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* VMCLOCK_DAEMON_LOG_H */
