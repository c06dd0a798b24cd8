// SPDX-License-Identifier: MIT
/*
 * fuzz_control.c - hostile request lines through vmclockd's control
 * protocol: control_handle_line() (parse, per-command key checks, numbers,
 * mappings) with the daemon's operations stubbed as in test_control.c, and
 * control_get_u64() / control_json_str() on what was parsed.
 *
 * Input: the request line (cut at the first newline, as the socket layer
 * cuts it).  Properties: no crash, no UB; exactly one reply, starting "ok"
 * or "error ", on one line of printable ASCII (a client can never be made
 * to see a second, forged reply line); JSON strings escape everything
 * outside printable ASCII.
 */
#include <string.h>

#include "../daemon/control.h"
#include "../daemon/daemon.h"
#include "fuzz.h"

void daemon_update(struct daemon *d)
{
	(void)d;
}

int daemon_status(struct daemon *d, const char *guest, FILE *json, char *err,
		  size_t errlen)
{
	(void)d;
	(void)err;
	(void)errlen;
	fputs("{\"guest\":", json);
	control_json_str(json, guest ? guest : "");
	fputc('}', json);
	return 0;
}

int daemon_add_guest(struct daemon *d, const char *name,
		     const struct guest_mapping *m, const char *notify,
		     char *err, size_t errlen)
{
	(void)d;
	(void)m;
	(void)notify;
	if (!name || !guest_name_ok(name)) {
		snprintf(err, errlen, "bad name");
		return -22;
	}
	return 0;
}

int daemon_remove_guest(struct daemon *d, const char *name, char *err,
			size_t errlen)
{
	(void)d;
	(void)name;
	(void)err;
	(void)errlen;
	return 0;
}

struct guest *daemon_find_guest(struct daemon *d, const char *name)
{
	(void)d;
	(void)name;
	return NULL; /* guest operations are the daemon suites' business */
}

static void check_reply(const char *buf, size_t len)
{
	size_t i;

	PROP(len > 0);
	PROP(!strncmp(buf, "ok", 2) || !strncmp(buf, "error ", 6));
	for (i = 0; i < len; i++)
		PROP((unsigned char)buf[i] >= 0x20 &&
		     (unsigned char)buf[i] <= 0x7e);
}

static void check_json(const char *s)
{
	char *out = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return;
	control_json_str(f, s);
	fclose(f);
	PROP(len >= 2 && out[0] == '"' && out[len - 1] == '"');
	for (i = 0; i < len; i++)
		PROP((unsigned char)out[i] >= 0x20 &&
		     (unsigned char)out[i] <= 0x7e);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	char *line = malloc(size + 1), *reply = NULL, err[256];
	size_t rlen = 0;
	uint64_t v;
	unsigned int i;
	FILE *f;

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	line[strcspn(line, "\n")] = '\0';
	f = open_memstream(&reply, &rlen);
	if (f) {
		control_handle_line(NULL, line, f);
		fclose(f);
		check_reply(reply, rlen);
		free(reply);
	}
	if (!control_parse(line, &req, err, sizeof(err))) {
		PROP(req.cmd[0] && req.nargs <= CONTROL_ARGS_MAX);
		for (i = 0; i < req.nargs; i++) {
			PROP(control_arg(&req, req.args[i].key) ==
			     req.args[i].val);
			err[0] = '\0';
			if (control_get_u64(&req, req.args[i].key, 0, &v, err,
					    sizeof(err)))
				PROP(err[0]);
			check_json(req.args[i].val);
		}
	} else {
		PROP(err[0]);
	}
	check_json(line);
	free(line);
	return 0;
}
