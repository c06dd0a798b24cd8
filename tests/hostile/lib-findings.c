// SPDX-License-Identifier: MIT
/*
 * lib-findings.c - open findings in libvmclock, one test each, failing
 * until fixed (make check-findings; not part of make check).  A fixed one
 * moves to test_findings.c.  None is open.
 */
#include "../harness/test.h"
