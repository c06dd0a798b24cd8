/* SPDX-License-Identifier: MIT */
/*
 * test.h - the unit-test harness shared by every test program.
 *
 * A test is a function declared with TEST(name); it registers itself at
 * start-up, so no list is kept by hand.  CHECK() records a failure and goes
 * on; REQUIRE() records a failure and leaves the test.  main() (test.c) runs
 * every test, or those whose name contains argv's filter, prints PASS/FAIL a
 * test and ends with "N passed, N failed".
 *
 * Randomised tests draw from test_rand(), a splitmix64 seeded from -s SEED
 * (default: from the clock); the seed is printed first, so any failure can
 * be replayed exactly.
 */
#ifndef VMCLOCK_TESTS_HARNESS_TEST_H
#define VMCLOCK_TESTS_HARNESS_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *tc);
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t test_rand(void);
uint64_t test_seed(void);
/* Random value in [0, n). */
uint64_t test_rand_below(uint64_t n);
/* Non-zero when the run was asked to be verbose (-v). */
int test_verbose(void);

#define TEST(name)                                                   \
	static void test_fn_##name(void);                             \
	static struct test_case test_case_##name = { #name,           \
						     test_fn_##name,  \
						     NULL };          \
	__attribute__((constructor)) static void test_reg_##name(void) \
	{                                                             \
		test_register(&test_case_##name);                     \
	}                                                             \
	static void test_fn_##name(void)

#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond))                                          \
			test_fail(__FILE__, __LINE__, "%s", #cond);   \
	} while (0)

#define CHECK_MSG(cond, ...)                                          \
	do {                                                          \
		if (!(cond))                                          \
			test_fail(__FILE__, __LINE__, __VA_ARGS__);   \
	} while (0)

#define REQUIRE(cond)                                                 \
	do {                                                          \
		if (!(cond)) {                                        \
			test_fail(__FILE__, __LINE__, "%s", #cond);   \
			return;                                       \
		}                                                     \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                 \
	do {                                                               \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);         \
		if (va_ != vb_)                                            \
			test_fail(__FILE__, __LINE__,                      \
				  "%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, \
				  #a, #b, va_, vb_);                       \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                \
	do {                                                              \
		long long va_ = (long long)(a), vb_ = (long long)(b);     \
		if (va_ != vb_)                                           \
			test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
				  #a, #b, va_, vb_);                      \
	} while (0)

#endif /* VMCLOCK_TESTS_HARNESS_TEST_H */
