// SPDX-License-Identifier: MIT
/*
 * test.c - main() of every unit-test program: runs the registered tests in
 * name order and prints "N passed, N failed".
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

static struct test_case *tests;
static int current_failed;
static uint64_t seed, state;
static int verbose;

void test_register(struct test_case *tc)
{
	struct test_case **p = &tests;

	while (*p && strcmp((*p)->name, tc->name) < 0)
		p = &(*p)->next;
	tc->next = *p;
	*p = tc;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (current_failed++ >= 10)
		return;
	fprintf(stdout, "  %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

uint64_t test_rand(void)
{
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t test_rand_below(uint64_t n)
{
	return n ? test_rand() % n : 0;
}

uint64_t test_seed(void)
{
	return seed;
}

int test_verbose(void)
{
	return verbose;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-v] [-s SEED] [FILTER]\n", argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	struct timespec ts;
	struct test_case *tc;
	const char *filter = NULL;
	int passed = 0, failed = 0, opt;

	clock_gettime(CLOCK_REALTIME, &ts);
	seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
	       (uint64_t)getpid();
	while ((opt = getopt(argc, argv, "vs:")) != -1) {
		if (opt == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (opt == 'v')
			verbose = 1;
		else
			usage(argv[0]);
	}
	if (optind < argc)
		filter = argv[optind];
	state = seed;
	printf("seed %" PRIu64 " (replay with -s %" PRIu64 ")\n", seed, seed);
	for (tc = tests; tc; tc = tc->next) {
		if (filter && !strstr(tc->name, filter))
			continue;
		current_failed = 0;
		fflush(stdout);
		tc->fn();
		printf("%s %s\n", current_failed ? "FAIL" : "PASS", tc->name);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
