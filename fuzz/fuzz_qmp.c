// SPDX-License-Identifier: MIT
/*
 * fuzz_qmp.c - hostile QEMU: vmclockd's QMP client (daemon/qmp.c) reading
 * whatever a QEMU might send.
 *
 * The client parses only from a connected socket, so a thread plays QEMU
 * on a unix socket: it sends the input verbatim (greeting, replies,
 * events, garbage) and closes its side.  The client connects (greeting,
 * qmp_capabilities id 1, migrate-set-capabilities id 2), asks
 * query-status (id 3) and query-migrate (id 4), pumps events and drains
 * the event queue.
 *
 * Properties: no crash, no UB, no leak (LeakSanitizer); every event name
 * and status is a terminated string; a failed command leaves a message.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../daemon/qmp.h"
#include "fuzz.h"

static char path[108];
static int srv = -1;

struct feed {
	const uint8_t *data;
	size_t size;
};

static int setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char dir[] = "/tmp/vmclock-fuzz-qmp-XXXXXX";

	if (srv >= 0)
		return 0;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/qmp", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(srv, 4))
		return -1;
	return 0;
}

/* QEMU: the input, then end of stream; read until the client is gone. */
static void *serve(void *arg)
{
	const struct feed *f = arg;
	char buf[4096];
	size_t off = 0;
	ssize_t n;
	int c = accept(srv, NULL, NULL);

	if (c < 0)
		return NULL;
	while (off < f->size) {
		n = send(c, f->data + off, f->size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(c, SHUT_WR);
	while (read(c, buf, sizeof(buf)) > 0)
		;
	close(c);
	return NULL;
}

static void check_events(struct qmp *q)
{
	struct qmp_event ev;

	while (qmp_next_event(q, &ev)) {
		PROP(memchr(ev.name, '\0', sizeof(ev.name)));
		PROP(memchr(ev.status, '\0', sizeof(ev.status)));
		PROP(ev.type >= QMP_EV_OTHER && ev.type <= QMP_EV_SHUTDOWN);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f = { data, size };
	char state[32], status[32];
	struct qmp *q;
	pthread_t t;
	int i;

	if (setup() || pthread_create(&t, NULL, serve, &f))
		return 0;
	q = qmp_connect(path, 1000);
	if (q) {
		if (qmp_query_status(q, state, sizeof(state)) == 0)
			PROP(memchr(state, '\0', sizeof(state)));
		else
			PROP(qmp_last_error(q) != NULL);
		if (qmp_query_migrate(q, status, sizeof(status)) == 0)
			PROP(memchr(status, '\0', sizeof(status)));
		for (i = 0; i < 4 && qmp_connected(q); i++) {
			if (qmp_pump(q, 0) && !qmp_connected(q))
				break;
			check_events(q);
		}
		check_events(q);
		qmp_close(q);
	}
	pthread_join(t, NULL);
	return 0;
}
