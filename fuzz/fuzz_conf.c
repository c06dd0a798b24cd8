// SPDX-License-Identifier: MIT
/*
 * fuzz_conf.c - hostile settings through vmclockd's configuration readers:
 * a config file (conf_load_file() on a memfd), one key and value
 * (conf_set()), and a command line (conf_parse_args()).
 *
 * Input: a mode byte, then the file's bytes, or "key\0value", or NUL-
 * separated arguments.  Properties: no crash, no UB; a failure says why
 * (a non-empty, terminated message); after any call every string setting is
 * terminated within its field and every number lies in its table range.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../daemon/conf.h"
#include "fuzz.h"

static void check_conf(const struct conf *c)
{
	size_t i;

	for (i = 0; i < conf_noptions; i++) {
		const struct conf_option *o = &conf_options[i];
		const char *p = (const char *)c + o->offset;
		unsigned int n;

		if (o->max == 0 && o->min == 0) { /* strings and enums */
			PROP(memchr(p, '\0', o->size) != NULL);
			continue;
		}
		memcpy(&n, p, sizeof(n));
		PROP(n >= o->min && n <= o->max);
	}
}

static void check_err(int ret, const char *err, size_t len)
{
	PROP(ret <= 0);
	if (ret)
		PROP(err[0] && memchr(err, '\0', len));
}

static void fuzz_file(const uint8_t *data, size_t size, struct conf *c)
{
	char path[64], err[512] = "";
	int fd = memfd_create("conf", 0), ret;

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ret = conf_load_file(c, path, err, sizeof(err));
		check_err(ret, err, sizeof(err));
	}
	close(fd);
}

static void fuzz_args(const uint8_t *data, size_t size, struct conf *c)
{
	char *buf = malloc(size + 1), *argv[17], err[512] = "";
	int argc = 1, print, help, ret;
	size_t i = 0;

	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = (char *)"vmclockd";
	while (i <= size && argc < 16) {
		argv[argc] = buf + i;
		/* --config opens files: not the fuzzer's to choose. */
		if (strstr(argv[argc], "config"))
			argv[argc] = (char *)"--help";
		argc++;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	ret = conf_parse_args(c, argc, argv, &print, &help, err, sizeof(err));
	check_err(ret, err, sizeof(err));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char *kv, err[512] = "";
	int ret;

	if (!size)
		return 0;
	conf_defaults(&c);
	check_conf(&c);
	switch (data[0] % 3) {
	case 0:
		fuzz_file(data + 1, size - 1, &c);
		break;
	case 1:
		kv = malloc(size + 1);
		if (!kv)
			return 0;
		memcpy(kv, data + 1, size - 1);
		kv[size - 1] = '\0';
		kv[size] = '\0';
		ret = conf_set(&c, kv,
			       kv + strlen(kv) + (strlen(kv) < size - 1), err,
			       sizeof(err));
		check_err(ret, err, sizeof(err));
		free(kv);
		break;
	default:
		fuzz_args(data + 1, size - 1, &c);
		break;
	}
	check_conf(&c);
	return 0;
}
