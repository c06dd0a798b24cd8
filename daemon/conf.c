// SPDX-License-Identifier: MIT
/*
 * conf.c - the settings table and its two readers (file and command line).
 *
 * Every key is in conf_options[] once, with its type, default and range;
 * the file reader, the option parser, --print-config and --help all walk
 * that table, so a new setting is one line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

enum { T_STR, T_UINT, T_BOOL, T_MODE, T_ENUM, T_DIR };

#define OPT(n, t, f, d, lo, hi, h)                                          \
	{ n, t, offsetof(struct conf, f), sizeof(((struct conf *)0)->f), d, \
	  lo, hi, h }

const struct conf_option conf_options[] = {
	OPT("run-dir", T_STR, run_dir, "/run/vmclock", 0, 0,
	    "directory of the host page, guest pages and control socket"),
	OPT("control-socket", T_STR, control_socket, "", 0, 0,
	    "control socket path (default RUN-DIR/control)"),
	OPT("socket-group", T_STR, socket_group, "vmclock", 0, 0,
	    "group that may use the control socket"),
	OPT("socket-mode", T_MODE, socket_mode, "0660", 0, 0777,
	    "permissions of the control socket (octal)"),
	OPT("create-group", T_BOOL, create_group, "no", 0, 1,
	    "create socket-group with groupadd when it is missing"),
	OPT("user", T_STR, user, "", 0, 0,
	    "user to switch to after creating files (empty: stay)"),
	OPT("interval-ms", T_UINT, interval_ms, "1000", 10, 3600000,
	    "time between calibration updates"),
	OPT("ntp-poll-ms", T_UINT, ntp_poll_ms, "100", 10, 60000,
	    "how often the kernel NTP state is checked for changes"),
	OPT("samples", T_UINT, samples, "64", 1, 4096,
	    "bracketed clock/counter samples per update (narrowest kept)"),
	OPT("fit-points", T_UINT, fit_points, "8", 2, 64,
	    "updates whose narrowest samples make the fit"),
	OPT("freq-tolerance-ppb", T_UINT, freq_tolerance_ppb, "500000", 0,
	    100000000, "bound on the host clock's frequency error"),
	OPT("max-slew-ppm", T_UINT, max_slew_ppm, "500", 1, 100000,
	    "fastest slew that closes a gap instead of stepping back"),
	OPT("time-type", T_ENUM, time_type, "auto", 0, 0,
	    "auto, tai or utc: the pages' time scale"),
	OPT("leap-seconds-file", T_STR, leap_seconds_file,
	    "/usr/share/zoneinfo/leap-seconds.list", 0, 0,
	    "IERS leap-second list used when the kernel has no TAI offset"),
	OPT("snapshot-dir", T_DIR, snapshot_dir, "/var/lib/vmclock/snapshots",
	    0, 0, "where save and restore keep snapshot files (empty: no save, restore)"),
	OPT("max-guests", T_UINT, max_guests, "256", 0, 1000000,
	    "most guest pages"),
	OPT("max-mapped-pages", T_UINT, max_mapped_pages, "0", 0, 4294967295ul,
	    "most pages mapped; more are written with pwrite (0: vm.max_map_count - 4096)"),
	OPT("log", T_ENUM, log, "stderr", 0, 0, "stderr, syslog or both"),
	OPT("log-level", T_ENUM, log_level, "info", 0, 0,
	    "error, warning, info or debug"),
};

const size_t conf_noptions = sizeof(conf_options) / sizeof(conf_options[0]);

static const char *const enum_values[][5] = {
	{ "time-type", "auto", "tai", "utc", NULL },
	{ "log", "stderr", "syslog", "both", NULL },
	{ "log-level", "error", "warning", "info", "debug" },
};

static const struct conf_option *find(const char *key)
{
	size_t i;

	for (i = 0; i < conf_noptions; i++)
		if (!strcmp(conf_options[i].name, key))
			return &conf_options[i];
	return NULL;
}

static int enum_ok(const char *name, const char *v)
{
	size_t i, j;

	for (i = 0; i < sizeof(enum_values) / sizeof(enum_values[0]); i++) {
		if (strcmp(enum_values[i][0], name))
			continue;
		for (j = 1; j < 5 && enum_values[i][j]; j++)
			if (!strcmp(enum_values[i][j], v))
				return 1;
	}
	return 0;
}

static int parse_ulong(const char *v, int base, unsigned long *out)
{
	char *end;

	if (!*v || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtoul(v, &end, base);
	return errno || *end ? -EINVAL : 0;
}

static int parse_bool(const char *v, unsigned long *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

static int set_number(struct conf *c, const struct conf_option *o,
		      const char *v, char *err, size_t errlen)
{
	unsigned long n;
	int ret;

	if (o->type == T_BOOL)
		ret = parse_bool(v, &n);
	else
		ret = parse_ulong(v, o->type == T_MODE ? 8 : 10, &n);
	if (ret) {
		snprintf(err, errlen, "%s: \"%s\" is not %s", o->name, v,
			 o->type == T_BOOL ? "yes or no" :
			 o->type == T_MODE ? "an octal mode" : "a number");
		return -EINVAL;
	}
	if (n < o->min || n > o->max) {
		snprintf(err, errlen, "%s: %lu is outside %lu..%lu", o->name, n,
			 o->min, o->max);
		return -EINVAL;
	}
	if (o->type == T_BOOL)
		*(int *)((char *)c + o->offset) = (int)n;
	else
		*(unsigned int *)((char *)c + o->offset) = (unsigned int)n;
	return 0;
}

int conf_set(struct conf *c, const char *key, const char *value, char *err,
	     size_t errlen)
{
	const struct conf_option *o = find(key);

	if (!o) {
		snprintf(err, errlen, "unknown setting \"%s\"", key);
		return -EINVAL;
	}
	if (o->type != T_STR && o->type != T_ENUM && o->type != T_DIR)
		return set_number(c, o, value, err, errlen);
	if (strlen(value) >= o->size) {
		snprintf(err, errlen, "%s: value longer than %zu bytes", key,
			 o->size - 1);
		return -EINVAL;
	}
	if (o->type == T_DIR && value[0] && value[0] != '/') {
		snprintf(err, errlen, "%s: \"%s\" is not an absolute path (or empty)",
			 key, value);
		return -EINVAL;
	}
	if (o->type == T_ENUM && !enum_ok(key, value)) {
		snprintf(err, errlen, "%s: \"%s\" is not one of the allowed values",
			 key, value);
		return -EINVAL;
	}
	strcpy((char *)c + o->offset, value);
	return 0;
}

void conf_defaults(struct conf *c)
{
	char err[128];
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf_noptions; i++)
		conf_set(c, conf_options[i].name, conf_options[i].def, err,
			 sizeof(err));
}

/* Strip blanks at both ends in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int conf_line(struct conf *c, char *line, char *err, size_t errlen)
{
	char *key, *val, *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	key = trim(line);
	if (!*key)
		return 0;
	val = key + strcspn(key, " \t=");
	if (*val) {
		*val++ = '\0';
		val = trim(val);
		if (*val == '=')
			val = trim(val + 1);
	}
	if (!*val) {
		snprintf(err, errlen, "%s: missing value", key);
		return -EINVAL;
	}
	return conf_set(c, key, val, err, errlen);
}

int conf_load_file(struct conf *c, const char *path, char *err, size_t errlen)
{
	char line[512], why[256];
	unsigned int n = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, n);
			fclose(f);
			return -EINVAL;
		}
		if (conf_line(c, line, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, n, why);
			fclose(f);
			return -EINVAL;
		}
	}
	fclose(f);
	return 0;
}

/* --key=value or --key value; *@i advances past what was used. */
static int take_arg(int argc, char **argv, int *i, char *key, size_t keylen,
		    const char **val)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);

	if (len >= keylen)
		return -EINVAL;
	memcpy(key, a, len);
	key[len] = '\0';
	if (eq) {
		*val = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return -EINVAL;
		*val = argv[++*i];
	}
	return 0;
}

static int is_flag(const char *a, const char *name)
{
	return !strcmp(a, name);
}

static int find_config(int argc, char **argv, const char **path)
{
	int i;

	*path = NULL;
	for (i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9))
			*path = argv[i] + 9;
		else if (is_flag(argv[i], "--config") && i + 1 < argc)
			*path = argv[++i];
		else if (is_flag(argv[i], "--config"))
			return -EINVAL;
	}
	return 0;
}

static int parse_one(struct conf *c, int argc, char **argv, int *i,
		     char *err, size_t errlen)
{
	const char *val;
	char key[64], why[256];

	if (strncmp(argv[*i], "--", 2) ||
	    take_arg(argc, argv, i, key, sizeof(key), &val)) {
		snprintf(err, errlen, "bad argument \"%s\" (see --help)",
			 argv[*i]);
		return -EINVAL;
	}
	if (!strcmp(key, "config"))
		return 0;
	if (conf_set(c, key, val, why, sizeof(why))) {
		snprintf(err, errlen, "--%s", why);
		return -EINVAL;
	}
	return 0;
}

int conf_parse_args(struct conf *c, int argc, char **argv, int *print,
		    int *help, char *err, size_t errlen)
{
	const char *path;
	int i;

	*print = *help = 0;
	conf_defaults(c);
	if (find_config(argc, argv, &path)) {
		snprintf(err, errlen, "--config needs a file");
		return -EINVAL;
	}
	/* No --config: the default file if there is one; --config= : none. */
	if (!path && !access(CONF_DEFAULT_FILE, F_OK))
		path = CONF_DEFAULT_FILE;
	if (path && path[0] && conf_load_file(c, path, err, errlen))
		return -EINVAL;
	for (i = 1; i < argc; i++) {
		if (is_flag(argv[i], "--print-config"))
			*print = 1;
		else if (is_flag(argv[i], "--help") || is_flag(argv[i], "-h"))
			*help = 1;
		else if (parse_one(c, argc, argv, &i, err, errlen))
			return -EINVAL;
	}
	return 0;
}

static void print_value(const struct conf *c, const struct conf_option *o,
			FILE *f)
{
	const char *p = (const char *)c + o->offset;

	if (o->type == T_STR || o->type == T_ENUM || o->type == T_DIR)
		fprintf(f, "%s", p);
	else if (o->type == T_BOOL)
		fprintf(f, "%s", *(const int *)(const void *)p ? "yes" : "no");
	else if (o->type == T_MODE)
		fprintf(f, "%04o", *(const unsigned int *)(const void *)p);
	else
		fprintf(f, "%u", *(const unsigned int *)(const void *)p);
}

void conf_print(const struct conf *c, FILE *f)
{
	size_t i;

	for (i = 0; i < conf_noptions; i++) {
		fprintf(f, "%-20s ", conf_options[i].name);
		print_value(c, &conf_options[i], f);
		fputc('\n', f);
	}
}

void conf_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: vmclockd [--config FILE] [--print-config] "
		   "[--KEY=VALUE...]\n\nSettings (config file keys):\n");
	for (i = 0; i < conf_noptions; i++)
		fprintf(f, "  --%-20s %s [%s]\n", conf_options[i].name,
			conf_options[i].help, conf_options[i].def);
}
