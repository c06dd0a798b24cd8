/* SPDX-License-Identifier: MIT */
/*
 * vmclock-fast.h - the bounded read, inlined into the caller.
 *
 * vmclock_reader_bounds() is a function call: the caller's registers are
 * saved around it and its result comes back through memory.  A read that
 * costs about as much as the CPU counter itself is worth not calling, so a
 * reader publishes its decoded calibration as a struct vmclock_fastline and
 * vmclock_fast_bounds() evaluates it inline: seq_count, the ordered counter
 * read, seq_count again, two 64 x 64-bit multiplications.  Whatever the
 * line cannot answer exactly (seq_count moved, a status the strict read
 * refuses, a counter outside the line's range, a reading near a rounding
 * boundary, a counter seam set on the reader, a page read through pread)
 * it hands to vmclock_reader_bounds(), so the results, errors and events
 * are that function's, bit for bit.
 *
 *	const struct vmclock_fastline *fl =
 *		vmclock_reader_fastline(r, VMCLOCK_FASTLINE_V1);
 *	...
 *	err = vmclock_fast_bounds(r, fl, &b);	// per transaction
 *
 * The layout of struct vmclock_fastline is compiled into the caller, so it
 * is versioned: the caller names the layout it was built with, and a
 * library that does not publish that layout returns NULL, with which
 * vmclock_fast_bounds() always calls the function.  A new layout gets a new
 * VMCLOCK_FASTLINE_V* and leaves this one as it is.
 *
 * The line lives in the reader and is rewritten only by the reader's own
 * functions, so it is read with plain loads: the thread that owns the
 * handle is the only one that reads or writes it (vmclock.h, thread
 * safety).  The page's seq_count is the only shared word.
 *
 * The inline path is built for x86 (rdtscp or lfence; rdtsc) and arm64
 * (isb; cntvct_el0) with a compiler that has 128-bit integers; elsewhere
 * vmclock_fast_bounds() is the function call.  The library reads the
 * counter with vmclock_counter_ordered() below, too.
 */
#ifndef VMCLOCK_VMCLOCK_FAST_H
#define VMCLOCK_VMCLOCK_FAST_H

#include <stdint.h>

#include <vmclock/vmclock.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout below; vmclock_reader_fastline() takes it. */
#define VMCLOCK_FASTLINE_V1 1u

/**
 * struct vmclock_fastline - a reader's calibration, premultiplied (layout 1)
 * @seq: the page's seq_count.
 * @seq_value: the raw seq_count the line was decoded at.
 * @tscp: x86: read the counter by rdtscp (the CPU has it), else lfence; rdtsc.
 * @clock_status: the page's status (VMCLOCK_STATUS_*).
 * @cv: counter_value: the line answers counters in [@cv, @cv + @d_max).
 * @d_max: 0 when the line answers nothing (vmclock_fast_bounds() then calls
 *	vmclock_reader_bounds()).
 * @t_lo, @t_hi: UTC at counter 0 of the line, continued backwards, in
 *	2^-64 ns modulo 2^128: UTC(c) = (@t + c * P) / 2^64 ns for c in range.
 * @p_frac, @p_int: P, one tick in 2^-64 ns (bits below dropped).
 * @m_lo, @m_hi: the max error at counter 0 likewise, plus 2^64 - 1 so that
 *	the high word is the ceiling: maxerror(c) = (@m + c * @k1) / 2^64.
 * @k1: the max error's growth per tick in 2^-64 ns, rounded up.
 * @k_inexact: ~0 when @k1 was rounded up, else 0.
 * @tick_ns: one tick in ns, rounded up: latest is a tick beyond utc + max.
 *
 * Filled by the library; a caller only passes it to vmclock_fast_bounds().
 */
struct vmclock_fastline {
	const volatile uint32_t *seq;
	uint32_t seq_value;
	uint8_t tscp;
	uint8_t clock_status;
	uint16_t reserved;
	uint64_t cv;
	uint64_t d_max;
	uint64_t t_lo, t_hi;
	uint64_t p_frac, p_int;
	uint64_t m_lo, m_hi;
	uint64_t k1;
	uint64_t k_inexact;
	uint64_t tick_ns;
};

/**
 * vmclock_reader_fastline() - the reader's inline line, in a given layout
 * @r: the reader.
 * @layout: VMCLOCK_FASTLINE_V1, the layout the caller was compiled with.
 *
 * The line is the reader's own and lives as long as the reader; the
 * reader's functions keep it current.  It answers only mapped reads of this
 * CPU's counter: on a reader read through pread() or given a counter seam
 * it answers nothing, and vmclock_fast_bounds() is vmclock_reader_bounds().
 *
 * Return: the line, or NULL (errno EPROTONOSUPPORT) when this library does
 * not publish @layout; vmclock_fast_bounds() takes NULL too.
 * Context: any; no allocation, no system call.
 */
const struct vmclock_fastline *vmclock_reader_fastline(struct vmclock_reader *r,
						       unsigned int layout);

#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
#define VMCLOCK_COUNTER_INLINE 1

/*
 * vmclock_counter_ordered() - this CPU's counter, not read before the loads
 * and instructions that precede it.  On x86 rdtscp waits for every earlier
 * instruction itself and lfence keeps rdtsc after them (rdtsc_ordered() in
 * Linux makes the same choice); @tscp picks rdtscp, which the CPU must
 * have.  On arm64 isb keeps the cntvct_el0 read after them.
 */
static inline __attribute__((always_inline)) uint64_t
vmclock_counter_ordered(int tscp)
{
#if defined(__aarch64__)
	uint64_t v;

	(void)tscp;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
#else
	uint32_t lo, hi, aux;

	if (tscp) {
		__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
		(void)aux;
	} else {
		__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	}
	return ((uint64_t)hi << 32) | lo;
#endif
}
#endif

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 vmclock__u128_t;

/**
 * vmclock_fastline_eval() - the line at @counter
 * @fl: the line.
 * @counter: a counter reading.
 * @out: utc_ns, earliest_ns, latest_ns and maxerror_ns, when it returns 1.
 *
 * The time is the floor of UTC(c) and the max error its ceiling, as the
 * exact path computes them, whenever the bits dropped from P and from the
 * growth (less than one unit per tick, so less than d units over d ticks)
 * cannot carry across a nanosecond: then the low words decide it.  The
 * counter enters the products directly (the line was continued back to
 * counter 0), so no subtraction stands between the counter and them.
 *
 * Return: 1 with @out filled exactly as vmclock_reader_bounds() fills it;
 * 0, @out untouched, when the exact path must decide.
 */
static inline __attribute__((always_inline)) int
vmclock_fastline_eval(const struct vmclock_fastline *fl, uint64_t counter,
		      struct vmclock_bounds *out)
{
	uint64_t d = counter - fl->cv;
	vmclock__u128_t m = (vmclock__u128_t)counter * fl->k1 +
		((vmclock__u128_t)fl->m_hi << 64 | fl->m_lo);
	vmclock__u128_t t = (vmclock__u128_t)counter * fl->p_frac +
		((vmclock__u128_t)(fl->t_hi + counter * fl->p_int) << 64 | fl->t_lo);
	uint64_t utc = (uint64_t)(t >> 64), max = (uint64_t)(m >> 64);

	/*
	 * In range (unsigned: a counter before cv is out of it); the time's
	 * low word at least d below a carry; the max error's ceiling the same
	 * for the true growth, which lies within d units below c * k1: its
	 * low word (here one less, for the 2^64 - 1) is 0 or at least d.
	 */
	if (__builtin_expect(d >= fl->d_max || (uint64_t)t > ~d ||
			     (uint64_t)m < ((d - 1) & fl->k_inexact), 0))
		return 0;
	out->utc_ns = (int64_t)utc;
	out->maxerror_ns = max;
	out->earliest_ns = (int64_t)(utc - max);
	out->latest_ns = (int64_t)(utc + fl->tick_ns + max);
	return 1;
}
#endif

#if defined(VMCLOCK_COUNTER_INLINE) && defined(__SIZEOF_INT128__)
#define VMCLOCK_FAST_INLINE 1
#endif

/**
 * vmclock_fast_bounds() - vmclock_reader_bounds(), inline
 * @r: the reader @fl belongs to.
 * @fl: vmclock_reader_fastline()'s line, or NULL.
 * @out: as vmclock_reader_bounds().
 *
 * Return: as vmclock_reader_bounds(), whose results these are, bit for bit.
 * Context: as vmclock_reader_bounds(): the thread that owns @r.
 */
static inline __attribute__((always_inline)) int
vmclock_fast_bounds(struct vmclock_reader *r, const struct vmclock_fastline *fl,
		    struct vmclock_bounds *out)
{
#ifdef VMCLOCK_FAST_INLINE
	if (__builtin_expect(fl != NULL, 1)) {
		/*
		 * The pointer is held in a register: reloaded after the counter
		 * read (whose asm clobbers memory), it would put a second
		 * dependent load between the counter and the answer.
		 */
		const volatile uint32_t *seqp = fl->seq;
		uint32_t seq = __atomic_load_n(seqp, __ATOMIC_ACQUIRE);
		uint64_t c = vmclock_counter_ordered(fl->tscp);

		/* Pairs with the writer's release of seq_count. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__builtin_expect(seq == fl->seq_value &&
				     __atomic_load_n(seqp, __ATOMIC_RELAXED) == seq &&
				     vmclock_fastline_eval(fl, c, out), 1)) {
			out->events = 0;
			out->clock_status = fl->clock_status;
			return 0;
		}
	}
#else
	(void)fl;
#endif
	{
		/*
		 * Through a copy, so that @out's address is never passed on:
		 * the caller's compiler may then keep the fast path's results
		 * in registers instead of storing and reloading them (1% of
		 * the read here).  On an error the fields the call does not
		 * fill are 0.
		 */
		struct vmclock_bounds tmp;
		int err;

		__builtin_memset(&tmp, 0, sizeof(tmp));
		err = vmclock_reader_bounds(r, &tmp);

		*out = tmp;
		return err;
	}
}

#ifdef __cplusplus
}
#endif

#endif /* VMCLOCK_VMCLOCK_FAST_H */
