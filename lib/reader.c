// SPDX-License-Identifier: MIT
/*
 * reader.c - the guest side of libvmclock: open a page, take consistent
 * snapshots under its sequence lock with a counter reading inside the
 * window, and report time, bounds and events.
 *
 * The snapshot loop is the vDSO's: load seq, acquire fence, copy, read the
 * counter, acquire fence, load seq again, compare.  Only loads and the
 * counter read happen inside it; the arithmetic runs after it (page.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vmclock/vmclock.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "counter.h"
#include "internal.h"
#include "page.h"

#define WORDS (sizeof(struct vmclock_abi) / sizeof(uint64_t))

/* No 32-bit seq_count equals this: the cache is empty. */
#define VMC_NO_CACHE (1ull << 32)

struct vmclock_reader {
	const volatile struct vmclock_abi *page; /* NULL when read by pread */
	size_t map_len;
	size_t avail;	   /* bytes of the page the file or memory offers */
	size_t copy_words; /* 8-byte words of the struct that are readable */
	int fd;
	enum vmclock_access method;
	vmclock_counter_fn counter_fn;
	vmclock_clock_fn clock_fn;
	void *ctx;
	uint64_t timeout_ns;
	uint32_t drift_ppb;
	int tscp; /* the native counter is read by rdtscp */
	/* The decoded snapshot and the raw seq_count it was taken at. */
	uint64_t cache_seq; /* VMC_NO_CACHE: none */
	struct vmc_decoded dec;
	int strict_err; /* vmclock_reader_now()'s verdict on @dec */
	int strict_err_at; /* the same, for a counter the caller gives */
	int have_last;
	struct vmclock_reading last; /* the baseline of the events */
	/* vmclock_fast_bounds()'s line: a window of @dec's, while the cache holds. */
	struct vmclock_fastline fl;
	int fl_live; /* the line may answer: windows of it may be made */
};

/* The seq_count an inline reader loads while there is no mapped page. */
static const uint32_t no_page_seq;

/* Forget the cached snapshot, and the inline readers' line with it. */
static void cache_drop(struct vmclock_reader *r)
{
	r->cache_seq = VMC_NO_CACHE;
	r->fl_live = 0;
	r->fl.lo_len = 0;
}

/*
 * The inline readers' line, after the cache was filled: a window of the
 * snapshot's bounded line (starting with the calibration's own, @hi),
 * where vmclock_reader_bounds() would answer from it, that is on a mapped
 * page read with this CPU's counter whose strict verdict is 0.  Anything
 * else it leaves to the function (lo_len 0).
 */
static void fastline_sync(struct vmclock_reader *r, uint32_t hi)
{
	r->fl.seq = r->page ? &r->page->seq_count : &no_page_seq;
	r->fl.seq_value = (uint32_t)r->cache_seq;
	r->fl.tscp = (uint8_t)r->tscp;
	r->fl_live = r->cache_seq != VMC_NO_CACHE && !r->counter_fn && !r->strict_err;
	vmc_fastline_window(&r->dec.bline, hi, &r->fl);
	if (!r->fl_live)
		r->fl.lo_len = 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t reader_clock(const struct vmclock_reader *r)
{
	return r->clock_fn ? r->clock_fn(r->ctx) : monotonic_ns();
}

/*
 * Called when an attempt failed: 0 to retry, -ETIMEDOUT once the deadline
 * has passed.  The clock is read only on retries, never on the fast path.
 */
static int retry_or_timeout(const struct vmclock_reader *r, uint64_t *start,
			    unsigned int *tries)
{
	uint64_t now;

	if ((*tries)++ % 16)
		return 0;
	now = reader_clock(r);
	if (!*start)
		*start = now ? now : 1;
	else if (now - *start >= r->timeout_ns)
		return -ETIMEDOUT;
	return 0;
}

/*
 * One attempt on a mapped page: 0 with a consistent copy in @snap and the
 * counter read inside the window in @counter, or -EAGAIN when a writer
 * was active.  @native selects the inline CPU counter (constant-folded by
 * the callers, so the hot path has no indirect call).
 */
static inline __attribute__((always_inline)) int
snap_attempt(const struct vmclock_reader *r, uint64_t *snap, int native,
	     int want_counter, uint64_t *counter)
{
	const volatile uint64_t *words = (const volatile uint64_t *)r->page;
	uint32_t seq1, seq2;
	size_t i;

	seq1 = __atomic_load_n(&r->page->seq_count, __ATOMIC_ACQUIRE);
	if (unlikely(vmc_le32(seq1) & 1))
		return -EAGAIN;
	for (i = 0; i < r->copy_words; i++)
		snap[i] = vmc_load(&words[i]);
	if (want_counter)
		*counter = native ? vmc_counter_ordered(r->tscp) :
				    r->counter_fn(r->ctx);
	/* Pairs with the writer's release fence before it moves seq_count on. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	seq2 = vmc_load(&r->page->seq_count);
	return likely(seq1 == seq2) ? 0 : -EAGAIN;
}

static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n;

	do
		n = pread(fd, buf, len, off);
	while (n < 0 && errno == EINTR);
	return n;
}

/*
 * One attempt through pread(): seq, the struct, the counter, seq again.
 * Each pread of a device is itself consistent; the seq reads around the
 * counter make the counter belong to the copied fields.
 */
static int pread_attempt(const struct vmclock_reader *r, uint64_t *snap,
			 int want_counter, uint64_t *counter)
{
	const off_t seq_off = offsetof(struct vmclock_abi, seq_count);
	size_t len = r->copy_words * sizeof(uint64_t);
	uint32_t seq1, seq2;

	if (pread_full(r->fd, &seq1, sizeof(seq1), seq_off) != sizeof(seq1) ||
	    pread_full(r->fd, snap, len, 0) != (ssize_t)len)
		return -EIO;
	if (want_counter)
		*counter = r->counter_fn ? r->counter_fn(r->ctx) :
					   vmc_counter_native();
	if (pread_full(r->fd, &seq2, sizeof(seq2), seq_off) != sizeof(seq2))
		return -EIO;
	if ((vmc_le32(seq1) & 1) || seq1 != seq2 ||
	    seq1 != ((struct vmclock_abi *)snap)->seq_count)
		return -EAGAIN;
	return 0;
}

static inline __attribute__((always_inline)) int
take_snapshot(const struct vmclock_reader *r, struct vmclock_abi *snap,
	      int native, int want_counter, uint64_t *counter)
{
	uint64_t *w = (uint64_t *)snap, start = 0;
	unsigned int tries = 0;
	int err;

	for (;;) {
		if (likely(r->page))
			err = snap_attempt(r, w, native, want_counter, counter);
		else
			err = pread_attempt(r, w, want_counter, counter);
		if (likely(err != -EAGAIN))
			return err;
		err = retry_or_timeout(r, &start, &tries);
		if (err)
			return err;
	}
}

VMC_API uint32_t vmclock_events_between(const struct vmclock_reading *prev,
					const struct vmclock_reading *cur)
{
	uint64_t newly = cur->flags & ~prev->flags;
	uint32_t ev = 0;

	if (cur->disruption_marker != prev->disruption_marker)
		ev |= VMCLOCK_EVENT_DISRUPTED;
	if (cur->vm_generation_counter != prev->vm_generation_counter)
		ev |= VMCLOCK_EVENT_RESTORED;
	if (cur->clock_status != prev->clock_status)
		ev |= VMCLOCK_EVENT_STATUS;
	if (cur->flags != prev->flags)
		ev |= VMCLOCK_EVENT_FLAGS;
	if (cur->leap_indicator != prev->leap_indicator)
		ev |= VMCLOCK_EVENT_LEAP;
	if (cur->tai_offset_sec != prev->tai_offset_sec)
		ev |= VMCLOCK_EVENT_TAI_OFFSET;
	if (newly & VMCLOCK_FLAG_DISRUPTION_SOON)
		ev |= VMCLOCK_EVENT_MAINT_SOON;
	if (newly & VMCLOCK_FLAG_DISRUPTION_IMMINENT)
		ev |= VMCLOCK_EVENT_MAINT_IMMINENT;
	return ev;
}

/* Events of a newly decoded snapshot; it becomes the new baseline. */
static uint32_t note_events(struct vmclock_reader *r,
			    const struct vmclock_reading *rd)
{
	uint32_t ev = r->have_last ? vmclock_events_between(&r->last, rd) : 0;

	r->have_last = 1;
	r->last = *rd;
	return ev;
}

static int strict_status(uint8_t status)
{
	switch (status) {
	case VMCLOCK_STATUS_SYNCHRONIZED:
	case VMCLOCK_STATUS_FREERUNNING:
		return 0;
	case VMCLOCK_STATUS_INITIALIZING:
		return -EAGAIN;
	case VMCLOCK_STATUS_UNRELIABLE:
		return -EIO;
	default:
		return -ENODATA;
	}
}

/*
 * The strict verdict on a decoded snapshot, before any counter is read.
 * @own_counter: the counter is this CPU's (not a seam's, not the caller's),
 * so the page must describe this CPU's counter.
 */
static int strict_static(const struct vmclock_reader *r, int own_counter)
{
	const struct vmc_decoded *d = &r->dec;
	int err;

	if (d->reason)
		return d->reason;
	if (own_counter && d->tmpl.counter_id != VMC_COUNTER_NATIVE_ID)
		return -ENOTSUP;
	if (!d->have_utc)
		return -ENOTSUP;
	err = strict_status(d->tmpl.clock_status);
	if (err)
		return err;
	return d->max_base == VMCLOCK_ERROR_UNKNOWN ? -ENODATA : 0;
}

/*
 * The slow path: a full snapshot, decoded and cached, events noted.  Kept
 * out of line so the fast path stays small.
 */
static __attribute__((noinline)) int
read_slow(struct vmclock_reader *r, int want_counter, uint64_t counter,
	  struct vmclock_reading *out)
{
	struct vmclock_abi snap;
	uint32_t events;
	int err;

	if (r->copy_words < WORDS)
		memset(&snap, 0, sizeof(snap));
	cache_drop(r);
	err = take_snapshot(r, &snap, !r->counter_fn, want_counter, &counter);
	if (unlikely(err))
		return err;
	/* The constant fields are checked again: the page may have been reset. */
	if (vmclock_page_validate(&snap, r->avail, NULL))
		return -ENODEV;
	vmc_decode(&snap, r->drift_ppb, &r->dec);
	r->strict_err = strict_static(r, !r->counter_fn);
	r->strict_err_at = strict_static(r, 0);
	/* Through pread every read is a fresh snapshot: nothing to reuse. */
	if (r->page)
		r->cache_seq = snap.seq_count;
	/* The window of the counter just read, else the calibration's. */
	fastline_sync(r, (uint32_t)((want_counter ? counter : r->dec.bline.cv) >> 32));
	events = note_events(r, &r->dec.tmpl);
	err = vmc_eval(&r->dec, counter, out);
	out->events = events;
	return err;
}

/*
 * The fast path, the vDSO's: while seq_count is the one the cached snapshot
 * was decoded at, nothing in the page has changed, so a read is seq, the
 * counter, seq again and the premultiplied line (page.h, vmc_fast_*()).  Returns 1 with @counter read
 * inside the window when the cache holds, 0 when the slow path must run.
 */
static inline __attribute__((always_inline)) int
cached_window(const struct vmclock_reader *r, int native, int want_counter,
	      uint64_t *counter)
{
	uint32_t seq;

	if (unlikely(!r->page))
		return 0;
	seq = __atomic_load_n(&r->page->seq_count, __ATOMIC_ACQUIRE);
	if (unlikely(seq != r->cache_seq))
		return 0;
	if (want_counter)
		*counter = native ? vmc_counter_ordered(r->tscp) :
				    r->counter_fn(r->ctx);
	/* Pairs with the writer's release of seq_count. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return likely(vmc_load(&r->page->seq_count) == seq);
}

/*
 * A reading: from the cache when it holds, else from a new snapshot.
 * Returns as vmc_eval(): 0, or why there is no time (-ENOTSUP, -ERANGE);
 * or a snapshot error.
 */
static inline __attribute__((always_inline)) int
read_common(struct vmclock_reader *r, int native, int want_counter,
	    uint64_t counter, struct vmclock_reading *out)
{
	if (likely(cached_window(r, native, want_counter, &counter))) {
		if (likely(vmc_fast_eval(&r->dec, counter, out)))
			return 0;
		return vmc_eval(&r->dec, counter, out);
	}
	return read_slow(r, want_counter, counter, out);
}

static int read_now(struct vmclock_reader *r, struct vmclock_reading *out)
{
	if (likely(!r->counter_fn))
		return read_common(r, 1, 1, 0, out);
	return read_common(r, 0, 1, 0, out);
}

VMC_API int vmclock_reader_read(struct vmclock_reader *r,
				struct vmclock_reading *out)
{
	int err = read_now(r, out);

	return err == -ENOTSUP || err == -ERANGE ? 0 : err;
}

VMC_API int vmclock_reader_read_at(struct vmclock_reader *r, uint64_t counter,
				   struct vmclock_reading *out)
{
	int err = read_common(r, 0, 0, counter, out);

	return err == -ENOTSUP || err == -ERANGE ? 0 : err;
}

/* The strict verdict on a read that returned @err. */
static int strict_verdict(int err, int strict_err,
			  const struct vmclock_reading *out)
{
	/* A snapshot that could not be taken says nothing about the page. */
	if (unlikely(err) && err != -ENOTSUP && err != -ERANGE)
		return err;
	if (unlikely(strict_err))
		return strict_err;
	if (unlikely(err))
		return err;
	return likely(out->valid & VMCLOCK_VALID_MAXERROR) ? 0 : -ENODATA;
}

VMC_API int vmclock_reader_now(struct vmclock_reader *r,
			       struct vmclock_reading *out)
{
	int err = read_now(r, out);

	return strict_verdict(err, r->strict_err, out);
}

VMC_API int vmclock_reader_now_at(struct vmclock_reader *r, uint64_t counter,
				  struct vmclock_reading *out)
{
	int err = read_common(r, 0, 0, counter, out);

	return strict_verdict(err, r->strict_err_at, out);
}

static __attribute__((noinline)) int bounds_slow(struct vmclock_reader *r,
						 struct vmclock_bounds *out)
{
	struct vmclock_reading rd;
	int err;

	memset(&rd, 0, sizeof(rd));
	err = vmclock_reader_now(r, &rd);
	out->utc_ns = rd.utc_ns;
	out->earliest_ns = rd.earliest_ns;
	out->latest_ns = rd.latest_ns;
	out->maxerror_ns = rd.maxerror_ns;
	out->events = rd.events;
	out->clock_status = rd.clock_status;
	return err;
}

static inline __attribute__((always_inline)) int
bounds_common(struct vmclock_reader *r, int native, struct vmclock_bounds *out)
{
	uint64_t counter;

	if (likely(cached_window(r, native, 1, &counter))) {
		out->events = 0;
		out->clock_status = r->dec.tmpl.clock_status;
		if (unlikely(r->strict_err))
			return r->strict_err;
		if (likely(vmc_fast_bounds(&r->dec, counter, out))) {
			/* The counter moved on to a new window: so does the line. */
			if (unlikely((uint32_t)(counter >> 32) != r->fl.c_hi) && r->fl_live)
				vmc_fastline_window(&r->dec.bline, (uint32_t)(counter >> 32),
						    &r->fl);
			return 0;
		}
		return vmc_eval_bounds(&r->dec, counter, out);
	}
	return bounds_slow(r, out);
}

VMC_API int vmclock_reader_bounds(struct vmclock_reader *r,
				  struct vmclock_bounds *out)
{
	if (likely(!r->counter_fn))
		return bounds_common(r, 1, out);
	return bounds_common(r, 0, out);
}

int vmc_reader_cached_verdict(const struct vmclock_reader *r)
{
	if (r->page && vmc_load(&r->page->seq_count) == r->cache_seq)
		return r->strict_err;
	return 1;
}

int vmc_reader_fields(struct vmclock_reader *r, struct vmclock_reading *out,
		      int *verdict)
{
	struct vmclock_reading tmp;
	int err;

	/* A cached snapshot is the reader's own copy: one load checks it. */
	if (likely(r->page) &&
	    __atomic_load_n(&r->page->seq_count, __ATOMIC_ACQUIRE) == r->cache_seq) {
		*out = r->dec.tmpl;
		*verdict = r->strict_err;
		return 0;
	}
	err = read_slow(r, 0, 0, &tmp);
	if (err && err != -ENOTSUP && err != -ERANGE)
		return err;
	*out = r->dec.tmpl;
	out->events = tmp.events;
	*verdict = r->strict_err;
	return 0;
}

VMC_API int vmclock_reader_snapshot(struct vmclock_reader *r,
				    struct vmclock_abi *page)
{
	uint64_t counter;

	memset(page, 0, sizeof(*page));
	return take_snapshot(r, page, 0, 0, &counter);
}

/*
 * Can the native counter be read by rdtscp?  CPUID 0x80000001 EDX bit 27;
 * VMCLOCK_COUNTER_READ=lfence keeps lfence; rdtsc (for comparison).
 */
static int have_tscp(void)
{
#if defined(__x86_64__) || defined(__i386__)
	const char *how = getenv("VMCLOCK_COUNTER_READ");
	unsigned int a, b, c, d;

	if (how && !strcmp(how, "lfence"))
		return 0;
	if (!__get_cpuid(0x80000001, &a, &b, &c, &d))
		return 0;
	return (d >> 27) & 1;
#else
	return 0;
#endif
}

static struct vmclock_reader *reader_new(void)
{
	struct vmclock_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->tscp = have_tscp();
	r->cache_seq = VMC_NO_CACHE;
	r->fl.seq = &no_page_seq;
	r->timeout_ns = VMCLOCK_DEFAULT_TIMEOUT_NS;
	r->drift_ppb = VMCLOCK_DEFAULT_DRIFT_PPB;
	return r;
}

static void set_copy_len(struct vmclock_reader *r, size_t avail)
{
	r->avail = avail;
	if (avail > sizeof(struct vmclock_abi))
		avail = sizeof(struct vmclock_abi);
	r->copy_words = avail / sizeof(uint64_t);
}

VMC_API struct vmclock_reader *vmclock_reader_open_memory(const volatile void *page,
							  size_t len)
{
	struct vmclock_reader *r;
	const char *why;

	vmc_set_open_error("%s", "");
	if (!page || ((uintptr_t)page & 7)) {
		errno = EINVAL;
		return NULL;
	}
	if (vmclock_page_validate(page, len, &why)) {
		vmc_set_open_error("%s", why);
		errno = ENODEV;
		return NULL;
	}
	r = reader_new();
	if (!r)
		return NULL;
	r->page = page;
	r->method = VMCLOCK_ACCESS_MEMORY;
	set_copy_len(r, len);
	return r;
}

/* Only a regular file or a character device can hold a page. */
static int check_file_type(int fd)
{
	struct stat st;
	int flags;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		vmc_set_open_error("%s", "not a regular file or a character device");
		return -ENODEV;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK))
		return -errno;
	return 0;
}

/* Bytes of the page the file offers: a device offers one page. */
static size_t file_avail(int fd, size_t page_size)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return (size_t)st.st_size < page_size ? (size_t)st.st_size : page_size;
	return page_size;
}

static int open_by_pread(struct vmclock_reader *r, size_t avail)
{
	uint64_t buf[WORDS];
	const char *why;
	ssize_t n;

	memset(buf, 0, sizeof(buf));
	n = pread_full(r->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < avail && (size_t)n < sizeof(buf))
		avail = (size_t)n;
	if (vmclock_page_validate(buf, avail, &why)) {
		vmc_set_open_error("%s", why);
		return -ENODEV;
	}
	r->method = VMCLOCK_ACCESS_PREAD;
	set_copy_len(r, avail);
	return 0;
}

/* VMCLOCK_ACCESS=pread reads through pread() even where mmap would work. */
static int force_pread(void)
{
	const char *a = getenv("VMCLOCK_ACCESS");

	return a && !strcmp(a, "pread");
}

static int open_fd(struct vmclock_reader *r)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	size_t avail = file_avail(r->fd, page_size);
	const char *why;
	void *map;

	if (avail < VMCLOCK_MIN_SIZE) {
		vmc_set_open_error("only %zu bytes, a page needs at least %zu",
				   avail, (size_t)VMCLOCK_MIN_SIZE);
		return -ENODEV;
	}
	/* Linux's device maps exactly one page at offset 0, read-only. */
	map = force_pread() ? MAP_FAILED :
			      mmap(NULL, page_size, PROT_READ, MAP_SHARED, r->fd, 0);
	if (map == MAP_FAILED)
		return open_by_pread(r, avail);
	if (vmclock_page_validate(map, avail, &why)) {
		vmc_set_open_error("%s", why);
		munmap(map, page_size);
		return -ENODEV;
	}
	r->page = map;
	r->map_len = page_size;
	r->method = VMCLOCK_ACCESS_MMAP;
	set_copy_len(r, avail);
	return 0;
}

VMC_API struct vmclock_reader *vmclock_reader_open(const char *path)
{
	struct vmclock_reader *r;
	int err;

	vmc_set_open_error("%s", "");
	if (!path)
		path = getenv("VMCLOCK_DEVICE");
	if (!path || !*path)
		path = VMCLOCK_DEFAULT_DEVICE;
	r = reader_new();
	if (!r)
		return NULL;
	/* O_NONBLOCK: a FIFO given by mistake must not block the open. */
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (r->fd < 0) {
		err = errno;
		goto err_free;
	}
	err = -check_file_type(r->fd);
	if (!err)
		err = -open_fd(r);
	if (err)
		goto err_close;
	return r;
err_close:
	close(r->fd);
err_free:
	free(r);
	errno = err;
	return NULL;
}

VMC_API void vmclock_reader_close(struct vmclock_reader *r)
{
	if (!r)
		return;
	if (r->map_len)
		munmap((void *)r->page, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

VMC_API void vmclock_reader_set_counter(struct vmclock_reader *r,
					vmclock_counter_fn counter,
					vmclock_clock_fn clock, void *ctx)
{
	r->counter_fn = counter;
	r->clock_fn = clock;
	r->ctx = ctx;
	cache_drop(r);
}

VMC_API void vmclock_reader_set_timeout(struct vmclock_reader *r, uint64_t ns)
{
	r->timeout_ns = ns;
}

VMC_API void vmclock_reader_set_drift(struct vmclock_reader *r, uint32_t ppb)
{
	r->drift_ppb = ppb;
	cache_drop(r);
}

VMC_API const struct vmclock_fastline *
vmclock_reader_fastline(struct vmclock_reader *r, unsigned int layout)
{
	if (layout != VMCLOCK_FASTLINE_V1) {
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	return &r->fl;
}

VMC_API enum vmclock_access vmclock_reader_method(const struct vmclock_reader *r)
{
	return r->method;
}

VMC_API int vmclock_reader_fd(const struct vmclock_reader *r)
{
	return r->fd;
}

VMC_API int vmclock_counter_id_native(void)
{
	return VMC_COUNTER_NATIVE_ID;
}

VMC_API uint64_t vmclock_counter_read(void)
{
	return vmc_counter_native();
}
