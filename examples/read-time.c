// SPDX-License-Identifier: MIT
/*
 * read-time.c - libvmclock example, guest side: bounded time and events.
 *
 * Opens the VMClock page (/dev/vmclock0, $VMCLOCK_DEVICE, or the file named
 * on the command line), then every INTERVAL prints UTC with the interval
 * that is guaranteed to contain true time, whether the system clock lies in
 * that interval, and each event as it is first seen: the CPU counter was
 * disrupted (live migration), the VM was restored from a snapshot, the
 * clock status changed.  Build it against an installed libvmclock:
 *
 *	cc -o read-time read-time.c $(pkg-config --cflags --libs vmclock)
 *
 * usage: read-time [-n COUNT] [-i INTERVAL_MS] [PATH]
 *	-n: readings to print (default 1; 0: until interrupted)
 *	-i: milliseconds between readings (default 1000)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock.h>

struct opts {
	unsigned long count;
	unsigned long interval_ms;
	const char *path;
};

static void print_utc(int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char buf[32];

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%09ldZ", buf, frac);
}

static int64_t system_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One reading: the time and its bound, or why there is none. */
static void print_time(struct vmclock_reader *r, struct vmclock_reading *rd)
{
	int err = vmclock_reader_now(r, rd);
	int64_t sys = system_ns();

	if (err) {
		printf("unbounded: %s (status %s)\n", vmclock_strerror(err),
		       vmclock_status_name(rd->clock_status));
		return;
	}
	printf("bounded: ");
	print_utc(rd->utc_ns);
	printf(" +/- %" PRIu64 " ns, status %s; system clock %s the bound"
	       " (%+" PRId64 " ns)\n",
	       rd->maxerror_ns, vmclock_status_name(rd->clock_status),
	       sys >= rd->earliest_ns && sys <= rd->latest_ns ? "inside" :
								"OUTSIDE",
	       sys - rd->utc_ns);
}

static void print_events(const struct vmclock_reading *rd)
{
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		if (!(rd->events & (1u << bit)))
			continue;
		printf("event: %s (disruption_marker %" PRIu64
		       ", vm_generation_counter %" PRIu64 ")\n",
		       vmclock_event_name(bit) ? vmclock_event_name(bit) : "?",
		       rd->disruption_marker, rd->vm_generation_counter);
	}
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	o->count = 1;
	o->interval_ms = 1000;
	while ((c = getopt(argc, argv, "n:i:")) != -1) {
		if (c == 'n')
			o->count = strtoul(optarg, NULL, 0);
		else if (c == 'i')
			o->interval_ms = strtoul(optarg, NULL, 0);
		else
			exit(2);
	}
	o->path = optind < argc ? argv[optind] : NULL;
}

int main(int argc, char **argv)
{
	struct timespec gap;
	struct vmclock_reader *r;
	struct vmclock_reading rd;
	unsigned long i;
	struct opts o = { 0 };

	parse(argc, argv, &o);
	r = vmclock_reader_open(o.path);
	if (!r) {
		fprintf(stderr, "read-time: %s: %s %s\n",
			o.path ? o.path : "(default device)", strerror(errno),
			vmclock_reader_open_error());
		return 1;
	}
	gap.tv_sec = (time_t)(o.interval_ms / 1000);
	gap.tv_nsec = (long)(o.interval_ms % 1000) * 1000000;
	for (i = 0; !o.count || i < o.count; i++) {
		if (i)
			nanosleep(&gap, NULL);
		print_time(r, &rd);
		print_events(&rd);
		fflush(stdout);
	}
	vmclock_reader_close(r);
	return 0;
}
