// SPDX-License-Identifier: MIT
/*
 * test_control.c - the control protocol: strict parsing, per-command key
 * checks, numbers, and random garbage that must always get one "ok" or
 * "error" reply.  The daemon operations are stubs here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../daemon/control.h"
#include "../../daemon/daemon.h"
#include "../harness/test.h"

static int updates, adds;
static struct guest stub_guest;

void daemon_update(struct daemon *d)
{
	(void)d;
	updates++;
}

int daemon_status(struct daemon *d, const char *guest, FILE *json, char *err,
		  size_t errlen)
{
	(void)d;
	(void)err;
	(void)errlen;
	fprintf(json, "{\"guest\":\"%s\"}", guest ? guest : "");
	return 0;
}

int daemon_add_guest(struct daemon *d, const char *name,
		     const struct guest_mapping *m, const char *notify,
		     char *err, size_t errlen)
{
	(void)d;
	(void)notify;
	if (strcmp(name, "vm1")) {
		snprintf(err, errlen, "only vm1");
		return -22;
	}
	adds++;
	stub_guest.map_ = *m;
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
	return strcmp(name, "vm1") ? NULL : &stub_guest;
}

static char *reply(const char *line)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	control_handle_line(NULL, line, f);
	fclose(f);
	return buf;
}

TEST(parse_good)
{
	struct control_request r;
	char err[128];

	REQUIRE(!control_parse("  migrate-out  guest=vm1 state=soon ", &r, err,
			       sizeof(err)));
	CHECK(!strcmp(r.cmd, "migrate-out"));
	CHECK_EQ_INT(r.nargs, 2);
	CHECK(!strcmp(control_arg(&r, "guest"), "vm1"));
	CHECK(!strcmp(control_arg(&r, "state"), "soon"));
	CHECK(control_arg(&r, "x") == NULL);
}

TEST(parse_bad)
{
	static const char *const bad[] = {
		"", "   ", "Status", "status guest", "status =x", "status guest=",
		"status guest=a guest=b", "status \x01", "st@tus",
		"status GUEST=x", "a b=1 c=2 d=3 e=4 f=5 g=6 h=7 i=8 j=9",
		"status \xc3\xa9=1",
	};
	struct control_request r;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(control_parse(bad[i], &r, err, sizeof(err)),
			  "accepted \"%s\"", bad[i]);
		CHECK(err[0]);
	}
}

TEST(parse_too_long)
{
	struct control_request r;
	char err[128], *line = malloc(CONTROL_LINE_MAX + 10);

	memset(line, 'a', CONTROL_LINE_MAX + 9);
	line[CONTROL_LINE_MAX + 9] = '\0';
	CHECK(control_parse(line, &r, err, sizeof(err)));
	CHECK(strstr(err, "longer than"));
	free(line);
}

TEST(numbers)
{
	struct control_request r;
	char err[128];
	uint64_t v;

	REQUIRE(!control_parse("x offset=-5 scale=0x10 big=18446744073709551615 "
			       "over=18446744073709551616 neg=-1 hex=0x",
			       &r, err, sizeof(err)));
	CHECK(!control_get_u64(&r, "offset", 0, &v, err, sizeof(err)));
	CHECK_EQ_U64(v, (uint64_t)-5);
	CHECK(!control_get_u64(&r, "scale", 0, &v, err, sizeof(err)));
	CHECK_EQ_U64(v, 16);
	CHECK(!control_get_u64(&r, "big", 0, &v, err, sizeof(err)));
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK(control_get_u64(&r, "over", 0, &v, err, sizeof(err)));
	CHECK(control_get_u64(&r, "neg", 0, &v, err, sizeof(err)));
	CHECK(control_get_u64(&r, "hex", 0, &v, err, sizeof(err)));
	CHECK(!control_get_u64(&r, "absent", 7, &v, err, sizeof(err)));
	CHECK_EQ_U64(v, 7);
}

TEST(dispatch_checks_keys)
{
	CHECK(!strcmp(reply("ping"), "ok"));
	CHECK(!strcmp(reply("status"), "ok {\"guest\":\"\"}"));
	CHECK(!strcmp(reply("status guest=vm1"), "ok {\"guest\":\"vm1\"}"));
	CHECK(!strcmp(reply("frobnicate"), "error unknown command \"frobnicate\""));
	CHECK(!strcmp(reply("status vm=1"), "error status takes no key \"vm\""));
	CHECK(!strcmp(reply("migrate-out guest=vm1"), "error migrate-out needs state="));
	CHECK(!strcmp(reply("migrated-in guest=vm2"), "error no guest \"vm2\""));
	CHECK(!strncmp(reply("add-guest guest=vm1 scale=0"), "error scale: must", 17));
	CHECK(!strncmp(reply("add-guest guest=vm1 frac-bits=64"), "error frac-bits", 15));
	CHECK(!strncmp(reply("add-guest guest=vm1 offset=x"), "error offset:", 13));
	CHECK(!strncmp(reply("add-guest guest=vm1 notify=rel/path"), "error notify:", 13));
	adds = 0;
	CHECK(!strcmp(reply("add-guest guest=vm1 offset=10 scale=3 frac-bits=1"), "ok"));
	CHECK_EQ_INT(adds, 1);
	CHECK_EQ_U64(stub_guest.map_.offset, 10);
	CHECK_EQ_U64(stub_guest.map_.scale, 3);
	CHECK_EQ_INT(stub_guest.map_.frac_bits, 1);
	CHECK(!strcmp(reply("add-guest guest=vm9"), "error only vm1"));
}

TEST(garbage_always_gets_one_reply)
{
	static const char alphabet[] = "az=- 0x9AZ\t\x01\x7f\xff-guest=vm1 status";
	int i;

	for (i = 0; i < 20000; i++) {
		char line[64], *r;
		size_t j, n = (size_t)test_rand_below(sizeof(line) - 1);

		for (j = 0; j < n; j++)
			line[j] = alphabet[test_rand_below(sizeof(alphabet) - 1)];
		line[n] = '\0';
		/* Only commands that touch no guest state reach the stubs. */
		if (strstr(line, "add") || strstr(line, "remove"))
			continue;
		r = reply(line);
		CHECK_MSG(!strncmp(r, "ok", 2) || !strncmp(r, "error ", 6),
			  "\"%s\" -> \"%s\"", line, r);
		CHECK(!strchr(r, '\n'));
	}
}
