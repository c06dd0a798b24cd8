// SPDX-License-Identifier: MIT
/*
 * mkpage.c - write and change VMClock page files for the CLI tests, through
 * libvmclock's writer (so every change is a real seqlock transaction that
 * a running `vmclock watch` may race), plus the raw damage the error tests
 * need (bad magic, a seq_count stuck odd, a truncated file).
 *
 *   mkpage FILE OP [ARG...] [OP [ARG...]]...
 *
 * Operations, applied in order (each change is one transaction):
 *   init                      fresh page: 4096 bytes, X86_TSC, UTC, UNKNOWN
 *   init-tai                  the same with time_type TAI
 *   calibrate HZ COUNTER SEC MAXERR_NS
 *                             line: SEC at COUNTER, HZ ticks/s, 10 ppm max
 *                             and 1 ppm estimated period error, MAXERR_NS
 *                             max and MAXERR_NS/10 estimated time error
 *   calibrate-now HZ MAXERR_NS  the same at this CPU's counter and
 *                             CLOCK_REALTIME now; HZ 0 measures the counter
 *   clear-calibration         basic mode
 *   status NAME|N             clock_status (SYNCHRONIZED, FREERUNNING...)
 *   marker                    disruption_marker + 1
 *   generation                vm_generation_counter + 1
 *   flags-set MASK            set flags (e.g. 0x200 NOTIFICATION_PRESENT)
 *   flags-clear MASK          clear flags
 *   tai OFFSET                tai_offset_sec, valid
 *   leap N                    leap_indicator
 *   seq-odd | seq-even        raw: hold seq_count odd (a stuck writer) / end
 *   magic VALUE               raw: overwrite magic
 *   truncate BYTES            shorten the file
 *   get FIELD                 print seq_count|disruption_marker|
 *                             vm_generation_counter|counter_value
 *   serve                     read operations from stdin, a line each,
 *                             with one writer kept across them (so each
 *                             change is exactly one transaction); answer
 *                             each line with "ok SEQ_COUNT"
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock-arith.h>
#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#define PAGE 4096

static int fd = -1;
static volatile struct vmclock_abi *pg;
static struct vmclock_writer *w;
static const char *file;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkpage: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		fail("not a number: '%s'", s);
	return v;
}

static void map_file(int create)
{
	if (pg)
		return;
	fd = open(file, O_RDWR | (create ? O_CREAT : 0), 0644);
	if (fd < 0)
		fail("%s: %s", file, strerror(errno));
	if (create && ftruncate(fd, PAGE))
		fail("%s: ftruncate: %s", file, strerror(errno));
	pg = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pg == MAP_FAILED)
		fail("%s: mmap: %s", file, strerror(errno));
}

static void unmap_file(void)
{
	vmclock_writer_destroy(w);
	w = NULL;
	if (pg)
		munmap((void *)pg, PAGE);
	pg = NULL;
	if (fd >= 0)
		close(fd);
	fd = -1;
}

/* A writer adopting the page (or making a fresh one with @type). */
static struct vmclock_writer *writer(int fresh, uint8_t type)
{
	struct vmclock_writer_config cfg = { 0 };

	if (w)
		return w;
	map_file(fresh);
	cfg.counter_id = fresh ? VMCLOCK_COUNTER_X86_TSC : pg->counter_id;
	cfg.time_type = fresh ? type : pg->time_type;
	cfg.size = PAGE;
	cfg.adopt = !fresh;
	if (fresh)
		memset((void *)pg, 0, PAGE);
	w = vmclock_writer_create(pg, PAGE, &cfg);
	if (!w)
		fail("%s: writer: %s", file, strerror(errno));
	if (fresh) /* the first transaction: seq_count 2 */
		vmclock_writer_set_status(w, VMCLOCK_STATUS_UNKNOWN);
	return w;
}

static void calibrate(uint64_t hz, uint64_t counter, uint64_t sec,
		      uint64_t frac, uint64_t maxerr)
{
	struct vmclock_calibration cal = { 0 };
	int err;

	if (vmclock_period_for_hz(hz, &cal.period_frac, &cal.period_shift))
		fail("bad frequency %" PRIu64, hz);
	cal.counter_value = counter;
	cal.time_sec = sec;
	cal.time_frac = frac;
	cal.period_maxerror_rate = cal.period_frac / 100000;
	cal.period_esterror_rate = cal.period_frac / 1000000;
	cal.time_maxerror_ns = maxerr;
	cal.time_esterror_ns = maxerr / 10;
	cal.valid = VMCLOCK_CAL_PERIOD_ESTERROR | VMCLOCK_CAL_PERIOD_MAXERROR |
		    VMCLOCK_CAL_TIME_ESTERROR | VMCLOCK_CAL_TIME_MAXERROR;
	cal.switch_counter = counter;
	err = vmclock_writer_set_calibration(writer(0, 0), &cal, NULL);
	if (err)
		fail("calibrate: %s", strerror(-err));
}

/* This CPU's counter frequency, measured over 50 ms of CLOCK_MONOTONIC. */
static uint64_t measure_hz(void)
{
	struct timespec a, b, d = { 0, 50000000 };
	uint64_t c0, c1, ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	c0 = vmclock_counter_read();
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	c1 = vmclock_counter_read();
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u +
	     (uint64_t)(b.tv_nsec - a.tv_nsec);
	if (!ns || c1 <= c0)
		fail("cannot measure this CPU's counter");
	return (uint64_t)((unsigned __int128)(c1 - c0) * 1000000000u / ns);
}

static void calibrate_now(uint64_t hz, uint64_t maxerr)
{
	struct timespec ts;
	uint64_t counter;

	if (!hz)
		hz = measure_hz();
	counter = vmclock_counter_read();
	clock_gettime(CLOCK_REALTIME, &ts);
	calibrate(hz, counter, (uint64_t)ts.tv_sec,
		  vmclock_nsec_to_frac((uint32_t)ts.tv_nsec), maxerr);
}

static uint8_t status_value(const char *s)
{
	unsigned int i;

	for (i = 0; i <= VMCLOCK_STATUS_UNRELIABLE; i++)
		if (!strcasecmp(s, vmclock_status_name(i)))
			return (uint8_t)i;
	return (uint8_t)num(s);
}

static void raw_seq(int odd)
{
	uint32_t seq;

	map_file(0);
	seq = le32toh(pg->seq_count);
	if ((seq & 1) != (uint32_t)odd)
		seq++;
	__atomic_store_n(&pg->seq_count, htole32(seq), __ATOMIC_SEQ_CST);
}

static void get(const char *field)
{
	map_file(0);
	if (!strcmp(field, "seq_count"))
		printf("%" PRIu32 "\n", le32toh(pg->seq_count));
	else if (!strcmp(field, "disruption_marker"))
		printf("%" PRIu64 "\n", le64toh(pg->disruption_marker));
	else if (!strcmp(field, "vm_generation_counter"))
		printf("%" PRIu64 "\n", le64toh(pg->vm_generation_counter));
	else if (!strcmp(field, "counter_value"))
		printf("%" PRIu64 "\n", le64toh(pg->counter_value));
	else
		fail("get: unknown field '%s'", field);
}

static void check(int err, const char *op)
{
	if (err)
		fail("%s: %s", op, strerror(-err));
}

static void op_init(char **a)
{
	unmap_file();
	writer(1, strcmp(a[0], "init") ? VMCLOCK_TIME_TAI : VMCLOCK_TIME_UTC);
}

static void op_calibrate(char **a)
{
	calibrate(num(a[1]), num(a[2]), num(a[3]), 0, num(a[4]));
}

static void op_calibrate_now(char **a)
{
	calibrate_now(num(a[1]), num(a[2]));
}

static void op_writer(char **a)
{
	struct vmclock_writer *wr = writer(0, 0);
	const char *o = a[0];

	if (!strcmp(o, "clear-calibration"))
		check(vmclock_writer_clear_calibration(wr), o);
	else if (!strcmp(o, "marker"))
		check(vmclock_writer_bump_disruption(wr, 0), o);
	else if (!strcmp(o, "generation"))
		check(vmclock_writer_bump_generation(wr, 0), o);
	else if (!strcmp(o, "status"))
		check(vmclock_writer_set_status(wr, status_value(a[1])), o);
	else if (!strcmp(o, "flags-set"))
		check(vmclock_writer_set_flags(wr, num(a[1]), 0), o);
	else if (!strcmp(o, "flags-clear"))
		check(vmclock_writer_set_flags(wr, 0, num(a[1])), o);
	else if (!strcmp(o, "tai"))
		check(vmclock_writer_set_tai_offset(
			      wr, (int16_t)strtol(a[1], NULL, 0), 1),
		      o);
	else if (!strcmp(o, "leap"))
		check(vmclock_writer_set_leap(wr, (uint8_t)num(a[1])), o);
}

static void op_seq(char **a)
{
	raw_seq(!strcmp(a[0], "seq-odd"));
}

static void op_magic(char **a)
{
	map_file(0);
	pg->magic = htole32((uint32_t)num(a[1]));
}

static void op_truncate(char **a)
{
	unmap_file();
	if (truncate(file, (off_t)num(a[1])))
		fail("truncate: %s", strerror(errno));
}

static void op_get(char **a)
{
	get(a[1]);
}

static const struct {
	const char *name;
	int args;
	void (*fn)(char **argv);
} ops[] = {
	{ "init", 0, op_init },
	{ "init-tai", 0, op_init },
	{ "calibrate", 4, op_calibrate },
	{ "calibrate-now", 2, op_calibrate_now },
	{ "clear-calibration", 0, op_writer },
	{ "marker", 0, op_writer },
	{ "generation", 0, op_writer },
	{ "status", 1, op_writer },
	{ "flags-set", 1, op_writer },
	{ "flags-clear", 1, op_writer },
	{ "tai", 1, op_writer },
	{ "leap", 1, op_writer },
	{ "seq-odd", 0, op_seq },
	{ "seq-even", 0, op_seq },
	{ "magic", 1, op_magic },
	{ "truncate", 1, op_truncate },
	{ "get", 1, op_get },
};

/* One operation at argv[0]; returns how many arguments it took. */
static int op(char **argv, int argc)
{
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(argv[0], ops[i].name))
			continue;
		if (argc < ops[i].args + 1)
			fail("%s needs %d argument(s)", argv[0], ops[i].args);
		ops[i].fn(argv);
		return ops[i].args;
	}
	fail("unknown operation '%s'", argv[0]);
}

static void run_ops(char **argv, int argc)
{
	int i;

	for (i = 0; i < argc; i++)
		i += op(argv + i, argc - i);
}

/* One writer for many operations: adopting the page costs a transaction. */
static void serve(void)
{
	char line[512], *argv[16], *save = NULL, *tok;
	int argc;

	writer(0, 0);
	printf("ready %" PRIu32 "\n", le32toh(pg->seq_count));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		argc = 0;
		for (tok = strtok_r(line, " \t\n", &save); tok && argc < 16;
		     tok = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = tok;
		if (argc)
			run_ops(argv, argc);
		writer(0, 0);
		printf("ok %" PRIu32 "\n", le32toh(pg->seq_count));
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: mkpage FILE OP [ARG...]... (see mkpage.c)\n");
		return 2;
	}
	file = argv[1];
	if (!strcmp(argv[2], "serve"))
		serve();
	else
		run_ops(argv + 2, argc - 2);
	unmap_file();
	return 0;
}
