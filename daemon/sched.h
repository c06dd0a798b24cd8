/* SPDX-License-Identifier: MIT */
/*
 * sched.h - vmclockd's event loop: file descriptors, one-shot timers on
 * the monotonic clock, SIGTERM/SIGINT, and host clock steps.  The only
 * place vmclockd waits.
 */
#ifndef VMCLOCK_DAEMON_SCHED_H
#define VMCLOCK_DAEMON_SCHED_H

#include <stdint.h>

#include "clock.h"

typedef void (*sched_fd_fn)(void *ctx, int fd, short revents);
typedef void (*sched_timer_fn)(void *ctx);

int sched_init(const struct clock_ops *ops);
void sched_exit(void);
int sched_add_fd(int fd, short events, sched_fd_fn fn, void *ctx);
void sched_remove_fd(int fd);
void sched_set_events(int fd, short events);
/* Arm timer @id (0..SCHED_TIMERS-1) to fire once in @delay_ns. */
#define SCHED_TIMERS 4
void sched_timer(int id, uint64_t delay_ns, sched_timer_fn fn, void *ctx);
void sched_timer_cancel(int id);
/* Call @fn whenever CLOCK_REALTIME is set (stepped). */
int sched_on_clock_set(sched_timer_fn fn, void *ctx);
/* Run until SIGTERM/SIGINT or sched_quit(); 0, or -errno of poll. */
int sched_run(void);
void sched_quit(void);
/* Run a program and wait for it (start-up only); its exit status or -errno. */
int sched_run_command(char *const argv[]);

#endif /* VMCLOCK_DAEMON_SCHED_H */
