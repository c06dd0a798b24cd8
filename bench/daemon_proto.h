/* SPDX-License-Identifier: MIT */
/*
 * daemon_proto.h - prototypes of a cheaper vmclockd per-guest update
 * (bench/daemon_proto.c), for measurement only.
 */
#ifndef VMCLOCK_BENCH_DAEMON_PROTO_H
#define VMCLOCK_BENCH_DAEMON_PROTO_H

#include "../daemon/guest.h"

/* As guest_map_calibration(); @memo keeps the per-scale part between calls. */
int proto_map_calibration(const struct guest_mapping *m,
			  const struct vmclock_calibration *host,
			  struct vmclock_calibration *out, int memo);
/* As guest_update(), with proto_map_calibration(memo on). */
int proto_guest_update(struct guest *g, const struct guest_update *u);

#endif /* VMCLOCK_BENCH_DAEMON_PROTO_H */
