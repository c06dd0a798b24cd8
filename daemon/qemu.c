// SPDX-License-Identifier: MIT
/*
 * qemu.c - the QEMU adapter's mechanisms (see qemu.h): the page in guest
 * RAM, the doorbell, the mailbox handshake, migration commands and the
 * event tracker.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qemu.h"

#define PAGE 4096ull

static int gpa_ok(uint64_t gpa, uint64_t file_size)
{
	if (gpa & (PAGE - 1))
		return -EINVAL;
	if (gpa > QEMU_LOWMEM_SAFE - PAGE || gpa + PAGE > file_size)
		return -ERANGE;
	return 0;
}

int qemu_gpa_ok(uint64_t gpa, uint64_t size)
{
	return gpa_ok(gpa, size);
}

static void *map_at(int fd, uint64_t gpa)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)gpa);

	return p == MAP_FAILED ? NULL : p;
}

/* Map the page (and mailbox) of the open RAM file r->fd. */
static int map_pages(struct qemu_ram *r, uint64_t gpa, uint64_t mbox_gpa)
{
	struct stat st;
	int ret;

	ret = fstat(r->fd, &st) ? -errno : gpa_ok(gpa, (uint64_t)st.st_size);
	if (!ret && mbox_gpa)
		ret = mbox_gpa == gpa ? -EINVAL :
		      gpa_ok(mbox_gpa, (uint64_t)st.st_size);
	if (!ret) {
		r->dev = (uint64_t)st.st_dev;
		r->ino = (uint64_t)st.st_ino;
	}
	if (!ret && !(r->page = map_at(r->fd, gpa)))
		ret = -errno;
	if (!ret && mbox_gpa) {
		void *m = map_at(r->fd, mbox_gpa);

		if (!m)
			ret = -errno;
		else
			r->mbox = (volatile struct vmclock_mbox *)
				  ((char *)m + VMCLOCK_MBOX_OFFSET);
	}
	if (ret)
		qemu_ram_unmap(r);
	return ret;
}

int qemu_ram_map(struct qemu_ram *r, const char *path, uint64_t gpa,
		 uint64_t mbox_gpa)
{
	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	return map_pages(r, gpa, mbox_gpa);
}

void qemu_ram_unmap(struct qemu_ram *r)
{
	if (r->page)
		munmap(r->page, PAGE);
	if (r->mbox)
		munmap((char *)r->mbox - VMCLOCK_MBOX_OFFSET, PAGE);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* --- which file is the guest's RAM: QEMU says, we check ---------- */

/* qom-get @path @prop: 0 with *@v (a reference), or -errno. */
static int qom_get(struct qmp *q, const char *path, const char *prop,
		   struct json_object **v)
{
	struct json_object *args = json_object_new_object();

	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "property", json_object_new_string(prop));
	*v = NULL;
	return qmp_execute(q, "qom-get", args, v);
}

static int qom_string(struct qmp *q, const char *path, const char *prop,
		      char *out, size_t len)
{
	struct json_object *v;
	int ret = qom_get(q, path, prop, &v);

	if (!ret && !json_object_is_type(v, json_type_string))
		ret = -EPROTO;
	if (!ret && (size_t)snprintf(out, len, "%s", json_object_get_string(v)) >= len)
		ret = -ENAMETOOLONG;
	json_object_put(v);
	return ret;
}

/* The QOM path of the machine's memory-backend. */
static int backend_path(struct qmp *q, struct qemu_backend *b, char *err,
			size_t errlen)
{
	char id[sizeof(b->qom_path)];
	int ret = qom_string(q, "/machine", "memory-backend", id, sizeof(id));

	if (ret == -EIO || (!ret && !id[0])) {
		snprintf(err, errlen, "QEMU's machine has no memory-backend: start QEMU with -M pc,memory-backend=ID -object memory-backend-file,id=ID,mem-path=FILE,share=on (vmclockctl qemu-config prints them)");
		return -ENOENT;
	}
	if (ret) {
		snprintf(err, errlen, "QMP qom-get /machine memory-backend: %s",
			 strerror(-ret));
		return ret;
	}
	if (id[0] == '/')
		snprintf(b->qom_path, sizeof(b->qom_path), "%s", id);
	else if ((size_t)snprintf(b->qom_path, sizeof(b->qom_path),
				  "/objects/%s", id) >= sizeof(b->qom_path))
		return -ENAMETOOLONG;
	return 0;
}

int qemu_ram_backend(struct qmp *q, struct qemu_backend *b, char *err,
		     size_t errlen)
{
	struct json_object *v = NULL;
	char type[64];
	int64_t size = -1;
	int ret;

	memset(b, 0, sizeof(*b));
	ret = backend_path(q, b, err, errlen);
	if (ret)
		return ret;
	ret = qom_string(q, b->qom_path, "type", type, sizeof(type));
	if (!ret && strcmp(type, "memory-backend-file")) {
		snprintf(err, errlen, "QEMU's guest RAM %s is a %s, not a memory-backend-file: vmclockd writes the page into the RAM's file",
			 b->qom_path, type);
		return -EINVAL;
	}
	if (!ret)
		ret = qom_string(q, b->qom_path, "mem-path", b->mem_path,
				 sizeof(b->mem_path));
	if (!ret && !(ret = qom_get(q, b->qom_path, "share", &v)))
		b->share = json_object_get_boolean(v);
	json_object_put(v);
	if (!ret && !(ret = qom_get(q, b->qom_path, "size", &v)))
		size = json_object_get_int64(v);
	json_object_put(v);
	if (ret) {
		snprintf(err, errlen, "QMP qom-get %s: %s", b->qom_path,
			 ret == -EIO ? qmp_last_error(q) : strerror(-ret));
		return ret;
	}
	if (size <= 0) {
		snprintf(err, errlen, "QEMU's guest RAM %s has no size", b->qom_path);
		return -EPROTO;
	}
	b->size = (uint64_t)size;
	return 0;
}

/* Could a process with @uid/@gid write a file of @st, by its mode? */
static int peer_may_write(const struct stat *st, uint32_t uid, uint32_t gid)
{
	return uid == 0 || st->st_uid == uid ||
	       ((st->st_mode & S_IWGRP) && st->st_gid == gid) ||
	       (st->st_mode & S_IWOTH);
}

/* The checks on the file itself, opened O_PATH as @fd. */
static int check_file(int fd, const char *path, const struct qemu_backend *b,
		      uint32_t uid, uint32_t gid, char *err, size_t errlen)
{
	struct stat st, qs;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ram=%s is %s: give the RAM file itself (QEMU's mem-path is %s)",
			 path, S_ISLNK(st.st_mode) ? "a symbolic link" :
			 "not a regular file", b->mem_path);
		return S_ISLNK(st.st_mode) ? -ELOOP : -EINVAL;
	}
	if (stat(b->mem_path, &qs)) {
		int ret = -errno;

		snprintf(err, errlen, "QEMU's mem-path %s: %s (vmclockd must see the file QEMU maps)",
			 b->mem_path, strerror(-ret));
		return ret;
	}
	if (S_ISDIR(qs.st_mode)) {
		snprintf(err, errlen, "QEMU's mem-path %s is a directory: the RAM file QEMU makes there is unlinked; give mem-path a file",
			 b->mem_path);
		return -EISDIR;
	}
	if (st.st_dev != qs.st_dev || st.st_ino != qs.st_ino) {
		snprintf(err, errlen, "ram=%s is not the RAM file of this QEMU (its mem-path is %s)",
			 path, b->mem_path);
		return -EINVAL;
	}
	if (!peer_may_write(&st, uid, gid)) {
		snprintf(err, errlen, "ram=%s belongs to uid %u (mode %04o); the QEMU on this QMP socket runs as uid %u and could not write it: refusing",
			 path, (unsigned int)st.st_uid,
			 (unsigned int)(st.st_mode & 07777), (unsigned int)uid);
		return -EPERM;
	}
	return 0;
}

/* The addresses against QEMU's RAM size (the file is map_pages()'). */
static int check_gpas(const char *path, const struct qemu_backend *b,
		      uint64_t gpa, uint64_t mbox_gpa, char *err,
		      size_t errlen)
{
	int ret = gpa_ok(gpa, b->size);

	if (!ret && mbox_gpa)
		ret = mbox_gpa == gpa ? -EINVAL : gpa_ok(mbox_gpa, b->size);
	if (ret)
		snprintf(err, errlen, "%s: page at 0x%llx%s: %s", path,
			 (unsigned long long)gpa, mbox_gpa ? " or mailbox" : "",
			 ret == -ERANGE ? "outside QEMU's guest RAM or above 2 GiB" :
			 "not page-aligned, or the mailbox is the page");
	return ret;
}

/* Open for writing the inode checked as @fd (O_PATH): through /proc. */
static int reopen_rw(int fd, const char *path, char *err, size_t errlen)
{
	char self[32];
	struct stat a, c;
	int rw, ret;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	rw = open(self, O_RDWR | O_CLOEXEC);
	if (rw < 0) {
		ret = -errno;
		snprintf(err, errlen, "ram=%s: reopening it for writing: %s",
			 path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &a) || fstat(rw, &c) || a.st_dev != c.st_dev ||
	    a.st_ino != c.st_ino) {
		close(rw);
		snprintf(err, errlen, "ram=%s changed while it was opened", path);
		return -EAGAIN;
	}
	return rw;
}

int qemu_ram_open(struct qemu_ram *r, const char *path,
		  const struct qemu_backend *b, uint32_t uid, uint32_t gid,
		  uint64_t gpa, uint64_t mbox_gpa, char *err, size_t errlen)
{
	int fd, ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (path[0] != '/' || b->mem_path[0] != '/') {
		snprintf(err, errlen, "%s is not an absolute path: give ram= and QEMU's mem-path as absolute paths",
			 path[0] != '/' ? path : b->mem_path);
		return -EINVAL;
	}
	if (!b->share) {
		snprintf(err, errlen, "QEMU's guest RAM (%s) has share=off: its pages are private to QEMU and a page written into the file never reaches the guest; add share=on",
			 b->mem_path);
		return -EINVAL;
	}
	ret = check_gpas(path, b, gpa, mbox_gpa, err, errlen);
	if (ret)
		return ret;
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "ram=%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = check_file(fd, path, b, uid, gid, err, errlen);
	if (!ret && (ret = reopen_rw(fd, path, err, errlen)) >= 0) {
		r->fd = ret;
		ret = 0;
	}
	close(fd);
	/* map_pages() cleans up after itself. */
	if (!ret && (ret = map_pages(r, gpa, mbox_gpa)))
		snprintf(err, errlen, "ram=%s at 0x%llx: %s", path,
			 (unsigned long long)gpa, ret == -ERANGE ?
			 "outside the file or above 2 GiB" : strerror(-ret));
	return ret;
}

int qemu_doorbell(struct qmp *q, uint32_t irq)
{
	char line[32];
	int ret;

	if (irq < 1 || irq > 15)
		return -EINVAL;
	snprintf(line, sizeof(line), "o /b 0x%x 1", 0x2000 + irq);
	ret = qmp_hmp(q, line, NULL, 0);
	snprintf(line, sizeof(line), "o /b 0x%x 0", 0x2000 + irq);
	return ret ? ret : qmp_hmp(q, line, NULL, 0);
}

/* --- the mailbox handshake --------------------------------------- */

#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

void qemu_mbox_init(volatile struct vmclock_mbox *m)
{
	uint64_t n = LOAD(m->req);

	/* Keep the numbers of a mailbox we used before (a restart). */
	if (m->magic != VMCLOCK_MBOX_MAGIC || m->version != 1) {
		n = 0;
		STORE(m->req, n);
		STORE(m->probe, 0);
	}
	STORE(m->done, n);
	m->version = 1;
	STORE(m->magic, VMCLOCK_MBOX_MAGIC);
}

uint64_t qemu_mbox_request(volatile struct vmclock_mbox *m)
{
	uint64_t n = LOAD(m->req) + 1;

	STORE(m->req, n);
	return n;
}

int qemu_mbox_ready(volatile struct vmclock_mbox *m, uint64_t n)
{
	return LOAD(m->ready) == n;
}

/* One probe: 0 with the answer bracketed by *t0 and *t1, or -ETIMEDOUT. */
static int probe(volatile struct vmclock_mbox *m, const struct qemu_clock *clk,
		 uint64_t deadline, uint64_t *t0, uint64_t *t1, uint64_t *g)
{
	uint64_t k = LOAD(m->probe) + 1;
	unsigned int spins = 0;

	*t0 = clk->counter(clk->ctx);
	STORE(m->probe, k);
	while (LOAD(m->ack) != k) {
		/* The clock call is slow: look at it now and then. */
		if (!(++spins & 1023) && clk->mono_ns(clk->ctx) > deadline)
			return -ETIMEDOUT;
	}
	*t1 = clk->counter(clk->ctx);
	*g = LOAD(m->tsc);
	return 0;
}

int qemu_mbox_burst(volatile struct vmclock_mbox *m,
		    const struct qemu_clock *clk, uint64_t n,
		    unsigned int probes, uint64_t probe_timeout_ns,
		    struct qemu_offset *out)
{
	uint64_t t0, t1, g, best = UINT64_MAX;
	unsigned int i;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < probes; i++) {
		ret = probe(m, clk, clk->mono_ns(clk->ctx) + probe_timeout_ns,
			    &t0, &t1, &g);
		if (ret)
			break;
		out->probes++;
		if (t1 - t0 < best) {
			best = t1 - t0;
			out->host = t0 + best / 2;
			out->offset = (int64_t)(g - out->host);
			out->window = best;
		}
	}
	STORE(m->done, n);
	return out->probes ? 0 : ret ? ret : -EINVAL;
}

int qemu_mbox_measure(volatile struct vmclock_mbox *m,
		      const struct qemu_clock *clk, unsigned int probes,
		      uint64_t timeout_ns, struct qemu_offset *out)
{
	uint64_t deadline = clk->mono_ns(clk->ctx) + timeout_ns;
	uint64_t n = qemu_mbox_request(m);

	while (!qemu_mbox_ready(m, n)) {
		if (clk->mono_ns(clk->ctx) > deadline) {
			STORE(m->done, n);
			return -ETIMEDOUT;
		}
		sched_yield();
	}
	return qemu_mbox_burst(m, clk, n, probes, 50000000, out);
}

/* --- URIs and commands -------------------------------------------- */

enum qemu_incoming qemu_uri_kind(const char *uri)
{
	static const char *const live[] = { "tcp:", "unix:", "fd:", "rdma:",
					    "vsock:" };
	unsigned int i;

	if (!strncmp(uri, "exec:", 5) || !strncmp(uri, "file:", 5))
		return QEMU_IN_RESTORE;
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (!strncmp(uri, live[i], strlen(live[i])))
			return QEMU_IN_MIGRATION;
	return QEMU_IN_NONE;
}

/* @prefix + FILE in single quotes, ' as '\''. */
static int quoted_uri(const char *prefix, const char *file, char *buf,
		      size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "%s'", prefix);
	const char *c;

	for (c = file; *c && o + 5 < len; c++) {
		if (*c == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *c;
		}
	}
	if (*c || o + 2 > len || !*file)
		return *file ? -ENAMETOOLONG : -EINVAL;
	buf[o++] = '\'';
	buf[o] = 0;
	return 0;
}

int qemu_save_uri(const char *file, char *buf, size_t len)
{
	return quoted_uri("exec:cat > ", file, buf, len);
}

int qemu_restore_uri(const char *file, char *buf, size_t len)
{
	return quoted_uri("exec:cat ", file, buf, len);
}

static int with_uri(struct qmp *q, const char *cmd, const char *uri)
{
	struct json_object *args = json_object_new_object();

	json_object_object_add(args, "uri", json_object_new_string(uri));
	return qmp_execute(q, cmd, args, NULL);
}

/* HOST:PORT (HOST may be empty, a name, an IPv4 or a [v6] address). */
static int host_port_ok(const char *a)
{
	const char *colon = strrchr(a, ':'), *c;
	unsigned long port;
	char *end;

	if (!colon || !colon[1])
		return 0;
	for (c = a; c < colon; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_:[]", *c))
			return 0;
	if (!isdigit((unsigned char)colon[1]))
		return 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	return !errno && !*end && port >= 1 && port <= 65535;
}

int qemu_net_uri_ok(const char *uri, char *err, size_t errlen)
{
	static const char *const net[] = { "tcp:", "rdma:", "vsock:" };
	unsigned int i;

	for (i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if (!strncmp(uri, net[i], strlen(net[i])) &&
		    host_port_ok(uri + strlen(net[i])))
			return 0;
	if (!strncmp(uri, "exec:", 5)) {
		snprintf(err, errlen, "uri=exec: is refused (QEMU would run it as its user); use save GUEST NAME or restore GUEST NAME");
		return -EPERM;
	}
	if (!strncmp(uri, "file:", 5) || !strncmp(uri, "unix:", 5) ||
	    !strncmp(uri, "fd:", 3)) {
		snprintf(err, errlen, "uri=%.40s is refused: QEMU would act on that %s as its user; migrate over tcp:HOST:PORT (tcp:127.0.0.1:PORT on one host), and use save GUEST NAME or restore GUEST NAME for snapshot files",
			 uri, uri[0] == 'f' && uri[1] == 'd' ? "descriptor" :
			      uri[0] == 'u' ? "socket path" : "file");
		return -EPERM;
	}
	snprintf(err, errlen, "uri=%.40s: give tcp:HOST:PORT (or rdma:HOST:PORT, vsock:CID:PORT)",
		 uri);
	return -EINVAL;
}

/*
 * getfd hands QEMU our descriptor under this name; an fd: URI names it.
 * (A second getfd of one name replaces the first in QEMU.)
 */
#define MIGRATION_FD "vmclock-migration"

int qemu_migrate_fd(struct qmp *q, int fd, int incoming, char *err,
		    size_t errlen)
{
	struct json_object *args = json_object_new_object();
	int ret;

	json_object_object_add(args, "fdname",
			       json_object_new_string(MIGRATION_FD));
	ret = qmp_execute_fd(q, "getfd", args, fd, NULL);
	if (!ret)
		ret = with_uri(q, incoming ? "migrate-incoming" : "migrate",
			       "fd:" MIGRATION_FD);
	if (ret == -EIO)
		snprintf(err, errlen, "QEMU: %s", qmp_last_error(q));
	else if (ret)
		snprintf(err, errlen, "QMP: %s", strerror(-ret));
	if (ret == -EIO) {
		/* QEMU may still hold it (a refused migrate): let it go. */
		args = json_object_new_object();
		json_object_object_add(args, "fdname",
				       json_object_new_string(MIGRATION_FD));
		qmp_execute(q, "closefd", args, NULL);
	}
	return ret;
}

/* --- snapshot files ------------------------------------------------ */

/* @p without repeated and trailing slashes, into @out. */
static void squeeze(const char *p, size_t n, char *out, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < n && p[i] && o + 1 < len; i++)
		if (p[i] != '/' || !o || out[o - 1] != '/')
			out[o++] = p[i];
	while (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
}

static int name_ok(const char *n)
{
	size_t len = strlen(n), i;

	if (!len || len > QEMU_SNAPSHOT_NAME_MAX || n[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && !strchr("._+-", n[i]))
			return 0;
	return 1;
}

const char *qemu_snapshot_name(const char *dir, const char *file, char *err,
			       size_t errlen)
{
	const char *slash = strrchr(file, '/');
	const char *name = slash ? slash + 1 : file;
	char want[QEMU_PATH_MAX], got[QEMU_PATH_MAX];

	if (!dir[0]) {
		snprintf(err, errlen, "save and restore are off: vmclockd's snapshot-dir setting is empty (set snapshot-dir=DIR)");
		return NULL;
	}
	if (slash) {
		squeeze(dir, strlen(dir), want, sizeof(want));
		squeeze(file, (size_t)(slash - file), got, sizeof(got));
		if (slash == file)
			snprintf(got, sizeof(got), "/");
		if (file[0] != '/' || strcmp(want, got)) {
			snprintf(err, errlen, "file=%.200s is not in snapshot-dir %.200s: give the snapshot's name (file=NAME), which is kept there",
				 file, dir);
			return NULL;
		}
	}
	if (!name_ok(name)) {
		snprintf(err, errlen, "file=%.200s: a snapshot name is 1-%d letters, digits and . _ + -, not starting with a dot",
			 file, QEMU_SNAPSHOT_NAME_MAX);
		return NULL;
	}
	return name;
}

/* mkdir -p: parents 0755, @p itself 0700 (snapshots hold guest RAM). */
static void make_dir(char *p)
{
	char *s;

	for (s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0700);
}

int qemu_snapdir_open(const char *dir, char *err, size_t errlen)
{
	char p[QEMU_PATH_MAX];
	int fd, ret;
	struct stat st;

	if (dir[0] != '/' || strlen(dir) >= QEMU_PATH_MAX) {
		snprintf(err, errlen, "snapshot-dir %.200s: not an absolute path",
			 dir);
		return -EINVAL;
	}
	/* No trailing slash: O_NOFOLLOW must see the last name itself. */
	squeeze(dir, strlen(dir), p, sizeof(p));
	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		make_dir(p);
		fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "snapshot-dir %.200s: %s%s", dir,
			 strerror(-ret), ret == -ELOOP || ret == -ENOTDIR ?
			 " (it must be a directory, not a symbolic link)" :
			 ret == -EACCES ? " (create it for vmclockd's user)" : "");
		return ret;
	}
	if (fstat(fd, &st) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022)) {
		snprintf(err, errlen, "snapshot-dir %.200s must belong to vmclockd's user (or root) and not be group or other writable: refusing it (chown it, chmod go-w)",
			 dir);
		close(fd);
		return -EPERM;
	}
	return fd;
}

static void part_name(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, ".%s.part", name);
}

int qemu_snapshot_create(int dfd, const char *dir, const char *name,
			 char *err, size_t errlen)
{
	char tmp[QEMU_SNAPSHOT_NAME_MAX + 8];
	struct stat st;
	int fd;

	if (!fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		snprintf(err, errlen, "snapshot %s exists in %.200s: remove it, or save under another name",
			 name, dir);
		return -EEXIST;
	}
	if (errno != ENOENT) {
		fd = -errno;
		snprintf(err, errlen, "%.200s/%s: %s", dir, name, strerror(-fd));
		return fd;
	}
	/* A temporary left by a save that died: ours, and of no use. */
	part_name(name, tmp, sizeof(tmp));
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				      O_CLOEXEC, 0600);
	if (fd < 0) {
		fd = -errno;
		snprintf(err, errlen, "%.200s/%s: %s", dir, tmp, strerror(-fd));
	}
	return fd;
}

int qemu_snapshot_commit(int dfd, const char *dir, const char *name, int fd,
			 char *err, size_t errlen)
{
	char tmp[QEMU_SNAPSHOT_NAME_MAX + 8];
	int ret = 0;

	part_name(name, tmp, sizeof(tmp));
	if (fsync(fd))
		ret = -errno;
	/* Never over another file: linkat fails where the name exists. */
	else if (linkat(dfd, tmp, dfd, name, 0) && (errno == EEXIST ||
		 renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE)))
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "the snapshot is complete as %.200s/%s, but not under its name: %s%s",
			 dir, tmp, strerror(-ret), ret == -EEXIST ?
			 " (another file took the name meanwhile: rename it)" : "");
		return ret;
	}
	unlinkat(dfd, tmp, 0);
	fsync(dfd);
	return 0;
}

void qemu_snapshot_discard(int dfd, const char *name)
{
	char tmp[QEMU_SNAPSHOT_NAME_MAX + 8];

	part_name(name, tmp, sizeof(tmp));
	unlinkat(dfd, tmp, 0);
}

int qemu_snapshot_open(int dfd, const char *dir, const char *name,
		       char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO planted under the name must not block us. */
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
				   O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		int ret = -errno;

		snprintf(err, errlen, "%.200s/%s: %s", dir, name,
			 ret == -ENOENT ? "no such snapshot (save GUEST NAME writes one there)" :
			 ret == -ELOOP ? "a symbolic link: refused (put the snapshot file itself there)" :
			 strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_SETFL, 0)) {
		snprintf(err, errlen, "%.200s/%s: not a regular file: refused",
			 dir, name);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int qemu_migrate(struct qmp *q, const char *uri)
{
	return with_uri(q, "migrate", uri);
}

int qemu_migrate_incoming(struct qmp *q, const char *uri)
{
	return with_uri(q, "migrate-incoming", uri);
}

int qemu_cont(struct qmp *q)
{
	return qmp_execute(q, "cont", NULL, NULL);
}

int qemu_stop(struct qmp *q)
{
	return qmp_execute(q, "stop", NULL, NULL);
}

/* --- events ---------------------------------------------------------- */

static enum qemu_action migration_event(struct qemu_track *t,
					const char *status)
{
	enum qemu_incoming in = t->expect;

	if (!strcmp(status, "completed")) {
		t->expect = QEMU_IN_NONE;
		if (in == QEMU_IN_RESTORE)
			return QEMU_ACT_RESTORED;
		if (in == QEMU_IN_MIGRATION)
			return QEMU_ACT_MIGRATED_IN;
		if (t->outgoing) {
			t->outgoing = 0;
			return QEMU_ACT_MIGRATED_OUT;
		}
		return QEMU_ACT_NONE;
	}
	if (!strcmp(status, "failed") || !strcmp(status, "cancelled")) {
		t->expect = QEMU_IN_NONE;
		t->outgoing = 0;
		return QEMU_ACT_FAILED;
	}
	return QEMU_ACT_NONE;
}

enum qemu_action qemu_track_event(struct qemu_track *t,
				  const struct qmp_event *ev)
{
	switch (ev->type) {
	case QMP_EV_MIGRATION:
		return migration_event(t, ev->status);
	case QMP_EV_STOP:
		t->stopped = 1;
		return QEMU_ACT_STOPPED;
	case QMP_EV_RESUME:
		t->stopped = 0;
		return QEMU_ACT_RESUMED;
	case QMP_EV_RESET:
		return QEMU_ACT_RESET;
	case QMP_EV_SHUTDOWN:
		return QEMU_ACT_GONE;
	default:
		return QEMU_ACT_NONE;
	}
}

const char *qemu_action_name(enum qemu_action a)
{
	static const char *const names[] = {
		"none", "migrated-in", "restored", "migrated-out", "stopped",
		"resumed", "reset", "gone", "failed",
	};

	return (unsigned int)a < sizeof(names) / sizeof(names[0]) ?
	       names[a] : "?";
}

int qemu_random_generation(uint64_t current, uint64_t *out)
{
	uint64_t v = 0;
	ssize_t n;

	while (!v || v == current) {
		n = getrandom(&v, sizeof(v), 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n != (ssize_t)sizeof(v))
			v = 0;
	}
	*out = v;
	return 0;
}
