// SPDX-License-Identifier: MIT
/*
 * publish-page.c - libvmclock example, hypervisor side: write a page file.
 *
 * A VMM maps such a file into its guest (see qemu.md); tests and read-time
 * can read it directly.  This example measures the CPU counter against
 * CLOCK_REALTIME over 100 ms and publishes that line with generous error
 * bounds as a precise UTC page; vmclockd does the same job properly, with
 * a real error budget, leap seconds and updates.
 *
 *	cc -o publish-page publish-page.c $(pkg-config --cflags --libs vmclock)
 *
 * usage: publish-page FILE            create (or take over) and calibrate
 *        publish-page --disrupt FILE  bump disruption_marker (migration)
 *        publish-page --restore FILE  bump vm_generation_counter (snapshot)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#define PAGE_SIZE_BYTES 4096

/* A counter reading and CLOCK_REALTIME taken as close together as we can. */
static void sample(uint64_t *counter, struct timespec *ts)
{
	*counter = vmclock_counter_read();
	clock_gettime(CLOCK_REALTIME, ts);
}

static int calibrate(struct vmclock_writer *w)
{
	struct timespec t0, t1, pause = { 0, 100000000 };
	struct vmclock_calibration cal = { 0 };
	uint64_t c0, c1, ns;

	sample(&c0, &t0);
	nanosleep(&pause, NULL);
	sample(&c1, &t1);
	ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u +
	     (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	if (c1 <= c0 || vmclock_period_from_ns(ns, c1 - c0, &cal.period_frac,
					       &cal.period_shift))
		return -ERANGE;
	cal.counter_value = c1;
	cal.switch_counter = c1;
	cal.time_sec = (uint64_t)t1.tv_sec;
	cal.time_frac = vmclock_nsec_to_frac((uint32_t)t1.tv_nsec);
	/* 100 ppm and 10 ms: loose, as a 100 ms measurement deserves. */
	cal.period_maxerror_rate = cal.period_frac / 10000;
	cal.time_maxerror_ns = 10000000;
	cal.valid = VMCLOCK_CAL_PERIOD_MAXERROR | VMCLOCK_CAL_TIME_MAXERROR;
	return vmclock_writer_set_calibration(w, &cal, NULL);
}

/* A fresh page: counter line, UTC with TAI - UTC = 37, synchronized. */
static int publish(struct vmclock_writer *w)
{
	int err = vmclock_writer_begin(w);

	if (!err)
		err = calibrate(w);
	if (!err)
		err = vmclock_writer_set_tai_offset(w, 37, 1);
	if (!err)
		err = vmclock_writer_set_status(w, VMCLOCK_STATUS_SYNCHRONIZED);
	vmclock_writer_commit(w);
	return err;
}

static volatile void *map_page(const char *file, int create)
{
	int fd = open(file, O_RDWR | (create ? O_CREAT : 0), 0644);
	void *p;

	if (fd < 0)
		return NULL;
	if (create && ftruncate(fd, PAGE_SIZE_BYTES)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, PAGE_SIZE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv)
{
	struct vmclock_writer_config cfg = { 0 };
	const char *op = argc == 3 ? argv[1] : "", *file = argv[argc - 1];
	struct vmclock_writer *w;
	volatile void *page;
	int err;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(op, "--disrupt") && strcmp(op, "--restore"))) {
		fprintf(stderr,
			"usage: publish-page [--disrupt|--restore] FILE\n");
		return 2;
	}
	page = map_page(file, !*op);
	cfg.counter_id = (uint8_t)vmclock_counter_id_native();
	cfg.time_type = VMCLOCK_TIME_UTC;
	cfg.size = PAGE_SIZE_BYTES;
	cfg.adopt = 1;
	w = page ? vmclock_writer_create(page, PAGE_SIZE_BYTES, &cfg) : NULL;
	if (!w) {
		fprintf(stderr, "publish-page: %s: %s\n", file,
			strerror(errno));
		return 1;
	}
	if (!strcmp(op, "--disrupt"))
		err = vmclock_writer_bump_disruption(w, 0);
	else if (!strcmp(op, "--restore"))
		err = vmclock_writer_bump_generation(w, 0);
	else
		err = publish(w);
	vmclock_writer_destroy(w);
	if (err)
		fprintf(stderr, "publish-page: %s: %s\n", file, strerror(-err));
	return err ? 1 : 0;
}
