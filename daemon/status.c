// SPDX-License-Identifier: MIT
/*
 * status.c - the JSON the control socket's status command returns: the
 * host reference, its error budget, and each page as it stands.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include <vmclock/vmclock.h>

#include "daemon.h"
#include "qemu-guest.h"

/* Weak, as in control.c: the control tests and fuzzers link no adapter. */
#pragma weak qemu_guest_status

static void json_kv_str(FILE *f, const char *k, const char *v, int comma)
{
	fprintf(f, "\"%s\":", k);
	control_json_str(f, v);
	if (comma)
		fputc(',', f);
}

static void json_qemu(FILE *f, const struct guest *g)
{
	if (!g->qemu || !qemu_guest_status)
		return;
	fputc(',', f);
	qemu_guest_status(g, f);
}

static void json_page(FILE *f, const struct guest *g)
{
	const volatile struct vmclock_abi *p;
	uint64_t flags;
	unsigned int bit, first = 1;

	json_kv_str(f, "name", g->name, 1);
	json_kv_str(f, "path", g->path, 1);
	/* An add-qemu guest waiting for its QEMU: no page to show. */
	if (!g->w) {
		fprintf(f, "\"page\":false");
		json_qemu(f, g);
		return;
	}
	p = vmclock_writer_page(g->w);
	flags = p->flags;
	fprintf(f, "\"status\":\"%s\",\"time_type\":\"%s\",\"seq_count\":%u,"
		   "\"disruption_marker\":%" PRIu64 ",\"vm_generation_counter\":%" PRIu64
		   ",\"tai_offset_sec\":%d,\"leap\":\"%s\",\"time_maxerror_ns\":%" PRIu64
		   ",\"updates\":%" PRIu64 ",\"flags\":[",
		vmclock_status_name(p->clock_status),
		vmclock_time_type_name(p->time_type), p->seq_count,
		(uint64_t)p->disruption_marker, (uint64_t)p->vm_generation_counter,
		(int16_t)p->tai_offset_sec, vmclock_leap_name(p->leap_indicator),
		(uint64_t)p->time_maxerror_nanosec, g->updates);
	for (bit = 0; bit < 64; bit++) {
		if (!(flags >> bit & 1) || !vmclock_flag_name(bit))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ",", vmclock_flag_name(bit));
		first = 0;
	}
	fputc(']', f);
	if (g->is_host)
		return;
	fprintf(f, ",\"mapping\":{\"offset\":%" PRIu64 ",\"scale\":%" PRIu64
		   ",\"frac_bits\":%u},\"awaiting_mapping\":%s,\"stopped\":%s,",
		g->map_.offset, g->map_.scale, g->map_.frac_bits,
		g->awaiting_mapping ? "true" : "false",
		g->stopped ? "true" : "false");
	json_kv_str(f, "notify", g->notify_cmd, 0);
	json_qemu(f, g);
}

static void json_leap(FILE *f, const struct daemon *d)
{
	char exp[32] = "";
	time_t t = (time_t)d->leap.expires;
	struct tm tm;

	if (!d->have_leap) {
		fprintf(f, "\"leap_seconds_file\":null");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "\"leap_seconds_file\":{");
	json_kv_str(f, "path", d->conf.leap_seconds_file, 1);
	fprintf(f, "\"expires\":\"%s\",\"expired\":%s,\"unknown_leaps\":%u}",
		exp, d->leap_info.expired ? "true" : "false",
		d->leap_info.unknown_leaps);
}

static void json_host(FILE *f, const struct daemon *d)
{
	const struct ref_fit *fit = &d->ref.fit;

	fprintf(f, "\"host\":{\"status\":\"%s\",\"tai_offset_sec\":%d,"
		   "\"tai_offset_valid\":%s,\"tai_source\":\"%s\",\"leap\":\"%s\",",
		vmclock_status_name(d->status), d->tai_offset,
		d->tai_valid ? "true" : "false",
		d->tai_source ? d->tai_source : "none",
		vmclock_leap_name(d->leap_indicator));
	json_leap(f, d);
	fprintf(f, ",\"kernel\":{\"synchronized\":%s,\"status\":%d,\"maxerror_ns\":%"
		   PRId64 ",\"esterror_ns\":%" PRId64 ",\"tai\":%d,\"grown_ns\":%"
		   PRIu64 "},",
		d->ntp.status & STA_UNSYNC ? "false" : "true", d->ntp.status,
		d->ntp.maxerror_ns, d->ntp.esterror_ns, d->ntp.tai,
		d->kernel_extra_ns);
	fprintf(f, "\"fit\":{\"points\":%u,\"period_ns\":%.12Lf,\"residual_max_ns\":%"
		   PRIu64 ",\"residual_rms_ns\":%" PRIu64 ",\"half_width_ns\":%" PRIu64
		   ",\"period_uncertainty_ppb\":%" PRIu64 ",\"steps\":%u},",
		fit->n, fit->period_ns, fit->resid_max_ns, fit->resid_rms_ns,
		fit->half_width_ns, fit->period_unc_ppb, d->ref.steps);
	fprintf(f, "\"calibration\":{\"time_maxerror_ns\":%" PRIu64
		   ",\"time_esterror_ns\":%" PRIu64 ",\"slew_gap_ns\":%" PRIu64
		   ",\"slew_ppb\":%" PRIu64 "},\"updates\":%" PRIu64 ",\"page\":{",
		d->cal.time_maxerror_ns, d->cal.time_esterror_ns, d->pub.gap_ns,
		d->pub.slew_ppb, d->updates);
	json_page(f, &d->host);
	fprintf(f, "}}");
}

int daemon_status(struct daemon *d, const char *guest, FILE *f, char *err,
		  size_t errlen)
{
	const struct guest *g;

	if (guest) {
		g = daemon_find_guest(d, guest);
		if (!g) {
			snprintf(err, errlen, "no guest \"%s\"", guest);
			return -ENOENT;
		}
		fputc('{', f);
		json_page(f, g);
		fputc('}', f);
		return 0;
	}
	fprintf(f, "{\"version\":\"%s\",", VMCLOCKD_VERSION);
	json_kv_str(f, "run_dir", d->conf.run_dir, 1);
	json_host(f, d);
	fprintf(f, ",\"guests\":[");
	for (g = d->guests; g; g = g->next) {
		fputc('{', f);
		json_page(f, g);
		fprintf(f, "}%s", g->next ? "," : "");
	}
	fprintf(f, "]}");
	return 0;
}
