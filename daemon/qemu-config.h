/* SPDX-License-Identifier: MIT */
/*
 * qemu-config.h - vmclockctl qemu-config GUEST [key=value...]: print the
 * QEMU arguments and kernel command line for a guest, write its SSDT.
 */
#ifndef VMCLOCK_DAEMON_QEMU_CONFIG_H
#define VMCLOCK_DAEMON_QEMU_CONFIG_H

#include <stdio.h>

/* argv[0] is "qemu-config".  Exit status: 0, 1 (I/O), 2 (usage). */
int qemu_config_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* VMCLOCK_DAEMON_QEMU_CONFIG_H */
