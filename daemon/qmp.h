/* SPDX-License-Identifier: MIT */
/*
 * qmp.h - a QEMU Machine Protocol client for vmclockd's QEMU adapter.
 *
 * One connection per QEMU, kept open: the doorbell that notifies the guest
 * is two QMP commands, and a connection set up per doorbell costs 100 ms
 * where a kept one costs about 2 ms.  JSON is json-c's.
 *
 * qmp_connect() reads the greeting, negotiates capabilities and turns on
 * migration events.  qmp_execute() sends a command with a fresh id and
 * waits for the reply with that id; events that arrive meanwhile are
 * queued and handed out by qmp_next_event().  A QEMU that goes away makes
 * every call fail with -ECONNRESET or -EPIPE; qmp_reconnect() tries the
 * same socket again (a restarted QEMU), and vmclockd calls it when its
 * timer comes round.
 *
 * Not thread-safe: one thread drives a connection.
 */
#ifndef VMCLOCK_DAEMON_QMP_H
#define VMCLOCK_DAEMON_QMP_H

#include <stdint.h>

struct json_object;
struct qmp;

/* The events the adapter acts on; anything else is QMP_EV_OTHER. */
enum qmp_event_type {
	QMP_EV_OTHER,
	QMP_EV_MIGRATION,	/* data.status: setup, active, completed, ... */
	QMP_EV_STOP,
	QMP_EV_RESUME,
	QMP_EV_RESET,
	QMP_EV_SHUTDOWN,
};

struct qmp_event {
	enum qmp_event_type type;
	char name[32];		/* the event's name as QEMU sent it */
	char status[32];	/* MIGRATION's data.status, else "" */
	int64_t ts_us;		/* QEMU's timestamp, microseconds */
};

/*
 * Connect to the QMP socket at @path and negotiate; @timeout_ms bounds the
 * connect and every reply.  Return a client, or NULL with errno.
 */
struct qmp *qmp_connect(const char *path, int timeout_ms);
void qmp_close(struct qmp *q);
/* Drop the connection and connect again to the same path: 0 or -errno. */
int qmp_reconnect(struct qmp *q);
/* Bound the connect and every reply by @timeout_ms from now on. */
void qmp_set_timeout(struct qmp *q, int timeout_ms);
/*
 * The credentials of the process that listens on the QMP socket (the
 * QEMU, as far as the kernel knows): 0 or -errno.
 */
int qmp_peer(const struct qmp *q, int32_t *pid, uint32_t *uid,
	     uint32_t *gid);
/* Non-zero while connected. */
int qmp_connected(const struct qmp *q);
/* The socket, for poll(); -1 while disconnected. */
int qmp_fd(const struct qmp *q);

/*
 * Run @cmd with @args (taken over, may be NULL).  On success *@ret (if not
 * NULL) gets the "return" value, a reference the caller puts.  Return 0,
 * -EIO for an "error" reply (its desc in qmp_last_error()), -ETIMEDOUT,
 * or -ECONNRESET when QEMU went away.
 */
int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args,
		struct json_object **ret);
/*
 * The same, with descriptor @fd passed along (SCM_RIGHTS, with the
 * command's first bytes), as QEMU's getfd and add-fd want it.
 */
int qmp_execute_fd(struct qmp *q, const char *cmd, struct json_object *args,
		   int fd, struct json_object **ret);
/* human-monitor-command: @line, the output (if @out) into @out/@outlen. */
int qmp_hmp(struct qmp *q, const char *line, char *out, int outlen);
const char *qmp_last_error(const struct qmp *q);

/*
 * Read what the socket has (waiting up to @timeout_ms, 0 for none) and
 * queue the events.  Return 0, -ETIMEDOUT when nothing came, or
 * -ECONNRESET.
 */
int qmp_pump(struct qmp *q, int timeout_ms);
/* Take the oldest queued event: 1 with *@ev filled, 0 when none. */
int qmp_next_event(struct qmp *q, struct qmp_event *ev);
/*
 * Wait up to @timeout_ms for event @name (and, if @status is not NULL,
 * with that data.status), dropping the others; 0 or -ETIMEDOUT.
 */
int qmp_wait_event(struct qmp *q, const char *name, const char *status,
		   int timeout_ms, struct qmp_event *ev);

/* query-status: the run state ("running", "paused", "inmigrate", ...). */
int qmp_query_status(struct qmp *q, char *state, int len);
/* query-migrate's status ("completed", "active", ...), "" when none. */
int qmp_query_migrate(struct qmp *q, char *status, int len);

#endif /* VMCLOCK_DAEMON_QMP_H */
