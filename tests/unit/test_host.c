// SPDX-License-Identifier: MIT
/*
 * test_host.c - the kernel NTP state as page status, leap indicator and
 * maximum error: every adjtimex time state, STA_UNSYNC, and the bound that
 * keeps growing once the kernel's has stopped at its 16 s cap.
 */
#include <sys/timex.h>

#include <vmclock/vmclock-abi.h>

#include "../../daemon/host.h"
#include "../harness/test.h"

TEST(status_from_adjtimex)
{
	struct clock_ntp n = { 0 };

	CHECK_EQ_INT(host_status(&n, 1), VMCLOCK_STATUS_SYNCHRONIZED);
	n.status = STA_UNSYNC;
	CHECK_EQ_INT(host_status(&n, 1), VMCLOCK_STATUS_FREERUNNING);
	n.status = STA_PLL;
	CHECK_EQ_INT(host_status(&n, 1), VMCLOCK_STATUS_SYNCHRONIZED);
	CHECK_EQ_INT(host_status(&n, 0), VMCLOCK_STATUS_UNRELIABLE);
}

TEST(leap_from_time_state)
{
	static const struct {
		int state, status;
		uint8_t leap;
	} t[] = {
		{ TIME_OK, 0, VMCLOCK_LEAP_NONE },
		{ TIME_INS, STA_INS, VMCLOCK_LEAP_PRE_POS },
		{ TIME_DEL, STA_DEL, VMCLOCK_LEAP_PRE_NEG },
		{ TIME_OOP, STA_INS, VMCLOCK_LEAP_POS },
		{ TIME_WAIT, 0, VMCLOCK_LEAP_POST_POS },
		{ TIME_WAIT, STA_DEL, VMCLOCK_LEAP_POST_NEG },
		{ TIME_ERROR, STA_UNSYNC, VMCLOCK_LEAP_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct clock_ntp n = { .state = t[i].state, .status = t[i].status };

		CHECK_MSG(host_leap(&n) == t[i].leap, "case %zu: %d", i,
			  host_leap(&n));
	}
}

TEST(maxerror_below_cap_is_the_kernels)
{
	struct clock_ntp n = { .maxerror_ns = 2500000 };
	uint64_t since = 123, grown = 9;

	CHECK_EQ_U64(host_maxerror(&n, 1, 5000000000ull, 500000, &since, &grown),
		     2500000);
	CHECK_EQ_U64(since, 0);
	CHECK_EQ_U64(grown, 0);
}

TEST(maxerror_at_cap_keeps_growing)
{
	struct clock_ntp n = { .status = STA_UNSYNC,
			       .maxerror_ns = (int64_t)HOST_MAXERROR_CAP_NS };
	uint64_t since = 0, grown = 0, t0 = 7000000000ull;

	CHECK_EQ_U64(host_maxerror(&n, 1, t0, 500000, &since, &grown),
		     HOST_MAXERROR_CAP_NS);
	CHECK_EQ_U64(since, t0);
	/* 10 s later: 10 x 500 us. */
	CHECK_EQ_U64(host_maxerror(&n, 1, t0 + 10000000000ull, 500000, &since,
				   &grown), HOST_MAXERROR_CAP_NS + 5000000);
	/* Part of a second counts as a whole one: never narrower. */
	CHECK_EQ_U64(host_maxerror(&n, 1, t0 + 10000000001ull, 500000, &since,
				   &grown), HOST_MAXERROR_CAP_NS + 5500000);
	CHECK_EQ_U64(grown, 5500000);
	/* Synchronised again: back to the kernel's own bound. */
	n.maxerror_ns = 1000;
	CHECK_EQ_U64(host_maxerror(&n, 1, t0 + 20000000000ull, 500000, &since,
				   &grown), 1000);
	CHECK_EQ_U64(since, 0);
}

TEST(no_adjtimex_means_the_cap)
{
	struct clock_ntp n = { 0 };
	uint64_t since = 0, grown = 0;

	CHECK(host_maxerror(&n, 0, 1, 500000, &since, &grown) >=
	      HOST_MAXERROR_CAP_NS);
}
