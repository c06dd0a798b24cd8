/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * vmclock-abi.h - layout of the VMClock page shared by a hypervisor and its
 * guests.
 *
 * This is vmclock's own text of the ABI that Linux publishes as
 * include/uapi/linux/vmclock-abi.h.  Names and values are the kernel's, so
 * the two diff cleanly; the struct is 112 bytes, every multi-byte field is
 * little-endian, and the version is 1.  Static asserts at the end pin the
 * size and every offset.
 *
 * The hypervisor owns the page; guests only read it.  Fields in the first
 * group never change after the page is set up.  Every other field is
 * protected by seq_count, a sequence lock: an odd value means an update is
 * in progress, and a reader must retry until it sees the same even value
 * before and after copying the fields.
 *
 * A field that lies beyond the page's size field is absent: readers check
 * VMCLOCK_FIELD_PRESENT() before touching anything past the flags.
 *
 * The time is never smeared: time_type UTC means true UTC with leap
 * seconds, and guests build any smeared clock themselves from the
 * leap_indicator and the smearing hint.
 *
 * Sign of tai_offset_sec: the spec text describes it as the offset between
 * TAI and UTC whose value "at time of writing is 37", and every producer
 * writes +37.  vmclock reads it as TAI - UTC.  Linux 7.0's ptp_vmclock
 * converts UTC to TAI by subtracting it, which is right only for -37; no
 * producer publishes UTC with an offset today, so the two have not met.
 * See docs/abi.md.
 *
 * This header can be included by userspace (it needs <stdint.h> only) and
 * by a kernel module (it then uses <linux/types.h>).  If Linux's own
 * <linux/vmclock-abi.h> was included first, its definition of the struct is
 * used and only checked against ours.
 */
#ifndef VMCLOCK_VMCLOCK_ABI_H
#define VMCLOCK_VMCLOCK_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/build_bug.h>
#define VMCLOCK_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
#define VMCLOCK_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define VMCLOCK_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#endif

#ifndef __VMCLOCK_ABI_H__
/* Claim Linux's guard too, so a later <linux/vmclock-abi.h> is a no-op. */
#define __VMCLOCK_ABI_H__

#ifdef __KERNEL__
#define VMCLOCK_LE16 __le16
#define VMCLOCK_LE32 __le32
#define VMCLOCK_LE64 __le64
#define VMCLOCK_U8 __u8
#else
#define VMCLOCK_LE16 uint16_t
#define VMCLOCK_LE32 uint32_t
#define VMCLOCK_LE64 uint64_t
#define VMCLOCK_U8 uint8_t
#endif

/**
 * struct vmclock_abi - the VMClock page (112 bytes, little-endian)
 * @magic: VMCLOCK_MAGIC ("VCLK").
 * @size: size in bytes of the region holding the structure (normally 4096);
 *	fields that end beyond it are absent.
 * @version: 1.
 * @counter_id: the CPU counter the calibration refers to: VMCLOCK_COUNTER_*
 *	(the VIRTIO_RTC_COUNTER_* numbering).
 * @time_type: the time scale of @time_sec: VMCLOCK_TIME_* (the
 *	VIRTIO_RTC_TYPE_* numbering).
 * @seq_count: sequence lock; odd while the hypervisor updates the fields
 *	below it.
 * @disruption_marker: changes to a value it never had before whenever the
 *	counter may have been disrupted (live migration, snapshot restore):
 *	any calibration the guest made of the counter is void.
 * @flags: VMCLOCK_FLAG_*.
 * @pad: zero.
 * @clock_status: VMCLOCK_STATUS_*.
 * @leap_second_smearing_hint: VMCLOCK_SMEARING_*: how the environment
 *	smears, for guests that offer a smeared clock of their own.
 * @tai_offset_sec: TAI - UTC in seconds (two's complement), valid with
 *	VMCLOCK_FLAG_TAI_OFFSET_VALID.
 * @leap_indicator: VMCLOCK_LEAP_*.
 * @counter_period_shift: scale of the three period fields: their unit is
 *	2^-(64 + shift) seconds.
 * @counter_value: counter reading at the instant given by @time_sec and
 *	@time_frac_sec.
 * @counter_period_frac_sec: length of one counter tick.
 * @counter_period_esterror_rate_frac_sec: estimated error of the period.
 * @counter_period_maxerror_rate_frac_sec: maximum error of the period.
 * @time_sec: seconds since the epoch of @time_type at @counter_value.
 * @time_frac_sec: fraction of that second, in units of 2^-64 s.
 * @time_esterror_nanosec: estimated error of the time, in ns.
 * @time_maxerror_nanosec: maximum error of the time, in ns.
 * @vm_generation_counter: changes to a value it never had before each time
 *	the guest is loaded from a snapshot (with
 *	VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT).
 *
 * The true time at counter reading C lies within
 * T + (C - @counter_value) * P +/- (maxerror + |C - @counter_value| * Pmax),
 * where T, P and the errors are the fields above in their units.
 */
struct vmclock_abi {
	/* Constant fields. */
	VMCLOCK_LE32 magic;
#define VMCLOCK_MAGIC 0x4b4c4356 /* "VCLK" */
	VMCLOCK_LE32 size;
	VMCLOCK_LE16 version;
	VMCLOCK_U8 counter_id;
#define VMCLOCK_COUNTER_ARM_VCNT 0
#define VMCLOCK_COUNTER_X86_TSC	 1
#define VMCLOCK_COUNTER_INVALID	 0xff
	VMCLOCK_U8 time_type;
#define VMCLOCK_TIME_UTC		   0 /* since 1970-01-01 00:00:00Z */
#define VMCLOCK_TIME_TAI		   1 /* since 1970-01-01 00:00:00Z */
#define VMCLOCK_TIME_MONOTONIC		   2 /* since an undefined epoch */
#define VMCLOCK_TIME_INVALID_SMEARED	   3 /* not supported */
#define VMCLOCK_TIME_INVALID_MAYBE_SMEARED 4 /* not supported */

	/* Fields below are protected by seq_count. */
	VMCLOCK_LE32 seq_count;
	VMCLOCK_LE64 disruption_marker;
	VMCLOCK_LE64 flags;
/* tai_offset_sec holds TAI - UTC. */
#define VMCLOCK_FLAG_TAI_OFFSET_VALID	    (1 << 0)
/* Planned maintenance will disrupt the clock in about a day. */
#define VMCLOCK_FLAG_DISRUPTION_SOON	    (1 << 1)
/* Planned maintenance will disrupt the clock in about an hour. */
#define VMCLOCK_FLAG_DISRUPTION_IMMINENT    (1 << 2)
#define VMCLOCK_FLAG_PERIOD_ESTERROR_VALID  (1 << 3)
#define VMCLOCK_FLAG_PERIOD_MAXERROR_VALID  (1 << 4)
#define VMCLOCK_FLAG_TIME_ESTERROR_VALID    (1 << 5)
#define VMCLOCK_FLAG_TIME_MAXERROR_VALID    (1 << 6)
/*
 * Leap seconds aside, the time computed from the page at any moment is never
 * later than the time computed at any later moment, across updates too: a
 * reading taken just after seq_count turns odd, with the old fields, is never
 * later than one taken just before it turns even, with the new fields.
 */
#define VMCLOCK_FLAG_TIME_MONOTONIC	    (1 << 7)
/* vm_generation_counter changes on every restore from a snapshot. */
#define VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT (1 << 8)
/* The hypervisor notifies the guest each time seq_count becomes even. */
#define VMCLOCK_FLAG_NOTIFICATION_PRESENT   (1 << 9)

	VMCLOCK_U8 pad[2];
	VMCLOCK_U8 clock_status;
#define VMCLOCK_STATUS_UNKNOWN	    0
#define VMCLOCK_STATUS_INITIALIZING 1
#define VMCLOCK_STATUS_SYNCHRONIZED 2
#define VMCLOCK_STATUS_FREERUNNING  3
#define VMCLOCK_STATUS_UNRELIABLE   4
	VMCLOCK_U8 leap_second_smearing_hint;
#define VMCLOCK_SMEARING_STRICT	     0
#define VMCLOCK_SMEARING_NOON_LINEAR 1
#define VMCLOCK_SMEARING_UTC_SLS     2
	VMCLOCK_LE16 tai_offset_sec;
	VMCLOCK_U8 leap_indicator;
#define VMCLOCK_LEAP_NONE     0x00 /* no leap second nearby */
#define VMCLOCK_LEAP_PRE_POS  0x01 /* a second is inserted at the month's end */
#define VMCLOCK_LEAP_PRE_NEG  0x02 /* a second is deleted at the month's end */
#define VMCLOCK_LEAP_POS      0x03 /* now in the inserted 23:59:60 */
#define VMCLOCK_LEAP_POST_POS 0x04 /* a second was just inserted */
#define VMCLOCK_LEAP_POST_NEG 0x05 /* a second was just deleted */
	VMCLOCK_U8 counter_period_shift;
	VMCLOCK_LE64 counter_value;
	VMCLOCK_LE64 counter_period_frac_sec;
	VMCLOCK_LE64 counter_period_esterror_rate_frac_sec;
	VMCLOCK_LE64 counter_period_maxerror_rate_frac_sec;
	VMCLOCK_LE64 time_sec;
	VMCLOCK_LE64 time_frac_sec;
	VMCLOCK_LE64 time_esterror_nanosec;
	VMCLOCK_LE64 time_maxerror_nanosec;
	VMCLOCK_LE64 vm_generation_counter;
};

#undef VMCLOCK_LE16
#undef VMCLOCK_LE32
#undef VMCLOCK_LE64
#undef VMCLOCK_U8

#endif /* __VMCLOCK_ABI_H__ */

/*
 * True when @field of struct vmclock_abi lies entirely within a page whose
 * size field says @size bytes.
 */
#define VMCLOCK_FIELD_PRESENT(size, field)                  \
	((size) >= offsetof(struct vmclock_abi, field) +   \
			   sizeof(((struct vmclock_abi *)0)->field))

/* The smallest page a reader accepts: everything up to and including flags. */
#define VMCLOCK_MIN_SIZE offsetof(struct vmclock_abi, pad)

#define VMCLOCK_ABI_AT(field, off)                                  \
	VMCLOCK_ABI_ASSERT(offsetof(struct vmclock_abi, field) == (off), \
			   "vmclock_abi." #field " is at offset " #off)

VMCLOCK_ABI_ASSERT(sizeof(struct vmclock_abi) == 112, "vmclock_abi is 112 bytes");
VMCLOCK_ABI_AT(magic, 0x00);
VMCLOCK_ABI_AT(size, 0x04);
VMCLOCK_ABI_AT(version, 0x08);
VMCLOCK_ABI_AT(counter_id, 0x0a);
VMCLOCK_ABI_AT(time_type, 0x0b);
VMCLOCK_ABI_AT(seq_count, 0x0c);
VMCLOCK_ABI_AT(disruption_marker, 0x10);
VMCLOCK_ABI_AT(flags, 0x18);
VMCLOCK_ABI_AT(pad, 0x20);
VMCLOCK_ABI_AT(clock_status, 0x22);
VMCLOCK_ABI_AT(leap_second_smearing_hint, 0x23);
VMCLOCK_ABI_AT(tai_offset_sec, 0x24);
VMCLOCK_ABI_AT(leap_indicator, 0x26);
VMCLOCK_ABI_AT(counter_period_shift, 0x27);
VMCLOCK_ABI_AT(counter_value, 0x28);
VMCLOCK_ABI_AT(counter_period_frac_sec, 0x30);
VMCLOCK_ABI_AT(counter_period_esterror_rate_frac_sec, 0x38);
VMCLOCK_ABI_AT(counter_period_maxerror_rate_frac_sec, 0x40);
VMCLOCK_ABI_AT(time_sec, 0x48);
VMCLOCK_ABI_AT(time_frac_sec, 0x50);
VMCLOCK_ABI_AT(time_esterror_nanosec, 0x58);
VMCLOCK_ABI_AT(time_maxerror_nanosec, 0x60);
VMCLOCK_ABI_AT(vm_generation_counter, 0x68);

#endif /* VMCLOCK_VMCLOCK_ABI_H */
