// SPDX-License-Identifier: MIT
/*
 * sched.c - the poll loop.  Timers are kept on CLOCK_MONOTONIC through the
 * clock ops; SIGTERM and SIGINT arrive through a signalfd; a timerfd with
 * TFD_TIMER_CANCEL_ON_SET reports host clock steps.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <spawn.h>
#include <unistd.h>

#include "log.h"
#include "sched.h"

#define SCHED_MAX_FDS 64

struct fd_slot {
	sched_fd_fn fn;
	void *ctx;
};

struct timer_slot {
	int armed;
	uint64_t due;
	sched_timer_fn fn;
	void *ctx;
};

static const struct clock_ops *sched_ops;
static struct pollfd pfds[SCHED_MAX_FDS];
static struct fd_slot slots[SCHED_MAX_FDS];
static int nfds;
static struct timer_slot timers[SCHED_TIMERS];
static int quit;
static int sig_fd = -1, step_fd = -1;
static sched_timer_fn step_fn;
static void *step_ctx;

static void on_signal(void *ctx, int fd, short revents)
{
	struct signalfd_siginfo si;

	(void)ctx;
	(void)revents;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		log_info("signal %u: exiting", si.ssi_signo);
		quit = 1;
	}
}

int sched_init(const struct clock_ops *ops)
{
	sigset_t set;

	sched_ops = ops;
	nfds = 0;
	quit = 0;
	memset(timers, 0, sizeof(timers));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		return -errno;
	return sched_add_fd(sig_fd, POLLIN, on_signal, NULL);
}

void sched_exit(void)
{
	if (sig_fd >= 0)
		close(sig_fd);
	if (step_fd >= 0)
		close(step_fd);
	sig_fd = step_fd = -1;
	nfds = 0;
}

int sched_add_fd(int fd, short events, sched_fd_fn fn, void *ctx)
{
	if (nfds == SCHED_MAX_FDS)
		return -EMFILE;
	pfds[nfds] = (struct pollfd){ .fd = fd, .events = events };
	slots[nfds] = (struct fd_slot){ fn, ctx };
	nfds++;
	return 0;
}

void sched_remove_fd(int fd)
{
	int i;

	for (i = 0; i < nfds; i++) {
		if (pfds[i].fd != fd)
			continue;
		/* Mark it; sched_run() compacts after dispatch. */
		pfds[i].fd = -1;
		slots[i].fn = NULL;
	}
}

void sched_set_events(int fd, short events)
{
	int i;

	for (i = 0; i < nfds; i++)
		if (pfds[i].fd == fd)
			pfds[i].events = events;
}

void sched_timer(int id, uint64_t delay_ns, sched_timer_fn fn, void *ctx)
{
	timers[id] = (struct timer_slot){ 1, clock_monotonic_ns(sched_ops) +
						     delay_ns, fn, ctx };
}

void sched_timer_cancel(int id)
{
	timers[id].armed = 0;
}

static int arm_step_fd(void)
{
	struct itimerspec its = { .it_value = { .tv_sec = 1L << 40 } };

	/* A far-future absolute timer that only a clock set cancels. */
	return timerfd_settime(step_fd, TFD_TIMER_ABSTIME |
				   TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static void on_step(void *ctx, int fd, short revents)
{
	uint64_t n;

	(void)ctx;
	(void)revents;
	if (read(fd, &n, sizeof(n)) < 0 && errno == ECANCELED) {
		log_info("host clock was set");
		if (step_fn)
			step_fn(step_ctx);
	}
	arm_step_fd();
}

int sched_on_clock_set(sched_timer_fn fn, void *ctx)
{
	step_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (step_fd < 0)
		return -errno;
	step_fn = fn;
	step_ctx = ctx;
	if (arm_step_fd())
		return -errno;
	return sched_add_fd(step_fd, POLLIN, on_step, NULL);
}

static int next_timeout_ms(void)
{
	uint64_t now = clock_monotonic_ns(sched_ops), first = UINT64_MAX;
	int i;

	for (i = 0; i < SCHED_TIMERS; i++)
		if (timers[i].armed && timers[i].due < first)
			first = timers[i].due;
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	/* Round up so a timer never fires early. */
	return (int)((first - now + 999999) / 1000000);
}

static void run_timers(void)
{
	uint64_t now = clock_monotonic_ns(sched_ops);
	int i;

	for (i = 0; i < SCHED_TIMERS; i++) {
		if (!timers[i].armed || timers[i].due > now)
			continue;
		timers[i].armed = 0;
		timers[i].fn(timers[i].ctx);
	}
}

static void compact(void)
{
	int i, j = 0;

	for (i = 0; i < nfds; i++) {
		if (pfds[i].fd < 0)
			continue;
		pfds[j] = pfds[i];
		slots[j++] = slots[i];
	}
	nfds = j;
}

int sched_run(void)
{
	while (!quit) {
		int i, n = nfds, ret = poll(pfds, (nfds_t)nfds, next_timeout_ms());

		if (ret < 0 && errno != EINTR)
			return -errno;
		for (i = 0; ret > 0 && i < n; i++) {
			short rev = pfds[i].revents;

			pfds[i].revents = 0;
			if (rev && pfds[i].fd >= 0 && slots[i].fn)
				slots[i].fn(slots[i].ctx, pfds[i].fd, rev);
		}
		compact();
		run_timers();
	}
	return 0;
}

void sched_quit(void)
{
	quit = 1;
}

extern char **environ;

int sched_run_command(char *const argv[])
{
	pid_t pid;
	int ret, st;

	ret = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
	if (ret)
		return -ret;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
