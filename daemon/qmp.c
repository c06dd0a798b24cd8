// SPDX-License-Identifier: MIT
/*
 * qmp.c - QMP client: one kept connection, replies matched by id, events
 * queued (see qmp.h).
 *
 * QEMU sends one JSON object per line, but nothing here relies on lines:
 * bytes go through a json-c tokener, which returns each complete object
 * and where it ended, so a read that holds one and a half objects is
 * handled as well as one that holds a single byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qmp.h"

#define QMP_EVQ 64

struct qmp {
	char path[108];
	int fd;
	int timeout_ms;
	uint64_t next_id;
	struct json_tokener *tok;
	char pending[4096];	/* read but not yet tokenised */
	size_t npending;
	struct qmp_event evq[QMP_EVQ];
	unsigned int evhead, evcount;
	char err[256];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drop(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->npending = 0;
	json_tokener_reset(q->tok);
}

static const struct {
	const char *name;
	enum qmp_event_type type;
} event_names[] = {
	{ "MIGRATION", QMP_EV_MIGRATION },
	{ "STOP", QMP_EV_STOP },
	{ "RESUME", QMP_EV_RESUME },
	{ "RESET", QMP_EV_RESET },
	{ "SHUTDOWN", QMP_EV_SHUTDOWN },
};

static void queue_event(struct qmp *q, struct json_object *o)
{
	struct json_object *ev, *data, *st, *ts, *v;
	struct qmp_event *e;
	unsigned int i;

	if (q->evcount == QMP_EVQ) {	/* full: the oldest goes */
		q->evhead = (q->evhead + 1) % QMP_EVQ;
		q->evcount--;
	}
	e = &q->evq[(q->evhead + q->evcount++) % QMP_EVQ];
	memset(e, 0, sizeof(*e));
	json_object_object_get_ex(o, "event", &ev);
	snprintf(e->name, sizeof(e->name), "%s", json_object_get_string(ev));
	for (i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (!strcmp(e->name, event_names[i].name))
			e->type = event_names[i].type;
	if (json_object_object_get_ex(o, "data", &data) &&
	    json_object_object_get_ex(data, "status", &st))
		snprintf(e->status, sizeof(e->status), "%s",
			 json_object_get_string(st));
	/* QEMU's timestamp is untrusted input: no overflow, 0 if absurd. */
	if (json_object_object_get_ex(o, "timestamp", &ts)) {
		int64_t sec = 0, us = 0;

		if (json_object_object_get_ex(ts, "seconds", &v))
			sec = json_object_get_int64(v);
		if (json_object_object_get_ex(ts, "microseconds", &v))
			us = json_object_get_int64(v);
		if (__builtin_mul_overflow(sec, (int64_t)1000000, &e->ts_us) ||
		    __builtin_add_overflow(e->ts_us, us, &e->ts_us))
			e->ts_us = 0;
	}
}

/*
 * The next complete object from what has been read, or NULL (more bytes
 * needed, or -EPROTO in *err for bytes that are not JSON).
 */
static struct json_object *take_object(struct qmp *q, int *err)
{
	struct json_object *o;
	enum json_tokener_error je;
	size_t used;

	*err = 0;
	if (!q->npending)
		return NULL;
	o = json_tokener_parse_ex(q->tok, q->pending, (int)q->npending);
	je = json_tokener_get_error(q->tok);
	if (je == json_tokener_continue) {
		q->npending = 0;	/* the tokener keeps its state */
		return NULL;
	}
	used = json_tokener_get_parse_end(q->tok);
	memmove(q->pending, q->pending + used, q->npending - used);
	q->npending -= used;
	json_tokener_reset(q->tok);
	if (je != json_tokener_success || !o ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*err = -EPROTO;
		return NULL;
	}
	return o;
}

/* Read once, waiting until @deadline (monotonic ms). */
static int fill(struct qmp *q, int64_t deadline)
{
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	int64_t left = deadline - mono_ms();
	ssize_t n;
	int r;

	if (q->fd < 0)
		return -ECONNRESET;
	do
		r = poll(&p, 1, left > 0 ? (int)left : 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = read(q->fd, q->pending + q->npending,
		 sizeof(q->pending) - q->npending);
	if (n <= 0) {
		drop(q);
		return -ECONNRESET;
	}
	q->npending += (size_t)n;
	return 0;
}

/*
 * The next message that is not an event (events are queued), waiting
 * until @deadline.  Return 0 with *@out, or -errno.
 */
static int next_message(struct qmp *q, int64_t deadline,
			struct json_object **out)
{
	struct json_object *o, *ev;
	int ret;

	for (;;) {
		o = take_object(q, &ret);
		if (ret) {
			drop(q);
			return ret;
		}
		if (o && json_object_object_get_ex(o, "event", &ev)) {
			queue_event(q, o);
			json_object_put(o);
			continue;
		}
		if (o) {
			*out = o;
			return 0;
		}
		ret = fill(q, deadline);
		if (ret)
			return ret;
	}
}

/* The first bytes of @s go with @fd (SCM_RIGHTS) unless @fd is -1. */
static ssize_t send_some(int sock, const char *s, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)(uintptr_t)s, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd < 0)
		return send(sock, s, len, MSG_NOSIGNAL);
	memset(&ctl, 0, sizeof(ctl));
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, MSG_NOSIGNAL);
}

static int send_all(struct qmp *q, const char *s, int fd)
{
	size_t len = strlen(s), off = 0;
	ssize_t n;

	if (q->fd < 0)
		return -ECONNRESET;
	while (off < len) {
		n = send_some(q->fd, s + off, len - off, off ? -1 : fd);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			drop(q);
			return -ECONNRESET;
		}
		off += (size_t)n;
	}
	return 0;
}

static void set_error(struct qmp *q, struct json_object *o)
{
	struct json_object *e, *d;

	if (json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "desc", &d))
		snprintf(q->err, sizeof(q->err), "%s",
			 json_object_get_string(d));
	else
		snprintf(q->err, sizeof(q->err), "malformed reply");
}

/* The reply carrying @id; others (stale replies) are dropped. */
static int await_reply(struct qmp *q, uint64_t id, struct json_object **ret)
{
	int64_t deadline = mono_ms() + q->timeout_ms;
	struct json_object *o, *rid, *r;
	int err;

	for (;;) {
		err = next_message(q, deadline, &o);
		if (err)
			return err;
		if (json_object_object_get_ex(o, "id", &rid) &&
		    (uint64_t)json_object_get_int64(rid) == id)
			break;
		json_object_put(o);
	}
	if (json_object_object_get_ex(o, "return", &r)) {
		if (ret)
			*ret = json_object_get(r);
		json_object_put(o);
		return 0;
	}
	set_error(q, o);
	json_object_put(o);
	return -EIO;
}

int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args,
		struct json_object **ret)
{
	return qmp_execute_fd(q, cmd, args, -1, ret);
}

int qmp_execute_fd(struct qmp *q, const char *cmd, struct json_object *args,
		   int fd, struct json_object **ret)
{
	struct json_object *msg = json_object_new_object();
	uint64_t id = ++q->next_id;
	char *line;
	int err;

	json_object_object_add(msg, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(msg, "arguments", args);
	json_object_object_add(msg, "id", json_object_new_int64((int64_t)id));
	if (asprintf(&line, "%s\n", json_object_to_json_string_ext(
				msg, JSON_C_TO_STRING_PLAIN)) < 0) {
		json_object_put(msg);
		return -ENOMEM;
	}
	json_object_put(msg);
	err = send_all(q, line, fd);
	free(line);
	return err ? err : await_reply(q, id, ret);
}

int qmp_hmp(struct qmp *q, const char *line, char *out, int outlen)
{
	struct json_object *args = json_object_new_object(), *r = NULL;
	int err;

	json_object_object_add(args, "command-line",
			       json_object_new_string(line));
	err = qmp_execute(q, "human-monitor-command", args, &r);
	if (!err && out && outlen > 0)
		snprintf(out, (size_t)outlen, "%s",
			 r ? json_object_get_string(r) : "");
	json_object_put(r);
	return err;
}

static int dial(struct qmp *q)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	memcpy(sa.sun_path, q->path, sizeof(q->path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	q->fd = fd;
	return 0;
}

/* Greeting, qmp_capabilities, migration events on. */
static int handshake(struct qmp *q)
{
	struct json_object *o, *caps, *cap, *args;
	int err = next_message(q, mono_ms() + q->timeout_ms, &o);

	if (err)
		return err;
	err = json_object_object_get_ex(o, "QMP", NULL) ? 0 : -EPROTO;
	json_object_put(o);
	if (!err)
		err = qmp_execute(q, "qmp_capabilities", NULL, NULL);
	if (err)
		return err;
	cap = json_object_new_object();
	json_object_object_add(cap, "capability",
			       json_object_new_string("events"));
	json_object_object_add(cap, "state", json_object_new_boolean(1));
	caps = json_object_new_array();
	json_object_array_add(caps, cap);
	args = json_object_new_object();
	json_object_object_add(args, "capabilities", caps);
	return qmp_execute(q, "migrate-set-capabilities", args, NULL);
}

int qmp_reconnect(struct qmp *q)
{
	int err;

	drop(q);
	err = dial(q);
	if (!err)
		err = handshake(q);
	if (err)
		drop(q);
	return err;
}

struct qmp *qmp_connect(const char *path, int timeout_ms)
{
	struct qmp *q;
	int err;

	if (!path || strlen(path) >= sizeof(q->path) || timeout_ms <= 0) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->tok = json_tokener_new())) {
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(q->path, sizeof(q->path), "%s", path);
	q->fd = -1;
	q->timeout_ms = timeout_ms;
	err = qmp_reconnect(q);
	if (err) {
		qmp_close(q);
		errno = -err;
		return NULL;
	}
	return q;
}

void qmp_set_timeout(struct qmp *q, int timeout_ms)
{
	if (timeout_ms > 0)
		q->timeout_ms = timeout_ms;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	drop(q);
	json_tokener_free(q->tok);
	free(q);
}

int qmp_peer(const struct qmp *q, int32_t *pid, uint32_t *uid,
	     uint32_t *gid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (q->fd < 0)
		return -ENOTCONN;
	if (getsockopt(q->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return -errno;
	*pid = cr.pid;
	*uid = cr.uid;
	*gid = cr.gid;
	return 0;
}

int qmp_connected(const struct qmp *q)
{
	return q->fd >= 0;
}

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

const char *qmp_last_error(const struct qmp *q)
{
	return q->err;
}

int qmp_pump(struct qmp *q, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct json_object *o, *ev;
	int err, got = 0;

	/* Wait for the first object only; then take what is there. */
	for (;;) {
		o = take_object(q, &err);
		if (err) {
			drop(q);
			return err;
		}
		if (o) {
			/* Not an event here: a stale reply, dropped. */
			if (json_object_object_get_ex(o, "event", &ev))
				queue_event(q, o);
			json_object_put(o);
			got = 1;
			continue;
		}
		err = fill(q, got ? mono_ms() : deadline);
		if (err == -ETIMEDOUT && got)
			return 0;
		if (err)
			return err;
	}
}

int qmp_next_event(struct qmp *q, struct qmp_event *ev)
{
	if (!q->evcount)
		return 0;
	*ev = q->evq[q->evhead];
	q->evhead = (q->evhead + 1) % QMP_EVQ;
	q->evcount--;
	return 1;
}

int qmp_wait_event(struct qmp *q, const char *name, const char *status,
		   int timeout_ms, struct qmp_event *ev)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct qmp_event e;
	int err;

	for (;;) {
		while (qmp_next_event(q, &e))
			if (!strcmp(e.name, name) &&
			    (!status || !strcmp(e.status, status))) {
				if (ev)
					*ev = e;
				return 0;
			}
		if (mono_ms() >= deadline)
			return -ETIMEDOUT;
		err = qmp_pump(q, (int)(deadline - mono_ms()));
		if (err && err != -ETIMEDOUT)
			return err;
	}
}

static int query_string(struct qmp *q, const char *cmd, const char *key,
			char *out, int len)
{
	struct json_object *r = NULL, *v;
	int err = qmp_execute(q, cmd, NULL, &r);

	if (!err)
		snprintf(out, (size_t)len, "%s",
			 json_object_object_get_ex(r, key, &v) ?
			 json_object_get_string(v) : "");
	json_object_put(r);
	return err;
}

int qmp_query_status(struct qmp *q, char *state, int len)
{
	return query_string(q, "query-status", "status", state, len);
}

int qmp_query_migrate(struct qmp *q, char *status, int len)
{
	return query_string(q, "query-migrate", "status", status, len);
}
