// SPDX-License-Identifier: MIT
/*
 * qemu.c - the QEMU adapter's mechanisms (see qemu.h): the page in guest
 * RAM, the doorbell, the mailbox handshake, migration commands and the
 * event tracker.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
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
	if (gpa + PAGE > file_size || gpa + PAGE > QEMU_LOWMEM_SAFE)
		return -ERANGE;
	return 0;
}

static void *map_at(int fd, uint64_t gpa)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       (off_t)gpa);

	return p == MAP_FAILED ? NULL : p;
}

int qemu_ram_map(struct qemu_ram *r, const char *path, uint64_t gpa,
		 uint64_t mbox_gpa)
{
	struct stat st;
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	ret = fstat(r->fd, &st) ? -errno : gpa_ok(gpa, (uint64_t)st.st_size);
	if (!ret && mbox_gpa)
		ret = mbox_gpa == gpa ? -EINVAL :
		      gpa_ok(mbox_gpa, (uint64_t)st.st_size);
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
