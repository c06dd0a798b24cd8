// SPDX-License-Identifier: MIT
/*
 * main.c - the vmclock command: pick the subcommand and run it.  Each
 * subcommand lives in its own file and parses its own options.
 */
#include <string.h>

#include "cli.h"

#ifndef VMCLOCK_VERSION
#define VMCLOCK_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "status", cmd_status, "every field of the page, decoded" },
	{ "now", cmd_now, "the time with earliest/latest bounds" },
	{ "watch", cmd_watch, "one line per page update; run hooks on events" },
	{ "check", cmd_check, "exit 0 when the clock is bounded (monitoring)" },
	{ "wait-sync", cmd_wait_sync, "wait until the clock is bounded" },
	{ "respond", cmd_respond, "answer vmclockd's counter probes (QEMU, TCG)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: vmclock COMMAND [OPTIONS]\n\n"
	      "Read the VMClock page a hypervisor shares with this VM.\n\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
	fputs("\nThe commands that read the page take --device PATH (default\n"
	      "$VMCLOCK_DEVICE, else " VMCLOCK_DEFAULT_DEVICE "); every command "
	      "takes --json\nand --help.  "
	      "Exit status: 0 ok, 1 failure, 2 usage.  See vmclock(1).\n",
	      f);
}

int main(int argc, char **argv)
{
	size_t i;

	cli_out = stdout;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vmclock %s\n", VMCLOCK_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vmclock: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
