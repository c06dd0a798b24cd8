// SPDX-License-Identifier: MIT
/*
 * fuzz_adopt.c - a hostile page adopted by libvmclock's writer.
 *
 * A guest page lives in guest RAM: the guest can write anything into it,
 * and a restarted vmclockd adopts it (vmclock_writer_create() with adopt).
 * Input: a config byte, a 112-byte calibration, then the page bytes (the
 * rest of a 4096-byte page is zero).  The writer adopts the page, sets
 * TIME_MONOTONIC and publishes the calibration (ADJUST or REFUSE policy),
 * bumps the marker and generation.
 *
 * Properties: no crash, no UB; after every call the page is valid (magic,
 * version, size) with an even seq_count (an adopted page at rest keeps its
 * own, one left odd is closed); marker and generation changed; a published calibration is on
 * the page as published (or refused with -ERANGE/-EINVAL); the reader
 * reads it.
 */
#include <errno.h>
#include <string.h>

#include <vmclock/vmclock-writer.h>
#include <vmclock/vmclock.h>

#include "fuzz.h"

#define PAGE 4096

static uint64_t page[PAGE / 8];

#define FIELD(f)                                                         \
	fuzz_le((const uint8_t *)page + offsetof(struct vmclock_abi, f), \
		sizeof(((struct vmclock_abi *)0)->f))

static void check_page(uint32_t old_seq, int adopted)
{
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	PROP(vmclock_page_validate(page, PAGE, NULL) == 0);
	PROP(!(FIELD(seq_count) & 1));
	/* Adopted at rest: untouched; left odd by a dead writer: even. */
	if (adopted)
		PROP(FIELD(seq_count) == (old_seq & 1 ? old_seq + 1 : old_seq));
	r = vmclock_reader_open_memory(page, PAGE);
	PROP(r);
	PROP(vmclock_reader_read_at(r, 12345, &rd) == 0);
	vmclock_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmclock_writer_config cfg = { .size = PAGE, .adopt = 1 };
	struct vmclock_calibration cal;
	struct vmclock_publish_result res;
	struct vmclock_writer *w;
	uint64_t marker, gen;
	uint32_t seq;
	uint8_t conf;
	int err;

	conf = (uint8_t)fuzz_take(&data, &size, 1);
	cfg.counter_id = conf & 1;
	cfg.time_type = (conf >> 1) & 1;
	cfg.policy = (conf >> 2) & 1 ? VMCLOCK_MONOTONIC_REFUSE :
				       VMCLOCK_MONOTONIC_ADJUST;
	cfg.publish_window_ticks = (conf >> 3) * 1000ull;
	cal.counter_value = fuzz_take(&data, &size, 8);
	cal.time_sec = fuzz_take(&data, &size, 8);
	cal.time_frac = fuzz_take(&data, &size, 8);
	cal.period_frac = fuzz_take(&data, &size, 8);
	cal.period_shift = (uint8_t)fuzz_take(&data, &size, 1);
	cal.period_esterror_rate = fuzz_take(&data, &size, 8);
	cal.period_maxerror_rate = fuzz_take(&data, &size, 8);
	cal.time_esterror_ns = fuzz_take(&data, &size, 8);
	cal.time_maxerror_ns = fuzz_take(&data, &size, 8);
	cal.valid = (uint32_t)fuzz_take(&data, &size, 1) & 0xf;
	cal.switch_counter = fuzz_take(&data, &size, 8);
	memset(page, 0, sizeof(page));
	memcpy(page, data, size < sizeof(page) ? size : sizeof(page));
	seq = (uint32_t)FIELD(seq_count);

	w = vmclock_writer_create(page, PAGE, &cfg);
	if (!w) {
		/* Only a valid page of another counter or time type is refused. */
		PROP(errno == EINVAL);
		PROP(vmclock_page_validate(page, PAGE, NULL) == 0);
		return 0;
	}
	check_page(seq, vmclock_writer_adopted(w));
	marker = FIELD(disruption_marker);
	gen = FIELD(vm_generation_counter);
	vmclock_writer_set_flags(w, VMCLOCK_FLAG_TIME_MONOTONIC, 0);
	err = vmclock_writer_set_calibration(w, &cal, &res);
	PROP(err == 0 || err == -EINVAL || err == -ERANGE);
	if (!err && !res.adjusted) {
		PROP(FIELD(counter_value) == cal.counter_value);
		PROP(FIELD(time_sec) == cal.time_sec &&
		     FIELD(time_frac_sec) == cal.time_frac);
	}
	if (err == -EINVAL)
		PROP(cal.period_shift > 63 || cal.period_frac == 0);
	vmclock_writer_bump_disruption(w, 0);
	vmclock_writer_bump_generation(w, 0);
	PROP(FIELD(disruption_marker) != marker);
	PROP(FIELD(vm_generation_counter) != gen);
	check_page(0, 0);
	vmclock_writer_destroy(w);
	return 0;
}
