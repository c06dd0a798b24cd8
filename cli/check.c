// SPDX-License-Identifier: MIT
/*
 * check.c - vmclock check: one line and an exit status saying whether the
 * clock is bounded (and synchronised, and within a max error), for
 * monitoring and systemd's ExecStartPre=.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct check_opts {
	const char *path;
	int json, require_sync;
	uint64_t max_error;
};

static int check_usage(FILE *f, int code)
{
	fputs("usage: vmclock check [--device PATH] [--max-error NS]\n"
	      "                     [--require-synchronized] [--json]\n"
	      "Exit 0 when the clock is bounded, 1 when not, with one line.\n"
	      "  --max-error NS          also require maxerror <= NS\n"
	      "  --require-synchronized  FREERUNNING is not enough\n",
	      f);
	return code;
}

static void check_parse(int argc, char **argv, struct check_opts *o)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "max-error", required_argument, NULL, 'm' },
		{ "require-synchronized", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "d:m:sjh", opts, NULL)) != -1) {
		if (c == 'd')
			o->path = optarg;
		else if (c == 'm')
			o->max_error =
				parse_u64("check", "--max-error", optarg);
		else if (c == 's')
			o->require_sync = 1;
		else if (c == 'j')
			o->json = 1;
		else if (c == 'h')
			exit(check_usage(stdout, EXIT_OK));
		else
			usage_error("check", "bad option");
	}
	if (optind != argc)
		usage_error("check", "unexpected argument '%s'", argv[optind]);
}

/* The verdict: 0 ok, else EXIT_FAIL with @msg saying why. */
static int verdict(const struct check_opts *o, const struct vmclock_bound *b,
		   int err, char *msg, size_t len)
{
	if (err) {
		snprintf(msg, len, "CRITICAL: no bounded time: %s",
			 vmclock_bounded_strerror(err));
		return EXIT_FAIL;
	}
	if (o->require_sync && b->clock_status != VMCLOCK_STATUS_SYNCHRONIZED) {
		snprintf(msg, len, "CRITICAL: clock is %s, not SYNCHRONIZED",
			 vmclock_status_name(b->clock_status));
		return EXIT_FAIL;
	}
	if (o->max_error && b->maxerror_ns > o->max_error) {
		snprintf(msg, len,
			 "CRITICAL: maxerror %" PRIu64 " ns exceeds %" PRIu64
			 " ns",
			 b->maxerror_ns, o->max_error);
		return EXIT_FAIL;
	}
	snprintf(msg, len, "OK: maxerror %" PRIu64 " ns, %s (source: %s)",
		 b->maxerror_ns, vmclock_status_name(b->clock_status),
		 vmclock_bound_source_name(b->source));
	return EXIT_OK;
}

int cmd_check(int argc, char **argv)
{
	struct vmclock_bounded *b;
	struct vmclock_reader *r;
	struct vmclock_bound bound;
	struct check_opts o;
	char msg[256];
	int err, rc;
	struct json j;

	check_parse(argc, argv, &o);
	r = cli_open(o.path);
	b = cli_bounded(r, o.path);
	err = vmclock_bounded_now(b, &bound);
	if (err && err != -ENOTSUP && !vmclock_bounded_not_yet(err))
		die_read(o.path, err);
	rc = verdict(&o, &bound, err, msg, sizeof(msg));
	if (o.json) {
		json_begin(&j, cli_out);
		json_bool(&j, "ok", rc == EXIT_OK);
		json_str(&j, "message", msg);
		json_bound(&j, &bound, err);
		json_end(&j);
	} else {
		fprintf(cli_out, "%s\n", msg);
	}
	cli_bounded_done(b);
	vmclock_reader_close(r);
	return rc;
}
