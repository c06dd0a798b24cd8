// SPDX-License-Identifier: MIT
/*
 * waitsync.c - vmclock wait-sync: block until the clock is bounded (after
 * boot, or after a migration voided the bound), or give up after a
 * timeout; what database users ask ClockBound's waitsync for.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_TIMEOUT_NS (60 * 1000000000ull)

struct wait_opts {
	const char *path;
	int json;
	uint64_t timeout_ns, max_error;
};

static int wait_usage(FILE *f, int code)
{
	fputs("usage: vmclock wait-sync [--device PATH] [--timeout S]\n"
	      "                         [--max-error NS] [--json]\n"
	      "Wait until the clock is bounded; exit 1 after the timeout\n"
	      "(default 60 s).\n",
	      f);
	return code;
}

static void wait_parse(int argc, char **argv, struct wait_opts *o)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "max-error", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_ns = DEFAULT_TIMEOUT_NS;
	optind = 0;
	while ((c = getopt_long(argc, argv, "d:t:m:jh", opts, NULL)) != -1) {
		if (c == 'd')
			o->path = optarg;
		else if (c == 't')
			o->timeout_ns =
				parse_seconds("wait-sync", "--timeout", optarg);
		else if (c == 'm')
			o->max_error =
				parse_u64("wait-sync", "--max-error", optarg);
		else if (c == 'j')
			o->json = 1;
		else if (c == 'h')
			exit(wait_usage(stdout, EXIT_OK));
		else
			usage_error("wait-sync", "bad option");
	}
	if (optind != argc)
		usage_error("wait-sync", "unexpected argument '%s'",
			    argv[optind]);
}

int cmd_wait_sync(int argc, char **argv)
{
	struct vmclock_bounded *b;
	struct vmclock_reader *r;
	struct vmclock_bound bound;
	struct wait_opts o;
	char msg[256];
	int err, now_err;
	struct json j;

	wait_parse(argc, argv, &o);
	r = cli_open(o.path);
	b = cli_bounded(r, o.path);
	err = vmclock_bounded_wait_sync(b, o.timeout_ns, o.max_error, &bound);
	if (err && err != -ETIMEDOUT)
		die_read(o.path, err);
	/* Why it is still not synchronised, for the message. */
	now_err = err ? vmclock_bounded_now(b, &bound) : 0;
	if (!err)
		snprintf(msg, sizeof(msg),
			 "synchronized: maxerror %" PRIu64
			 " ns, %s (source: %s)",
			 bound.maxerror_ns,
			 vmclock_status_name(bound.clock_status),
			 vmclock_bound_source_name(bound.source));
	else
		snprintf(msg, sizeof(msg), "timed out after %.3f s: %s",
			 (double)o.timeout_ns / 1e9,
			 now_err ? vmclock_bounded_strerror(now_err) :
				   "maxerror above --max-error");
	if (o.json) {
		json_begin(&j, cli_out);
		json_bool(&j, "synchronized", !err);
		json_str(&j, "message", msg);
		json_bound(&j, &bound, now_err);
		json_end(&j);
	} else {
		fprintf(err ? stderr : cli_out, "%s%s\n",
			err ? "vmclock: " : "", msg);
	}
	cli_bounded_done(b);
	vmclock_reader_close(r);
	return err ? EXIT_FAIL : EXIT_OK;
}
