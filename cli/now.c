// SPDX-License-Identifier: MIT
/*
 * now.c - vmclock now: the time with its earliest/latest bounds.  By
 * default the bound comes from whatever the machine offers (the page in
 * precise mode, else the system clock and the kernel's NTP state);
 * --strict takes only the page's precise bound; --counter N evaluates the
 * page at a given counter value, for reproducible scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What is printed, whichever way it was computed. */
struct now_view {
	int64_t utc_ns, tai_ns, earliest_ns, latest_ns;
	uint64_t maxerror_ns, esterror_ns;
	uint32_t valid;
	const char *source;
	uint8_t clock_status;
	const struct vmclock_reading *page;
	int have_counter;
	const char *reason; /* why there is no bound, or NULL */
};

static void view_from_reading(struct now_view *v,
			      const struct vmclock_reading *rd)
{
	v->utc_ns = rd->utc_ns;
	v->tai_ns = rd->tai_ns;
	v->earliest_ns = rd->earliest_ns;
	v->latest_ns = rd->latest_ns;
	v->maxerror_ns = rd->maxerror_ns;
	v->esterror_ns = rd->esterror_ns;
	v->valid = rd->valid;
	v->source = "page";
	v->clock_status = rd->clock_status;
	v->page = rd;
	v->have_counter = 1;
}

static void view_from_bound(struct now_view *v, const struct vmclock_bound *b)
{
	v->utc_ns = b->utc_ns;
	v->tai_ns = b->tai_ns;
	v->earliest_ns = b->earliest_ns;
	v->latest_ns = b->latest_ns;
	v->maxerror_ns = b->maxerror_ns;
	v->esterror_ns = b->esterror_ns;
	v->valid = b->valid;
	v->source = vmclock_bound_source_name(b->source);
	v->clock_status = b->clock_status;
	v->page = &b->page;
	v->have_counter = b->source == VMCLOCK_SOURCE_PAGE;
}

static int bounded(const struct now_view *v)
{
	return !v->reason && (v->valid & VMCLOCK_VALID_MAXERROR);
}

static void now_json(const struct now_view *v, FILE *f)
{
	const struct vmclock_reading *p = v->page;
	struct json j;

	json_begin(&j, f);
#define OPT_INT(key, bit, val)                  \
	do {                                    \
		if (v->valid & (bit))           \
			json_int(&j, key, val); \
		else                            \
			json_null(&j, key);     \
	} while (0)
	OPT_INT("tai_ns", VMCLOCK_VALID_TAI, v->tai_ns);
	OPT_INT("utc_ns", VMCLOCK_VALID_UTC, v->utc_ns);
#undef OPT_INT
	json_err(&j, "maxerror_ns",
		 bounded(v) ? v->maxerror_ns : VMCLOCK_ERROR_UNKNOWN);
	json_err(&j, "esterror_ns",
		 (v->valid & VMCLOCK_VALID_ESTERROR) ? v->esterror_ns :
						       VMCLOCK_ERROR_UNKNOWN);
	if (bounded(v)) {
		json_int(&j, "earliest_ns", v->earliest_ns);
		json_int(&j, "latest_ns", v->latest_ns);
	} else {
		json_null(&j, "earliest_ns");
		json_null(&j, "latest_ns");
	}
	json_str(&j, "clock_status", vmclock_status_name(v->clock_status));
	json_str(&j, "leap_indicator", vmclock_leap_name(p->leap_indicator));
	json_uint(&j, "disruption_marker", p->disruption_marker);
	json_uint(&j, "vm_generation_counter", p->vm_generation_counter);
	json_uint(&j, "seq_count", p->seq_count);
	if (v->have_counter)
		json_uint(&j, "counter", p->counter);
	else
		json_null(&j, "counter");
	json_str(&j, "source", v->source);
	json_bool(&j, "bounded", bounded(v));
	json_str(&j, "reason", v->reason);
	json_str(&j, "page_clock_status", vmclock_status_name(p->clock_status));
	json_end(&j);
}

static void print_time(FILE *f, const char *label, int known, int64_t ns)
{
	char buf[48];

	if (known)
		fprintf(f, "%-10s%s (%" PRId64 " ns)\n", label,
			fmt_time(buf, sizeof(buf), ns), ns);
	else
		fprintf(f, "%-10sunknown\n", label);
}

static void now_text(const struct now_view *v, FILE *f)
{
	const struct vmclock_reading *p = v->page;

	print_time(f, "utc:", v->valid & VMCLOCK_VALID_UTC, v->utc_ns);
	print_time(f, "tai:", v->valid & VMCLOCK_VALID_TAI, v->tai_ns);
	print_time(f, "earliest:", bounded(v), v->earliest_ns);
	print_time(f, "latest:", bounded(v), v->latest_ns);
	if (bounded(v))
		fprintf(f, "maxerror: %" PRIu64 " ns\n", v->maxerror_ns);
	else
		fprintf(f, "maxerror: unknown (%s)\n",
			v->reason ? v->reason :
				    "the page gives no maximum error");
	if (v->valid & VMCLOCK_VALID_ESTERROR)
		fprintf(f, "esterror: %" PRIu64 " ns\n", v->esterror_ns);
	else
		fprintf(f, "esterror: unknown\n");
	fprintf(f, "status:   %s (source: %s; page status %s)\n",
		vmclock_status_name(v->clock_status), v->source,
		vmclock_status_name(p->clock_status));
	fprintf(f, "leap:     %s\n", vmclock_leap_name(p->leap_indicator));
	fprintf(f,
		"page:     disruption_marker %" PRIu64
		", vm_generation_counter %" PRIu64 ", seq_count %" PRIu32,
		p->disruption_marker, p->vm_generation_counter, p->seq_count);
	if (v->have_counter)
		fprintf(f, ", counter %" PRIu64, p->counter);
	fputc('\n', f);
}

/* vmclock_reader_now()'s conditions, for a reading taken at a counter. */
static int strict_check(const struct vmclock_reading *rd)
{
	if (!(rd->valid & VMCLOCK_VALID_UTC))
		return -ENOTSUP;
	switch (rd->clock_status) {
	case VMCLOCK_STATUS_SYNCHRONIZED:
	case VMCLOCK_STATUS_FREERUNNING:
		break;
	case VMCLOCK_STATUS_INITIALIZING:
		return -EAGAIN;
	case VMCLOCK_STATUS_UNRELIABLE:
		return -EIO;
	default:
		return -ENODATA;
	}
	return (rd->valid & VMCLOCK_VALID_MAXERROR) ? 0 : -ENODATA;
}

struct now_opts {
	const char *path;
	int json, strict, have_counter;
	uint64_t counter;
};

static int now_usage(FILE *f, int code)
{
	fputs("usage: vmclock now [--device PATH] [--counter N] [--strict] [--json]\n"
	      "Print the time with earliest/latest bounds.\n"
	      "  --counter N  evaluate the page at counter value N\n"
	      "  --strict     only the page's precise bound; fail without one\n",
	      f);
	return code;
}

static void now_parse(int argc, char **argv, struct now_opts *o)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "counter", required_argument, NULL, 'c' },
		{ "strict", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "d:c:sjh", opts, NULL)) != -1) {
		if (c == 'd')
			o->path = optarg;
		else if (c == 'c')
			o->have_counter = 1,
			o->counter = parse_u64("now", "--counter", optarg);
		else if (c == 's')
			o->strict = 1;
		else if (c == 'j')
			o->json = 1;
		else if (c == 'h')
			exit(now_usage(stdout, EXIT_OK));
		else
			usage_error("now", "bad option");
	}
	if (optind != argc)
		usage_error("now", "unexpected argument '%s'", argv[optind]);
}

/* The page alone: at a given counter, or strictly now. */
static int now_page(const struct now_opts *o, struct vmclock_reader *r,
		    struct vmclock_reading *rd)
{
	int err;

	if (o->have_counter)
		err = vmclock_reader_read_at(r, o->counter, rd);
	else
		err = vmclock_reader_now(r, rd);
	if (o->have_counter && !err && o->strict)
		err = strict_check(rd);
	if (err == -ETIMEDOUT || err == -ENODEV ||
	    (err == -EIO && rd->clock_status != VMCLOCK_STATUS_UNRELIABLE))
		die_read(o->path, err);
	if (err)
		die("%s: no bounded time from the page: %s (clock_status %s)",
		    cli_device_path(o->path), vmclock_strerror(err),
		    vmclock_status_name(rd->clock_status));
	return 0;
}

int cmd_now(int argc, char **argv)
{
	struct vmclock_bounded *b;
	struct vmclock_reading rd;
	struct vmclock_bound bound;
	struct vmclock_reader *r;
	struct now_view v;
	struct now_opts o;
	int err;

	now_parse(argc, argv, &o);
	r = cli_open(o.path);
	memset(&v, 0, sizeof(v));
	memset(&rd, 0, sizeof(rd));
	if (o.have_counter || o.strict) {
		now_page(&o, r, &rd);
		view_from_reading(&v, &rd);
	} else {
		b = cli_bounded(r, o.path);
		err = vmclock_bounded_now(b, &bound);
		if (err && err != -ENOTSUP && !vmclock_bounded_not_yet(err))
			die_read(o.path, err);
		view_from_bound(&v, &bound);
		v.reason = err ? vmclock_bounded_strerror(err) : NULL;
		cli_bounded_done(b);
	}
	if (o.json)
		now_json(&v, cli_out);
	else
		now_text(&v, cli_out);
	vmclock_reader_close(r);
	return EXIT_OK;
}
