// SPDX-License-Identifier: MIT
/*
 * lib-findings.c - open findings in libvmclock, one test each, failing
 * until fixed (make check-findings; not part of make check).  A fixed one
 * moves to test_findings.c.
 */
#include <string.h>

#include <vmclock/vmclock-derived.h>
#include <vmclock/vmclock.h>

#include "../harness/test.h"

#define NS 1000000000ll

/*
 * lib/derived.c, vmclock_tai_to_smeared(): with leap_indicator POS ("now
 * in the inserted 23:59:60") and tai_offset 36 (the value before the
 * leap), a TAI just before 23:59:60 starts is smeared as if the leap were
 * already over: at the 2017-01-01 leap, TAI 1 ms before 23:59:60
 * (UTC 2016-12-31T23:59:59.999) gives 1483228800.498994224 with NOON_LINEAR
 * (PRE_POS gives 1483228799.499005798 for the same instant), and TAI 1 ms
 * into 23:59:60 gives 1483228799.501005775: the smeared clock goes back
 * 0.998 s, against "a smeared clock is non-decreasing".  A reading taken
 * in the first maxerror ns of the leap second (its earliest before
 * 23:59:60) then gets vmclock_reading_smeared() bounds with earliest >
 * latest (found by fuzz_page).  Expected: the same value as PRE_POS
 * before 23:59:60 starts, so the clock is monotonic across it.
 */
TEST(smeared_goes_back_at_start_of_inserted_second)
{
	const int64_t M = 1483228800ll * NS; /* 2017-01-01T00:00:00Z */
	int64_t before_pos, before_pre, after;
	uint8_t hint;

	for (hint = VMCLOCK_SMEARING_NOON_LINEAR;
	     hint <= VMCLOCK_SMEARING_UTC_SLS; hint++) {
		REQUIRE(!vmclock_tai_to_smeared(M + 36 * NS - 1000000, 36,
						VMCLOCK_LEAP_POS, hint,
						&before_pos));
		REQUIRE(!vmclock_tai_to_smeared(M + 36 * NS - 1000000, 36,
						VMCLOCK_LEAP_PRE_POS, hint,
						&before_pre));
		REQUIRE(!vmclock_tai_to_smeared(M + 36 * NS + 1000000, 36,
						VMCLOCK_LEAP_POS, hint,
						&after));
		CHECK_MSG(before_pos <= after,
			  "hint %u: %" PRId64 " then %" PRId64, hint,
			  before_pos, after);
		CHECK_EQ_INT(before_pos, before_pre);
	}
}

/*
 * lib/page.c, decode_fields(): the page's size field says which fields
 * exist ("a field ending beyond size is absent", vmclock-abi.h: "readers
 * check VMCLOCK_FIELD_PRESENT() before touching anything past the
 * flags"), but clock_status, leap_second_smearing_hint, tai_offset_sec,
 * leap_indicator (0x22..0x26) are read whatever the size.  Input: a 4 KiB
 * buffer holding a page with size 32 (only the header and flags), bytes
 * 0x22 = 2 (SYNCHRONIZED), 0x24 = 37, 0x26 = 3 (POS) behind it.
 * Expected: status UNKNOWN, no leap, offset 0 (absent).  Got: SYNCHRONIZED,
 * POS, 37 read from beyond the page.
 */
TEST(fields_beyond_size_are_read)
{
	static union {
		uint64_t words[512];
		uint8_t b[4096];
	} pg;
	struct vmclock_reader *r;
	struct vmclock_reading rd;

	memcpy(pg.b, "VCLK", 4);
	pg.b[4] = 32; /* size */
	pg.b[8] = 1; /* version */
	pg.b[10] = VMCLOCK_COUNTER_X86_TSC;
	pg.b[12] = 2; /* seq_count */
	pg.b[0x22] = VMCLOCK_STATUS_SYNCHRONIZED;
	pg.b[0x24] = 37;
	pg.b[0x26] = VMCLOCK_LEAP_POS;
	r = vmclock_reader_open_memory(&pg, sizeof(pg));
	REQUIRE(r);
	REQUIRE(!vmclock_reader_read_at(r, 0, &rd));
	CHECK_EQ_INT(rd.clock_status, VMCLOCK_STATUS_UNKNOWN);
	CHECK_EQ_INT(rd.leap_indicator, VMCLOCK_LEAP_NONE);
	CHECK_EQ_INT(rd.tai_offset_sec, 0);
	vmclock_reader_close(r);
}
