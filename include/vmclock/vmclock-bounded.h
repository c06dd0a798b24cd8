/* SPDX-License-Identifier: MIT */
/*
 * vmclock-bounded.h - libvmclock: bounded time in every mode.
 *
 * An interval [earliest, latest] guaranteed to contain true UTC, and the
 * knowledge of when that guarantee broke, whatever the hypervisor offers:
 *
 * - precise mode: the page has a calibration for this CPU's counter with a
 *   max error; the bound is vmclock_reader_now()'s.
 * - basic mode: the page carries only the disruption marker (QEMU,
 *   Firecracker) or a status that gives no bound; the bound is the system
 *   clock (CLOCK_REALTIME) plus the kernel's NTP error state (adjtimex
 *   maxerror/esterror/status), grown at the kernel's own rate.
 *
 * Basic mode, precisely:
 *
 * - adjtimex() is read at most once per refresh interval (100 ms by
 *   default), never on every call; between reads the cached maxerror grows
 *   by growth_ppb (500 ppm, the kernel's MAXFREQ, at which the kernel
 *   itself grows maxerror once a second) over the time since the read,
 *   plus one second of that growth, because the kernel adds each second's
 *   growth only when the second ends.  The time since the read is taken
 *   on CLOCK_REALTIME itself, the seconds the kernel ages maxerror in: an
 *   age outside [0, refresh interval) means the clock was stepped, and
 *   adjtimex() is read again at once (a step clears the kernel's NTP
 *   state, so the bound becomes unknown until NTP re-syncs).  The hot path
 *   is then one clock_gettime(CLOCK_REALTIME) (vDSO) and a load of the
 *   page's seq_count: the page's fields come from the reader's decoded
 *   snapshot, the counter is not read.
 * - The page is read after the clock, so a disruption (live migration)
 *   that happened before the clock was read is always seen by that call.
 * - While the kernel inserts a leap second (adjtimex() returns TIME_OOP)
 *   CLOCK_REALTIME repeats a second: the bound grows by 1 s.
 * - The bound is unknown (-ENODATA) while the kernel says the clock is
 *   unsynchronised: STA_UNSYNC or STA_CLOCKERR in status, or adjtimex()
 *   returns TIME_ERROR, or maxerror has reached the kernel's 16 s limit.
 * - Disruption: when the page's disruption_marker changes, the counter
 *   and so the system clock may have jumped or changed rate (live
 *   migration) while the kernel's maxerror knows nothing of it.  The bound
 *   is unknown (-ESTALE) from then until the kernel's clock has been
 *   re-synced since the change, which means: adjtimex() is read afresh at
 *   the change (the baseline), and a later read (they come at most once
 *   per refresh interval) shows the clock synchronised and either
 *     (a) maxerror outside what the kernel's own growth from the
 *         baseline explains: below baseline + 500 us per whole second
 *         elapsed minus one second's growth, or above baseline + 500 us
 *         per started second (an NTP daemon wrote a new maxerror with
 *         ADJ_MAXERROR, which chronyd and ntpd do on every clock update;
 *         nothing else changes it), or
 *     (b) the clock was unsynchronised at some read since the change and
 *         is synchronised now (the daemon lost and regained sync).
 *   The daemon's update may still rest on a measurement taken just before
 *   the migration; chronyd and ntpd discard such outliers, and the next
 *   update after that resets the state again if the marker moves again.
 *   The marker seen at create time is the baseline of the first state; no
 *   disruption is assumed then.
 * - Without a page (reader NULL) basic mode has no disruption signal and
 *   bounds from the kernel state alone.
 *
 * Tests (and simulators) inject adjtimex() results, clocks and sleeps
 * through struct vmclock_bounded_ops.
 *
 * Functions return 0 or a negative errno; constructors NULL with errno.
 */
#ifndef VMCLOCK_VMCLOCK_BOUNDED_H
#define VMCLOCK_VMCLOCK_BOUNDED_H

#include <stdint.h>
#include <sys/timex.h>
#include <time.h>

#include <vmclock/vmclock.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of struct vmclock_bounded_config. */
#define VMCLOCK_BOUNDED_REFRESH_NS	   100000000ull /* re-read adjtimex: 100 ms */
#define VMCLOCK_BOUNDED_GROWTH_PPB	   500000u /* 500 ppm: Linux MAXFREQ */
/* The kernel's cap on maxerror (NTP_PHASE_LIMIT), in microseconds. */
#define VMCLOCK_BOUNDED_KERNEL_MAXERROR_US 16000000l

/* Which source may give the bound. */
enum vmclock_bound_mode {
	VMCLOCK_BOUND_AUTO, /* precise when the page can, else basic */
	VMCLOCK_BOUND_PRECISE, /* the page only (vmclock_reader_now) */
	VMCLOCK_BOUND_BASIC, /* the system clock and adjtimex only */
};

/* struct vmclock_bound.source: where the bound came from. */
enum vmclock_bound_source {
	VMCLOCK_SOURCE_PAGE, /* precise mode */
	VMCLOCK_SOURCE_SYSTEM, /* basic mode */
};

/**
 * struct vmclock_bounded_ops - the seam: system calls a test replaces
 * @adjtimex: as adjtimex(2) with tx->modes == 0: fills @tx and returns the
 *	clock state (TIME_OK .. TIME_ERROR) or -1 with errno.
 * @clock_gettime: as clock_gettime(2); asked for CLOCK_REALTIME and
 *	CLOCK_MONOTONIC.
 * @sleep_ns: sleep about @ns (vmclock_bounded_wait_sync()).
 * @ctx: first argument of each.
 *
 * A NULL function means the real one.
 */
struct vmclock_bounded_ops {
	int (*adjtimex)(void *ctx, struct timex *tx);
	int (*clock_gettime)(void *ctx, clockid_t id, struct timespec *ts);
	void (*sleep_ns)(void *ctx, uint64_t ns);
	void *ctx;
};

/**
 * struct vmclock_bounded_config - how a bounded clock works
 * @mode: VMCLOCK_BOUND_AUTO (0) by default.
 * @refresh_ns: re-read adjtimex at most this often; 0 means
 *	VMCLOCK_BOUNDED_REFRESH_NS.
 * @growth_ppb: growth of the cached maxerror; 0 means
 *	VMCLOCK_BOUNDED_GROWTH_PPB.
 * @ops: the seam, or NULL for the real system calls.
 */
struct vmclock_bounded_config {
	enum vmclock_bound_mode mode;
	uint64_t refresh_ns;
	uint32_t growth_ppb;
	const struct vmclock_bounded_ops *ops;
};

/**
 * struct vmclock_bound - true UTC lies in [earliest_ns, latest_ns]
 * @utc_ns: UTC (CLOCK_REALTIME's scale) ns since the epoch.
 * @tai_ns: TAI, meaningful with VMCLOCK_VALID_TAI in @valid.
 * @maxerror_ns: bound on |true UTC - @utc_ns|; VMCLOCK_ERROR_UNKNOWN when
 *	the call did not return 0.
 * @esterror_ns: estimated error, VMCLOCK_ERROR_UNKNOWN if none.
 * @earliest_ns: @utc_ns - @maxerror_ns (when bounded).
 * @latest_ns: @utc_ns + @maxerror_ns (when bounded).
 * @valid: VMCLOCK_VALID_UTC, _TAI, _MAXERROR, _ESTERROR as meaningful.
 * @source: VMCLOCK_SOURCE_*.
 * @clock_status: VMCLOCK_STATUS_*: the page's in precise mode; in basic
 *	mode SYNCHRONIZED when the kernel clock is, UNKNOWN otherwise.
 * @kernel_state: adjtimex()'s return at the last re-read (basic mode).
 * @kernel_status: adjtimex()'s status bits (STA_*) at the last re-read.
 * @page: the page reading, with events (valid when the handle has a page).
 *	When the bound comes from basic mode on a page without precise time
 *	(or in VMCLOCK_BOUND_BASIC) it holds the page's fields and events
 *	only: @page.valid is 0, no time was computed and no counter read.
 */
struct vmclock_bound {
	int64_t utc_ns;
	int64_t tai_ns;
	uint64_t maxerror_ns;
	uint64_t esterror_ns;
	int64_t earliest_ns;
	int64_t latest_ns;
	uint32_t valid;
	uint8_t source;
	uint8_t clock_status;
	int kernel_state;
	int kernel_status;
	struct vmclock_reading page;
};

struct vmclock_bounded;

/**
 * vmclock_bounded_create() - a bounded clock over a page
 * @r: the page's reader, or NULL for basic mode without disruption
 *	detection.  Borrowed: it must outlive the handle, and the handle
 *	uses it (and its events) exclusively.
 * @cfg: the configuration, or NULL for the defaults.
 *
 * Reads the page and adjtimex() once to set the baseline.
 *
 * Return: a handle to free with vmclock_bounded_destroy(), or NULL with
 * errno EINVAL, ENOMEM, or the page read's error.
 * Context: thread-safe.
 */
struct vmclock_bounded *
vmclock_bounded_create(struct vmclock_reader *r,
		       const struct vmclock_bounded_config *cfg);

/**
 * vmclock_bounded_destroy() - free a handle (not its reader)
 * @b: the handle, or NULL.
 * Context: thread-safe for distinct handles.
 */
void vmclock_bounded_destroy(struct vmclock_bounded *b);

/**
 * vmclock_bounded_now() - bounded UTC now
 * @b: the handle.
 * @out: the bound; filled as far as known on every return but the page
 *	read errors.
 *
 * Return: 0 when true UTC lies in [earliest, latest]; -ENODATA when the
 * source is unsynchronised (kernel STA_UNSYNC, page status UNKNOWN);
 * -ESTALE when the disruption marker changed and the kernel clock has not
 * been re-synced since; -EAGAIN, -EIO, -ENOTSUP, -ERANGE as
 * vmclock_reader_now() in VMCLOCK_BOUND_PRECISE mode; the reader's read
 * errors (-ETIMEDOUT, ...); a negative errno from a failed adjtimex().
 * Context: one thread per handle (it owns a cache and the reader's event
 * state).  No allocation; no system call but clock_gettime() (vDSO),
 * except adjtimex() once per refresh interval in basic mode.
 */
int vmclock_bounded_now(struct vmclock_bounded *b, struct vmclock_bound *out);

/**
 * vmclock_bounded_wait_sync() - wait until the bound is known
 * @b: the handle.
 * @timeout_ns: give up after this long (CLOCK_MONOTONIC); 0 checks once.
 * @max_error_ns: also require maxerror_ns <= this; 0 for any bound.
 * @out: the last bound (may be NULL).
 *
 * Re-checks every refresh interval (adjtimex is re-read each time in basic
 * mode).
 *
 * Return: 0 when synchronised within the limits; -ETIMEDOUT otherwise;
 * errors for which vmclock_bounded_not_yet() is false at once.
 * Context: as vmclock_bounded_now(); sleeps.
 */
int vmclock_bounded_wait_sync(struct vmclock_bounded *b, uint64_t timeout_ns,
			      uint64_t max_error_ns, struct vmclock_bound *out);

/* struct vmclock_bounded_state.flags */
#define VMCLOCK_BSTATE_STALE	   (1u << 0) /* disrupted, not re-synced since */
#define VMCLOCK_BSTATE_SEEN_UNSYNC (1u << 1) /* unsynchronised since then */

/**
 * struct vmclock_bounded_state - the disruption state, across processes
 * @marker: the disruption_marker last seen.
 * @flags: VMCLOCK_BSTATE_*.
 * @base_mono_ns: CLOCK_MONOTONIC at the baseline: meaningful within the
 *	boot it was taken in only.
 * @base_maxerror_us: the kernel's maxerror at the baseline.
 *
 * A process that lives through a marker change sees it; a short-lived one
 * (a command run now and then) only sees the marker it starts with.  Saved
 * when it exits and restored by the next, the state carries the
 * disruption, and a pending re-sync, from one to the next.
 */
struct vmclock_bounded_state {
	uint64_t marker;
	uint32_t flags;
	uint64_t base_mono_ns;
	int64_t base_maxerror_us;
};

/**
 * vmclock_bounded_get_state() - the state to hand to a later process
 * @b: the handle.
 * @s: the state.
 * Context: as vmclock_bounded_now().
 */
void vmclock_bounded_get_state(const struct vmclock_bounded *b,
			       struct vmclock_bounded_state *s);

/**
 * vmclock_bounded_set_state() - continue from a saved state
 * @b: the handle, just created.
 * @s: a state from vmclock_bounded_get_state() in this boot.
 *
 * When the page's marker differs from @s->marker, the next
 * vmclock_bounded_now() sees the change as a disruption (a new baseline,
 * taken then); otherwise a pending re-sync continues from @s's baseline.
 * Context: as vmclock_bounded_now().
 */
void vmclock_bounded_set_state(struct vmclock_bounded *b,
			       const struct vmclock_bounded_state *s);

/**
 * vmclock_bounded_not_yet() - whether an error may clear by waiting
 * @err: a negative errno from vmclock_bounded_now().
 *
 * Return: 1 for -ENODATA, -ESTALE, -EAGAIN, -ERANGE and -EIO (status
 * UNRELIABLE, or a failed pread that may recover), else 0.
 * Context: thread-safe.
 */
int vmclock_bounded_not_yet(int err);

/**
 * vmclock_bounded_strerror() - what vmclock_bounded_now()'s errors mean
 * @err: a negative errno from this header's functions.
 *
 * Return: a static message ("the kernel clock has not been re-synced since
 * the last disruption"); other errors as vmclock_strerror().
 * Context: thread-safe.
 */
const char *vmclock_bounded_strerror(int err);

/**
 * vmclock_bound_source_name() - "page" or "system"
 * @source: VMCLOCK_SOURCE_*.
 * Return: a static name, "?" for unknown values.
 * Context: thread-safe.
 */
const char *vmclock_bound_source_name(unsigned int source);

#ifdef __cplusplus
}
#endif

#endif /* VMCLOCK_VMCLOCK_BOUNDED_H */
