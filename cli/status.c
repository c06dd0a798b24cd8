// SPDX-License-Identifier: MIT
/*
 * status.c - vmclock status: every field of the page decoded with units
 * and names (flags, status, leap, smearing, counter id, period as Hz, error
 * rates as ppm, age of the calibration), and how the page was read.
 */
#include <endian.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>

#include "cli.h"

/* The page's fields in native order, and what follows from them. */
struct status_view {
	const char *path;
	const char *access;
	const char *file_type;
	struct vmclock_abi p;
	struct vmclock_reading rd;
	double period_s; /* one counter tick, 0 when not given */
	double est_ppm; /* period error rates */
	double max_ppm;
	uint32_t time_nsec; /* time_frac_sec in ns */
	int have_age;
	double age_s; /* CPU counter now - counter_value, in seconds */
	const char *mode;
	int kernel_ok; /* adjtimex() answered */
	int kernel_state;
	struct timex tx;
};

/* The system clock's NTP state: basic mode's source. */
static void read_kernel(struct status_view *v)
{
	memset(&v->tx, 0, sizeof(v->tx));
	if (cli_bounded_ops && cli_bounded_ops->adjtimex)
		v->kernel_state =
			cli_bounded_ops->adjtimex(cli_bounded_ops->ctx, &v->tx);
	else
		v->kernel_state = adjtimex(&v->tx);
	v->kernel_ok = v->kernel_state >= 0;
}

static int kernel_synced(const struct status_view *v)
{
	return v->kernel_ok && v->kernel_state != TIME_ERROR &&
	       !(v->tx.status & (STA_UNSYNC | STA_CLOCKERR));
}

static void status_text_kernel(const struct status_view *v, FILE *f)
{
	if (!v->kernel_ok) {
		fprintf(f,
			"system_clock:          unknown (adjtimex failed)\n");
		return;
	}
	fprintf(f,
		"system_clock:          %s (adjtimex: maxerror %ld us, "
		"esterror %ld us, status 0x%x)\n",
		kernel_synced(v) ? "synchronized" : "not synchronized",
		v->tx.maxerror, v->tx.esterror, (unsigned int)v->tx.status);
}

static void status_json_kernel(const struct status_view *v, struct json *j)
{
	json_bool(j, "system_clock_synchronized", kernel_synced(v));
	if (v->kernel_ok) {
		json_int(j, "system_maxerror_us", v->tx.maxerror);
		json_int(j, "system_esterror_us", v->tx.esterror);
	} else {
		json_null(j, "system_maxerror_us");
		json_null(j, "system_esterror_us");
	}
}

static void to_native(struct vmclock_abi *p)
{
	p->magic = le32toh(p->magic);
	p->size = le32toh(p->size);
	p->version = le16toh(p->version);
	p->seq_count = le32toh(p->seq_count);
	p->disruption_marker = le64toh(p->disruption_marker);
	p->flags = le64toh(p->flags);
	p->tai_offset_sec = (int16_t)le16toh((uint16_t)p->tai_offset_sec);
	p->counter_value = le64toh(p->counter_value);
	p->counter_period_frac_sec = le64toh(p->counter_period_frac_sec);
	p->counter_period_esterror_rate_frac_sec =
		le64toh(p->counter_period_esterror_rate_frac_sec);
	p->counter_period_maxerror_rate_frac_sec =
		le64toh(p->counter_period_maxerror_rate_frac_sec);
	p->time_sec = le64toh(p->time_sec);
	p->time_frac_sec = le64toh(p->time_frac_sec);
	p->time_esterror_nanosec = le64toh(p->time_esterror_nanosec);
	p->time_maxerror_nanosec = le64toh(p->time_maxerror_nanosec);
	p->vm_generation_counter = le64toh(p->vm_generation_counter);
}

static const char *access_name(enum vmclock_access a)
{
	switch (a) {
	case VMCLOCK_ACCESS_MMAP:
		return "mmap";
	case VMCLOCK_ACCESS_PREAD:
		return "pread";
	default:
		return "memory";
	}
}

static const char *file_type(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return "unknown";
	if (S_ISCHR(st.st_mode))
		return "device";
	return S_ISREG(st.st_mode) ? "file" : "other";
}

/* Period, rates and the calibration's age, from the page's units. */
static void derive(struct status_view *v)
{
	const struct vmclock_abi *p = &v->p;
	double frac = (double)p->counter_period_frac_sec;
	int64_t ticks;

	v->time_nsec = (uint32_t)(((unsigned __int128)p->time_frac_sec *
				   1000000000u) >>
				  64);
	if (!frac || p->counter_period_shift > 63)
		return;
	v->period_s = ldexp(frac, -(64 + p->counter_period_shift));
	v->est_ppm =
		(double)p->counter_period_esterror_rate_frac_sec / frac * 1e6;
	v->max_ppm =
		(double)p->counter_period_maxerror_rate_frac_sec / frac * 1e6;
	if (p->counter_id != vmclock_counter_id_native())
		return;
	ticks = (int64_t)(v->rd.counter - p->counter_value);
	v->have_age = 1;
	v->age_s = (double)ticks * v->period_s;
}

static void status_text(const struct status_view *v, FILE *f)
{
	const struct vmclock_abi *p = &v->p;
	char buf[512];

	fprintf(f, "device:                %s (%s, read by %s)\n", v->path,
		v->file_type, v->access);
	fprintf(f, "mode:                  %s\n", v->mode);
	fprintf(f, "magic:                 0x%08" PRIx32 " (VCLK)\n", p->magic);
	fprintf(f, "version:               %u\n", p->version);
	fprintf(f, "size:                  %" PRIu32 " bytes\n", p->size);
	fprintf(f, "counter_id:            %u (%s; this CPU: %s)\n",
		p->counter_id, vmclock_counter_name(p->counter_id),
		vmclock_counter_name(
			(unsigned int)vmclock_counter_id_native()));
	fprintf(f, "time_type:             %u (%s)\n", p->time_type,
		vmclock_time_type_name(p->time_type));
	fprintf(f, "seq_count:             %" PRIu32 "\n", p->seq_count);
	fprintf(f, "disruption_marker:     %" PRIu64 "\n",
		p->disruption_marker);
	fprintf(f, "flags:                 0x%" PRIx64 " (%s)\n", p->flags,
		fmt_flags(buf, sizeof(buf), p->flags));
	fprintf(f, "clock_status:          %u (%s)\n", p->clock_status,
		vmclock_status_name(p->clock_status));
	fprintf(f, "smearing_hint:         %u (%s)\n",
		p->leap_second_smearing_hint,
		vmclock_smearing_name(p->leap_second_smearing_hint));
	fprintf(f, "tai_offset:            %d s (%s)\n", p->tai_offset_sec,
		p->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID ? "valid" :
							   "not valid");
	fprintf(f, "leap_indicator:        %u (%s)\n", p->leap_indicator,
		vmclock_leap_name(p->leap_indicator));
	fprintf(f, "vm_generation_counter: %" PRIu64 "%s\n",
		p->vm_generation_counter,
		p->flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT ?
			"" :
			" (not present)");
}

static const char *valid(uint64_t flags, uint64_t bit)
{
	return flags & bit ? "" : " (not valid)";
}

static void status_text_calibration(const struct status_view *v, FILE *f)
{
	const struct vmclock_abi *p = &v->p;
	char tbuf[48];

	if (!v->period_s) {
		fprintf(f, "calibration:           none (basic mode)\n");
		return;
	}
	fprintf(f, "counter_value:         %" PRIu64 "\n", p->counter_value);
	fprintf(f,
		"counter_period:        %.6f ns (%.3f Hz; frac 0x%" PRIx64
		", shift %u)\n",
		v->period_s * 1e9, 1 / v->period_s, p->counter_period_frac_sec,
		p->counter_period_shift);
	fprintf(f, "period_esterror_rate:  %.6f ppm%s\n", v->est_ppm,
		valid(p->flags, VMCLOCK_FLAG_PERIOD_ESTERROR_VALID));
	fprintf(f, "period_maxerror_rate:  %.6f ppm%s\n", v->max_ppm,
		valid(p->flags, VMCLOCK_FLAG_PERIOD_MAXERROR_VALID));
	fprintf(f,
		"time:                  %" PRIu64 ".%09" PRIu32 " s (%s, %s)\n",
		p->time_sec, v->time_nsec,
		fmt_time(tbuf, sizeof(tbuf),
			 (int64_t)p->time_sec * 1000000000 + v->time_nsec),
		vmclock_time_type_name(p->time_type));
	fprintf(f, "time_esterror:         %" PRIu64 " ns%s\n",
		p->time_esterror_nanosec,
		valid(p->flags, VMCLOCK_FLAG_TIME_ESTERROR_VALID));
	fprintf(f, "time_maxerror:         %" PRIu64 " ns%s\n",
		p->time_maxerror_nanosec,
		valid(p->flags, VMCLOCK_FLAG_TIME_MAXERROR_VALID));
	if (v->have_age)
		fprintf(f, "calibration_age:       %.6f s\n", v->age_s);
	else
		fprintf(f,
			"calibration_age:       unknown (not this CPU's counter)\n");
}

static void status_json_calibration(const struct status_view *v, struct json *j)
{
	const struct vmclock_abi *p = &v->p;

	json_uint(j, "counter_value", p->counter_value);
	json_uint(j, "counter_period_frac_sec", p->counter_period_frac_sec);
	json_uint(j, "counter_period_shift", p->counter_period_shift);
	json_uint(j, "counter_period_esterror_rate_frac_sec",
		  p->counter_period_esterror_rate_frac_sec);
	json_uint(j, "counter_period_maxerror_rate_frac_sec",
		  p->counter_period_maxerror_rate_frac_sec);
	if (v->period_s) {
		json_double(j, "counter_period_ns", v->period_s * 1e9, 9);
		json_double(j, "counter_hz", 1 / v->period_s, 3);
		json_double(j, "period_esterror_ppm", v->est_ppm, 6);
		json_double(j, "period_maxerror_ppm", v->max_ppm, 6);
	} else {
		json_null(j, "counter_period_ns");
		json_null(j, "counter_hz");
		json_null(j, "period_esterror_ppm");
		json_null(j, "period_maxerror_ppm");
	}
	json_uint(j, "time_sec", p->time_sec);
	json_uint(j, "time_frac_sec", p->time_frac_sec);
	json_uint(j, "time_nsec", v->time_nsec);
	json_uint(j, "time_esterror_ns", p->time_esterror_nanosec);
	json_uint(j, "time_maxerror_ns", p->time_maxerror_nanosec);
	if (v->have_age)
		json_double(j, "calibration_age_s", v->age_s, 9);
	else
		json_null(j, "calibration_age_s");
}

static void status_json(const struct status_view *v, FILE *f)
{
	const struct vmclock_abi *p = &v->p;
	struct json j;

	json_begin(&j, f);
	json_str(&j, "device", v->path);
	json_str(&j, "file_type", v->file_type);
	json_str(&j, "access", v->access);
	json_str(&j, "mode", v->mode);
	json_uint(&j, "magic", p->magic);
	json_uint(&j, "version", p->version);
	json_uint(&j, "size", p->size);
	json_uint(&j, "counter_id", p->counter_id);
	json_str(&j, "counter_name", vmclock_counter_name(p->counter_id));
	json_uint(&j, "time_type", p->time_type);
	json_str(&j, "time_type_name", vmclock_time_type_name(p->time_type));
	json_uint(&j, "seq_count", p->seq_count);
	json_uint(&j, "disruption_marker", p->disruption_marker);
	json_uint(&j, "flags", p->flags);
	json_flags(&j, "flag_names", p->flags);
	json_str(&j, "clock_status", vmclock_status_name(p->clock_status));
	json_str(&j, "smearing_hint",
		 vmclock_smearing_name(p->leap_second_smearing_hint));
	json_int(&j, "tai_offset_sec", p->tai_offset_sec);
	json_bool(&j, "tai_offset_valid",
		  !!(p->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID));
	json_str(&j, "leap_indicator", vmclock_leap_name(p->leap_indicator));
	json_uint(&j, "vm_generation_counter", p->vm_generation_counter);
	status_json_calibration(v, &j);
	status_json_kernel(v, &j);
	json_end(&j);
}

static int status_usage(FILE *f, int code)
{
	fputs("usage: vmclock status [--device PATH] [--json]\n"
	      "Print every field of the VMClock page, decoded.\n",
	      f);
	return code;
}

static void status_parse(int argc, char **argv, const char **path, int *json)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		if (c == 'd')
			*path = optarg;
		else if (c == 'j')
			*json = 1;
		else if (c == 'h')
			exit(status_usage(stdout, EXIT_OK));
		else
			usage_error("status", "bad option");
	}
	if (optind != argc)
		usage_error("status", "unexpected argument '%s'", argv[optind]);
}

int cmd_status(int argc, char **argv)
{
	struct status_view v;
	const char *path = NULL;
	struct vmclock_reader *r;
	int json = 0, err;

	status_parse(argc, argv, &path, &json);
	memset(&v, 0, sizeof(v));
	r = cli_open(path);
	v.path = cli_device_path(path);
	err = vmclock_reader_snapshot(r, &v.p);
	if (!err)
		err = vmclock_reader_read(r, &v.rd);
	if (err)
		die_read(path, err);
	to_native(&v.p);
	v.access = access_name(vmclock_reader_method(r));
	v.file_type = file_type(vmclock_reader_fd(r));
	v.mode = (v.rd.valid & VMCLOCK_VALID_TIME) &&
				 v.p.counter_id == vmclock_counter_id_native() ?
			 "precise" :
			 "basic";
	derive(&v);
	read_kernel(&v);
	if (json)
		status_json(&v, cli_out);
	else {
		status_text(&v, cli_out);
		status_text_calibration(&v, cli_out);
		status_text_kernel(&v, cli_out);
	}
	vmclock_reader_close(r);
	return EXIT_OK;
}
