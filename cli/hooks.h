/* SPDX-License-Identifier: MIT */
/*
 * hooks.h - event hooks of vmclock watch: queued runs of `sh -c CMD`,
 * serialised per hook.
 */
#ifndef VMCLOCK_CLI_HOOKS_H
#define VMCLOCK_CLI_HOOKS_H

#include <stddef.h>
#include <sys/types.h>

#include "cli.h"

#define HOOK_ENV_MAX 16

/* The environment of one run: VMCLOCK_EVENT=..., and the page's state. */
struct hook_env {
	char name[HOOK_ENV_MAX][40];
	char value[HOOK_ENV_MAX][160];
	char seq[24]; /* seq_count, for the log */
};

struct hook_run {
	struct hook_run *next;
	struct hook_env env;
};

/**
 * struct hook - one --on-* option
 * @name: the option's name without dashes ("on-disrupt").
 * @cmd: the command, or NULL when the option was not given.
 * @pid: the running run's process, or 0.
 * @head, @tail: runs waiting for the running one.
 * @runs: runs finished.
 */
struct hook {
	const char *name;
	const char *cmd;
	pid_t pid;
	unsigned long running_seq;
	struct hook_run *head, *tail;
	unsigned long runs;
};

void hook_add_env(struct hook_env *e, const char *name, const char *value);
/* Run @h with @env now, or after the runs before it. */
void hook_queue(struct hook *h, const struct hook_env *env);
/* Collect finished runs without blocking; start queued ones. */
void hooks_reap(struct hook *hooks, size_t n);
/* Whether any hook is running or has runs queued. */
int hooks_busy(const struct hook *hooks, size_t n);
/* Wait until every queued run of every hook has finished. */
void hooks_drain(struct hook *hooks, size_t n);

#endif /* VMCLOCK_CLI_HOOKS_H */
