// SPDX-License-Identifier: MIT
/*
 * clock.c - the production clock ops: the only place vmclockd reads host
 * time (clock_gettime, the CPU counter, adjtimex).
 */
#include <errno.h>
#include <sys/timex.h>
#include <time.h>

#include <vmclock/vmclock.h>

#include "clock.h"

static int real_gettime(void *ctx, clockid_t id, int64_t *ns)
{
	struct timespec ts;

	(void)ctx;
	if (clock_gettime(id, &ts))
		return -errno;
	*ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return 0;
}

static uint64_t real_counter(void *ctx)
{
	(void)ctx;
	return vmclock_counter_read();
}

static int real_ntp(void *ctx, struct clock_ntp *out)
{
	struct timex tx = { 0 };
	int ret;

	(void)ctx;
	ret = adjtimex(&tx);
	if (ret < 0)
		return -errno;
	out->state = ret;
	out->status = tx.status;
	/* adjtimex reports microseconds. */
	out->maxerror_ns = (int64_t)tx.maxerror * 1000;
	out->esterror_ns = (int64_t)tx.esterror * 1000;
	out->tai = tx.tai;
	out->freq = tx.freq;
	out->tick = tx.tick;
	return 0;
}

const struct clock_ops clock_real_ops = {
	.gettime = real_gettime,
	.counter = real_counter,
	.ntp = real_ntp,
	.ctx = NULL,
};

uint64_t clock_monotonic_ns(const struct clock_ops *ops)
{
	int64_t ns = 0;

	if (ops->gettime(ops->ctx, CLOCK_MONOTONIC, &ns))
		return 0;
	return (uint64_t)ns;
}

int64_t clock_utc_sec(const struct clock_ops *ops)
{
	int64_t ns = 0;

	ops->gettime(ops->ctx, CLOCK_REALTIME, &ns);
	return ns / 1000000000;
}
