// SPDX-License-Identifier: MIT
/*
 * test_qemu.c - daemon/qemu.c: the page in a RAM file, the mailbox
 * handshake against a responder thread standing in for the guest, URIs,
 * the event tracker and fresh generations.  QMP itself is test_qmp's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock.h>

#include "../harness/test.h"
#include "../../daemon/qemu-config.h"
#include "../../daemon/qemu.h"

/*
 * Ordered reads, as vmclockd's and vmclock respond's: a plain rdtsc may run
 * before the load it follows (the ack, the probe) has returned, and then
 * the bracket no longer holds the answer.
 */
static uint64_t counter(void *ctx)
{
	(void)ctx;
	return vmclock_counter_read();
}

static uint64_t mono_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct qemu_clock clk = { counter, mono_ns, NULL };

static char ram[32];

static int make_ram(size_t size)
{
	int fd;

	snprintf(ram, sizeof(ram), "/tmp/test_qemu.XXXXXX");
	fd = mkstemp(ram);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return -1;
	return fd;
}

TEST(ram_map_places_page_at_file_offset_gpa)
{
	struct qemu_ram r;
	unsigned char b[8];
	int fd = make_ram(1 << 20);

	REQUIRE(fd >= 0);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, 0x1000, 0x3000), 0);
	REQUIRE(r.page && r.mbox);
	memcpy(r.page, "VCLKtest", 8);
	r.mbox->magic = 0x11223344;
	CHECK(pread(fd, b, 8, 0x1000) == 8 && !memcmp(b, "VCLKtest", 8));
	CHECK(pread(fd, b, 4, 0x3000 + VMCLOCK_MBOX_OFFSET) == 4 &&
	      b[0] == 0x44 && b[3] == 0x11);
	qemu_ram_unmap(&r);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, 0xff000, 0), 0);
	CHECK(r.page && !r.mbox);
	qemu_ram_unmap(&r);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, 0x100000, 0), -ERANGE);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, 0x1800, 0), -EINVAL);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, 0x1000, 0x1000), -EINVAL);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, 0x1000, 0x200000), -ERANGE);
	CHECK_EQ_INT(qemu_ram_map(&r, "/nonexistent", 0x1000, 0), -ENOENT);
	close(fd);
	unlink(ram);
}

TEST(ram_map_refuses_above_lowmem_split)
{
	struct qemu_ram r;
	int fd = make_ram(4096);

	REQUIRE(fd >= 0);
	/* A sparse file as big as a 3 GiB guest. */
	REQUIRE(!ftruncate(fd, 3ll << 30));
	CHECK_EQ_INT(qemu_ram_map(&r, ram, QEMU_LOWMEM_SAFE - 4096, 0), 0);
	qemu_ram_unmap(&r);
	CHECK_EQ_INT(qemu_ram_map(&r, ram, QEMU_LOWMEM_SAFE, 0), -ERANGE);
	close(fd);
	unlink(ram);
}

/* A backend as QEMU would describe @path: shared, @size bytes. */
static void backend_of(struct qemu_backend *b, const char *path, uint64_t size)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->qom_path, sizeof(b->qom_path), "/objects/ram");
	snprintf(b->mem_path, sizeof(b->mem_path), "%s", path);
	b->share = 1;
	b->size = size;
}

/* qemu_ram_open() refuses @path against @b; nothing written to @fd. */
static int refused(const char *path, const struct qemu_backend *b,
		   uint32_t uid, uint64_t gpa, int fd, const char *why)
{
	static unsigned char zero[4096], buf[4096];
	struct qemu_ram r;
	char err[512] = "";
	int ret = qemu_ram_open(&r, path, b, uid, uid, gpa, 0, err,
				sizeof(err));

	if (!ret)
		qemu_ram_unmap(&r);
	if (ret && !strstr(err, why))
		fprintf(stderr, "  message: %s (want \"%s\")\n", err, why);
	return ret && strstr(err, why) &&
	       pread(fd, buf, sizeof(buf), (off_t)(gpa < (1 << 20) ? gpa : 0)) ==
	       (ssize_t)sizeof(buf) && !memcmp(buf, zero, sizeof(buf));
}

TEST(ram_open_takes_only_the_file_qemu_names)
{
	char other[64], link[64], dir[64];
	struct qemu_backend b;
	struct qemu_ram r;
	char err[512];
	int fd = make_ram(1 << 20), ofd;

	REQUIRE(fd >= 0);
	snprintf(other, sizeof(other), "%s.other", ram);
	snprintf(link, sizeof(link), "%s.link", ram);
	snprintf(dir, sizeof(dir), "%s.dir", ram);
	ofd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(ofd >= 0 && !ftruncate(ofd, 1 << 20));
	REQUIRE(!symlink(ram, link) && !mkdir(dir, 0700));

	/* The file QEMU names, shared, the page inside: mapped. */
	backend_of(&b, ram, 1 << 20);
	CHECK_EQ_INT(qemu_ram_open(&r, ram, &b, 0, 0, 0x1000, 0x2000, err,
				   sizeof(err)), 0);
	CHECK(r.page && r.mbox && r.fd >= 0);
	qemu_ram_unmap(&r);
	/* QEMU's mem-path may be a link to it; ram= itself may not. */
	backend_of(&b, link, 1 << 20);
	CHECK_EQ_INT(qemu_ram_open(&r, ram, &b, 0, 0, 0x1000, 0, err,
				   sizeof(err)), 0);
	qemu_ram_unmap(&r);
	backend_of(&b, ram, 1 << 20);
	CHECK(refused(link, &b, 0, 0x1000, fd, "is a symbolic link"));
	/* Another file than QEMU's. */
	CHECK(refused(other, &b, 0, 0x1000, ofd, "is not the RAM file of this QEMU"));
	/* Not shared, outside QEMU's RAM, relative, a directory mem-path. */
	b.share = 0;
	CHECK(refused(ram, &b, 0, 0x1000, fd, "share=off"));
	backend_of(&b, ram, 0x1000);
	CHECK(refused(ram, &b, 0, 0x1000, fd, "outside QEMU's guest RAM"));
	backend_of(&b, ram, 1 << 20);
	CHECK(refused(ram + 1, &b, 0, 0x1000, fd, "not an absolute path"));
	backend_of(&b, dir, 1 << 20);
	CHECK(refused(ram, &b, 0, 0x1000, fd, "is a directory"));
	backend_of(&b, "/nonexistent/ram", 1 << 20);
	CHECK(refused(ram, &b, 0, 0x1000, fd, "vmclockd must see the file"));
	/* A device or a FIFO is never opened for writing. */
	backend_of(&b, "/dev/null", 1 << 20);
	CHECK(refused("/dev/null", &b, 0, 0x1000, fd, "not a regular file"));
	/* A QEMU (QMP peer) that could not write the file itself. */
	backend_of(&b, ram, 1 << 20);
	REQUIRE(!fchmod(fd, 0644));
	CHECK(refused(ram, &b, 4321, 0x1000, fd, "could not write it"));
	REQUIRE(!fchmod(fd, 0666));
	CHECK_EQ_INT(qemu_ram_open(&r, ram, &b, 4321, 4321, 0x1000, 0, err,
				   sizeof(err)), 0);
	qemu_ram_unmap(&r);
	CHECK_EQ_INT(qemu_ram_open(&r, ram, &b, geteuid(), 4321, 0x1000, 0,
				   err, sizeof(err)), 0);
	qemu_ram_unmap(&r);
	unlink(link);
	rmdir(dir);
	close(ofd);
	unlink(other);
	close(fd);
	unlink(ram);
}

/* The guest: answers probes with its counter, host + offset. */
struct responder {
	volatile struct vmclock_mbox *m;
	int64_t offset;
	volatile int quit;
};

static void *respond(void *arg)
{
	struct responder *r = arg;
	volatile struct vmclock_mbox *m = r->m;
	uint64_t n, p, last = 0;

	while (!r->quit) {
		n = __atomic_load_n(&m->req, __ATOMIC_ACQUIRE);
		if (n == __atomic_load_n(&m->done, __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&m->ready, n, __ATOMIC_RELEASE);
		while (!r->quit &&
		       __atomic_load_n(&m->done, __ATOMIC_ACQUIRE) != n) {
			p = __atomic_load_n(&m->probe, __ATOMIC_ACQUIRE);
			if (p == last)
				continue;
			m->tsc = vmclock_counter_read() + (uint64_t)r->offset;
			__atomic_store_n(&m->ack, p, __ATOMIC_RELEASE);
			last = p;
		}
	}
	return NULL;
}

TEST(mailbox_measures_the_offset_within_its_window)
{
	static struct vmclock_mbox box;
	struct responder r = { &box, -123456789012ll, 0 };
	struct qemu_offset o;
	pthread_t th;
	int64_t err;

	qemu_mbox_init(&box);
	CHECK_EQ_INT(box.magic, VMCLOCK_MBOX_MAGIC);
	REQUIRE(!pthread_create(&th, NULL, respond, &r));
	CHECK_EQ_INT(qemu_mbox_measure(&box, &clk, 50, 5000000000ull, &o), 0);
	CHECK_EQ_INT(o.probes, 50);
	err = o.offset - r.offset;
	CHECK_MSG(err <= (int64_t)(o.window / 2 + 1) &&
		  -err <= (int64_t)(o.window / 2 + 1),
		  "offset %lld off by %lld, window %llu", (long long)o.offset,
		  (long long)err, (unsigned long long)o.window);
	/*
	 * No upper bound on the window: on a loaded machine the two threads
	 * may never run at once.  The answer lies in the bracket regardless.
	 */
	CHECK(o.window > 0);
	/* Again, as after a resume: the numbers keep going. */
	r.offset += 1000000;
	CHECK_EQ_INT(qemu_mbox_measure(&box, &clk, 20, 5000000000ull, &o), 0);
	CHECK(llabs(o.offset - r.offset) <= (long long)(o.window / 2 + 1));
	r.quit = 1;
	pthread_join(th, NULL);
}

TEST(mailbox_without_responder_times_out)
{
	static struct vmclock_mbox box;
	struct qemu_offset o;
	uint64_t t0 = mono_ns(NULL), el;

	qemu_mbox_init(&box);
	CHECK_EQ_INT(qemu_mbox_measure(&box, &clk, 10, 100000000, &o),
		     -ETIMEDOUT);
	el = mono_ns(NULL) - t0;
	CHECK(el >= 100000000 && el < 2000000000);
	CHECK_EQ_U64(box.done, box.req);
	/* A responder that is ready but never answers. */
	box.ready = qemu_mbox_request(&box);
	CHECK_EQ_INT(qemu_mbox_burst(&box, &clk, box.ready, 3, 10000000, &o),
		     -ETIMEDOUT);
	CHECK_EQ_INT(o.probes, 0);
}

TEST(uri_kinds_and_quoting)
{
	char b[64];

	CHECK_EQ_INT(qemu_uri_kind("tcp:127.0.0.1:4444"), QEMU_IN_MIGRATION);
	CHECK_EQ_INT(qemu_uri_kind("unix:/run/m.sock"), QEMU_IN_MIGRATION);
	CHECK_EQ_INT(qemu_uri_kind("exec:cat snap"), QEMU_IN_RESTORE);
	CHECK_EQ_INT(qemu_uri_kind("file:/x"), QEMU_IN_RESTORE);
	CHECK_EQ_INT(qemu_uri_kind("bogus"), QEMU_IN_NONE);
	CHECK_EQ_INT(qemu_save_uri("/tmp/a b", b, sizeof(b)), 0);
	CHECK(!strcmp(b, "exec:cat > '/tmp/a b'"));
	CHECK_EQ_INT(qemu_restore_uri("it's", b, sizeof(b)), 0);
	CHECK(!strcmp(b, "exec:cat 'it'\\''s'"));
	CHECK_EQ_INT(qemu_restore_uri("", b, sizeof(b)), -EINVAL);
	CHECK_EQ_INT(qemu_restore_uri("0123456789012345678901234567890123456789"
				      "0123456789012345678901234567890123456789",
				      b, sizeof(b)), -ENAMETOOLONG);
}

static enum qemu_action feed(struct qemu_track *t, enum qmp_event_type ty,
			     const char *status)
{
	struct qmp_event ev = { .type = ty };

	snprintf(ev.status, sizeof(ev.status), "%s", status);
	return qemu_track_event(t, &ev);
}

TEST(tracker_tells_migration_from_restore)
{
	struct qemu_track t = { 0 };

	t.expect = QEMU_IN_MIGRATION;
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "setup"), QEMU_ACT_NONE);
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "active"), QEMU_ACT_NONE);
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "completed"),
		     QEMU_ACT_MIGRATED_IN);
	CHECK_EQ_INT(feed(&t, QMP_EV_RESUME, ""), QEMU_ACT_RESUMED);
	t.expect = QEMU_IN_RESTORE;
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "completed"),
		     QEMU_ACT_RESTORED);
	/* Nobody told us: a completed migration is not an incoming one. */
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "completed"), QEMU_ACT_NONE);
	t.outgoing = 1;
	CHECK_EQ_INT(feed(&t, QMP_EV_STOP, ""), QEMU_ACT_STOPPED);
	CHECK(t.stopped);
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "completed"),
		     QEMU_ACT_MIGRATED_OUT);
	t.expect = QEMU_IN_MIGRATION;
	CHECK_EQ_INT(feed(&t, QMP_EV_MIGRATION, "failed"), QEMU_ACT_FAILED);
	CHECK_EQ_INT(t.expect, QEMU_IN_NONE);
	CHECK_EQ_INT(feed(&t, QMP_EV_RESET, ""), QEMU_ACT_RESET);
	CHECK_EQ_INT(feed(&t, QMP_EV_SHUTDOWN, ""), QEMU_ACT_GONE);
	CHECK_EQ_INT(feed(&t, QMP_EV_OTHER, ""), QEMU_ACT_NONE);
	CHECK(!strcmp(qemu_action_name(QEMU_ACT_RESTORED), "restored"));
}

TEST(random_generations_are_fresh)
{
	uint64_t a, b;

	CHECK_EQ_INT(qemu_random_generation(0, &a), 0);
	CHECK_EQ_INT(qemu_random_generation(a, &b), 0);
	CHECK(a && b && a != b);
}

static int config(const char *const *args, int n, char *out, size_t len)
{
	FILE *o = fmemopen(out, len, "w"), *e = fopen("/dev/null", "w");
	int ret = qemu_config_main(n, (char **)args, o, e);

	fclose(o);
	fclose(e);
	return ret;
}

TEST(qemu_config_prints_args_and_writes_the_ssdt)
{
	static char out[4096];
	char ssdt[64], key[80];
	const char *args[] = { "qemu-config", "vm1", "mailbox=0x1f001000",
			       key };
	unsigned char hdr[8];
	FILE *f;

	snprintf(ssdt, sizeof(ssdt), "/tmp/test_qemu_ssdt.%d", (int)getpid());
	snprintf(key, sizeof(key), "ssdt=%s", ssdt);
	CHECK_EQ_INT(config(args, 4, out, sizeof(out)), 0);
	CHECK(strstr(out, "memmap=8K$0x1f000000") != NULL);
	CHECK(strstr(out, "share=on") && strstr(out, "-device pc-testdev"));
	CHECK(strstr(out, "add-qemu vm1 ") && strstr(out, "mailbox=0x1f001000"));
	f = fopen(ssdt, "rb");
	REQUIRE(f);
	CHECK(fread(hdr, 1, 8, f) == 8 && !memcmp(hdr, "SSDT", 4));
	fclose(f);
	unlink(ssdt);
}

TEST(qemu_config_refuses_bad_places)
{
	static char out[4096];
	const char *bios[] = { "qemu-config", "vm1", "gpa=0x1ffff000",
			       "ssdt=/dev/null" };
	const char *big[] = { "qemu-config", "vm1", "gpa=0x20000000",
			      "ssdt=/dev/null" };
	const char *high[] = { "qemu-config", "vm1", "mem=4G",
			       "gpa=0x90000000", "ssdt=/dev/null" };
	const char *irq[] = { "qemu-config", "vm1", "irq=2", "ssdt=/dev/null" };
	const char *junk[] = { "qemu-config", "vm1", "frob=1" };

	CHECK_EQ_INT(config(bios, 4, out, sizeof(out)), 2);
	CHECK_EQ_INT(config(big, 4, out, sizeof(out)), 2);
	CHECK_EQ_INT(config(high, 5, out, sizeof(out)), 2);
	CHECK_EQ_INT(config(irq, 4, out, sizeof(out)), 2);
	CHECK_EQ_INT(config(junk, 3, out, sizeof(out)), 2);
}
