// SPDX-License-Identifier: MIT
/*
 * respond.c - vmclock respond: the guest's half of the counter-mapping
 * handshake of vmclockd's QEMU adapter (protocol in daemon/mailbox.h).
 *
 * Under TCG nothing on the host can read the guest's TSC offset, so the
 * adapter writes probes into a reserved guest page (the mailbox) and times
 * our answers.  This command maps that page from /dev/mem (or any file
 * standing in for it) and answers each probe with this CPU's counter, read
 * after the probe is seen and stored before the acknowledgement.  It is
 * the only guest-side helper the adapter needs, and it reads no page: the
 * VMClock page itself comes from the kernel.
 *
 * Between requests it looks at the mailbox every millisecond (the host
 * waits 20 ms for it to start answering); during a burst it spins, as the
 * host does, and gives a burst up after 100 ms without a probe (a host
 * that went away), not to spin forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "../daemon/mailbox.h"
#include "cli.h"

#define PAGE 4096u
#define NAP_NS 1000000l
#define BURST_IDLE_NS 100000000ull

#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

struct respond_opts {
	const char *mem;
	uint64_t mailbox;
	int have_mailbox;
	uint64_t count;
	uint64_t timeout_ns;
	int json;
};

static int respond_usage(FILE *f, int code)
{
	fputs("usage: vmclock respond --mailbox ADDR [--mem PATH] [--count N]\n"
	      "                       [--timeout S] [--json]\n"
	      "Answer vmclockd's counter-mapping probes through the mailbox page\n"
	      "at physical address ADDR of PATH (default /dev/mem), until killed.\n",
	      f);
	return code;
}

static void respond_parse(int argc, char **argv, struct respond_opts *o)
{
	static const struct option opts[] = {
		{ "mailbox", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = "/dev/mem";
	optind = 0;
	while ((c = getopt_long(argc, argv, "a:m:n:t:jh", opts, NULL)) != -1) {
		if (c == 'a') {
			o->mailbox = parse_u64("respond", "--mailbox", optarg);
			o->have_mailbox = 1;
		} else if (c == 'm') {
			o->mem = optarg;
		} else if (c == 'n') {
			o->count = parse_u64("respond", "--count", optarg);
		} else if (c == 't') {
			o->timeout_ns = parse_seconds("respond", "--timeout",
						      optarg);
		} else if (c == 'j') {
			o->json = 1;
		} else if (c == 'h') {
			exit(respond_usage(stdout, EXIT_OK));
		} else {
			usage_error("respond", "bad option");
		}
	}
	if (optind != argc)
		usage_error("respond", "unexpected argument '%s'", argv[optind]);
	if (!o->have_mailbox)
		usage_error("respond", "--mailbox ADDR is required (the mailbox= "
			    "of vmclockctl add-qemu, e.g. 0x1f001000)");
	if (o->mailbox % PAGE)
		usage_error("respond", "--mailbox: 0x%" PRIx64 " is not 4 KiB aligned",
			    o->mailbox);
}

/* The mailbox page of @o->mem, or die saying what to do. */
static volatile struct vmclock_mbox *map_mailbox(const struct respond_opts *o)
{
	struct stat st;
	void *p;
	int fd = open(o->mem, O_RDWR | O_SYNC | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM))
		die_errno(errno, "%s (mapping guest memory needs root, CAP_SYS_RAWIO)",
			  o->mem);
	if (fd < 0)
		die_errno(errno, "%s", o->mem);
	if (fstat(fd, &st))
		die_errno(errno, "%s", o->mem);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < o->mailbox + PAGE)
		die("%s: the mailbox page 0x%" PRIx64 " lies beyond its end (%lld bytes)",
		    o->mem, o->mailbox, (long long)st.st_size);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)o->mailbox);
	if (p == MAP_FAILED)
		die_errno(errno, "%s: mapping 0x%" PRIx64 "%s", o->mem, o->mailbox,
			  S_ISCHR(st.st_mode) ? " (the kernel maps only reserved "
			  "memory: is memmap=8K$PAGE on its command line, with the "
			  "mailbox right after the VMClock page?)" : "");
	close(fd);
	return (volatile struct vmclock_mbox *)((char *)p + VMCLOCK_MBOX_OFFSET);
}

/*
 * Answer the probes of request @n until the host ends it (done = n), a
 * new request starts, or no probe came for BURST_IDLE_NS.  Return the
 * probes answered; *@gone is set on the last.
 */
static uint64_t serve_request(volatile struct vmclock_mbox *m, uint64_t n,
			      int *gone)
{
	uint64_t last = LOAD(m->probe), probes = 0, seen = 0, p, t;
	uint64_t since = cli_mono_ns();
	unsigned int spins = 0;

	*gone = 0;
	/* Read the probe number first: the host probes only after this. */
	STORE(m->ready, n);
	while (LOAD(m->done) != n && LOAD(m->req) == n) {
		p = LOAD(m->probe);
		if (p != last) {
			/* Ordered after the probe's load (lfence; rdtsc). */
			t = vmclock_counter_read();
			__atomic_store_n(&m->tsc, t, __ATOMIC_RELAXED);
			STORE(m->ack, p);
			last = p;
			probes++;
			continue;
		}
		if (++spins & 4095)
			continue;
		if (probes != seen) {
			seen = probes;
			since = cli_mono_ns();
		} else if (cli_mono_ns() - since > BURST_IDLE_NS) {
			*gone = 1;
			break;
		}
	}
	return probes;
}

static void report(const struct respond_opts *o, uint64_t n, uint64_t probes,
		   int gone)
{
	struct json j;

	if (o->json) {
		json_begin(&j, cli_out);
		json_uint(&j, "request", n);
		json_uint(&j, "probes", probes);
		json_bool(&j, "complete", !gone);
		json_end(&j);
	} else {
		fprintf(cli_out, "request %" PRIu64 ": %" PRIu64 " probes answered%s\n",
			n, probes, gone ? " (the host stopped probing)" : "");
	}
	fflush(cli_out);
}

int cmd_respond(int argc, char **argv)
{
	const struct timespec nap = { 0, NAP_NS };
	volatile struct vmclock_mbox *m;
	uint64_t n, answered = 0, abandoned = 0, probes, end = 0;
	struct respond_opts o;
	int gone;

	respond_parse(argc, argv, &o);
	if (vmclock_counter_id_native() == VMCLOCK_COUNTER_INVALID)
		die("respond: libvmclock cannot read this CPU's counter");
	m = map_mailbox(&o);
	if (o.timeout_ns)
		end = cli_mono_ns() + o.timeout_ns;
	for (;;) {
		if (end && cli_mono_ns() >= end)
			return o.count ? EXIT_FAIL : EXIT_OK;
		n = LOAD(m->req);
		/* Until vmclockd has set the mailbox up, and between requests. */
		if (LOAD(m->magic) != VMCLOCK_MBOX_MAGIC || m->version != 1 ||
		    !n || n == LOAD(m->done) || n == abandoned) {
			nanosleep(&nap, NULL);
			continue;
		}
		probes = serve_request(m, n, &gone);
		if (gone)
			abandoned = n;
		report(&o, n, probes, gone);
		if (!gone && o.count && ++answered >= o.count)
			return EXIT_OK;
	}
}
