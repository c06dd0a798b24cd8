// SPDX-License-Identifier: MIT
/*
 * mbox-host.c - the host side of the counter-mapping handshake (vmclockd's
 * own daemon/qemu.c) against `vmclock respond`, through a file standing in
 * for the guest's memory.  Both sides read this machine's counter, so
 * every measured offset must be 0 within its window.
 *
 *	mbox-host FILE ADDR measure N   set the mailbox up, N measurements
 *	mbox-host FILE ADDR abandon     a request with one probe that is never
 *	                                ended (a host that died), then one
 *	                                measurement
 *
 * Prints PASS/FAIL lines; exit 0 when all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock.h>

#include "../../daemon/qemu.h"

static int failed;

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

static void check(int ok, const char *what, const char *detail)
{
	printf("%s %s: %s\n", ok ? "PASS" : "FAIL", what, detail);
	failed += !ok;
}

static void measure(volatile struct vmclock_mbox *m, int i)
{
	struct qemu_offset o;
	char name[32], d[160];
	int ret = qemu_mbox_measure(m, &clk, 200, 10000000000ull, &o);
	int64_t w = (int64_t)o.window;

	snprintf(name, sizeof(name), "measurement %d", i);
	snprintf(d, sizeof(d), "ret %d, %u probes, offset %lld, window %llu",
		 ret, o.probes, (long long)o.offset,
		 (unsigned long long)o.window);
	/* The same counter on both sides: 0 lies inside [tsc-t1, tsc-t0]. */
	check(!ret && o.probes == 200 && o.offset >= -w && o.offset <= w,
	      name, d);
}

/* One probe of a request the host never ends. */
static void abandon(volatile struct vmclock_mbox *m)
{
	uint64_t n = qemu_mbox_request(m), end = mono_ns(NULL) + 10000000000ull;
	uint64_t k;
	int ok;

	while (!qemu_mbox_ready(m, n) && mono_ns(NULL) < end)
		usleep(100);
	k = __atomic_load_n(&m->probe, __ATOMIC_ACQUIRE) + 1;
	__atomic_store_n(&m->probe, k, __ATOMIC_RELEASE);
	while (__atomic_load_n(&m->ack, __ATOMIC_ACQUIRE) != k &&
	       mono_ns(NULL) < end)
		usleep(100);
	ok = __atomic_load_n(&m->ack, __ATOMIC_ACQUIRE) == k;
	check(ok, "a probe of an abandoned request is answered", ok ? "ack" : "none");
	/* Long past the responder's 100 ms: it must have given up. */
	usleep(500000);
	__atomic_store_n(&m->done, n, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	volatile struct vmclock_mbox *m;
	uint64_t addr;
	void *p;
	int fd, i;

	if (argc < 4) {
		fprintf(stderr, "usage: mbox-host FILE ADDR measure N | abandon\n");
		return 2;
	}
	addr = strtoull(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR);
	p = fd < 0 ? MAP_FAILED :
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)addr);
	if (p == MAP_FAILED) {
		fprintf(stderr, "mbox-host: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	m = (volatile struct vmclock_mbox *)((char *)p + VMCLOCK_MBOX_OFFSET);
	qemu_mbox_init(m);
	if (!strcmp(argv[3], "abandon")) {
		abandon(m);
		measure(m, 1);
	} else {
		for (i = 1; i <= (argc > 4 ? atoi(argv[4]) : 1); i++)
			measure(m, i);
	}
	return failed ? 1 : 0;
}
