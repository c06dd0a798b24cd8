/* SPDX-License-Identifier: MIT */
/*
 * qemu-guest.h - vmclockd's QEMU adapter: a guest whose page lives in a
 * QEMU's RAM file, driven and watched over QMP (see qemu.h for the
 * mechanisms and docs/qemu.md for the rules).
 *
 *	add-qemu GUEST qmp=SOCK ram=FILE [gpa=A] [irq=N] [mailbox=A] [incoming=1]
 *	migrate GUEST uri=tcp:HOST:PORT | incoming GUEST uri=tcp:HOST:PORT
 *	save GUEST file=NAME | restore GUEST file=NAME  (in snapshot-dir)
 *
 * The RAM file is mapped, and the page written, only once QEMU has said
 * over QMP that this very file is its guest RAM (qemu_ram_backend(),
 * qemu_ram_open()); until then the guest is listed without a page.  What
 * add-qemu was given is kept in RUN-DIR/guests/.NAME.qemu, so that a
 * restarted vmclockd attaches the guest again (qemu_guest_adopt()).
 */
#ifndef VMCLOCK_DAEMON_QEMU_GUEST_H
#define VMCLOCK_DAEMON_QEMU_GUEST_H

#include <stddef.h>
#include <stdio.h>

struct control_request;
struct daemon;
struct guest;

/*
 * add-qemu: 0, with {"guest", "state", "reason"} in @json (attached, or
 * waiting for QMP), or -errno with the reason in @err (QEMU answered and
 * refused: nothing was written).
 */
int qemu_guest_add(struct daemon *d, const struct control_request *req,
		   FILE *json, char *err, size_t errlen);
/* migrate, incoming, save, restore on an add-qemu guest. */
int qemu_guest_command(struct daemon *d, struct guest *g,
		       const struct control_request *req, char *err,
		       size_t errlen);
/* remove-guest: forget the QEMU side of @g and its record. */
void qemu_guest_remove(struct guest *g);
/*
 * At exit: free the QEMU side of @g (QMP connection, RAM mapping) and
 * keep its record, so the next vmclockd attaches it again.  The caller
 * closes and frees @g itself, as for any guest.
 */
void qemu_guest_release(struct guest *g);
/*
 * At start-up: every RUN-DIR/guests/.NAME.qemu becomes a guest again,
 * attached (its page adopted) once its QEMU answers and is verified.
 */
void qemu_guest_adopt(struct daemon *d);
/* The "qemu" member of a guest's status JSON (nothing for other guests). */
void qemu_guest_status(const struct guest *g, FILE *json);

#endif /* VMCLOCK_DAEMON_QEMU_GUEST_H */
