// SPDX-License-Identifier: MIT
/*
 * crashwatch.c - a reader that watches pages while their writer (vmclockd)
 * is killed again and again, and says whether it ever saw a broken
 * promise.
 *
 *	crashwatch STOPFILE PAGE...
 *
 * Reads every page in turn with libvmclock's reader (its own mapping, kept
 * across the crashes) until STOPFILE exists (or its parent is gone, or
 * CRASHWATCH_MAX_SECONDS, default 3600, have passed: exit 2), then prints one line per page
 * and exits 1 if any of these happened:
 *   - the page stopped being a valid page (magic, version, size);
 *   - time went back between two reads of the same page;
 *   - the disruption marker or the VM generation changed;
 *   - a read failed other than with -ETIMEDOUT (a writer killed with
 *     seq_count odd), or a -ETIMEDOUT took more than 1 s (the deadline is
 *     100 ms; the slack is for a loaded machine);
 *   - the page ended stuck (the last read failed).
 * It prints how many reads timed out and recovered, and the slowest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock.h>

struct watch {
	const char *path;
	struct vmclock_reader *r;
	int have, stuck;
	int64_t last_ns;
	uint64_t marker, gen;
	uint64_t reads, timeouts, recovered, back, marker_changes, gen_changes;
	uint64_t errors, invalid, slowest_timeout_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void note_reading(struct watch *w, const struct vmclock_reading *rd)
{
	if (w->have && rd->disruption_marker != w->marker)
		w->marker_changes++;
	if (w->have && rd->vm_generation_counter != w->gen)
		w->gen_changes++;
	if ((rd->valid & VMCLOCK_VALID_TIME) && w->last_ns &&
	    rd->time_ns < w->last_ns) {
		w->back++;
		fprintf(stderr, "%s: time went back %" PRId64 " ns\n", w->path,
			w->last_ns - rd->time_ns);
	}
	if (rd->valid & VMCLOCK_VALID_TIME)
		w->last_ns = rd->time_ns;
	w->marker = rd->disruption_marker;
	w->gen = rd->vm_generation_counter;
	w->have = 1;
}

static void read_one(struct watch *w)
{
	static union {
		struct vmclock_abi abi;
		uint8_t bytes[4096];
	} pg;
	struct vmclock_reading rd;
	uint64_t t0 = mono_ns(), dt;
	int err = vmclock_reader_read(w->r, &rd);

	dt = mono_ns() - t0;
	if (err == -ETIMEDOUT) {
		w->timeouts++;
		w->stuck = 1;
		if (dt > w->slowest_timeout_ns)
			w->slowest_timeout_ns = dt;
		return;
	}
	if (err) {
		w->errors++;
		fprintf(stderr, "%s: %s\n", w->path, vmclock_strerror(err));
		return;
	}
	if (w->stuck)
		w->recovered++;
	w->stuck = 0;
	w->reads++;
	note_reading(w, &rd);
	/* Every 64th read: is it still a page? */
	if (!(w->reads & 63) && !vmclock_reader_snapshot(w->r, &pg.abi) &&
	    vmclock_page_validate(&pg, sizeof(pg), NULL))
		w->invalid++;
}

static int report(const struct watch *w)
{
	int bad = w->back || w->marker_changes || w->gen_changes || w->errors ||
		  w->invalid || w->stuck || !w->reads ||
		  w->slowest_timeout_ns > 1000000000u;

	printf("%s %s: %" PRIu64 " reads, %" PRIu64
	       " timed out (slowest %.0f ms), "
	       "%" PRIu64 " recovered, %" PRIu64 " backward, %" PRIu64
	       " marker and %" PRIu64 " generation changes, %" PRIu64
	       " errors, %" PRIu64 " invalid%s\n",
	       bad ? "BAD" : "ok", w->path, w->reads, w->timeouts,
	       (double)w->slowest_timeout_ns / 1e6, w->recovered, w->back,
	       w->marker_changes, w->gen_changes, w->errors, w->invalid,
	       w->stuck ? ", stuck at the end" : "");
	return bad;
}

int main(int argc, char **argv)
{
	struct watch *w;
	int i, n = argc - 2, bad = 0;
	const char *max = getenv("CRASHWATCH_MAX_SECONDS");
	uint64_t round = 0,
		 end = mono_ns() +
		       (max ? strtoull(max, NULL, 10) : 3600) * 1000000000ull;
	pid_t parent = getppid();

	if (argc < 3) {
		fprintf(stderr, "usage: crashwatch STOPFILE PAGE...\n");
		return 2;
	}
	w = calloc((size_t)n, sizeof(*w));
	if (!w)
		return 2;
	for (i = 0; i < n; i++) {
		w[i].path = argv[i + 2];
		w[i].r = vmclock_reader_open(w[i].path);
		if (!w[i].r) {
			fprintf(stderr, "crashwatch: %s: %s %s\n", w[i].path,
				strerror(errno), vmclock_reader_open_error());
			return 2;
		}
	}
	for (;;) {
		for (i = 0; i < n; i++)
			read_one(&w[i]);
		/* Leave the writer some CPU; look for the stop file now and then. */
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		if (!(++round % 256) && access(argv[1], F_OK) == 0)
			break;
		/* An orphan (its script died) stops too. */
		if (!(round % 256) &&
		    (getppid() != parent || mono_ns() > end)) {
			fprintf(stderr,
				"crashwatch: no stop file, giving up\n");
			return 2;
		}
	}
	/* A last read of each, after the final writer is up. */
	for (i = 0; i < n; i++) {
		read_one(&w[i]);
		bad |= report(&w[i]);
		vmclock_reader_close(w[i].r);
	}
	free(w);
	return bad;
}
