/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - vmclockd's state and the operations the control socket calls
 * (implemented in main.c; control.c only parses and checks requests).
 */
#ifndef VMCLOCK_DAEMON_DAEMON_H
#define VMCLOCK_DAEMON_DAEMON_H

#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "conf.h"
#include "control.h"
#include "guest.h"
#include "leapsec.h"
#include "reference.h"

struct name_node;

struct daemon {
	struct conf conf;
	const struct clock_ops *ops;
	struct reference ref;
	struct guest host;
	struct guest *guests;
	unsigned int nguests;
	/* Guests by name (main.c), NULL until the first lookup. */
	struct name_node **by_name;
	size_t by_name_len;
	char guest_dir[CONF_PATH_MAX + 16];
	char sock_path[CONF_PATH_MAX + 16];
	uint8_t time_type;
	/* Host state of the last update. */
	struct clock_ntp ntp;
	int have_ntp;
	struct leapsec_table leap;
	int have_leap;
	struct leapsec_info leap_info;
	const char *tai_source;
	int16_t tai_offset;
	int sample_tai;
	int tai_valid;
	uint8_t leap_indicator;
	uint8_t status;
	struct vmclock_calibration cal;
	int have_cal;
	/* The per-scale part of the mapping; keyed, so kept across updates. */
	struct guest_rates_cache rates;
	uint64_t update_gen;	/* names each guest_update (its gen) */
	/* Counter ticks the last publish took to write every mapped page. */
	uint64_t publish_ticks;
	struct ref_published pub;
	uint64_t kernel_extra_ns;
	uint64_t unsync_since_ns;
	uint64_t updates;
	unsigned int fast_starts;
	unsigned int warn_count;
	int expired_logged;
};

/* Publish to every page now (from the current fit; sampled if none). */
void daemon_update(struct daemon *d);

/* Control operations: 0 or -errno with a message in @err. */
int daemon_status(struct daemon *d, const char *guest, FILE *json, char *err,
		  size_t errlen);
int daemon_add_guest(struct daemon *d, const char *name,
		     const struct guest_mapping *m, const char *notify,
		     char *err, size_t errlen);
int daemon_remove_guest(struct daemon *d, const char *name, char *err,
			size_t errlen);
struct guest *daemon_find_guest(struct daemon *d, const char *name);
/*
 * May a guest called @name join: a valid name, not taken, max-guests not
 * reached?  Return: 0, or -EINVAL, -EEXIST, -ENOSPC with @err saying so.
 */
int daemon_guest_allowed(struct daemon *d, const char *name, char *err,
			 size_t errlen);
/* Put @g on the guest list: the only way a guest joins it. */
void daemon_link_guest(struct daemon *d, struct guest *g);

#endif /* VMCLOCK_DAEMON_DAEMON_H */
