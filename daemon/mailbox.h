/* SPDX-License-Identifier: MIT */
/*
 * mailbox.h - the counter-mapping handshake between vmclockd's QEMU
 * adapter and a responder in the guest.
 *
 * Under TCG the guest TSC is the host TSC plus an offset that moves by the
 * time the VM was paused (stop/cont, migration, restore), and nothing on
 * the host can read it.  The adapter measures it through a reserved guest
 * page: it writes a probe number and reads its own counter before and
 * after the guest's answer, which carries the guest counter read in
 * between.  So the offset lies in [tsc - t1, tsc - t0]; the narrowest of a
 * burst of probes gives the mapping and its uncertainty, which the adapter
 * adds to the published error.  On KVM a VMM knows the offset and scale
 * and sets them instead; no responder is needed.
 *
 * The structure sits at VMCLOCK_MBOX_OFFSET in the mailbox page (the lower
 * half is left to other uses: the e2e tests' own channel).  Each word is
 * written by one side only, with release stores and acquire loads; both
 * sides are the same architecture, so the layout is native.
 *
 *	host:  req = n                         guest: sees req != done: ready = n
 *	host:  probe = k, t0 before, t1 after  guest: tsc = rdtsc; ack = k
 *	host:  done = n                        guest: back to sleep
 */
#ifndef VMCLOCK_DAEMON_MAILBOX_H
#define VMCLOCK_DAEMON_MAILBOX_H

#include <stdint.h>

#define VMCLOCK_MBOX_MAGIC 0x424d4356u	/* "VCMB" */
#define VMCLOCK_MBOX_OFFSET 0x800

struct vmclock_mbox {
	uint32_t magic;		/* host, at set-up */
	uint32_t version;	/* host: 1 */
	uint64_t req;		/* host: request number */
	uint64_t ready;		/* guest: = req while it answers */
	uint64_t probe;		/* host: probe number */
	uint64_t ack;		/* guest: = probe once tsc is written */
	uint64_t tsc;		/* guest: its counter at the probe */
	uint64_t done;		/* host: = req when the burst is over */
};

#endif /* VMCLOCK_DAEMON_MAILBOX_H */
