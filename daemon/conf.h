/* SPDX-License-Identifier: MIT */
/*
 * conf.h - vmclockd's settings: one table, read from a config file and from
 * --key=value options that override it (linuxptp's table, chrony's
 * strictness: an unknown key or a bad value is an error with file:line).
 */
#ifndef VMCLOCK_DAEMON_CONF_H
#define VMCLOCK_DAEMON_CONF_H

#include <stddef.h>
#include <stdio.h>

#define CONF_PATH_MAX 256
#define CONF_DEFAULT_FILE "/etc/vmclock/vmclockd.conf"

struct conf {
	char run_dir[CONF_PATH_MAX];
	char control_socket[CONF_PATH_MAX];
	char socket_group[64];
	unsigned int socket_mode;
	int create_group;
	char user[64];
	unsigned int interval_ms;
	unsigned int ntp_poll_ms;
	unsigned int samples;
	unsigned int fit_points;
	unsigned int freq_tolerance_ppb;
	unsigned int max_slew_ppm;
	char time_type[8];
	char leap_seconds_file[CONF_PATH_MAX];
	char snapshot_dir[CONF_PATH_MAX];
	unsigned int max_guests;
	unsigned int max_mapped_pages;
	char log[8];
	char log_level[8];
};

/* The option table, for --help and the man page test. */
struct conf_option {
	const char *name;
	int type;
	size_t offset;
	size_t size;
	const char *def;
	unsigned long min;
	unsigned long max;
	const char *help;
};

extern const struct conf_option conf_options[];
extern const size_t conf_noptions;

void conf_defaults(struct conf *c);
/* Set one key; 0 or -EINVAL with the reason in @err. */
int conf_set(struct conf *c, const char *key, const char *value, char *err,
	     size_t errlen);
/* Read a file of "key value" or "key = value" lines; err is "path:line: why". */
int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen);
/*
 * Defaults, then --config FILE (without --config: CONF_DEFAULT_FILE if it
 * exists; --config= with no file: none), then every --key=value or
 * --key value.  *@print is set by --print-config, *@help by --help.
 * Return 0 or -EINVAL with @err.
 */
int conf_parse_args(struct conf *c, int argc, char **argv, int *print,
		    int *help, char *err, size_t errlen);
void conf_print(const struct conf *c, FILE *f);
void conf_usage(FILE *f);

#endif /* VMCLOCK_DAEMON_CONF_H */
