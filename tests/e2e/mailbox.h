/* SPDX-License-Identifier: MIT */
/*
 * mailbox.h - the kmod e2e tests' host/guest mailbox.
 *
 * A second reserved guest page, right after the VMClock page, that the guest
 * test tool writes requests into and the host servant (e2e-hostd) answers.
 * The guest drives the test: it asks the host to change the page, ring the
 * ACPI doorbell, report its TSC or its CLOCK_TAI, and checks what the driver
 * shows.  Words are written with release and read with acquire ordering;
 * both sides are x86-64, so the layout is native.
 */
#ifndef VMCLOCK_TESTS_E2E_MAILBOX_H
#define VMCLOCK_TESTS_E2E_MAILBOX_H

#include <stdint.h>

#define MBOX_PAGE_ADDR 0x1f001000ull

struct mbox {
	uint64_t req_seq;	/* guest: bumped last, after op and arg */
	uint64_t op;
	uint64_t arg;
	uint64_t pad[5];
	uint64_t resp_seq;	/* host: set to req_seq last */
	int64_t status;		/* 0 or -errno */
	uint64_t val;
};

enum mbox_op {
	MBOX_PING = 1,
	MBOX_TSC,		/* val = host TSC */
	MBOX_CALIBRATE,		/* arg = guest TSC - host TSC */
	MBOX_HOSTTIME,		/* val = host CLOCK_TAI, ns */
	MBOX_PAGEHASH,		/* val = FNV-1a 64 of the 4 KiB page */
	MBOX_UPDATE,		/* arg = delay in ms, then seq += 2 + notify */
	MBOX_STUCK,		/* seq_count odd until MBOX_UNSTICK */
	MBOX_UNSTICK,
	MBOX_NOTIFY_FLAG,	/* arg 1/0: set/clear NOTIFICATION_PRESENT */
	MBOX_STATUS,		/* arg = clock_status */
	MBOX_RESTORE,		/* arg = 1: notify; val = new generation */
	MBOX_QUIT,
	MBOX_BASIC_FLAG,	/* MBOX_NOTIFY_FLAG for the basic page */
	MBOX_BASIC_UPDATE,	/* MBOX_UPDATE for the basic page */
};

static inline uint64_t mbox_fnv1a(const volatile void *p, unsigned int len)
{
	const volatile unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned int i;

	for (i = 0; i < len; i++) {
		h ^= c[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif /* VMCLOCK_TESTS_E2E_MAILBOX_H */
