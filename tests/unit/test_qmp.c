// SPDX-License-Identifier: MIT
/*
 * test_qmp.c - daemon/qmp.c against a scripted server and a real QEMU.
 *
 * The scripted server (a thread on a unix socket) sends what QEMU could:
 * objects split across reads, several in one read, events between a
 * command and its reply, a stale reply with another id, an error, a hang
 * up.  The real QEMU (qemu-system-x86_64 -machine none, started here)
 * proves the protocol: capabilities, migration events on, STOP/RESUME, a
 * migration's MIGRATION events, human-monitor-command, a descriptor passed
 * with getfd and migrated into, and reconnecting after QEMU restarts.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "../harness/test.h"
#include "../../daemon/qmp.h"

static char dir[] = "/tmp/test_qmp.XXXXXX";
static int dir_made;

static const char *path_in_dir(const char *name)
{
	static char buf[4][128];
	static int slot;

	if (!dir_made && mkdtemp(dir))
		dir_made = 1;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", dir, name);
	return buf[slot];
}

__attribute__((destructor)) static void cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	/* mkdtemp() may well leave an X in the name: ask whether it ran. */
	if (dir_made && system(cmd))
		return;
}

/* --- scripted server ---------------------------------------------- */

struct script {
	int lfd;
	const char *const *steps;	/* "<" read a line, ">" send, "!" close */
};

static void read_line(int fd)
{
	char c;

	while (read(fd, &c, 1) == 1 && c != '\n')
		;
}

static void *serve(void *arg)
{
	struct script *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	const char *const *st;
	struct timespec gap = { 0, 2000000 };

	for (st = s->steps; fd >= 0 && *st; st++) {
		if (**st == '<')
			read_line(fd);
		else if (**st == '>' && write(fd, *st + 1, strlen(*st + 1)) < 0)
			break;
		else if (**st == '~')	/* a pause, so reads split here */
			nanosleep(&gap, NULL);
		else if (**st == '!')
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 1))
		return -1;
	return fd;
}

#define GREET ">{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"

/* The handshake: greeting, qmp_capabilities (id 1), events (id 2). */
#define HANDSHAKE GREET, "<", ">{\"return\": {}, \"id\": 1}\r\n", "<", \
	">{\"return\": {}, \"id\": 2}\r\n"

static struct qmp *scripted(const char *const *steps, pthread_t *th,
			    struct script *s)
{
	const char *path = path_in_dir("fake.sock");

	s->lfd = listen_on(path);
	s->steps = steps;
	if (s->lfd < 0 || pthread_create(th, NULL, serve, s))
		return NULL;
	return qmp_connect(path, 2000);
}

static void finish(struct qmp *q, pthread_t th, struct script *s)
{
	qmp_close(q);
	pthread_join(th, NULL);
	close(s->lfd);
}

TEST(scripted_split_and_batched_messages)
{
	static const char *const steps[] = {
		">{\"QMP\": {\"vers", "~", ">ion\": {}, \"capabilities\": []}}\r\n",
		"<", ">{\"return\": {}, \"id\": 1}\r\n", "<",
		">{\"return\": {}, \"i", "~", ">d\": 2}\r\n",
		"<", ">{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 5, "
		"\"microseconds\": 7}}\r\n{\"return\": {\"status\": \"paused\", "
		"\"running\": false}, \"id\": 3}\r\n", "!", NULL,
	};
	struct script s;
	pthread_t th;
	struct qmp *q = scripted(steps, &th, &s);
	struct qmp_event ev;
	char st[32] = "";

	REQUIRE(q);
	CHECK_EQ_INT(qmp_query_status(q, st, sizeof(st)), 0);
	CHECK(!strcmp(st, "paused"));
	CHECK_EQ_INT(qmp_next_event(q, &ev), 1);
	CHECK_EQ_INT(ev.type, QMP_EV_STOP);
	CHECK_EQ_INT(ev.ts_us, 5000007);
	CHECK_EQ_INT(qmp_next_event(q, &ev), 0);
	finish(q, th, &s);
}

TEST(scripted_stale_reply_error_and_hangup)
{
	static const char *const steps[] = {
		HANDSHAKE, "<",
		">{\"return\": {}, \"id\": 99}\r\n",
		">{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}}\r\n",
		">{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": 3}\r\n",
		"<", "!", NULL,
	};
	struct script s;
	pthread_t th;
	struct qmp *q = scripted(steps, &th, &s);
	struct qmp_event ev;

	REQUIRE(q);
	CHECK_EQ_INT(qmp_execute(q, "bogus", NULL, NULL), -EIO);
	CHECK(!strcmp(qmp_last_error(q), "nope"));
	CHECK_EQ_INT(qmp_wait_event(q, "MIGRATION", "completed", 100, &ev), 0);
	CHECK_EQ_INT(ev.type, QMP_EV_MIGRATION);
	CHECK_EQ_INT(qmp_execute(q, "cont", NULL, NULL), -ECONNRESET);
	CHECK(!qmp_connected(q));
	CHECK_EQ_INT(qmp_execute(q, "cont", NULL, NULL), -ECONNRESET);
	finish(q, th, &s);
}

TEST(scripted_garbage_is_a_protocol_error)
{
	static const char *const steps[] = {
		HANDSHAKE, "<", ">]]] not json\r\n", "<", NULL,
	};
	struct script s;
	pthread_t th;
	struct qmp *q = scripted(steps, &th, &s);

	REQUIRE(q);
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, NULL), -EPROTO);
	CHECK(!qmp_connected(q));
	finish(q, th, &s);
}

TEST(scripted_timeout)
{
	static const char *const steps[] = { HANDSHAKE, "<", "<", NULL };
	struct script s;
	pthread_t th;
	struct qmp *q = scripted(steps, &th, &s);

	REQUIRE(q);
	CHECK_EQ_INT(qmp_execute(q, "query-status", NULL, NULL), -ETIMEDOUT);
	CHECK_EQ_INT(qmp_pump(q, 10), -ETIMEDOUT);
	shutdown(qmp_fd(q), SHUT_RDWR);
	finish(q, th, &s);
}

TEST(bad_arguments)
{
	errno = 0;
	CHECK(!qmp_connect(NULL, 100) && errno == EINVAL);
	CHECK(!qmp_connect(path_in_dir("nobody.sock"), 100) &&
	      errno == ENOENT);
	CHECK(!qmp_connect("/tmp/x", 0) && errno == EINVAL);
}

/* --- real QEMU ----------------------------------------------------- */

static pid_t start_qemu(const char *sock)
{
	char qmp[160];
	struct timespec t = { 0, 20000000 };
	struct stat st;
	pid_t pid;
	int i;

	unlink(sock);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", sock);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine",
		       "none", "-nodefaults", "-display", "none", "-S", "-qmp",
		       qmp, (char *)NULL);
		_exit(127);
	}
	/* Up to 20 s for the socket: a loaded CI machine is slow. */
	for (i = 0; pid > 0 && i < 1000; i++) {
		if (!stat(sock, &st))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		nanosleep(&t, NULL);
	}
	return -1;
}

static void stop_qemu(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

TEST(qemu_handshake_status_hmp_events)
{
	const char *sock = path_in_dir("qemu.sock");
	pid_t pid = start_qemu(sock);
	struct qmp *q;
	struct qmp_event ev;
	char st[32] = "", out[256] = "";

	CHECK_MSG(pid > 0, "qemu-system-x86_64 did not start (installed?)");
	if (pid <= 0)
		return;
	q = qmp_connect(sock, 30000);
	REQUIRE(q);
	CHECK_EQ_INT(qmp_query_status(q, st, sizeof(st)), 0);
	CHECK(!strcmp(st, "prelaunch"));
	CHECK_EQ_INT(qmp_hmp(q, "info version", out, sizeof(out)), 0);
	CHECK(out[0] >= '1' && out[0] <= '9');
	CHECK_EQ_INT(qmp_execute(q, "no-such-command", NULL, NULL), -EIO);
	CHECK(strstr(qmp_last_error(q), "no-such-command") != NULL);
	CHECK_EQ_INT(qmp_execute(q, "cont", NULL, NULL), 0);
	CHECK_EQ_INT(qmp_wait_event(q, "RESUME", NULL, 30000, &ev), 0);
	CHECK_EQ_INT(ev.type, QMP_EV_RESUME);
	CHECK(ev.ts_us > 0);
	CHECK_EQ_INT(qmp_execute(q, "stop", NULL, NULL), 0);
	CHECK_EQ_INT(qmp_wait_event(q, "STOP", NULL, 30000, &ev), 0);
	CHECK_EQ_INT(ev.type, QMP_EV_STOP);
	qmp_close(q);
	stop_qemu(pid);
}

/* Events are on: a migration to exec: reports setup ... completed. */
TEST(qemu_migration_events)
{
	const char *sock = path_in_dir("qemu.sock");
	pid_t pid = start_qemu(sock);
	struct json_object *args;
	struct qmp *q;
	struct qmp_event ev;
	char st[32] = "";

	CHECK_MSG(pid > 0, "qemu-system-x86_64 did not start");
	if (pid <= 0)
		return;
	q = qmp_connect(sock, 30000);
	REQUIRE(q);
	args = json_object_new_object();
	json_object_object_add(args, "uri",
			       json_object_new_string("exec:cat >/dev/null"));
	CHECK_EQ_INT(qmp_execute(q, "migrate", args, NULL), 0);
	CHECK_EQ_INT(qmp_wait_event(q, "MIGRATION", "setup", 30000, &ev), 0);
	CHECK_EQ_INT(qmp_wait_event(q, "MIGRATION", "completed", 30000, &ev),
		     0);
	CHECK_EQ_INT(qmp_query_migrate(q, st, sizeof(st)), 0);
	CHECK(!strcmp(st, "completed"));
	qmp_close(q);
	stop_qemu(pid);
}

static struct json_object *fdname(const char *name)
{
	struct json_object *args = json_object_new_object();

	json_object_object_add(args, "fdname", json_object_new_string(name));
	return args;
}

/*
 * qmp_execute_fd() passes a descriptor as QEMU's getfd wants it: without
 * one getfd fails; with our file, a migration to fd:NAME writes into it.
 */
TEST(qemu_migration_to_a_passed_descriptor)
{
	const char *sock = path_in_dir("qemu.sock");
	const char *file = path_in_dir("stream");
	pid_t pid = start_qemu(sock);
	struct json_object *args;
	struct qmp *q;
	struct stat st;
	int fd;

	CHECK_MSG(pid > 0, "qemu-system-x86_64 did not start");
	if (pid <= 0)
		return;
	q = qmp_connect(sock, 30000);
	REQUIRE(q);
	CHECK_EQ_INT(qmp_execute(q, "getfd", fdname("m"), NULL), -EIO);
	CHECK(strstr(qmp_last_error(q), "SCM_RIGHTS") != NULL);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	CHECK_EQ_INT(qmp_execute_fd(q, "getfd", fdname("m"), fd, NULL), 0);
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:m"));
	CHECK_EQ_INT(qmp_execute(q, "migrate", args, NULL), 0);
	CHECK_EQ_INT(qmp_wait_event(q, "MIGRATION", "completed", 30000, NULL),
		     0);
	CHECK(!fstat(fd, &st) && st.st_size > 0);
	close(fd);
	qmp_close(q);
	stop_qemu(pid);
}

TEST(qemu_restart_reconnect)
{
	const char *sock = path_in_dir("qemu.sock");
	pid_t pid = start_qemu(sock);
	struct qmp *q;
	char st[32] = "";

	CHECK_MSG(pid > 0, "qemu-system-x86_64 did not start");
	if (pid <= 0)
		return;
	q = qmp_connect(sock, 30000);
	REQUIRE(q);
	stop_qemu(pid);
	CHECK(qmp_query_status(q, st, sizeof(st)) == -ECONNRESET);
	CHECK(qmp_reconnect(q) < 0);
	pid = start_qemu(sock);
	REQUIRE(pid > 0);
	CHECK_EQ_INT(qmp_reconnect(q), 0);
	CHECK_EQ_INT(qmp_query_status(q, st, sizeof(st)), 0);
	CHECK(!strcmp(st, "prelaunch"));
	qmp_close(q);
	stop_qemu(pid);
}
