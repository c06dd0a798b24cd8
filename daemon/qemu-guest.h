/* SPDX-License-Identifier: MIT */
/*
 * qemu-guest.h - vmclockd's QEMU adapter: a guest whose page lives in a
 * QEMU's RAM file, driven and watched over QMP (see qemu.h for the
 * mechanisms and docs/qemu.md for the rules).
 *
 *	add-qemu GUEST qmp=SOCK ram=FILE [gpa=A] [irq=N] [mailbox=A] [incoming=1]
 *	migrate GUEST uri=URI | incoming GUEST uri=URI
 *	save GUEST file=FILE | restore GUEST file=FILE
 */
#ifndef VMCLOCK_DAEMON_QEMU_GUEST_H
#define VMCLOCK_DAEMON_QEMU_GUEST_H

#include <stddef.h>

struct control_request;
struct daemon;
struct guest;

/* add-qemu: 0 or -errno with the reason in @err. */
int qemu_guest_add(struct daemon *d, const struct control_request *req,
		   char *err, size_t errlen);
/* migrate, incoming, save, restore on an add-qemu guest. */
int qemu_guest_command(struct daemon *d, struct guest *g,
		       const struct control_request *req, char *err,
		       size_t errlen);
/* Forget the QEMU side of @g (remove-guest, shutdown). */
void qemu_guest_remove(struct guest *g);

#endif /* VMCLOCK_DAEMON_QEMU_GUEST_H */
