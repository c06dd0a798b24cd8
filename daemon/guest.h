/* SPDX-License-Identifier: MIT */
/*
 * guest.h - the pages vmclockd writes: the host page and one per guest.
 *
 * Each page is a 4 KiB file (on tmpfs under the run directory) that a VMM
 * maps into its guest.  A guest page carries the host calibration moved
 * into that guest's counter domain,
 *
 *	guest_counter = ((host_counter * scale) >> frac_bits) + offset
 *
 * (KVM's TSC scaling: frac_bits 48 on Intel, 32 on AMD), its own
 * disruption_marker and vm_generation_counter, and NOTIFICATION_PRESENT
 * only when a notification command is configured.  The mapping and the
 * event state live in NAME.state beside the page, so a restarted vmclockd
 * adopts both.
 */
#ifndef VMCLOCK_DAEMON_GUEST_H
#define VMCLOCK_DAEMON_GUEST_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <vmclock/vmclock-writer.h>

#define GUEST_NAME_MAX 64
#define GUEST_PAGE_SIZE 4096
#define GUEST_CMD_MAX 256
/* Counter ticks from the counter read to readers seeing the commit. */
#define PUBLISH_WINDOW_TICKS 1000000ull

struct guest_mapping {
	uint64_t offset;
	uint64_t scale;
	unsigned int frac_bits;
};

/*
 * The part of a mapped calibration that depends only on the host period,
 * its two error rates and the guest's scale and frac_bits: the rescaled
 * period, its shift and the rescaled rates.  Every guest of one TSC scale
 * shares it, so an update keeps them in a small cache that its owner
 * zeroes before use.  Entries are keyed on every input, so a cache kept
 * across host calibrations or shared by different mappings stays exact.
 */
struct guest_rates {
	uint64_t scale, period, est, max;	/* the key */
	uint8_t frac_bits, shift, used;
	uint8_t sg;
	int err;
	uint64_t pg, est_g, max_g;
};

/*
 * One update mapped into a scale's counter domain at offset 0 and encoded
 * (struct vmclock_writer_image): every guest of the scale gets it moved by
 * its offset, with one TIME_MONOTONIC check for those whose last line was
 * the scale's too.  Made for the update named @gen.
 */
struct guest_image {
	uint64_t gen, scale;
	unsigned int frac_bits;
	int err;
	struct vmclock_writer_image img;
};

/*
 * Beside each scale's rates, its image of the current update, and the
 * answer of the last TIME_MONOTONIC check of that scale's guests that
 * take the general path (struct vmclock_monotonic_memo): the guests of
 * one scale get one line moved by their offsets, so one check in a batch
 * of GUEST_BATCH pages answers for the rest.
 */
#define GUEST_RATES_BITS 4
struct guest_rates_cache {
	struct guest_rates e[1 << GUEST_RATES_BITS];	/* by scale */
	struct guest_image img[1 << GUEST_RATES_BITS];
	struct vmclock_monotonic_memo memo[1 << GUEST_RATES_BITS];
};

/* Pages whose line the writer moved forward for TIME_MONOTONIC. */
struct guest_moved {
	unsigned long pages;
	uint64_t max_ns;
};

/*
 * What every page gets on each update, from the host reference.  @gen, if
 * not 0, names the update: a new value whenever anything in it changes
 * (the switch counter too), so that the guests of one scale share one
 * image of it.  @moved, if set, counts the lines moved forward (for one
 * log line per update); else each is logged.
 */
struct guest_update {
	const struct vmclock_calibration *cal; /* host counter domain */
	uint64_t host_now;
	uint8_t status;
	int16_t tai_offset;
	int tai_valid;
	uint8_t leap;
	struct guest_rates_cache *rates;	/* or NULL */
	uint64_t gen;
	struct guest_moved *moved;		/* or NULL */
};

/* Where a page's bytes go: a mapping, or pwrite() (see guest_limits). */
enum guest_io {
	GUEST_IO_MAPPED,	/* mapped; no descriptor kept */
	GUEST_IO_PWRITE,	/* a shadow of the struct, a kept descriptor */
	GUEST_IO_REOPEN,	/* a shadow, the file opened for each commit */
};

struct guest {
	/* What every update reads comes first (a fleet misses the cache). */
	struct guest *next;
	struct vmclock_writer *w;
	struct guest_mapping map_;
	uint64_t map_err_ns;	/* mapping uncertainty, added to the errors */
	int stopped;
	int remap;
	int awaiting_mapping;
	int is_host;
	uint64_t updates;
	void (*doorbell)(void *ctx);	/* notifies in-process, not notify_cmd */
	void *doorbell_ctx;
	struct vmclock_abi *shadow;	/* GUEST_IO_PWRITE, _REOPEN */
	void *map;			/* GUEST_IO_MAPPED */
	int fd;				/* GUEST_IO_PWRITE, else -1 */
	enum guest_io io;
	int pw_header;		/* the next flush writes the header too */
	unsigned int flush_fail;
	unsigned int notify_fail;
	char notify_cmd[GUEST_CMD_MAX];
	char name[GUEST_NAME_MAX];
	char path[512];
	char state_path[520];
	/* QEMU adapter (qemu-guest.c): the page inside the guest's RAM. */
	int in_ram;		/* @path is a RAM file, the page at ram_offset */
	uint64_t ram_offset;
	void *qemu;
	/* The daemon's list: the pointer to this struct, for O(1) removal. */
	struct guest **pprev;
};

/*
 * How many pages this process maps, and how many descriptors it keeps.
 * A page is mapped (its descriptor closed: the mapping keeps the file)
 * while fewer than @max_mapped are and mmap() succeeds; past that (a
 * process has at most vm.max_map_count mappings) its struct is kept in
 * memory and copied to the file with pwrite() in the sequence lock's
 * order after each commit, through a descriptor kept while fewer than
 * @max_fds are (always for a RAM file), else by opening the file each
 * time.  Unset, both are unlimited.
 */
struct guest_limits {
	unsigned long max_mapped;
	unsigned long max_fds;
};
void guest_set_limits(const struct guest_limits *l);
/* vm.max_map_count less 4096 and RLIMIT_NOFILE's soft limit less 1024. */
void guest_default_limits(struct guest_limits *l);
/* How many open pages are GUEST_IO_MAPPED, _PWRITE and _REOPEN. */
void guest_io_counts(unsigned long n[3]);

/*
 * While @g is updated, start loading the hot lines of the guest after
 * the next: its struct's first lines, its writer and its page, and the
 * first line of the one after it, whose pointers the next call reads (a
 * fleet's update walks more memory than the caches hold; the list is
 * walked in order).  Two guests ahead, the loads have about 50 ns to
 * arrive at 25 ns a page.  Always inlined: GCC finds a function of loads
 * and prefetches free of side effects and drops a call to it, prefetches
 * and all.
 */
static inline __attribute__((always_inline)) void
guest_prefetch_next(const struct guest *g)
{
	const struct guest *n = g->next, *nn;

	if (!n || !(nn = n->next))
		return;
	__builtin_prefetch(nn->next, 1);
	__builtin_prefetch((const char *)nn + 64, 1);
	if (nn->w) {
		__builtin_prefetch(nn->w, 1);
		__builtin_prefetch((const char *)nn->w + 64, 1);
	}
	if (nn->map) {
		__builtin_prefetch(nn->map, 1);
		__builtin_prefetch((const char *)nn->map + 64, 1);
	}
}

/*
 * A zeroed struct guest, from vmclockd's slabs (NULL: no memory), and back
 * once guest_close() is done with it.  Not for the host page's struct,
 * which lives in struct daemon.
 */
struct guest *guest_alloc(void);
void guest_free(struct guest *g);
/* Give the slabs back, once every struct is freed (at exit). */
void guest_release_slabs(void);

/* Ring @doorbell(@ctx) after each commit (NULL: none), not notify_cmd. */
void guest_set_doorbell(struct guest *g, void (*doorbell)(void *ctx),
			void *ctx);

/* 0 when @name is a valid guest name ([A-Za-z0-9_.-], 1..63, no '.'). */
int guest_name_ok(const char *name);
void guest_mapping_identity(struct guest_mapping *m);
/* The guest counter for a host counter. */
uint64_t guest_map_counter(const struct guest_mapping *m, uint64_t host);
/* A host-domain calibration in the guest's counter domain. */
int guest_map_calibration(const struct guest_mapping *m,
			  const struct vmclock_calibration *host,
			  struct vmclock_calibration *out);
/* The same, bit for bit, with the per-scale part from @cache (or NULL). */
int guest_map_calibration_cached(const struct guest_mapping *m,
				 const struct vmclock_calibration *host,
				 struct vmclock_calibration *out,
				 struct guest_rates_cache *cache);
/*
 * Open (adopting) or create the page at @path; @state_path may be NULL
 * (the host page).  Return 0 or -errno with the reason logged.
 */
int guest_open(struct guest *g, const char *name, const char *path,
	       const char *state_path, uint8_t time_type);
/* The page at @offset of a guest's RAM file (never created or unlinked). */
int guest_open_ram(struct guest *g, const char *name, const char *ram,
		   uint64_t offset, const char *state_path, uint8_t time_type);
void guest_close(struct guest *g, int unlink_files);
/* Publish one update (unless stopped). */
int guest_update(struct guest *g, const struct guest_update *u);
int guest_save_state(struct guest *g);

/*
 * A state file written afresh, as NAME.state is: state_file_create() opens
 * a new temporary beside @path (O_EXCL, O_NOFOLLOW: never through a link
 * planted at its name; its name in @tmp) and returns its stream, or NULL
 * with errno; state_file_commit() closes it and renames it over @path:
 * 0 or -errno (the temporary removed).
 */
FILE *state_file_create(const char *path, mode_t mode, char *tmp, size_t len);
int state_file_commit(FILE *f, const char *tmp, const char *path);

/* Events: each changes exactly what docs/daemon.md says. */
int guest_migrate_out(struct guest *g, const char *state);
int guest_migrated_in(struct guest *g);
int guest_restored(struct guest *g, uint64_t generation);
int guest_set_mapping(struct guest *g, const struct guest_mapping *m);
int guest_set_notify(struct guest *g, const char *cmd);
void guest_stop(struct guest *g);
void guest_resume(struct guest *g);

#endif /* VMCLOCK_DAEMON_GUEST_H */
