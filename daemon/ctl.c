// SPDX-License-Identifier: MIT
/*
 * ctl.c - vmclockctl: send one request to vmclockd's control socket and
 * print the reply.
 *
 *	vmclockctl [--socket PATH | --run-dir DIR] COMMAND [GUEST] [key=value...]
 *
 * A bare second word is the guest (migrated-in vm1 = migrated-in
 * guest=vm1); a bare third is the URI of migrate and incoming and the
 * snapshot name of save and restore.  qemu-config runs here, without the
 * daemon.  Exit status: 0 ok, 1 the daemon said error or could not be
 * reached, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu-config.h"

#define DEFAULT_RUN_DIR "/run/vmclock"
#define REPLY_MAX (1 << 22)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmclockctl [--socket PATH | --run-dir DIR] [--timeout SEC] COMMAND [GUEST] [key=value...]\n"
		"\ncommands:\n"
		"  ping\n"
		"  status [GUEST]\n"
		"  add-guest GUEST [offset=N] [scale=N] [frac-bits=N] [notify=PATH]\n"
		"  remove-guest GUEST\n"
		"  migrate-out GUEST state=soon|imminent|clear\n"
		"  migrated-in GUEST\n"
		"  restored GUEST [generation=N]\n"
		"  stopped GUEST\n"
		"  resumed GUEST\n"
		"  set-counter-mapping GUEST offset=N [scale=N] [frac-bits=N]\n"
		"  set-notify GUEST notify=PATH|none\n"
		"QEMU adapter (docs/qemu.md):\n"
		"  qemu-config GUEST [mem=512M] [gpa=ADDR] [irq=N] [mailbox=ADDR] [ram=FILE] [qmp=SOCK] [ssdt=FILE]\n"
		"  add-qemu GUEST qmp=SOCK ram=FILE [gpa=ADDR] [irq=N] [mailbox=ADDR] [incoming=1]\n"
		"  migrate GUEST tcp:HOST:PORT | incoming GUEST tcp:HOST:PORT\n"
		"    (also rdma:HOST:PORT, vsock:CID:PORT; exec:, file:, unix:, fd: are refused)\n"
		"  save GUEST NAME | restore GUEST NAME\n"
		"    (NAME: a file of vmclockd's snapshot-dir, which vmclockd opens for QEMU)\n");
}

static int build_request(int argc, char **argv, int i, char *buf, size_t len)
{
	size_t used = 0;
	int n;

	for (; i < argc; i++) {
		int bare_guest = used && !strchr(argv[i], '=') &&
				 !strstr(buf, " guest=");
		int bare_arg = used && !bare_guest && strstr(buf, " guest=") &&
			       !strchr(argv[i], '=') && !strchr(argv[i], ' ');
		const char *key = "";

		/* migrate GUEST tcp:HOST:PORT, save GUEST NAME, ... */
		if (bare_arg && (!strncmp(buf, "migrate ", 8) ||
				 !strncmp(buf, "incoming ", 9)))
			key = "uri=";
		else if (bare_arg && (!strncmp(buf, "save ", 5) ||
				      !strncmp(buf, "restore ", 8)))
			key = "file=";

		if (strchr(argv[i], '\n')) {
			fprintf(stderr, "vmclockctl: newline in argument\n");
			return -EINVAL;
		}
		n = snprintf(buf + used, len - used, "%s%s%s%s", used ? " " : "",
			     bare_guest ? "guest=" : "", key, argv[i]);
		if (n < 0 || (size_t)n >= len - used) {
			fprintf(stderr, "vmclockctl: request too long\n");
			return -EINVAL;
		}
		used += (size_t)n;
	}
	return 0;
}

static int connect_to(const char *path, int timeout)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = timeout };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vmclockctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Kernel-side timeouts: vmclockctl never hangs on a stuck daemon. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "vmclockctl: %s: %s (is vmclockd running?)\n",
			path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int exchange(int fd, const char *req)
{
	size_t len = strlen(req), got = 0;
	char *reply = malloc(REPLY_MAX);
	int ok;

	if (!reply || send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "vmclockctl: send: %s\n", strerror(errno));
		free(reply);
		return 1;
	}
	while (got < REPLY_MAX - 1 && !memchr(reply, '\n', got)) {
		ssize_t n = recv(fd, reply + got, REPLY_MAX - 1 - got, 0);

		if (n <= 0) {
			fprintf(stderr, "vmclockctl: no reply: %s\n",
				n ? strerror(errno) : "connection closed");
			free(reply);
			return 1;
		}
		got += (size_t)n;
	}
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	ok = !strncmp(reply, "ok", 2) && (reply[2] == '\0' || reply[2] == ' ');
	if (ok)
		printf("%s\n", reply[2] ? reply + 3 : "ok");
	else
		fprintf(stderr, "vmclockctl: %s\n",
			strncmp(reply, "error ", 6) ? reply : reply + 6);
	free(reply);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *dir = DEFAULT_RUN_DIR;
	char path[512], req[1024];
	int i = 1, timeout = 10, fd, ret;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--socket"))
			sock = argv[++i];
		else if (!strcmp(argv[i], "--run-dir"))
			dir = argv[++i];
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atoi(argv[++i]);
		else
			break;
	}
	if (i >= argc || !strncmp(argv[i], "-", 1) || timeout <= 0) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "qemu-config"))
		return qemu_config_main(argc - i, argv + i, stdout, stderr);
	snprintf(path, sizeof(path), "%s/control", dir);
	if (build_request(argc, argv, i, req, sizeof(req)))
		return 2;
	fd = connect_to(sock ? sock : path, timeout);
	if (fd < 0)
		return 1;
	ret = exchange(fd, req);
	close(fd);
	return ret;
}
