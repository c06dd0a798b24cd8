// SPDX-License-Identifier: MIT
/*
 * test_qemu.c - daemon/qemu.c: the page in a RAM file, the mailbox
 * handshake against a responder thread standing in for the guest, URIs
 * (which a client may give), snapshot files, the event tracker and fresh
 * generations.  QMP itself is test_qmp's.
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

/* Only network URIs pass; what QEMU would act on as a path is refused. */
TEST(client_uris_are_network_addresses_only)
{
	static const char *const good[] = {
		"tcp:127.0.0.1:4444", "tcp::4444", "tcp:0:4444",
		"tcp:host-2.example:65535", "tcp:[::1]:4444",
		"rdma:10.0.0.2:4444", "vsock:3:4444",
	};
	static const char *const refused[] = {
		"exec:touch /x", "file:/etc/passwd", "unix:/run/x.sock",
		"fd:3", "fd:vmclock-migration",
	};
	static const char *const bad[] = {
		"tcp:", "tcp:host", "tcp:host:", "tcp:host:0", "tcp:host:65536",
		"tcp:host:44x", "tcp:a b:1", "tcp:h:1,to=9", "tcp:/x:1",
		"bogus:1:2", "", "TCP:h:1",
	};
	char err[512];
	unsigned int i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_MSG(!qemu_net_uri_ok(good[i], err, sizeof(err)), "%s",
			  good[i]);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(qemu_net_uri_ok(refused[i], err, sizeof(err)) ==
			  -EPERM, "%s", refused[i]);
		CHECK_MSG(strstr(err, "refused") && strstr(err, "save GUEST NAME"),
			  "%s: %s", refused[i], err);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(qemu_net_uri_ok(bad[i], err, sizeof(err)) == -EINVAL,
			  "%s", bad[i]);
		CHECK(strstr(err, "give tcp:HOST:PORT") != NULL);
	}
}

static const char *named(const char *dir, const char *file)
{
	static char err[512];
	const char *n = qemu_snapshot_name(dir, file, err, sizeof(err));

	return n ? n : "(refused)";
}

TEST(snapshot_names_stay_in_the_directory)
{
	const char *d = "/var/lib/vmclock/snapshots";
	char err[512], name[256];

	CHECK(!strcmp(named(d, "vm1-2026.snap"), "vm1-2026.snap"));
	CHECK(!strcmp(named(d, "/var/lib/vmclock/snapshots/a"), "a"));
	CHECK(!strcmp(named(d, "/var//lib/vmclock/snapshots//a"), "a"));
	CHECK(!strcmp(named("/s/", "/s/a"), "a"));
	CHECK(!strcmp(named("/", "/a"), "a"));
	CHECK(!qemu_snapshot_name(d, "/etc/passwd", err, sizeof(err)));
	CHECK(strstr(err, "is not in snapshot-dir /var/lib/vmclock/snapshots: give the snapshot's name") != NULL);
	CHECK(!qemu_snapshot_name(d, "/var/lib/vmclock/snapshots/../x", err,
				  sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "/var/lib/vmclock/snapshots/sub/x", err,
				  sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "var/lib/vmclock/snapshots/x", err,
				  sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "../x", err, sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "a/b", err, sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "..", err, sizeof(err)));
	CHECK(strstr(err, "a snapshot name is 1-200 letters") != NULL);
	CHECK(!qemu_snapshot_name(d, ".", err, sizeof(err)));
	CHECK(!qemu_snapshot_name(d, ".a.part", err, sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "/var/lib/vmclock/snapshots/", err,
				  sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "a'b", err, sizeof(err)));
	CHECK(!qemu_snapshot_name(d, "a*", err, sizeof(err)));
	memset(name, 'x', 201);
	name[201] = '\0';
	CHECK(!qemu_snapshot_name(d, name, err, sizeof(err)));
	name[200] = '\0';
	CHECK(qemu_snapshot_name(d, name, err, sizeof(err)) != NULL);
	CHECK(!qemu_snapshot_name("", "a", err, sizeof(err)));
	CHECK(strstr(err, "save and restore are off") != NULL);
}

static int file_is(const char *path, const char *text)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	int ok = f && fgets(buf, sizeof(buf), f) && !strcmp(buf, text);

	if (f)
		fclose(f);
	return ok;
}

/*
 * The directory is made owner-only; save writes a temporary and names it
 * only when complete, never over a file; restore opens regular files
 * only, never through a link; an unsafe directory is refused.
 */
TEST(snapshot_files_save_and_restore)
{
	char top[] = "/tmp/test_qemu_snap.XXXXXX", dir[128], p[192], err[512];
	struct stat st;
	int dfd, fd;

	REQUIRE(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/a/snapshots", top);
	CHECK(qemu_snapdir_open("relative", err, sizeof(err)) == -EINVAL);
	dfd = qemu_snapdir_open(dir, err, sizeof(err));
	CHECK_MSG(dfd >= 0, "%s", err);
	REQUIRE(dfd >= 0);
	CHECK(!stat(dir, &st) && (st.st_mode & 0777) == 0700);
	fd = qemu_snapshot_create(dfd, dir, "s1", err, sizeof(err));
	REQUIRE(fd >= 0);
	snprintf(p, sizeof(p), "%s/.s1.part", dir);
	CHECK(!stat(p, &st) && (st.st_mode & 0777) == 0600);
	CHECK(write(fd, "stream\n", 7) == 7);
	snprintf(p, sizeof(p), "%s/s1", dir);
	CHECK(access(p, F_OK));		/* not named before it is complete */
	CHECK_EQ_INT(qemu_snapshot_commit(dfd, dir, "s1", fd, err, sizeof(err)), 0);
	close(fd);
	CHECK(file_is(p, "stream\n"));
	snprintf(p, sizeof(p), "%s/.s1.part", dir);
	CHECK(access(p, F_OK));
	/* An existing name is never replaced. */
	CHECK_EQ_INT(qemu_snapshot_create(dfd, dir, "s1", err, sizeof(err)),
		     -EEXIST);
	CHECK(strstr(err, "exists") != NULL);
	/* A name taken while the save ran: the snapshot stays, said where. */
	fd = qemu_snapshot_create(dfd, dir, "s2", err, sizeof(err));
	REQUIRE(fd >= 0);
	snprintf(p, sizeof(p), "%s/s2", dir);
	CHECK(!symlinkat("s1", dfd, "s2"));
	CHECK_EQ_INT(qemu_snapshot_commit(dfd, dir, "s2", fd, err, sizeof(err)),
		     -EEXIST);
	CHECK(strstr(err, ".s2.part") != NULL);
	close(fd);
	snprintf(p, sizeof(p), "%s/.s2.part", dir);
	CHECK(!access(p, F_OK));
	qemu_snapshot_discard(dfd, "s2");
	CHECK(access(p, F_OK));
	/* Restore: a regular file, read from its start. */
	fd = qemu_snapshot_open(dfd, dir, "s1", err, sizeof(err));
	REQUIRE(fd >= 0);
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	close(fd);
	CHECK_EQ_INT(qemu_snapshot_open(dfd, dir, "s2", err, sizeof(err)),
		     -ELOOP);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK_EQ_INT(qemu_snapshot_open(dfd, dir, "none", err, sizeof(err)),
		     -ENOENT);
	CHECK(!mkfifoat(dfd, "fifo", 0600));
	CHECK_EQ_INT(qemu_snapshot_open(dfd, dir, "fifo", err, sizeof(err)),
		     -EINVAL);
	CHECK(strstr(err, "not a regular file") != NULL);
	close(dfd);
	/* A directory others may write, or a link to one, is refused. */
	CHECK(!chmod(dir, 0770));
	CHECK_EQ_INT(qemu_snapdir_open(dir, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "chmod go-w") != NULL);
	CHECK(!chmod(dir, 0700));
	snprintf(p, sizeof(p), "%s/link", top);
	CHECK(!symlink(dir, p));
	CHECK(qemu_snapdir_open(p, err, sizeof(err)) < 0);
	CHECK(strstr(err, "not a symbolic link") != NULL);
	/* Even spelt with a trailing slash (which would follow the link). */
	snprintf(p, sizeof(p), "%s/link/", top);
	CHECK(qemu_snapdir_open(p, err, sizeof(err)) < 0);
	/* A trailing slash in the setting: the same directory, 0700 too. */
	snprintf(p, sizeof(p), "%s/b//", top);
	dfd = qemu_snapdir_open(p, err, sizeof(err));
	CHECK(dfd >= 0);
	if (dfd >= 0)
		close(dfd);
	snprintf(p, sizeof(p), "%s/b", top);
	CHECK(!stat(p, &st) && (st.st_mode & 0777) == 0700);
	snprintf(p, sizeof(p), "rm -rf %s", top);
	CHECK(!system(p));
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
