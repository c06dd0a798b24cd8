// SPDX-License-Identifier: MIT
/*
 * test_conf.c - vmclockd's settings table: defaults, every type's parsing
 * and range checks, config files with file:line errors, and the command
 * line overriding the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../daemon/conf.h"
#include "../harness/test.h"

/* -Wwrite-strings: argv is char *. */
#define A(s) ((char *)(s))

static char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/test_conf.XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

TEST(defaults)
{
	struct conf c;

	conf_defaults(&c);
	CHECK(!strcmp(c.run_dir, "/run/vmclock"));
	CHECK_EQ_INT(c.interval_ms, 1000);
	CHECK_EQ_INT(c.socket_mode, 0660);
	CHECK(!strcmp(c.socket_group, "vmclock"));
	CHECK_EQ_INT(c.create_group, 0);
	CHECK_EQ_INT(c.freq_tolerance_ppb, 500000);
	CHECK(!strcmp(c.time_type, "auto"));
	CHECK(!strcmp(c.snapshot_dir, "/var/lib/vmclock/snapshots"));
}

/* snapshot-dir: an absolute path, or empty (save and restore off). */
TEST(directory_settings_are_absolute_or_empty)
{
	struct conf c;
	char err[256];

	conf_defaults(&c);
	CHECK(!conf_set(&c, "snapshot-dir", "/srv/snap", err, sizeof(err)));
	CHECK(!strcmp(c.snapshot_dir, "/srv/snap"));
	CHECK(conf_set(&c, "snapshot-dir", "snap", err, sizeof(err)));
	CHECK(strstr(err, "snapshot-dir: \"snap\" is not an absolute path"));
	CHECK(conf_set(&c, "snapshot-dir", "../x", err, sizeof(err)));
	CHECK(!strcmp(c.snapshot_dir, "/srv/snap"));
	CHECK(!conf_set(&c, "snapshot-dir", "", err, sizeof(err)));
	CHECK(!strcmp(c.snapshot_dir, ""));
}

TEST(set_types_and_ranges)
{
	struct conf c;
	char err[256];

	conf_defaults(&c);
	CHECK(!conf_set(&c, "interval-ms", "250", err, sizeof(err)));
	CHECK_EQ_INT(c.interval_ms, 250);
	CHECK(conf_set(&c, "interval-ms", "5", err, sizeof(err)));
	CHECK(strstr(err, "outside 10..3600000"));
	CHECK(conf_set(&c, "interval-ms", "12x", err, sizeof(err)));
	CHECK(strstr(err, "not a number"));
	CHECK(conf_set(&c, "interval-ms", "-1", err, sizeof(err)));
	CHECK(conf_set(&c, "interval-ms", "", err, sizeof(err)));
	CHECK(conf_set(&c, "interval-ms", "99999999999999999999", err, sizeof(err)));
	CHECK_EQ_INT(c.interval_ms, 250);
	CHECK(!conf_set(&c, "socket-mode", "0640", err, sizeof(err)));
	CHECK_EQ_INT(c.socket_mode, 0640);
	CHECK(conf_set(&c, "socket-mode", "0999", err, sizeof(err)));
	CHECK(!conf_set(&c, "create-group", "yes", err, sizeof(err)));
	CHECK_EQ_INT(c.create_group, 1);
	CHECK(conf_set(&c, "create-group", "maybe", err, sizeof(err)));
	CHECK(!conf_set(&c, "time-type", "utc", err, sizeof(err)));
	CHECK(conf_set(&c, "time-type", "gps", err, sizeof(err)));
	CHECK(strstr(err, "time-type"));
	CHECK(conf_set(&c, "no-such-key", "1", err, sizeof(err)));
	CHECK(strstr(err, "unknown setting \"no-such-key\""));
}

TEST(string_too_long)
{
	struct conf c;
	char err[256], big[400];

	conf_defaults(&c);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(conf_set(&c, "run-dir", big, err, sizeof(err)));
	CHECK(strstr(err, "longer than"));
	CHECK(!strcmp(c.run_dir, "/run/vmclock"));
}

TEST(file_forms_and_comments)
{
	struct conf c;
	char err[512];
	char *p = write_tmp("# vmclockd\n\nrun-dir /tmp/x  # here\n"
			    "interval-ms = 500\n  samples=16\nlog-level debug\n");

	conf_defaults(&c);
	CHECK(!conf_load_file(&c, p, err, sizeof(err)));
	CHECK(!strcmp(c.run_dir, "/tmp/x"));
	CHECK_EQ_INT(c.interval_ms, 500);
	CHECK_EQ_INT(c.samples, 16);
	CHECK(!strcmp(c.log_level, "debug"));
	unlink(p);
}

TEST(file_errors_name_the_line)
{
	struct conf c;
	char err[512], want[128];
	char *p = write_tmp("run-dir /tmp/x\n\nbogus-key 3\n");

	conf_defaults(&c);
	CHECK(conf_load_file(&c, p, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3: unknown setting \"bogus-key\"", p);
	CHECK_MSG(!strcmp(err, want), "got %s", err);
	unlink(p);
	p = write_tmp("interval-ms\n");
	CHECK(conf_load_file(&c, p, err, sizeof(err)));
	CHECK(strstr(err, ":1: interval-ms: missing value"));
	unlink(p);
	CHECK(conf_load_file(&c, "/nonexistent/vmclockd.conf", err, sizeof(err)));
	CHECK(strstr(err, "No such file"));
}

TEST(args_override_file)
{
	struct conf c;
	char err[512], cfg[80];
	char *p = write_tmp("interval-ms 500\nsamples 16\n");
	int print, help;

	snprintf(cfg, sizeof(cfg), "--config=%s", p);
	{
		char *argv[] = { A("vmclockd"), A("--interval-ms"), A("300"), cfg,
				 A("--print-config"), A("--user="), NULL };

		CHECK(!conf_parse_args(&c, 6, argv, &print, &help, err, sizeof(err)));
	}
	CHECK_EQ_INT(c.interval_ms, 300);
	CHECK_EQ_INT(c.samples, 16);
	CHECK_EQ_INT(print, 1);
	CHECK_EQ_INT(help, 0);
	CHECK(!strcmp(c.user, ""));
	{
		char *argv[] = { A("vmclockd"), A("--samples=0"), NULL };

		CHECK(conf_parse_args(&c, 2, argv, &print, &help, err, sizeof(err)));
		CHECK(strstr(err, "--samples: 0 is outside 1..4096"));
	}
	{
		char *argv[] = { A("vmclockd"), A("stray"), NULL };

		CHECK(conf_parse_args(&c, 2, argv, &print, &help, err, sizeof(err)));
		CHECK(strstr(err, "bad argument \"stray\""));
	}
	{
		char *argv[] = { A("vmclockd"), A("--interval-ms"), NULL };

		CHECK(conf_parse_args(&c, 2, argv, &print, &help, err, sizeof(err)));
	}
	unlink(p);
}

TEST(print_config_lists_every_key)
{
	struct conf c;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	conf_defaults(&c);
	conf_print(&c, f);
	fclose(f);
	for (i = 0; i < conf_noptions; i++)
		CHECK_MSG(strstr(buf, conf_options[i].name), "%s missing",
			  conf_options[i].name);
	CHECK(strstr(buf, "socket-mode          0660"));
	free(buf);
}

TEST(defaults_pass_their_own_checks)
{
	struct conf c;
	char err[256];
	size_t i;

	conf_defaults(&c);
	for (i = 0; i < conf_noptions; i++)
		CHECK_MSG(!conf_set(&c, conf_options[i].name, conf_options[i].def,
				    err, sizeof(err)) ||
				  !conf_options[i].def[0],
			  "%s: %s", conf_options[i].name, err);
}
