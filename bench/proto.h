/* SPDX-License-Identifier: MIT */
/*
 * proto.h - a prototype of a faster vmclock_reader_now(), for measurement
 * only (bench/proto.c says what it changes and why).  Same results as the
 * library, bit for bit; the smoke run checks that on every build.
 *
 * proto.c is compiled once per variant with PROTO_VARIANT set:
 *	proto_now      fast path, lfence; rdtsc (the library's counter read)
 *	proto_now_tscp fast path, rdtscp (Linux's rdtsc_ordered() choice)
 *	proto_now_noest fast path without the estimated error (API change)
 *	proto_now_rdtsc fast path, rdtsc without lfence (weaker ordering)
 *	proto_now_premul fast path with premultiplied constants (exact)
 *	proto_now_keyed cache keyed on seq, marker and counter_value
 *
 * A reader caches what its variant computed: give each variant its own.
 */
#ifndef VMCLOCK_BENCH_PROTO_H
#define VMCLOCK_BENCH_PROTO_H

#include <stdint.h>

#include <vmclock/vmclock.h>

struct proto_reader;

struct proto_reader *proto_open(const char *path);
void proto_close(struct proto_reader *r);
int proto_now(struct proto_reader *r, struct vmclock_reading *out);
int proto_now_tscp(struct proto_reader *r, struct vmclock_reading *out);
int proto_now_noest(struct proto_reader *r, struct vmclock_reading *out);
int proto_now_rdtsc(struct proto_reader *r, struct vmclock_reading *out);
int proto_now_premul(struct proto_reader *r, struct vmclock_reading *out);
int proto_now_keyed(struct proto_reader *r, struct vmclock_reading *out);
/* The computations at a given counter value (for the smoke checks). */
int proto_read_at(struct proto_reader *r, uint64_t counter,
		  struct vmclock_reading *out);
int proto_read_at_premul(struct proto_reader *r, uint64_t counter,
			 struct vmclock_reading *out);

#endif /* VMCLOCK_BENCH_PROTO_H */
