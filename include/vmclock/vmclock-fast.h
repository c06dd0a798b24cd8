/* SPDX-License-Identifier: MIT */
/*
 * vmclock-fast.h - the bounded read, inlined into the caller.
 *
 * vmclock_reader_bounds() is a function call: the caller's registers are
 * saved around it and its result comes back through memory.  A read that
 * costs about as much as the CPU counter itself is worth not calling, so a
 * reader publishes its decoded calibration as a struct vmclock_fastline and
 * vmclock_fast_bounds() evaluates it inline: seq_count, the ordered counter
 * read, seq_count again, two 64 x 64-bit multiplications of the counter's
 * low half.  The line covers one window of 2^32 ticks, so that the high
 * half is only compared, and the reader moves it on with the counter.
 * Whatever the line cannot answer exactly (seq_count moved, a status the
 * strict read refuses, a counter outside the line's window or range, a
 * reading near a rounding boundary, a counter seam set on the reader, a
 * page read through pread, a counter of 1 GHz or slower) it hands to
 * vmclock_reader_bounds(), so the results, errors and events are that
 * function's, bit for bit.
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
 * @c_hi: the high half of every counter the line answers: it covers one
 *	window of 2^32 ticks, and the reader moves it on to the next window
 *	the first time the function answers a counter there.
 * @lo_start, @lo_len: the low halves it answers, [@lo_start, @lo_start +
 *	@lo_len) (unsigned, within the window); @lo_len 0: it answers nothing.
 * @p: one tick in 2^-64 ns, bits below dropped.  Only counters faster than
 *	1 GHz get a line (a tick is then less than 1 ns).
 * @t_lo, @t_hi: UTC at the window's counter 0 (@c_hi << 32), continued
 *	from the calibration, in 2^-64 ns modulo 2^128: for a low half lo in
 *	range, UTC = (@t + lo * @p) / 2^64 ns.
 * @k: the max error's growth per tick in 2^-64 ns, rounded up.
 * @l_lo, @l_hi: the max error plus @tick_ns at the window's counter 0
 *	likewise, plus 2^64 - 1 so that the high word is the ceiling: the max
 *	error is (@l + lo * @k) / 2^64 - @tick_ns.
 * @t_lim: the largest low word of the time that cannot carry: ~D, where D
 *	is the furthest counter of the range from the calibration, in ticks.
 * @l_lim: the smallest low word of the max error whose ceiling is exact:
 *	D - 1 when @k was rounded up (else 0).
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
	uint32_t c_hi;
	uint32_t lo_start;
	uint64_t lo_len;
	uint64_t p;
	uint64_t t_lo, t_hi;
	uint64_t k;
	uint64_t l_lo, l_hi;
	uint64_t t_lim, l_lim;
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
 * vmclock_counter_halves() - this CPU's counter as its two 32-bit halves
 * (the low one returned, the high one in *@hi), not read before the loads
 * and instructions that precede it.  On x86 rdtscp waits for every earlier
 * instruction itself and lfence keeps rdtsc after them (rdtsc_ordered() in
 * Linux makes the same choice); @tscp picks rdtscp, which the CPU must
 * have.  On arm64 isb keeps the cntvct_el0 read after them.  The halves
 * are what rdtsc gives: the inline read uses them as they come.
 */
static inline __attribute__((always_inline)) uint32_t
vmclock_counter_halves(int tscp, uint32_t *hi)
{
#if defined(__aarch64__)
	uint64_t v;

	(void)tscp;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	*hi = (uint32_t)(v >> 32);
	return (uint32_t)v;
#else
	uint32_t lo, h, aux;

	if (tscp) {
		__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(h), "=c"(aux) : : "memory");
		(void)aux;
	} else {
		__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(h) : : "memory");
	}
	*hi = h;
	return lo;
#endif
}

/* vmclock_counter_halves(), joined: the counter as the page counts it. */
static inline __attribute__((always_inline)) uint64_t
vmclock_counter_ordered(int tscp)
{
	uint32_t hi, lo = vmclock_counter_halves(tscp, &hi);

	return (uint64_t)hi << 32 | lo;
}
#endif

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 vmclock__u128_t;

/*
 * @a * @b + (@hi * 2^64 + @lo), modulo 2^128: the high word returned, the
 * low one in *@low.  On x86-64 it is written out (mul, add, add with
 * carry) because GCC builds the 128-bit sum through a setb or a spill,
 * which costs the inline read a cycle or two.
 */
static inline __attribute__((always_inline)) uint64_t
vmclock__muladd(uint64_t a, uint64_t b, uint64_t lo, uint64_t hi, uint64_t *low)
{
#if defined(__x86_64__)
	uint64_t h;

	__asm__("mulq %[b]\n\taddq %[lo], %%rax\n\tadcq %[hi], %%rdx"
		: "+a"(a), "=&d"(h)
		: [b] "rm"(b), [lo] "rm"(lo), [hi] "rm"(hi)
		: "cc");
	*low = a;
	return h;
#else
	vmclock__u128_t s = (vmclock__u128_t)a * b + ((vmclock__u128_t)hi << 64 | lo);

	*low = (uint64_t)s;
	return (uint64_t)(s >> 64);
#endif
}

/*
 * The line at the counter whose halves are @hi and @lo; see
 * vmclock_fastline_eval().  The low half goes into the products as it
 * comes from the counter read, and the high half is only compared.
 */
static inline __attribute__((always_inline)) int
vmclock__fastline_eval(const struct vmclock_fastline *fl, uint32_t hi,
		       uint32_t lo, struct vmclock_bounds *out)
{
	uint64_t t_low, l_low, utc, late;

	if (__builtin_expect(hi != fl->c_hi ||
			     (uint32_t)(lo - fl->lo_start) >= fl->lo_len, 0))
		return 0;
	utc = vmclock__muladd(lo, fl->p, fl->t_lo, fl->t_hi, &t_low);
	late = vmclock__muladd(lo, fl->k, fl->l_lo, fl->l_hi, &l_low);
	/*
	 * The bits dropped from @p and @k add less than d units to the low
	 * words over d ticks, and d <= D: the floor is exact when the time's
	 * low word is at least D below a carry, and the max error's ceiling
	 * when its low word (one less, for the 2^64 - 1) is at least D - 1
	 * (at the calibration itself it is 2^64 - 1).  Against constants,
	 * the checks wait for nothing but the products (against d itself
	 * the read measured 4% slower); they decline about D / 2^64 more
	 * readings, which the function answers.
	 */
	if (__builtin_expect(t_low > fl->t_lim || l_low < fl->l_lim, 0))
		return 0;
	out->utc_ns = (int64_t)utc;
	out->maxerror_ns = late - fl->tick_ns;
	out->earliest_ns = (int64_t)(utc + fl->tick_ns - late);
	out->latest_ns = (int64_t)(utc + late);
	return 1;
}

/**
 * vmclock_fastline_eval() - the line at @counter
 * @fl: the line.
 * @counter: a counter reading.
 * @out: utc_ns, earliest_ns, latest_ns and maxerror_ns, when it returns 1.
 *
 * The time is the floor of UTC(c) and the max error its ceiling, as the
 * exact path computes them, whenever the bits dropped from the tick and
 * from the growth (less than one unit per tick, so less than d units over
 * d ticks) cannot carry across a nanosecond: then the low words decide it.
 * What it answers, the library's own line answers alike.
 *
 * Return: 1 with @out filled exactly as vmclock_reader_bounds() fills it;
 * 0, @out untouched, when the exact path must decide (a counter outside the
 * line's window or range, a reading near a rounding boundary).
 */
static inline __attribute__((always_inline)) int
vmclock_fastline_eval(const struct vmclock_fastline *fl, uint64_t counter,
		      struct vmclock_bounds *out)
{
	return vmclock__fastline_eval(fl, (uint32_t)(counter >> 32),
				      (uint32_t)counter, out);
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
		uint32_t seq = __atomic_load_n(seqp, __ATOMIC_ACQUIRE), hi;
		uint32_t lo = vmclock_counter_halves(fl->tscp, &hi);

		/* Pairs with the writer's release of seq_count. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__builtin_expect(seq == fl->seq_value &&
				     __atomic_load_n(seqp, __ATOMIC_RELAXED) == seq &&
				     vmclock__fastline_eval(fl, hi, lo, out), 1)) {
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
