// SPDX-License-Identifier: MIT
/*
 * hooks.c - the commands vmclock watch runs on events: `sh -c CMD` with the
 * event in the environment, one run per event, never two runs of the same
 * hook at once (later events queue behind a running one, in order), each
 * exit status logged on stderr.  Hooks' stdout goes to stderr, so that
 * watch's own stdout stays one line (or JSON object) per update.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks.h"

static void run_child(const struct hook *h, const struct hook_env *e)
{
	size_t i;

	for (i = 0; i < HOOK_ENV_MAX && e->name[i][0]; i++)
		setenv(e->name[i], e->value[i], 1);
	dup2(STDERR_FILENO, STDOUT_FILENO);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execl("/bin/sh", "sh", "-c", h->cmd, (char *)NULL);
	_exit(127);
}

static void start(struct hook *h)
{
	struct hook_run *run = h->head;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		warnx_("hook --%s: fork: %s; seq %s skipped", h->name,
		       strerror(errno), run->env.seq);
		h->head = run->next;
		if (!h->head)
			h->tail = NULL;
		free(run);
		return;
	}
	if (pid == 0)
		run_child(h, &run->env);
	h->pid = pid;
	h->running_seq = run->env.seq[0] ? strtoul(run->env.seq, NULL, 10) : 0;
	h->head = run->next;
	if (!h->head)
		h->tail = NULL;
	free(run);
}

void hook_add_env(struct hook_env *e, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < HOOK_ENV_MAX; i++) {
		if (e->name[i][0])
			continue;
		snprintf(e->name[i], sizeof(e->name[i]), "%s", name);
		snprintf(e->value[i], sizeof(e->value[i]), "%s", value);
		return;
	}
}

void hook_queue(struct hook *h, const struct hook_env *env)
{
	struct hook_run *run;

	if (!h->cmd)
		return;
	run = calloc(1, sizeof(*run));
	if (!run)
		die("out of memory queueing hook --%s", h->name);
	run->env = *env;
	if (h->tail)
		h->tail->next = run;
	else
		h->head = run;
	h->tail = run;
	if (!h->pid)
		start(h);
}

static void log_exit(const struct hook *h, int status)
{
	if (WIFEXITED(status))
		warnx_("hook --%s (pid %d, seq_count %lu) exited %d", h->name,
		       (int)h->pid, h->running_seq, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		warnx_("hook --%s (pid %d, seq_count %lu) killed by signal %d",
		       h->name, (int)h->pid, h->running_seq, WTERMSIG(status));
}

/* Reap @h's run if it ended (or wait for it with @block); start the next. */
static void reap_one(struct hook *h, int block)
{
	int status;
	pid_t pid;

	if (!h->pid)
		return;
	do
		pid = waitpid(h->pid, &status, block ? 0 : WNOHANG);
	while (pid < 0 && errno == EINTR);
	if (pid == 0)
		return;
	if (pid > 0)
		log_exit(h, status);
	h->runs++;
	h->pid = 0;
	if (h->head)
		start(h);
}

void hooks_reap(struct hook *hooks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		reap_one(&hooks[i], 0);
}

void hooks_drain(struct hook *hooks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		while (hooks[i].pid)
			reap_one(&hooks[i], 1);
}

int hooks_busy(const struct hook *hooks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hooks[i].pid || hooks[i].head)
			return 1;
	return 0;
}
