/* SPDX-License-Identifier: MIT */
/*
 * qemu.h - vmclockd's QEMU adapter: the mechanisms that give any QEMU
 * (7.2 included, which has no VMClock device) a precise VMClock page and
 * tell a live migration from a snapshot restore.
 *
 *  - the page lives in the guest's RAM: a shared memory-backend-file, at
 *    file offset == guest-physical address below the low-RAM split;
 *  - notifications: a Generic Event Device in our SSDT (ssdt.h) on an ISA
 *    IRQ that QEMU's pc-testdev raises when port 0x2000 + IRQ is written,
 *    which we do over the kept QMP connection (qmp.h);
 *  - the counter mapping: set by a VMM that knows it (KVM), or measured
 *    through a mailbox page and a guest responder (mailbox.h) for TCG;
 *  - events: QMP's MIGRATION/STOP/RESUME/RESET/SHUTDOWN turned into what
 *    the page needs (struct qemu_track), knowing which incoming migration
 *    we started and whether it was a snapshot restore.
 *
 * What to write into the page for each event is the caller's (vmclockd's
 * guest code, or the e2e host tool): docs/qemu.md gives the rules.
 */
#ifndef VMCLOCK_DAEMON_QEMU_H
#define VMCLOCK_DAEMON_QEMU_H

#include <stddef.h>
#include <stdint.h>

#include "mailbox.h"
#include "qmp.h"

/* Default page for 512 MiB guests: usable RAM, clear of SeaBIOS's tables
 * at 0x1ffe0000.. (never 0x1ffff000: that is vmgenid's buffer). */
#define QEMU_DEFAULT_GPA 0x1f000000ull
#define QEMU_DEFAULT_IRQ 3
/* Below this, pc and q35 keep guest RAM at file offset == GPA. */
#define QEMU_LOWMEM_SAFE 0x80000000ull

/* The page (and the optional mailbox page) in the guest's RAM file. */
struct qemu_ram {
	int fd;
	void *page;
	volatile struct vmclock_mbox *mbox;
	uint64_t dev, ino;	/* the file, to tell it from a new one */
};

/*
 * Map the 4 KiB at @gpa (and at @mbox_gpa unless 0) of the RAM file at
 * @path, shared.  Both must be page-aligned and end inside the file and
 * below QEMU_LOWMEM_SAFE.  Return 0 or -errno (-ERANGE for an address
 * outside the file or above the split).  The file is taken as given: for
 * tools that own it (tests, e2e-vmm); vmclockd, which is handed the path
 * by a control client, uses qemu_ram_backend() and qemu_ram_open().
 */
int qemu_ram_map(struct qemu_ram *r, const char *path, uint64_t gpa,
		 uint64_t mbox_gpa);
void qemu_ram_unmap(struct qemu_ram *r);
/* 0 when @gpa (page-aligned) and its page lie below @size and the split. */
int qemu_gpa_ok(uint64_t gpa, uint64_t size);

/*
 * What QEMU says its guest RAM is, over QMP (QOM): the machine's
 * memory-backend property names the backend, which must be a
 * memory-backend-file; its mem-path, share and size.  On QEMU 7.2
 * /machine's memory-backend reads "/objects/ID" (later ones may say ID).
 */
struct qemu_backend {
	char qom_path[128];
	char mem_path[512];
	int share;
	uint64_t size;
};

/*
 * Fill @b from QEMU; 0, or -errno with what to change in @err (no
 * memory-backend on the machine, not a file backend, share=off, a QMP
 * error).
 */
int qemu_ram_backend(struct qmp *q, struct qemu_backend *b, char *err,
		     size_t errlen);

/*
 * Open and map @path (as qemu_ram_map()) only if it is the file QEMU
 * described in @b, for a QEMU whose process runs as @uid/@gid (the QMP
 * peer's credentials):
 *  - @path and @b->mem_path are absolute; @path is opened with O_PATH and
 *    O_NOFOLLOW (a symlink, a FIFO or a device is refused before it is
 *    opened for writing) and must be a regular file;
 *  - it is the same inode as @b->mem_path (st_dev, st_ino), share is on,
 *    and @gpa and @mbox_gpa lie inside @b->size and the file;
 *  - QEMU's credentials could write it by its mode (root, its owner, its
 *    group with g+w, or o+w): a process that merely answers QMP cannot
 *    make vmclockd write a file it could not write itself.
 * Only then is it reopened read-write through /proc/self/fd (the same
 * inode, whatever the path points at by now).  0, or -errno with the
 * reason and what to do in @err.
 */
int qemu_ram_open(struct qemu_ram *r, const char *path,
		  const struct qemu_backend *b, uint32_t uid, uint32_t gid,
		  uint64_t gpa, uint64_t mbox_gpa, char *err, size_t errlen);

/* Ring the doorbell: pc-testdev port 0x2000 + @irq, 1 then 0. */
int qemu_doorbell(struct qmp *q, uint32_t irq);

/*
 * The host counter and a monotonic clock, for the handshake.  vmclockd
 * passes its clock.c readings (the only place it reads time); tests pass
 * their own.
 */
struct qemu_clock {
	uint64_t (*counter)(void *ctx);
	uint64_t (*mono_ns)(void *ctx);
	void *ctx;
};

/* A measured counter mapping: guest = host + offset, within window / 2. */
struct qemu_offset {
	int64_t offset;
	uint64_t window;	/* host ticks between probe and answer */
	uint64_t host;		/* host counter at the narrowest probe */
	unsigned int probes;	/* answered */
};

/* Set the mailbox up (magic, version, counters in step). */
void qemu_mbox_init(volatile struct vmclock_mbox *m);
/* Ask the responder to come and answer; returns the request number. */
uint64_t qemu_mbox_request(volatile struct vmclock_mbox *m);
/* Non-zero when the responder is answering request @n. */
int qemu_mbox_ready(volatile struct vmclock_mbox *m, uint64_t n);
/*
 * Run @probes probes of request @n and end it; each waits at most
 * @probe_timeout_ns (measured with @clk).  Return 0 with the narrowest in
 * *@out, or -ETIMEDOUT when the guest stopped answering.
 */
int qemu_mbox_burst(volatile struct vmclock_mbox *m,
		    const struct qemu_clock *clk, uint64_t n,
		    unsigned int probes, uint64_t probe_timeout_ns,
		    struct qemu_offset *out);
/*
 * The whole handshake, spinning (sched_yield) up to @timeout_ns for the
 * responder: for tools and tests, not for vmclockd's event loop.
 */
int qemu_mbox_measure(volatile struct vmclock_mbox *m,
		      const struct qemu_clock *clk, unsigned int probes,
		      uint64_t timeout_ns, struct qemu_offset *out);

/* What an incoming migration is, by its URI. */
enum qemu_incoming {
	QEMU_IN_NONE,
	QEMU_IN_MIGRATION,	/* tcp:, unix:, fd:, rdma: a live migration */
	QEMU_IN_RESTORE,	/* exec:, file: a snapshot */
};

enum qemu_incoming qemu_uri_kind(const char *uri);
/*
 * "exec:cat > 'FILE'" or "exec:cat 'FILE'" (quoted for sh); 0 or -errno.
 * QEMU runs these as its user on a path it is given: for tools that own
 * the file (e2e-vmm).  vmclockd opens snapshot files itself and passes
 * QEMU the descriptor (qemu_migrate_fd()).
 */
int qemu_save_uri(const char *file, char *buf, size_t len);
int qemu_restore_uri(const char *file, char *buf, size_t len);

/*
 * The URIs vmclockd forwards from a client (migrate, incoming): only
 * network ones, tcp:HOST:PORT, rdma:HOST:PORT, vsock:CID:PORT.  exec:,
 * file:, unix: and fd: are refused (-EPERM): QEMU would run a command,
 * write or read a file, unlink and bind a socket path, or use one of its
 * own descriptors (fd:N), as its user, wherever the client said.  Else
 * -EINVAL.  The reason and what to do are in @err.
 */
int qemu_net_uri_ok(const char *uri, char *err, size_t errlen);

int qemu_migrate(struct qmp *q, const char *uri);
int qemu_migrate_incoming(struct qmp *q, const char *uri);
/*
 * migrate (@incoming 0) or migrate-incoming (1) over our descriptor @fd:
 * QMP getfd passes it (SCM_RIGHTS), an fd: URI names it.  0 or -errno
 * with @err ("QEMU: ..." for QEMU's refusal).
 */
int qemu_migrate_fd(struct qmp *q, int fd, int incoming, char *err,
		    size_t errlen);

/*
 * Snapshot files, for vmclockd's save and restore: kept in one directory
 * (vmclockd's snapshot-dir), opened by vmclockd itself and handed to QEMU
 * as a descriptor, so QEMU never acts on a path a client chose.
 */
#define QEMU_PATH_MAX 512
#define QEMU_SNAPSHOT_NAME_MAX 200

/*
 * The snapshot name in a client's @file: NAME (1 to 200 of A-Z a-z 0-9 .
 * _ + -, no leading dot: never "." or "..", never a temporary of ours) or
 * @dir/NAME.  NULL with @err (what to give instead) for anything else,
 * and when @dir is empty (save and restore off).
 */
const char *qemu_snapshot_name(const char *dir, const char *file, char *err,
			       size_t errlen);
/*
 * Open @dir (absolute), creating it (0700, parents 0755) if missing: a
 * directory, not a symbolic link, owned by us or root, not group or other
 * writable.  A descriptor, or -errno with @err.
 */
int qemu_snapdir_open(const char *dir, char *err, size_t errlen);
/*
 * save: a fresh temporary .NAME.part in @dfd for writing (O_EXCL,
 * O_NOFOLLOW, 0600); -EEXIST if NAME exists (nothing is replaced).
 */
int qemu_snapshot_create(int dfd, const char *dir, const char *name,
			 char *err, size_t errlen);
/* The save completed: fsync, then the temporary becomes NAME (never over
 * another file: -EEXIST keeps it as .NAME.part, said in @err). */
int qemu_snapshot_commit(int dfd, const char *dir, const char *name, int fd,
			 char *err, size_t errlen);
/* The save failed: remove the temporary. */
void qemu_snapshot_discard(int dfd, const char *name);
/*
 * restore: NAME for reading, without following a symbolic link, only a
 * regular file (a FIFO or a device is refused before it can block).
 */
int qemu_snapshot_open(int dfd, const char *dir, const char *name,
		       char *err, size_t errlen);
int qemu_cont(struct qmp *q);
int qemu_stop(struct qmp *q);

/* What the page needs after an event. */
enum qemu_action {
	QEMU_ACT_NONE,
	QEMU_ACT_MIGRATED_IN,	/* destination, paused: rewrite, then cont */
	QEMU_ACT_RESTORED,	/* same, and a new generation */
	QEMU_ACT_MIGRATED_OUT,	/* source: the guest runs elsewhere now */
	QEMU_ACT_STOPPED,
	QEMU_ACT_RESUMED,	/* a measured mapping must be measured again */
	QEMU_ACT_RESET,
	QEMU_ACT_GONE,		/* SHUTDOWN: QEMU quits */
	QEMU_ACT_FAILED,	/* our migration failed or was cancelled */
};

struct qemu_track {
	enum qemu_incoming expect;	/* set when we start an incoming */
	int outgoing;			/* set when we start a migration */
	int stopped;
};

/* Fold one event into @t and say what it means for the page. */
enum qemu_action qemu_track_event(struct qemu_track *t,
				  const struct qmp_event *ev);
const char *qemu_action_name(enum qemu_action a);

/*
 * A vm_generation_counter no clone of a snapshot has used: 64 random bits
 * (getrandom), never 0 and never @current.  0 or -errno.
 */
int qemu_random_generation(uint64_t current, uint64_t *out);

#endif /* VMCLOCK_DAEMON_QEMU_H */
