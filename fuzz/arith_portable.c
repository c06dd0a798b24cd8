// SPDX-License-Identifier: MIT
/*
 * arith_portable.c - vmclock-arith.h's 64x64 multiply as compilers without
 * __int128 (32-bit targets) build it, for fuzz_arith to compare.
 */
#undef __SIZEOF_INT128__
#include <vmclock/vmclock-arith.h>

struct vmclock_u128 fuzz_mul64_portable(uint64_t a, uint64_t b);

struct vmclock_u128 fuzz_mul64_portable(uint64_t a, uint64_t b)
{
	return vmclock_mul64(a, b);
}
