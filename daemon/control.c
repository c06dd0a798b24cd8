// SPDX-License-Identifier: MIT
/*
 * control.c - the control protocol (parse, check, dispatch) and the unix
 * socket that carries it.  Each command names the keys it takes; the
 * operations themselves are the daemon's (daemon.h) or the guest's
 * (guest.h).  A client gets one reply line per request line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "qemu-guest.h"
#include "sched.h"

/*
 * Weak here only: vmclockd links the QEMU adapter (main.c needs it), the
 * control tests and fuzzers do not, and so need no json-c.
 */
#pragma weak qemu_guest_add
#pragma weak qemu_guest_command

#define CONTROL_CLIENTS 16

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int parse_token(const char *tok, size_t len, struct control_request *req,
		       char *err, size_t errlen)
{
	const char *eq = memchr(tok, '=', len);
	struct control_arg *a;
	size_t k, i;

	if (!eq || eq == tok || eq == tok + len - 1) {
		snprintf(err, errlen, "expected key=value, got \"%.*s\"",
			 (int)(len > 40 ? 40 : len), tok);
		return -EINVAL;
	}
	k = (size_t)(eq - tok);
	for (i = 0; i < k; i++)
		if (!key_char(tok[i]) || k >= sizeof(a->key)) {
			snprintf(err, errlen, "bad key \"%.*s\"", (int)(k > 31 ? 31 : k), tok);
			return -EINVAL;
		}
	if (req->nargs == CONTROL_ARGS_MAX) {
		snprintf(err, errlen, "too many arguments");
		return -EINVAL;
	}
	a = &req->args[req->nargs];
	memcpy(a->key, tok, k);
	a->key[k] = '\0';
	if (control_arg(req, a->key)) {
		snprintf(err, errlen, "%s given twice", a->key);
		return -EINVAL;
	}
	memcpy(a->val, eq + 1, len - k - 1);
	a->val[len - k - 1] = '\0';
	req->nargs++;
	return 0;
}

static int parse_cmd(const char *tok, size_t len, struct control_request *req,
		     char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!key_char(tok[i]) || len >= sizeof(req->cmd)) {
			snprintf(err, errlen, "bad command \"%.*s\"",
				 (int)(len > 31 ? 31 : len), tok);
			return -EINVAL;
		}
	memcpy(req->cmd, tok, len);
	req->cmd[len] = '\0';
	return 0;
}

int control_parse(const char *line, struct control_request *req, char *err,
		  size_t errlen)
{
	size_t n = strlen(line), i;
	const char *p = line;

	memset(req, 0, sizeof(*req));
	if (n >= CONTROL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes",
			 CONTROL_LINE_MAX - 1);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) {
			snprintf(err, errlen, "byte 0x%02x at %zu: only printable ASCII",
				 (unsigned char)line[i], i);
			return -EINVAL;
		}
	while (*p) {
		size_t len;
		int ret;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (!len)
			break;
		ret = req->cmd[0] ? parse_token(p, len, req, err, errlen) :
				    parse_cmd(p, len, req, err, errlen);
		if (ret)
			return ret;
		p += len;
	}
	if (!req->cmd[0]) {
		snprintf(err, errlen, "empty request");
		return -EINVAL;
	}
	return 0;
}

const char *control_arg(const struct control_request *req, const char *key)
{
	unsigned int i;

	for (i = 0; i < req->nargs; i++)
		if (!strcmp(req->args[i].key, key))
			return req->args[i].val;
	return NULL;
}

static int strict_u64(const char *s, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			base == 16 && *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
			base == 16 && *s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;

		if (d < 0 || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = v;
	return 0;
}

int control_get_u64(const struct control_request *req, const char *key,
		    uint64_t def, uint64_t *out, char *err, size_t errlen)
{
	const char *v = control_arg(req, key);
	int neg = 0;

	*out = def;
	if (!v)
		return 0;
	/* Only an offset may be negative: it is added modulo 2^64. */
	if (v[0] == '-' && !strcmp(key, "offset")) {
		neg = 1;
		v++;
	}
	if (strict_u64(v, out) || (neg && *out > (uint64_t)INT64_MAX + 1)) {
		snprintf(err, errlen, "%s: \"%s\" is not a valid number", key,
			 control_arg(req, key));
		return -EINVAL;
	}
	if (neg)
		*out = 0 - *out;
	return 0;
}

void control_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The commands: name, keys it needs, keys it may take. */
enum cmd_id { C_PING, C_STATUS, C_ADD, C_REMOVE, C_MIGRATE_OUT, C_MIGRATED_IN,
	      C_RESTORED, C_STOPPED, C_RESUMED, C_MAPPING, C_NOTIFY,
	      C_ADD_QEMU, C_QEMU };

static const struct {
	const char *name;
	enum cmd_id id;
	const char *need;
	const char *may;
} commands[] = {
	{ "ping", C_PING, "", "" },
	{ "status", C_STATUS, "", "guest" },
	{ "add-guest", C_ADD, "guest", "offset scale frac-bits notify" },
	{ "remove-guest", C_REMOVE, "guest", "" },
	{ "migrate-out", C_MIGRATE_OUT, "guest state", "" },
	{ "migrated-in", C_MIGRATED_IN, "guest", "" },
	{ "restored", C_RESTORED, "guest", "generation" },
	{ "stopped", C_STOPPED, "guest", "" },
	{ "resumed", C_RESUMED, "guest", "" },
	{ "set-counter-mapping", C_MAPPING, "guest offset", "scale frac-bits" },
	{ "set-notify", C_NOTIFY, "guest notify", "" },
	/* The QEMU adapter (qemu-guest.c). */
	{ "add-qemu", C_ADD_QEMU, "guest qmp ram", "gpa irq mailbox incoming" },
	{ "migrate", C_QEMU, "guest uri", "" },
	{ "incoming", C_QEMU, "guest uri", "" },
	{ "save", C_QEMU, "guest file", "" },
	{ "restore", C_QEMU, "guest file", "" },
};

/* Is @key a word of the blank-separated @list? */
static int in_list(const char *list, const char *key)
{
	size_t n = strlen(key);

	while (*list) {
		size_t len = strcspn(list, " ");

		if (len == n && !strncmp(list, key, n))
			return 1;
		list += len + (list[len] == ' ');
	}
	return 0;
}

static int check_keys(const struct control_request *req, int c, char *err,
		      size_t errlen)
{
	const char *need = commands[c].need;
	unsigned int i;

	for (i = 0; i < req->nargs; i++)
		if (!in_list(need, req->args[i].key) &&
		    !in_list(commands[c].may, req->args[i].key)) {
			snprintf(err, errlen, "%s takes no key \"%s\"",
				 req->cmd, req->args[i].key);
			return -EINVAL;
		}
	while (*need) {
		size_t len = strcspn(need, " ");
		char key[32];

		snprintf(key, sizeof(key), "%.*s", (int)len, need);
		if (!control_arg(req, key)) {
			snprintf(err, errlen, "%s needs %s=", req->cmd, key);
			return -EINVAL;
		}
		need += len + (need[len] == ' ');
	}
	return 0;
}

static int get_mapping(const struct control_request *req,
		       struct guest_mapping *m, char *err, size_t errlen)
{
	uint64_t bits;

	guest_mapping_identity(m);
	if (control_get_u64(req, "frac-bits", 48, &bits, err, errlen) ||
	    control_get_u64(req, "offset", 0, &m->offset, err, errlen))
		return -EINVAL;
	if (bits > 63) {
		snprintf(err, errlen, "frac-bits: %llu is over 63",
			 (unsigned long long)bits);
		return -EINVAL;
	}
	m->frac_bits = (unsigned int)bits;
	if (control_get_u64(req, "scale", 1ull << bits, &m->scale, err, errlen))
		return -EINVAL;
	if (!m->scale) {
		snprintf(err, errlen, "scale: must not be 0");
		return -EINVAL;
	}
	return 0;
}

static int notify_ok(const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "none") || (v[0] == '/' && !access(v, X_OK)))
		return 0;
	snprintf(err, errlen, "notify: \"%s\" is not an absolute path to an "
		 "executable, or none", v);
	return -EINVAL;
}

static int run_guest_cmd(struct daemon *d, struct guest *g, enum cmd_id id,
			 const struct control_request *req, char *err,
			 size_t errlen)
{
	struct guest_mapping m;
	uint64_t gen;
	const char *v;

	switch (id) {
	case C_MIGRATE_OUT:
		v = control_arg(req, "state");
		if (guest_migrate_out(g, v)) {
			snprintf(err, errlen, "state: \"%s\" is not soon, imminent or clear", v);
			return -EINVAL;
		}
		return 0;
	case C_MIGRATED_IN:
		guest_migrated_in(g);
		break;
	case C_RESTORED:
		if (control_get_u64(req, "generation", 0, &gen, err, errlen))
			return -EINVAL;
		guest_restored(g, gen);
		break;
	case C_STOPPED:
		guest_stop(g);
		return 0;
	case C_RESUMED:
		guest_resume(g);
		break;
	case C_MAPPING:
		if (get_mapping(req, &m, err, errlen))
			return -EINVAL;
		if (guest_set_mapping(g, &m)) {
			snprintf(err, errlen, "this mapping gives a counter period the page cannot hold");
			return -ERANGE;
		}
		break;
	case C_NOTIFY:
		v = control_arg(req, "notify");
		if (notify_ok(v, err, errlen))
			return -EINVAL;
		guest_set_notify(g, strcmp(v, "none") ? v : "");
		return 0;
	case C_QEMU:
		if (!qemu_guest_command)
			return -ENOTSUP;
		return qemu_guest_command(d, g, req, err, errlen);
	default:
		return -EINVAL;
	}
	/* A new host calibration for the guest, now. */
	daemon_update(d);
	return 0;
}

static int run_cmd(struct daemon *d, enum cmd_id id,
		   const struct control_request *req, FILE *json, char *err,
		   size_t errlen)
{
	const char *name = control_arg(req, "guest");
	struct guest_mapping m;
	const char *notify;
	struct guest *g;

	switch (id) {
	case C_PING:
		return 0;
	case C_STATUS:
		return daemon_status(d, name, json, err, errlen);
	case C_ADD:
		notify = control_arg(req, "notify");
		if (get_mapping(req, &m, err, errlen) ||
		    (notify && notify_ok(notify, err, errlen)))
			return -EINVAL;
		return daemon_add_guest(d, name, &m,
					notify && strcmp(notify, "none") ?
					notify : "", err, errlen);
	case C_REMOVE:
		return daemon_remove_guest(d, name, err, errlen);
	case C_ADD_QEMU:
		if (!qemu_guest_add)
			return -ENOTSUP;
		return qemu_guest_add(d, req, json, err, errlen);
	default:
		break;
	}
	g = daemon_find_guest(d, name);
	if (!g) {
		snprintf(err, errlen, "no guest \"%s\"", name);
		return -ENOENT;
	}
	/* An add-qemu guest whose QEMU has not confirmed its RAM file yet. */
	if (!g->w) {
		snprintf(err, errlen, "guest \"%s\" has no page yet: vmclockctl status %s says why",
			 name, name);
		return -EAGAIN;
	}
	return run_guest_cmd(d, g, id, req, err, errlen);
}

void control_dispatch(void *daemon, const struct control_request *req,
		      FILE *out)
{
	char err[512] = "", *json = NULL;
	size_t i, jlen = 0;
	FILE *jf;
	int ret = -EINVAL;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, req->cmd))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(out, "error unknown command \"%s\"", req->cmd);
		return;
	}
	jf = open_memstream(&json, &jlen);
	if (!jf) {
		fprintf(out, "error out of memory");
		return;
	}
	if (!check_keys(req, (int)i, err, sizeof(err)))
		ret = run_cmd(daemon, commands[i].id, req, jf, err, sizeof(err));
	fclose(jf);
	if (ret)
		fprintf(out, "error %s", err[0] ? err : strerror(-ret));
	else
		fprintf(out, jlen ? "ok %s" : "ok", json);
	free(json);
}

void control_handle_line(void *daemon, const char *line, FILE *out)
{
	struct control_request req;
	char err[256];

	if (control_parse(line, &req, err, sizeof(err))) {
		fprintf(out, "error %s", err);
		return;
	}
	control_dispatch(daemon, &req, out);
}

struct client {
	int fd;
	uint64_t active;
	char in[CONTROL_LINE_MAX + 1];
	size_t inlen;
	int discarding;
	char *out;
	size_t outlen;
	size_t outoff;
};

static struct client clients[CONTROL_CLIENTS];
/* Counts client activity: the lowest ->active is the longest idle. */
static uint64_t activity;
static int listen_fd = -1;
static char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void client_close(struct client *c)
{
	sched_remove_fd(c->fd);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void client_flush(struct client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->outlen) {
		free(c->out);
		c->out = NULL;
		c->outlen = c->outoff = 0;
	}
	sched_set_events(c->fd, c->out ? POLLIN | POLLOUT : POLLIN);
}

static void client_reply(void *daemon, struct client *c, const char *line)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	if (c->discarding)
		fprintf(f, "error request longer than %d bytes", CONTROL_LINE_MAX - 1);
	else
		control_handle_line(daemon, line, f);
	fputc('\n', f);
	fclose(f);
	c->out = realloc(c->out, c->outlen + len);
	if (c->out) {
		memcpy(c->out + c->outlen, buf, len);
		c->outlen += len;
	}
	free(buf);
}

static void client_lines(void *daemon, struct client *c)
{
	char *nl;

	while ((nl = memchr(c->in, '\n', c->inlen))) {
		size_t used = (size_t)(nl - c->in) + 1;

		*nl = '\0';
		if (nl > c->in && nl[-1] == '\r')
			nl[-1] = '\0';
		client_reply(daemon, c, c->in);
		c->discarding = 0;
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	if (c->inlen == sizeof(c->in) - 1) {
		/* Too long: answer once, drop up to the next newline. */
		if (!c->discarding)
			log_info("control: request too long");
		c->discarding = 1;
		c->inlen = 0;
	}
}

static void on_client(void *daemon, int fd, short revents)
{
	struct client *c = NULL;
	ssize_t n;
	int i;

	for (i = 0; i < CONTROL_CLIENTS; i++)
		if (clients[i].fd == fd)
			c = &clients[i];
	if (!c)
		return;
	if (revents & POLLOUT)
		client_flush(c);
	if (c->fd < 0 || !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = recv(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen,
		 MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->inlen += (size_t)n;
	c->active = ++activity;
	client_lines(daemon, c);
	client_flush(c);
}

/*
 * A free slot, or the longest idle client's: clients that connect and
 * never finish a request cannot lock management out.
 */
static int take_slot(void)
{
	static const char bye[] = "error dropped: idle while the control socket was full\n";
	int i, idle = 0;

	for (i = 0; i < CONTROL_CLIENTS; i++) {
		if (clients[i].fd < 0)
			return i;
		if (clients[i].active < clients[idle].active)
			idle = i;
	}
	log_info("control: %d clients: dropping the longest idle",
		 CONTROL_CLIENTS);
	if (send(clients[idle].fd, bye, sizeof(bye) - 1,
		 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: %s", strerror(errno));
	client_close(&clients[idle]);
	return idle;
}

static void on_listen(void *daemon, int fd, short revents)
{
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), i;

	(void)revents;
	if (cfd < 0)
		return;
	i = take_slot();
	clients[i].fd = cfd;
	clients[i].active = ++activity;
	if (sched_add_fd(cfd, POLLIN, on_client, daemon))
		client_close(&clients[i]);
}

int control_listen(const char *path, unsigned int mode, int gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, i;

	for (i = 0; i < CONTROL_CLIENTS; i++)
		clients[i].fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, mode) || (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid)) ||
	    listen(fd, 16)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	listen_fd = fd;
	snprintf(listen_path, sizeof(listen_path), "%s", path);
	return fd;
}

int control_serve(void *daemon, int fd)
{
	return sched_add_fd(fd, POLLIN, on_listen, daemon);
}

void control_close(void)
{
	int i;

	for (i = 0; i < CONTROL_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(listen_path);
	}
	listen_fd = -1;
}
