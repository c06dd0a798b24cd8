/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point's
 * prototype, a property check that aborts with a message (so libFuzzer, or
 * the corpus replay in make check, reports the input), and little-endian
 * field access to raw page bytes.
 */
#ifndef VMCLOCK_FUZZ_FUZZ_H
#define VMCLOCK_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROP(cond)                                                      \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: property failed: %s\n", \
				__FILE__, __LINE__, #cond);             \
			abort();                                        \
		}                                                       \
	} while (0)

/* @bytes little-endian bytes at @p, whatever this CPU's order. */
static inline uint64_t fuzz_le(const uint8_t *p, size_t bytes)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Consume @bytes of input as a little-endian integer (zero past the end). */
static inline uint64_t fuzz_take(const uint8_t **data, size_t *size,
				 size_t bytes)
{
	uint8_t buf[8] = { 0 };
	size_t i;

	for (i = 0; i < bytes && i < *size; i++)
		buf[i] = (*data)[i];
	i = bytes < *size ? bytes : *size;
	*data += i;
	*size -= i;
	return fuzz_le(buf, bytes);
}

#endif /* VMCLOCK_FUZZ_FUZZ_H */
