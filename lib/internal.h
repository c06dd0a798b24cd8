/* SPDX-License-Identifier: MIT */
/*
 * internal.h - helpers shared by the files of libvmclock; not installed.
 *
 * The page is shared memory written by another party, so every access goes
 * through a relaxed atomic load or store of the field's own width (no torn
 * field, no data race in the C11 sense, nothing the compiler may merge) and
 * through the little-endian conversions below.
 */
#ifndef VMCLOCK_LIB_INTERNAL_H
#define VMCLOCK_LIB_INTERNAL_H

#include <stdint.h>

#include <vmclock/vmclock-abi.h>

#define VMC_API __attribute__((visibility("default")))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define vmc_le16(v) __builtin_bswap16(v)
#define vmc_le32(v) __builtin_bswap32(v)
#define vmc_le64(v) __builtin_bswap64(v)
#else
#define vmc_le16(v) (v)
#define vmc_le32(v) (v)
#define vmc_le64(v) (v)
#endif

/* Relaxed loads and stores of one page field, any width. */
#define vmc_load(p)	(__atomic_load_n((p), __ATOMIC_RELAXED))
#define vmc_store(p, v) (__atomic_store_n((p), (v), __ATOMIC_RELAXED))

/* A page field in native byte order, e.g. vmc_get64(page, time_sec). */
#define vmc_get8(pg, f)	 vmc_load(&(pg)->f)
#define vmc_get16(pg, f) ((uint16_t)vmc_le16(vmc_load(&(pg)->f)))
#define vmc_get32(pg, f) ((uint32_t)vmc_le32(vmc_load(&(pg)->f)))
#define vmc_get64(pg, f) ((uint64_t)vmc_le64(vmc_load(&(pg)->f)))

#define vmc_put8(pg, f, v)  vmc_store(&(pg)->f, (uint8_t)(v))
#define vmc_put16(pg, f, v) vmc_store(&(pg)->f, (uint16_t)vmc_le16((uint16_t)(v)))
#define vmc_put32(pg, f, v) vmc_store(&(pg)->f, (uint32_t)vmc_le32((uint32_t)(v)))
#define vmc_put64(pg, f, v) vmc_store(&(pg)->f, (uint64_t)vmc_le64((uint64_t)(v)))

/* The VALID flags of the four error fields. */
#define VMC_ERROR_FLAGS                                                     \
	(VMCLOCK_FLAG_PERIOD_ESTERROR_VALID |                               \
	 VMCLOCK_FLAG_PERIOD_MAXERROR_VALID | VMCLOCK_FLAG_TIME_ESTERROR_VALID | \
	 VMCLOCK_FLAG_TIME_MAXERROR_VALID)

/*
 * @t + @e (@sign > 0) or @t - @e, exact, saturating at the int64_t limits
 * only where the exact value is beyond them: an @e above INT64_MAX may
 * still land inside the range from a @t of the other sign.
 */
static inline int64_t vmc_add_ns_sat(int64_t t, uint64_t e, int sign)
{
	__int128 v = sign > 0 ? (__int128)t + e : (__int128)t - e;

	return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

struct vmclock_reader;
struct vmclock_reading;

/*
 * reader.c, for bounded.c: the page's fields and events as a read would
 * report them, without reading the counter or computing time (@out->valid
 * is 0); *@verdict is the strict read's verdict on the snapshot before any
 * counter (0, or -ENOTSUP, -ENODATA, -EAGAIN, -EIO).  While seq_count
 * holds it is one load and a copy.  Return: 0 or a snapshot error.
 */
int vmc_reader_fields(struct vmclock_reader *r, struct vmclock_reading *out,
		      int *verdict);
/* The same verdict on the cached snapshot, or 1 when seq_count moved. */
int vmc_reader_cached_verdict(const struct vmclock_reader *r);

/* derived.c: where an announced leap starts, seen from @tai before it. */
int64_t vmc_leap_start_tai(int64_t tai, int16_t off_s, uint8_t ind);

/* Set errno-style message for vmclock_reader_open_error(). */
void vmc_set_open_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VMCLOCK_LIB_INTERNAL_H */
