/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control socket: one request a line, one reply a line.
 *
 *	request:  COMMAND [key=value ...]\n
 *	reply:    ok [JSON]\n   or   error MESSAGE\n
 *
 * Requests are strict: printable ASCII, at most CONTROL_LINE_MAX bytes,
 * lower-case command and keys, each key known to its command and given
 * once, values without blanks; numbers are decimal or 0x-hex and must fit.
 * Anything else is an error reply and the connection stays usable.
 */
#ifndef VMCLOCK_DAEMON_CONTROL_H
#define VMCLOCK_DAEMON_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONTROL_LINE_MAX 1024
#define CONTROL_ARGS_MAX 8

struct control_arg {
	char key[32];
	char val[CONTROL_LINE_MAX];
};

struct control_request {
	char cmd[32];
	unsigned int nargs;
	struct control_arg args[CONTROL_ARGS_MAX];
};

/* Split and check a request line (without its newline). */
int control_parse(const char *line, struct control_request *req, char *err,
		  size_t errlen);
/* Value of @key, or NULL. */
const char *control_arg(const struct control_request *req, const char *key);
/* Strict numbers: decimal or 0x-hex; "-N" allowed by control_get_s64(). */
int control_get_u64(const struct control_request *req, const char *key,
		    uint64_t def, uint64_t *out, char *err, size_t errlen);
/*
 * Check @req's command and keys against the command table and run it;
 * the reply line (without newline) is written to @out.
 */
void control_dispatch(void *daemon, const struct control_request *req,
		      FILE *out);
/* Parse and dispatch one line. */
void control_handle_line(void *daemon, const char *line, FILE *out);

/* The listening socket; the daemon's sched loop serves it. */
int control_listen(const char *path, unsigned int mode, int gid);
int control_serve(void *daemon, int listen_fd);
void control_close(void);

/* JSON string with escapes. */
void control_json_str(FILE *f, const char *s);

#endif /* VMCLOCK_DAEMON_CONTROL_H */
