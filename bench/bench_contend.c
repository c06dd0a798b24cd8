// SPDX-License-Identifier: MIT
/*
 * bench_contend.c - two reader threads on one page while a writer thread
 * publishes a new calibration at 1 Hz, at 1 kHz, and as fast as it can
 * (the stress anchor).
 *
 * A first run without writer is the readers' baseline on the same
 * machine at the same moment.  Each reader thread has its own handle (a
 * handle is one thread's) and alternates two kinds of batch: reads on the
 * native path, timed, and reads through a counting counter seam, which
 * counts the attempts each read made (every attempt reads the counter
 * once).  Attempts beyond one
 * per read are the retries a concurrent writer caused, plus the one extra
 * attempt a reader with a per-seq_count cache makes when it sees a new
 * seq_count after having started on the old one.
 *
 *	bench_contend [-t SECONDS]   no writer, then the three rates
 *	bench_contend --smoke        short; "N passed, N failed"
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define BATCH 1000
#define MAX_BATCHES 100000

struct reader_res {
	struct vmclock_reader *r;
	uint64_t reads, counted_reads, attempts, errors, updates_seen;
	double *ns;
	unsigned int nbatches;
};

static struct bench_page page;
static volatile int stop;

static uint64_t counting_counter(void *ctx)
{
	(*(uint64_t *)ctx)++;
	return vmclock_counter_read();
}

static void reader_batch(struct reader_res *x, uint32_t *last_seq)
{
	struct vmclock_reading rd;
	uint64_t t0 = bench_mono_ns();
	int i;

	for (i = 0; i < BATCH; i++) {
		if (vmclock_reader_now(x->r, &rd))
			x->errors++;
		if (rd.seq_count != *last_seq) {
			x->updates_seen++;
			*last_seq = rd.seq_count;
		}
	}
	if (x->nbatches < MAX_BATCHES)
		x->ns[x->nbatches++] = (double)(bench_mono_ns() - t0) / BATCH;
	x->reads += BATCH;
}

static void counted_batch(struct reader_res *x)
{
	struct vmclock_reading rd;
	int i;

	vmclock_reader_set_counter(x->r, counting_counter, NULL, &x->attempts);
	for (i = 0; i < BATCH; i++)
		if (vmclock_reader_now(x->r, &rd))
			x->errors++;
	vmclock_reader_set_counter(x->r, NULL, NULL, NULL);
	x->counted_reads += BATCH;
}

static void *reader_main(void *arg)
{
	struct reader_res *x = arg;
	uint32_t last_seq = 0;

	while (!stop) {
		reader_batch(x, &last_seq);
		counted_batch(x);
	}
	return NULL;
}

struct writer_res {
	uint64_t period_ns;
	uint64_t updates;
	double ns_total;
};

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u),
			       (long)(t % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *writer_main(void *arg)
{
	struct writer_res *w = arg;
	struct vmclock_calibration cal;
	uint64_t next = bench_mono_ns(), t0;

	while (!stop) {
		if (w->period_ns == UINT64_MAX) {
			usleep(10000); /* no writer: the readers' baseline */
			continue;
		}
		if (w->period_ns) {
			next += w->period_ns;
			sleep_until(next);
		}
		bench_calibration(&cal);
		t0 = bench_mono_ns();
		vmclock_writer_set_calibration(page.w, &cal, NULL);
		w->ns_total += (double)(bench_mono_ns() - t0);
		w->updates++;
	}
	return NULL;
}

static void run(const char *label, uint64_t period_ns, double seconds,
		int smoke)
{
	struct reader_res rr[2];
	struct writer_res w = { period_ns, 0, 0 };
	pthread_t th[3];
	uint64_t reads = 0, counted = 0, attempts = 0, errors = 0, seen = 0;
	double med[2];
	int i;

	memset(rr, 0, sizeof(rr));
	stop = 0;
	for (i = 0; i < 2; i++) {
		rr[i].r = vmclock_reader_open(page.path);
		rr[i].ns = calloc(MAX_BATCHES, sizeof(double));
		if (!rr[i].r || !rr[i].ns) {
			perror("bench_contend: reader");
			exit(2);
		}
		pthread_create(&th[i], NULL, reader_main, &rr[i]);
	}
	pthread_create(&th[2], NULL, writer_main, &w);
	usleep((useconds_t)(seconds * 1e6));
	stop = 1;
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2; i++) {
		med[i] = bench_median(rr[i].ns, rr[i].nbatches);
		reads += rr[i].reads;
		counted += rr[i].counted_reads;
		attempts += rr[i].attempts;
		errors += rr[i].errors;
		seen += rr[i].updates_seen;
		vmclock_reader_close(rr[i].r);
		free(rr[i].ns);
	}
	printf("%-10s %8llu %12llu %10.2f %10.2f %14.6f %12.1f %6llu\n", label,
	       (unsigned long long)w.updates, (unsigned long long)(reads + counted),
	       med[0], med[1],
	       counted ? (double)(attempts - counted) / (double)counted : 0.0,
	       w.updates ? w.ns_total / (double)w.updates : 0.0,
	       (unsigned long long)errors);
	if (smoke) {
		bench_check(errors == 0, "no read failed under a writer");
		bench_check(counted && attempts >= counted,
			    "every counted read made an attempt");
		bench_check(seen > 0, "the readers saw the writer's updates");
	}
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int smoke = 0, err, i;
	char name[64];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			smoke = 1, seconds = 0.2;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			seconds = atof(argv[++i]);
	}
	snprintf(name, sizeof(name), "vmclock-bench-contend-%d", (int)getpid());
	err = bench_page_create(&page, bench_tmpdir(), name);
	if (err) {
		fprintf(stderr, "bench_contend: page: %s\n", strerror(-err));
		return 2;
	}
	printf("# two reader threads, one writer; %.1f s per rate\n", seconds);
	printf("%-10s %8s %12s %10s %10s %14s %12s %6s\n", "writer", "updates",
	       "reads", "r1_ns", "r2_ns", "retries/read", "write_ns", "errors");
	if (!smoke) {
		run("none", UINT64_MAX, seconds, 0);
		run("1Hz", 1000000000u, seconds, 0);
	}
	run("1kHz", 1000000u, seconds, smoke);
	if (!smoke)
		run("max-rate", 0, seconds, 0);
	bench_page_destroy(&page);
	return smoke ? bench_done() : 0;
}
