/* SPDX-License-Identifier: MIT */
/*
 * vmclock.h - libvmclock, the guest side: read the VMClock page.
 *
 * A reader maps the page (a /dev/vmclockN device or any file holding one),
 * takes consistent snapshots of it under its sequence lock together with a
 * reading of the CPU counter, and turns them into time with error bounds
 * and into events: the counter was disrupted (live migration), the VM was
 * restored from a snapshot, the clock status or maintenance flags changed.
 *
 * The page and the counter are inputs, so a test or a simulator can drive
 * the real reader: vmclock_reader_open_memory() reads a page in caller
 * memory, vmclock_reader_set_counter() replaces the CPU counter, and
 * vmclock_reader_read_at() evaluates the page at a given counter value.
 *
 * Functions returning int return 0 or a negative errno; vmclock_strerror()
 * says what each means here.  Constructors return NULL and set errno.
 *
 * Thread safety: a struct vmclock_reader keeps the state that events are
 * computed from, so one handle must be used by one thread at a time.  Open
 * one handle per thread; handles are cheap (the page is mapped once each).
 */
#ifndef VMCLOCK_VMCLOCK_H
#define VMCLOCK_VMCLOCK_H

#include <stddef.h>
#include <stdint.h>

#include <vmclock/vmclock-abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The device opened when no path is given and VMCLOCK_DEVICE is unset. */
#define VMCLOCK_DEFAULT_DEVICE "/dev/vmclock0"

/* How long a read waits for a writer that holds seq_count odd. */
#define VMCLOCK_DEFAULT_TIMEOUT_NS 100000000ull /* 100 ms, as Linux */

/* An error bound that the page does not give. */
#define VMCLOCK_ERROR_UNKNOWN UINT64_MAX

/* struct vmclock_reading.valid: which values were computed. */
#define VMCLOCK_VALID_TIME     (1u << 0) /* time_ns */
#define VMCLOCK_VALID_TAI      (1u << 1) /* tai_ns */
#define VMCLOCK_VALID_UTC      (1u << 2) /* utc_ns */
#define VMCLOCK_VALID_MAXERROR (1u << 3) /* maxerror_ns, earliest, latest */
#define VMCLOCK_VALID_ESTERROR (1u << 4) /* esterror_ns */

/* struct vmclock_reading.events: what changed since the previous read. */
#define VMCLOCK_EVENT_DISRUPTED	     (1u << 0) /* disruption_marker changed */
#define VMCLOCK_EVENT_RESTORED	     (1u << 1) /* vm_generation_counter changed */
#define VMCLOCK_EVENT_STATUS	     (1u << 2) /* clock_status changed */
#define VMCLOCK_EVENT_FLAGS	     (1u << 3) /* flags changed */
#define VMCLOCK_EVENT_LEAP	     (1u << 4) /* leap_indicator changed */
#define VMCLOCK_EVENT_MAINT_SOON     (1u << 5) /* DISRUPTION_SOON now set */
#define VMCLOCK_EVENT_MAINT_IMMINENT (1u << 6) /* DISRUPTION_IMMINENT now set */
#define VMCLOCK_EVENT_TAI_OFFSET     (1u << 7) /* tai_offset_sec changed */

/* How the page is read; see vmclock_reader_method(). */
enum vmclock_access {
	VMCLOCK_ACCESS_MMAP,   /* mapped read-only: loads, no system call */
	VMCLOCK_ACCESS_PREAD,  /* pread() at offset 0: mmap was refused */
	VMCLOCK_ACCESS_MEMORY, /* caller memory (vmclock_reader_open_memory) */
};

/**
 * struct vmclock_reading - one consistent snapshot and what it gives
 * @counter: the counter reading the times refer to.
 * @valid: VMCLOCK_VALID_* bits: which of the values below are meaningful.
 * @time_ns: time in the page's own time_type (UTC, TAI or MONOTONIC), ns.
 * @tai_ns: TAI, ns since 1970-01-01 00:00:00 TAI.
 * @utc_ns: UTC as CLOCK_REALTIME counts it, ns since the epoch.
 * @maxerror_ns: bound on |true time - time_ns|, VMCLOCK_ERROR_UNKNOWN if
 *	the page gives none; grown by the period error (or the drift bound)
 *	over the counter distance and rounded up.
 * @esterror_ns: estimated error, VMCLOCK_ERROR_UNKNOWN if none.
 * @earliest_ns: @utc_ns - @maxerror_ns (or @time_ns's when UTC is not known).
 * @latest_ns: @utc_ns + @maxerror_ns + one counter tick, rounded up
 *	(likewise): the reading C only says the instant lies within the tick
 *	[T(C), T(C+1)).  True time lies in [earliest, latest].
 * @flags: the page's flags (VMCLOCK_FLAG_*).
 * @seq_count: the even sequence number of the snapshot.
 * @disruption_marker: the page's disruption_marker.
 * @vm_generation_counter: the page's vm_generation_counter (0 if absent).
 * @events: VMCLOCK_EVENT_* since this handle's previous successful read
 *	(none on the first).
 * @tai_offset_sec: TAI - UTC, meaningful with VMCLOCK_FLAG_TAI_OFFSET_VALID.
 * @clock_status: VMCLOCK_STATUS_*.
 * @leap_indicator: VMCLOCK_LEAP_*.
 * @smearing_hint: VMCLOCK_SMEARING_*.
 * @counter_id: VMCLOCK_COUNTER_*.
 * @time_type: VMCLOCK_TIME_*.
 */
struct vmclock_reading {
	uint64_t counter;
	uint32_t valid;
	int64_t time_ns;
	int64_t tai_ns;
	int64_t utc_ns;
	uint64_t maxerror_ns;
	uint64_t esterror_ns;
	int64_t earliest_ns;
	int64_t latest_ns;
	uint64_t flags;
	uint32_t seq_count;
	uint64_t disruption_marker;
	uint64_t vm_generation_counter;
	uint32_t events;
	int16_t tai_offset_sec;
	uint8_t clock_status;
	uint8_t leap_indicator;
	uint8_t smearing_hint;
	uint8_t counter_id;
	uint8_t time_type;
};

/**
 * struct vmclock_bounds - the bounded read: what a transaction needs
 * @utc_ns: UTC as CLOCK_REALTIME counts it, ns, at the counter reading.
 * @earliest_ns: @utc_ns - @maxerror_ns.
 * @latest_ns: @utc_ns + @maxerror_ns + one counter tick (rounded up); true
 *	UTC lies in [earliest, latest].
 * @maxerror_ns: the bound, rounded up.
 * @events: VMCLOCK_EVENT_* since this handle's previous read.
 * @clock_status: VMCLOCK_STATUS_*.
 */
struct vmclock_bounds {
	int64_t utc_ns;
	int64_t earliest_ns;
	int64_t latest_ns;
	uint64_t maxerror_ns;
	uint32_t events;
	uint8_t clock_status;
};

struct vmclock_reader;

/**
 * typedef vmclock_counter_fn - a counter source
 * @ctx: the pointer given to vmclock_reader_set_counter().
 *
 * Called inside the sequence-lock window, once per attempt.  It may change
 * the page it is reading (a test injecting a concurrent update).
 *
 * Return: the counter reading.
 */
typedef uint64_t (*vmclock_counter_fn)(void *ctx);

/**
 * typedef vmclock_clock_fn - a monotonic clock for the read deadline
 * @ctx: the pointer given to vmclock_reader_set_counter().
 *
 * Return: nanoseconds of a monotonic clock.
 */
typedef uint64_t (*vmclock_clock_fn)(void *ctx);

/**
 * vmclock_reader_open() - open a VMClock page by path
 * @path: a device or a file holding a page at offset 0; NULL means the
 *	environment variable VMCLOCK_DEVICE, else VMCLOCK_DEFAULT_DEVICE.
 *
 * Maps the page read-only, falling back to pread() where mmap is refused
 * (or when the environment variable VMCLOCK_ACCESS is "pread"), and
 * validates magic, version and size.  Only a regular file or a character
 * device is accepted.  A mapped page file must never shrink while a reader
 * has it open (a read beyond the end of a mapped file raises SIGBUS, as for
 * any mapping): a writer replaces a page by rename() or removes it by
 * unlink(), never by truncation.
 *
 * Return: a reader to free with vmclock_reader_close(), or NULL with errno:
 * ENOENT/EACCES/... from open(); ENODEV when the file holds no valid page
 * (not a file or device, short, bad magic, version or size:
 * vmclock_reader_open_error() says which); ENOMEM.
 * Context: thread-safe.
 */
struct vmclock_reader *vmclock_reader_open(const char *path);

/**
 * vmclock_reader_open_memory() - read a page in caller memory
 * @page: the page; must stay valid until vmclock_reader_close().
 * @len: bytes readable at @page.
 *
 * Return: a reader, or NULL with errno ENODEV (invalid page) or ENOMEM.
 * Context: thread-safe.
 */
struct vmclock_reader *vmclock_reader_open_memory(const volatile void *page,
						  size_t len);

/**
 * vmclock_reader_open_error() - why the last open in this thread failed
 *
 * Return: a static message naming the file's problem ("bad magic
 * 0x12345678, expected 0x4b4c4356 (VCLK)"), or "" when the last failure
 * was not about the page's contents.
 * Context: thread-safe (per-thread message).
 */
const char *vmclock_reader_open_error(void);

/**
 * vmclock_reader_close() - unmap and free a reader
 * @r: the reader, or NULL.
 */
void vmclock_reader_close(struct vmclock_reader *r);

/**
 * vmclock_reader_set_counter() - replace the CPU counter (the seam)
 * @r: the reader.
 * @counter: counter source, or NULL for the CPU's own (TSC, CNTVCT).
 * @clock: monotonic clock for the deadline, or NULL for CLOCK_MONOTONIC.
 * @ctx: passed to both.
 */
void vmclock_reader_set_counter(struct vmclock_reader *r,
				vmclock_counter_fn counter,
				vmclock_clock_fn clock, void *ctx);

/**
 * vmclock_reader_set_timeout() - how long a read waits on an odd seq_count
 * @r: the reader.
 * @ns: the deadline, VMCLOCK_DEFAULT_TIMEOUT_NS by default.
 */
void vmclock_reader_set_timeout(struct vmclock_reader *r, uint64_t ns);

/**
 * vmclock_reader_set_drift() - the period error assumed without a valid one
 * @r: the reader.
 * @ppb: bound on the counter period's error in parts per billion, used
 *	when the page lacks VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
 *	VMCLOCK_DEFAULT_DRIFT_PPB (50 ppm) by default.
 */
void vmclock_reader_set_drift(struct vmclock_reader *r, uint32_t ppb);

/**
 * vmclock_reader_read() - lenient read: whatever the page has, now
 * @r: the reader.
 * @out: the snapshot, with times where the page allows them.
 *
 * Takes a snapshot with the CPU counter read inside the sequence-lock
 * window.  Time is computed when the page has precise time (the fields are
 * present, counter_id is usable, time_type is not smeared); @out->valid
 * says what was.  Events are reported once, on the first read that sees
 * them.
 *
 * Return: 0; -ETIMEDOUT when seq_count stayed odd past the deadline;
 * -EIO (or pread()'s own error) when reading the file failed; -ENODEV when
 * the page became invalid (magic, version or size changed).  On these
 * errors no snapshot was taken and @out is left untouched.
 * Context: one thread per handle; no allocation, no system call on a mapped
 * page; spins at most the timeout.
 */
int vmclock_reader_read(struct vmclock_reader *r,
			struct vmclock_reading *out);

/**
 * vmclock_reader_now() - strict read: bounded time or an error
 * @r: the reader.
 * @out: as vmclock_reader_read(); filled on success and on the status
 *	errors below, so the caller can see the status.
 *
 * Succeeds only when true time is known to lie in [earliest, latest]: the
 * page has precise time for this CPU's counter with a valid max error, UTC
 * is known, and the status is SYNCHRONIZED or FREERUNNING.
 *
 * Return: 0; the errors of vmclock_reader_read() (@out untouched); -ENOTSUP
 * when the page has no precise time usable here (counter, time type, absent
 * fields, no TAI offset for UTC); -ENODATA for status UNKNOWN or no max
 * error; -EAGAIN for status INITIALIZING; -EIO for status UNRELIABLE;
 * -ERANGE when the counter is too far from the calibration to compute a
 * time.  On the page errors @out is filled, so -EIO with @out filled is
 * UNRELIABLE and -EIO with @out untouched is a failed read.
 * Context: as vmclock_reader_read().
 */
int vmclock_reader_now(struct vmclock_reader *r, struct vmclock_reading *out);

/**
 * vmclock_reader_bounds() - strict bounded read, the fast path
 * @r: the reader.
 * @out: time, bounds, status and events; @out->clock_status and
 *	@out->events are filled on the status errors too.
 *
 * The same verdict as vmclock_reader_now() (same errors, same times, bit
 * for bit), with only what a caller needs per transaction: while seq_count
 * does not move this is two loads of seq_count, the ordered counter read
 * (rdtscp where the CPU has it, else lfence; rdtsc) and two 64-bit
 * multiplications of the calibration premultiplied into nanoseconds.
 * vmclock_fast_bounds() (vmclock-fast.h) is the same read inlined into the
 * caller.
 *
 * Return: as vmclock_reader_now().
 * Context: as vmclock_reader_read(); no allocation, no system call on a
 * mapped page.
 */
int vmclock_reader_bounds(struct vmclock_reader *r, struct vmclock_bounds *out);

/**
 * vmclock_reader_read_at() - evaluate the page at a given counter value
 * @r: the reader.
 * @counter: the counter value, instead of reading the CPU's.
 * @out: as vmclock_reader_read().
 *
 * Return: as vmclock_reader_read().
 * Context: as vmclock_reader_read().
 */
int vmclock_reader_read_at(struct vmclock_reader *r, uint64_t counter,
			   struct vmclock_reading *out);

/**
 * vmclock_reader_now_at() - strict read at a given counter value
 * @r: the reader.
 * @counter: the counter value; any counter_id is accepted, since the
 *	caller vouches for the counter.
 * @out: as vmclock_reader_now().
 *
 * Return: as vmclock_reader_now().
 * Context: as vmclock_reader_read().
 */
int vmclock_reader_now_at(struct vmclock_reader *r, uint64_t counter,
			  struct vmclock_reading *out);

/**
 * vmclock_events_between() - what changed from one reading to another
 * @prev: the earlier reading.
 * @cur: the later reading.
 *
 * The rule the reader applies between its snapshots, for callers that keep
 * readings themselves (a watcher of raw snapshots).
 *
 * Return: VMCLOCK_EVENT_* bits.
 * Context: thread-safe.
 */
uint32_t vmclock_events_between(const struct vmclock_reading *prev,
				const struct vmclock_reading *cur);

/**
 * vmclock_reader_snapshot() - copy the raw page consistently
 * @r: the reader.
 * @page: the copy (the page's bytes, little-endian as in the page).
 *
 * Return: 0 or the errors of vmclock_reader_read().  Events are untouched.
 */
int vmclock_reader_snapshot(struct vmclock_reader *r, struct vmclock_abi *page);

/**
 * vmclock_reader_method() - how the page is read
 * @r: the reader.
 *
 * Return: VMCLOCK_ACCESS_*.
 */
enum vmclock_access vmclock_reader_method(const struct vmclock_reader *r);

/**
 * vmclock_reader_fd() - the file descriptor, for poll()
 * @r: the reader.
 *
 * Return: the descriptor, or -1 for a memory reader.  The reader owns it.
 */
int vmclock_reader_fd(const struct vmclock_reader *r);

/**
 * vmclock_page_validate() - check a page's constant fields
 * @page: the page bytes (little-endian, as in memory).
 * @len: bytes available at @page.
 * @why: a static message naming the failed check, or NULL.
 *
 * Return: 0, or -ENODEV when too short, or magic, version or size is wrong.
 * Context: thread-safe; reads only the constant fields.
 */
int vmclock_page_validate(const volatile void *page, size_t len,
			  const char **why);

/**
 * vmclock_reading_from_page() - compute a reading from a snapshot
 * @page: a consistent snapshot (little-endian bytes).
 * @counter: the counter value to evaluate at.
 * @drift_ppb: as vmclock_reader_set_drift().
 * @out: the result; @out->events is set to 0.
 *
 * The pure function under every read: no I/O, no state.
 *
 * Return: 0 (@out->valid tells what could be computed).
 * Context: thread-safe.
 */
int vmclock_reading_from_page(const struct vmclock_abi *page, uint64_t counter,
			      uint32_t drift_ppb, struct vmclock_reading *out);

/**
 * vmclock_counter_id_native() - the counter_id of this CPU's counter
 *
 * Return: VMCLOCK_COUNTER_X86_TSC, VMCLOCK_COUNTER_ARM_VCNT, or
 * VMCLOCK_COUNTER_INVALID where libvmclock cannot read the counter.
 */
int vmclock_counter_id_native(void);

/**
 * vmclock_counter_read() - read this CPU's counter, ordered
 *
 * lfence; rdtsc on x86-64, isb; mrs cntvct_el0 on arm64.
 *
 * Return: the counter, or 0 where there is none.
 */
uint64_t vmclock_counter_read(void);

/**
 * vmclock_strerror() - what a libvmclock error means
 * @err: a negative errno returned by libvmclock.
 *
 * Return: a static message in the terms of this library ("the clock status
 * is INITIALIZING: retry later").
 */
const char *vmclock_strerror(int err);

/* Names of the page's enumerations, or "?" for unknown values. */
const char *vmclock_status_name(unsigned int status);
const char *vmclock_leap_name(unsigned int leap);
const char *vmclock_smearing_name(unsigned int hint);
const char *vmclock_counter_name(unsigned int counter_id);
const char *vmclock_time_type_name(unsigned int time_type);
/* Name of one VMCLOCK_FLAG_* bit (by bit number), or NULL. */
const char *vmclock_flag_name(unsigned int bit);
/* Name of one VMCLOCK_EVENT_* bit (by bit number), or NULL. */
const char *vmclock_event_name(unsigned int bit);

#ifdef __cplusplus
}
#endif

#endif /* VMCLOCK_VMCLOCK_H */
