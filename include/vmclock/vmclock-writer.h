/* SPDX-License-Identifier: MIT */
/*
 * vmclock-writer.h - libvmclock, the hypervisor side: write the VMClock page.
 *
 * A writer owns one page in memory the caller provides (a mapped file a VMM
 * maps into its guest, guest RAM, or a buffer in a test).  Every change is a
 * transaction under the page's sequence lock:
 *
 *	seq_count odd -> release fence -> fields -> release fence -> seq even
 *
 * followed by the notification hook, if any.  vmclock_writer_begin() and
 * vmclock_writer_commit() group several changes into one transaction; each
 * setter called outside them is a transaction of its own.
 *
 * The writer never reads a clock: the caller passes the calibration and the
 * counter reading at which it is published.  It enforces the page's
 * TIME_MONOTONIC promise: while the flag is set, a new calibration must not
 * give an earlier time than the previous one at the moment of the switch,
 * and the writer adjusts (or refuses) a calibration that would.
 *
 * Thread safety: a writer is used by one thread at a time.  There must be
 * exactly one writer for a page.
 */
#ifndef VMCLOCK_VMCLOCK_WRITER_H
#define VMCLOCK_VMCLOCK_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <vmclock/vmclock-abi.h>
#include <vmclock/vmclock-arith.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * typedef vmclock_notify_fn - called each time seq_count becomes even
 * @ctx: the pointer given in struct vmclock_writer_config.
 * @seq_count: the new, even, seq_count.
 */
typedef void (*vmclock_notify_fn)(void *ctx, uint32_t seq_count);

/* What to do with a calibration that would break TIME_MONOTONIC. */
enum vmclock_monotonic_policy {
	/* Move the new line forward to meet the old one and widen its errors. */
	VMCLOCK_MONOTONIC_ADJUST,
	/* Refuse it with -ERANGE; the page keeps the old calibration. */
	VMCLOCK_MONOTONIC_REFUSE,
};

/**
 * struct vmclock_writer_config - how a writer sets up its page
 * @counter_id: VMCLOCK_COUNTER_* the calibrations refer to.
 * @time_type: VMCLOCK_TIME_* of the calibrations.
 * @size: the page's size field: the bytes the guest may map (4096 usually,
 *	at least sizeof(struct vmclock_abi)).
 * @adopt: non-zero to keep a valid page's seq_count, marker, generation and
 *	calibration (a restarted daemon) instead of starting afresh.
 * @policy: VMCLOCK_MONOTONIC_ADJUST (default 0) or _REFUSE.
 * @publish_window_ticks: counter ticks between the switch counter the
 *	caller passes and the moment readers can see the new calibration;
 *	the monotonic check covers that whole window.
 * @notify: hook called after each commit, or NULL.
 * @notify_ctx: passed to @notify.
 */
struct vmclock_writer_config {
	uint8_t counter_id;
	uint8_t time_type;
	uint32_t size;
	int adopt;
	enum vmclock_monotonic_policy policy;
	uint64_t publish_window_ticks;
	vmclock_notify_fn notify;
	void *notify_ctx;
};

/* struct vmclock_calibration.valid: which error fields are meaningful. */
#define VMCLOCK_CAL_PERIOD_ESTERROR (1u << 0)
#define VMCLOCK_CAL_PERIOD_MAXERROR (1u << 1)
#define VMCLOCK_CAL_TIME_ESTERROR   (1u << 2)
#define VMCLOCK_CAL_TIME_MAXERROR   (1u << 3)

/**
 * struct vmclock_calibration - a line from the counter to time, with errors
 * @counter_value: the counter reading at @time_sec + @time_frac.
 * @time_sec: seconds in the writer's time_type.
 * @time_frac: fraction of the second, units 2^-64 s.
 * @period_frac: tick length, units 2^-(64 + @period_shift) s.
 * @period_shift: 0..63; vmclock_period_from_ns() picks the best.
 * @period_esterror_rate: estimated period error, same units as @period_frac.
 * @period_maxerror_rate: maximum period error, same units.
 * @time_esterror_ns: estimated error of the time at @counter_value.
 * @time_maxerror_ns: maximum error of the time at @counter_value.
 * @valid: VMCLOCK_CAL_* for the four error fields.
 * @switch_counter: the counter reading now, as the caller publishes: the
 *	monotonic check compares old and new lines from here to here plus
 *	the configured publish window.
 */
struct vmclock_calibration {
	uint64_t counter_value;
	uint64_t time_sec;
	uint64_t time_frac;
	uint64_t period_frac;
	uint8_t period_shift;
	uint64_t period_esterror_rate;
	uint64_t period_maxerror_rate;
	uint64_t time_esterror_ns;
	uint64_t time_maxerror_ns;
	uint32_t valid;
	uint64_t switch_counter;
};

/**
 * struct vmclock_publish_result - what vmclock_writer_set_calibration() did
 * @adjusted: non-zero when the line was moved forward for TIME_MONOTONIC.
 * @adjust_ns: by how much (rounded up); the time errors grew by as much.
 */
struct vmclock_publish_result {
	int adjusted;
	uint64_t adjust_ns;
};

struct vmclock_writer;

/**
 * vmclock_writer_create() - take charge of a page
 * @page: the page memory, @len bytes, writable, 8-byte aligned; must stay
 *	valid until vmclock_writer_destroy().
 * @len: bytes at @page, at least sizeof(struct vmclock_abi) and at least
 *	@cfg->size, except that exactly sizeof(struct vmclock_abi) bytes may
 *	hold a page of any @cfg->size: a shadow of a page the caller cannot
 *	map, which it copies to the page after each commit (the notify hook)
 *	in the sequence lock's order: seq_count odd, the other fields,
 *	seq_count even.  The bytes beyond the struct are then the caller's.
 * @cfg: the set-up.
 *
 * A fresh page (or one that is not valid, or @cfg->adopt == 0) is zeroed and
 * initialised inside one transaction: magic, size, version 1, counter_id,
 * time_type, status UNKNOWN.  Its seq_count continues after the old one
 * when the page was valid (readers cache by seq_count, so a value must not
 * come back), else starts at a random even value.  An adopted page keeps
 * its marker, generation, flags and calibration, and its seq_count: a page
 * at rest is not touched (no commit, no notification); one left odd by a
 * writer that died mid-update is made even by a commit.
 *
 * Return: a writer, or NULL with errno EINVAL (bad arguments, or an adopted
 * page whose counter_id or time_type differs from @cfg) or ENOMEM.
 */
struct vmclock_writer *vmclock_writer_create(volatile void *page, size_t len,
					     const struct vmclock_writer_config *cfg);

/**
 * vmclock_writer_destroy() - forget a page (the page is left as it is)
 * @w: the writer, or NULL.
 */
void vmclock_writer_destroy(struct vmclock_writer *w);

/**
 * vmclock_writer_adopted() - whether create adopted an existing page
 * @w: the writer.
 *
 * Return: 1 when adopted, 0 when the page was initialised afresh.
 */
int vmclock_writer_adopted(const struct vmclock_writer *w);

/**
 * vmclock_writer_begin() - open a transaction: seq_count becomes odd
 * @w: the writer.
 *
 * Return: 0, or -EBUSY when one is already open.
 */
int vmclock_writer_begin(struct vmclock_writer *w);

/**
 * vmclock_writer_commit() - close it: seq_count becomes even, then notify
 * @w: the writer.
 *
 * Return: 0, or -EINVAL when no transaction is open.
 */
int vmclock_writer_commit(struct vmclock_writer *w);

/**
 * vmclock_writer_set_calibration() - publish a new line
 * @w: the writer.
 * @cal: the calibration; its VALID bits set the four error flags.
 * @res: what was done for TIME_MONOTONIC (may be NULL).
 *
 * When the page has VMCLOCK_FLAG_TIME_MONOTONIC and a previous calibration,
 * the new line is checked against the old one over [switch_counter,
 * switch_counter + publish window]; if it is behind, it is moved forward by
 * the gap (rounded up) and both time errors grow by the same amount, or
 * refused, by the writer's policy.
 *
 * Return: 0; -EINVAL for a shift over 63 or a zero period; -ERANGE when
 * refused for TIME_MONOTONIC or the lines cannot be evaluated.
 */
int vmclock_writer_set_calibration(struct vmclock_writer *w,
				   const struct vmclock_calibration *cal,
				   struct vmclock_publish_result *res);

/**
 * struct vmclock_writer_update - what a periodic update publishes
 * @cal: the new calibration, or NULL to leave the line as it is.
 * @status: clock_status, VMCLOCK_STATUS_*.
 * @leap: leap_indicator, VMCLOCK_LEAP_*.
 * @tai_offset_sec: TAI - UTC.
 * @tai_valid: whether to set VMCLOCK_FLAG_TAI_OFFSET_VALID.
 */
struct vmclock_writer_update {
	const struct vmclock_calibration *cal;
	uint8_t status;
	uint8_t leap;
	int16_t tai_offset_sec;
	int tai_valid;
};

/**
 * vmclock_writer_publish() - a whole periodic update in one call
 * @w: the writer.
 * @u: the calibration, status, TAI offset and leap indicator.
 * @res: what was done for TIME_MONOTONIC (may be NULL); filled whatever
 *	the return (nothing adjusted when the calibration was refused).
 *
 * The page ends up byte for byte as after vmclock_writer_set_calibration(),
 * vmclock_writer_set_status(), vmclock_writer_set_tai_offset() and
 * vmclock_writer_set_leap() in one transaction (the caller's, if one is
 * open, else its own with one notification), for less work: a hypervisor
 * updating many pages calls this once per page.  A calibration that is
 * refused, or a bad status or leap indicator, leaves that part of the page
 * as it was; the rest is published.
 *
 * Return: 0, or the first error of the calibration (as
 * vmclock_writer_set_calibration()), the status or the leap indicator
 * (-EINVAL).
 */
int vmclock_writer_publish(struct vmclock_writer *w,
			   const struct vmclock_writer_update *u,
			   struct vmclock_publish_result *res);

/**
 * struct vmclock_monotonic_memo - one TIME_MONOTONIC check for many pages
 *
 * A hypervisor gives every guest of one counter rate the same line, moved
 * by that guest's counter offset (guest counter = scaled host counter +
 * offset).  The TIME_MONOTONIC check depends only on counter differences,
 * so its answer for one such page is the answer for all of them.  The
 * memo keeps the last answer.  vmclock_writer_publish_memo() reuses it
 * for a page whose old line, new line and switch counter are the memo's,
 * all moved by one offset, with the same publish window and policy.  Any
 * other page is checked afresh and its answer kept.
 *
 * Zero it before first use; its fields are the writer's.  It may be
 * shared by any writers of one thread, and it never changes what is
 * published: only how often the check runs.
 */
struct vmclock_monotonic_memo {
	struct vmclock_line old, nl;	/* the lines checked */
	uint64_t switch_counter, window;
	uint64_t time_sec, time_frac;	/* the line published */
	uint64_t adj;
	int ret;
	int policy;
	int valid;
};

/**
 * vmclock_writer_publish_memo() - vmclock_writer_publish() with a memo
 * @w: the writer.
 * @u: as for vmclock_writer_publish().
 * @res: as for vmclock_writer_publish() (may be NULL).
 * @memo: the check's answer to reuse and keep, or NULL.
 *
 * Return: as vmclock_writer_publish(), whose page, result and return value
 * it gives on every input.
 */
int vmclock_writer_publish_memo(struct vmclock_writer *w,
				const struct vmclock_writer_update *u,
				struct vmclock_publish_result *res,
				struct vmclock_monotonic_memo *memo);

/**
 * struct vmclock_writer_image - one update, encoded once for many pages
 *
 * A hypervisor gives every guest of one counter rate the same update: the
 * same line, moved by that guest's counter offset, and the same errors,
 * status, TAI offset and leap indicator.  vmclock_writer_image_prepare()
 * checks and encodes such an update once, with its counter values at
 * offset 0; vmclock_writer_publish_image() then writes it to each page,
 * moved by the page's offset, as a few stores.  The image keeps the last
 * TIME_MONOTONIC answer, for old lines moved by one offset, as struct
 * vmclock_monotonic_memo does, so the check runs once for pages whose
 * previous line was one image too.
 *
 * Its fields are the library's.  One image may serve any writers of one
 * thread; prepare a new one whenever anything in the update changes.
 */
struct vmclock_writer_image {
	struct vmclock_calibration cal;	/* the update, at offset 0 */
	uint8_t status, leap;
	int16_t tai_offset_sec;
	int tai_valid;
	int ok;				/* encoded; else the general path */
	struct vmclock_line line;
	uint64_t flags;			/* the VALID and TAI_OFFSET_VALID bits */
	uint64_t rate_est, rate_max;
	/* The last TIME_MONOTONIC check, for an old line at offset 0. */
	struct vmclock_line old;
	uint64_t window;
	int policy;
	int checked;
	int ret;
	uint64_t time_sec, time_frac, adj;
};

/**
 * vmclock_writer_image_prepare() - encode an update for many pages
 * @img: the image to fill.
 * @u: the update, with a calibration whose counter values are at offset 0
 *	(the host's, or the guest counter mapping's without its offset).
 *
 * Return: 0, or -EINVAL when @u has no calibration.  An update that
 * vmclock_writer_publish() would refuse in part is kept as it is, and
 * each page gets that function's result.
 */
int vmclock_writer_image_prepare(struct vmclock_writer_image *img,
				 const struct vmclock_writer_update *u);

/**
 * vmclock_writer_publish_image() - publish an image, moved by an offset
 * @w: the writer.
 * @img: from vmclock_writer_image_prepare(); its TIME_MONOTONIC answer is
 *	reused and kept.
 * @counter_offset: the page's counter offset: the calibration's
 *	counter_value and switch_counter are moved by it (modulo 2^64).
 * @extra_err_ns: the page's own uncertainty (e.g. of a measured counter
 *	offset), added to both time errors (saturating).
 * @res: as for vmclock_writer_publish() (may be NULL).
 *
 * Return: as vmclock_writer_publish() with the image's update moved by
 * @counter_offset and its time errors grown by @extra_err_ns, whose page,
 * writer state, result and return value it gives on every input.
 */
int vmclock_writer_publish_image(struct vmclock_writer *w,
				 struct vmclock_writer_image *img,
				 uint64_t counter_offset, uint64_t extra_err_ns,
				 struct vmclock_publish_result *res);

/**
 * vmclock_writer_clear_calibration() - withdraw precise time
 * @w: the writer.
 *
 * Zeroes the calibration and error fields and clears their VALID flags
 * (basic mode). Return: 0.
 */
int vmclock_writer_clear_calibration(struct vmclock_writer *w);

/**
 * vmclock_writer_set_status() - set clock_status
 * @w: the writer.
 * @status: VMCLOCK_STATUS_*.
 *
 * Return: 0, or -EINVAL for an unknown status.
 */
int vmclock_writer_set_status(struct vmclock_writer *w, uint8_t status);

/**
 * vmclock_writer_set_flags() - set and clear flags
 * @w: the writer.
 * @set: VMCLOCK_FLAG_* bits to set.
 * @clear: bits to clear (applied first).
 *
 * The error VALID flags follow the calibration and TAI_OFFSET_VALID
 * follows vmclock_writer_set_tai_offset(); setting them here is refused.
 *
 * Return: 0, or -EINVAL.
 */
int vmclock_writer_set_flags(struct vmclock_writer *w, uint64_t set,
			     uint64_t clear);

/**
 * vmclock_writer_set_notify() - change the hook called after each commit
 * @w: the writer.
 * @notify: the new hook, or NULL for none.
 * @ctx: passed to @notify.
 *
 * The page is not touched; the next commit calls the new hook.  A writer
 * that has no hook to call most of the time (a page nobody needs to be
 * told about) saves the call on every commit.
 *
 * Return: 0.
 */
int vmclock_writer_set_notify(struct vmclock_writer *w, vmclock_notify_fn notify,
			      void *ctx);

/**
 * vmclock_writer_set_tai_offset() - set tai_offset_sec (TAI - UTC)
 * @w: the writer.
 * @offset_sec: TAI - UTC, +37 in 2017-2026.
 * @valid: whether to set VMCLOCK_FLAG_TAI_OFFSET_VALID.
 *
 * Return: 0.
 */
int vmclock_writer_set_tai_offset(struct vmclock_writer *w, int16_t offset_sec,
				  int valid);

/**
 * vmclock_writer_set_leap() - set leap_indicator
 * @w: the writer.
 * @leap: VMCLOCK_LEAP_*.
 *
 * Return: 0, or -EINVAL.
 */
int vmclock_writer_set_leap(struct vmclock_writer *w, uint8_t leap);

/**
 * vmclock_writer_set_smearing_hint() - set leap_second_smearing_hint
 * @w: the writer.
 * @hint: VMCLOCK_SMEARING_*.
 *
 * Return: 0, or -EINVAL.
 */
int vmclock_writer_set_smearing_hint(struct vmclock_writer *w, uint8_t hint);

/**
 * vmclock_writer_bump_disruption() - the counter was disrupted
 * @w: the writer.
 * @value: the new disruption_marker, or 0 for the current value + 1.  A
 *	value equal to the current one is bumped by one instead, so the
 *	marker always changes.
 *
 * Readers drop their calibration on a new marker, and so does the writer:
 * the next calibration is not checked against the previous line for
 * TIME_MONOTONIC (it may be in another counter domain after a migration).
 *
 * Return: 0.
 */
int vmclock_writer_bump_disruption(struct vmclock_writer *w, uint64_t value);

/**
 * vmclock_writer_bump_generation() - the guest was restored from a snapshot
 * @w: the writer.
 * @value: the new vm_generation_counter, or 0 for the current value + 1;
 *	never left equal to the current one.  Sets
 *	VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT.
 *
 * Return: 0.
 */
int vmclock_writer_bump_generation(struct vmclock_writer *w, uint64_t value);

/**
 * vmclock_writer_line() - the calibration last published
 * @w: the writer.
 * @line: the line (after any TIME_MONOTONIC adjustment), native order.
 *
 * Return: 0, or -ENODATA when there is none (no calibration yet, or a
 * disruption since).
 */
int vmclock_writer_line(const struct vmclock_writer *w, struct vmclock_line *line);

/**
 * vmclock_writer_page() - the page this writer owns
 * @w: the writer.
 *
 * Return: the page.
 */
volatile struct vmclock_abi *vmclock_writer_page(const struct vmclock_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* VMCLOCK_VMCLOCK_WRITER_H */
