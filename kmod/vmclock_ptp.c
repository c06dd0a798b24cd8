// SPDX-License-Identifier: GPL-2.0
/*
 * vmclock_ptp.c - the read-only PTP clock "vmclockN" (Linux 7.0 semantics).
 *
 * The time comes from the project's shared arithmetic
 * (include/vmclock/vmclock-arith.h): vmclock_line_eval() evaluates the
 * page's calibration at a counter reading taken inside the seqlock window,
 * exactly and with a signed counter delta, and vmclock_instant_to_ns()
 * floors it to nanoseconds.  The clock returns TAI, as Linux 7.0 does.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/overflow.h>
#include <linux/ptp_clock_kernel.h>
#include <linux/time64.h>
#include <linux/timekeeping.h>

#include "compat.h"
#include "vmclock_guest.h"

#include <vmclock/vmclock-arith.h>

static struct vmclock_dev *to_vd(struct ptp_clock_info *info)
{
	return container_of(info, struct vmclock_dev, ptp_info);
}

/*
 * TAI from a page in TAI, or in UTC with a valid offset.  Our sign
 * convention is tai_offset_sec = TAI - UTC (every producer writes +37), so
 * TAI = UTC + offset.  Linux 7.0 subtracts the offset instead, which is
 * right only for a producer that writes -37; see docs/abi.md.
 */
static int vmclock_to_tai(const struct vmclock_abi *p, s64 *ns)
{
	s64 off;

	if (p->time_type == VMCLOCK_TIME_TAI)
		return 0;
	if (p->time_type != VMCLOCK_TIME_UTC ||
	    !(le64_to_cpu(p->flags) & VMCLOCK_FLAG_TAI_OFFSET_VALID))
		return -EINVAL;
	off = (s16)le16_to_cpu(p->tai_offset_sec);
	return check_add_overflow(*ns, off * (s64)NSEC_PER_SEC, ns) ?
	       -EINVAL : 0;
}

static int vmclock_eval(const struct vmclock_abi *p, u64 counter, s64 *ns)
{
	struct vmclock_line line = {
		.counter_value = le64_to_cpu(p->counter_value),
		.period_frac = le64_to_cpu(p->counter_period_frac_sec),
		.time_sec = le64_to_cpu(p->time_sec),
		.time_frac = le64_to_cpu(p->time_frac_sec),
		.shift = p->counter_period_shift,
	};
	struct vmclock_instant t;
	struct vmclock_span span;
	int ret;

	if (p->clock_status == VMCLOCK_STATUS_UNRELIABLE)
		return -EINVAL;
	ret = vmclock_line_eval(&line, counter, &t, &span);
	if (!ret)
		ret = vmclock_instant_to_ns(&t, ns);
	if (!ret)
		ret = vmclock_to_tai(p, ns);
	return ret ? -EINVAL : 0;
}

/* One consistent page and counter reading, turned into TAI ns. */
static int vmclock_ptp_read(struct vmclock_dev *vd, s64 *ns, u64 *counter,
			    struct ptp_system_timestamp *sts)
{
	struct vmclock_abi p;
	int ret;

	if (vmclock_counter_unstable())
		return -EINVAL;
	ret = vmclock_snapshot(vd, &p, sts, counter);
	if (ret)
		return ret;
	vmclock_check_generation(vd);
	return vmclock_eval(&p, *counter, ns);
}

static int vmclock_gettimex(struct ptp_clock_info *info,
			    struct timespec64 *ts,
			    struct ptp_system_timestamp *sts)
{
	u64 counter;
	s64 ns;
	int ret = vmclock_ptp_read(to_vd(info), &ns, &counter, sts);

	if (!ret)
		*ts = ns_to_timespec64(ns);
	return ret;
}

#if VMCLOCK_HAVE_CROSSTSTAMP
static int vmclock_device_time(ktime_t *device,
			       struct system_counterval_t *sc, void *ctx)
{
	u64 counter;
	s64 ns;
	int ret = vmclock_ptp_read(ctx, &ns, &counter, NULL);

	if (ret)
		return ret;
	*device = ns_to_ktime(ns);
	vmclock_set_counterval(sc, counter);
	return 0;
}

/* Fails with -ENODEV unless the system clocksource is the same counter. */
static int vmclock_getcrosststamp(struct ptp_clock_info *info,
				  struct system_device_crosststamp *xt)
{
	return get_device_system_crosststamp(vmclock_device_time, to_vd(info),
					     NULL, xt);
}
#endif

static int vmclock_adjfine(struct ptp_clock_info *info, long scaled_ppm)
{
	return -EOPNOTSUPP;
}

static int vmclock_adjtime(struct ptp_clock_info *info, s64 delta)
{
	return -EOPNOTSUPP;
}

static int vmclock_settime(struct ptp_clock_info *info,
			   const struct timespec64 *ts)
{
	return -EOPNOTSUPP;
}

static int vmclock_enable(struct ptp_clock_info *info,
			  struct ptp_clock_request *rq, int on)
{
	return -EOPNOTSUPP;
}

static const struct ptp_clock_info vmclock_ptp_template = {
	.owner = THIS_MODULE,
	.max_adj = 0,
	.adjfine = vmclock_adjfine,
	.adjtime = vmclock_adjtime,
	.settime64 = vmclock_settime,
	.enable = vmclock_enable,
	.gettimex64 = vmclock_gettimex,
#if VMCLOCK_HAVE_CROSSTSTAMP
	.getcrosststamp = vmclock_getcrosststamp,
#endif
};

/* counter_id and time_type are constant fields: judged once, at probe. */
static bool vmclock_ptp_usable(struct vmclock_dev *vd)
{
	if (!VMCLOCK_FIELD_PRESENT(vd->size, time_frac_sec) ||
	    vd->counter_id != VMCLOCK_NATIVE_COUNTER)
		return false;
	if (vd->time_type == VMCLOCK_TIME_TAI)
		return true;
	if (vd->time_type == VMCLOCK_TIME_UTC &&
	    (vmclock_flags(vd) & VMCLOCK_FLAG_TAI_OFFSET_VALID))
		return true;
	dev_info(vd->dev, "%s: time type %u is not unambiguous: no PTP clock\n",
		 vd->name, vd->time_type);
	return false;
}

int vmclock_ptp_register(struct vmclock_dev *vd)
{
	struct ptp_clock *ptp;

	if (!vmclock_ptp_usable(vd))
		return 0;
	vd->ptp_info = vmclock_ptp_template;
	strscpy(vd->ptp_info.name, vd->name, sizeof(vd->ptp_info.name));
	ptp = ptp_clock_register(&vd->ptp_info, vd->dev);
	if (IS_ERR(ptp))
		return PTR_ERR(ptp);
	vd->ptp = ptp;
	dev_info(vd->dev, "%s: PTP clock ptp%d\n", vd->name,
		 ptp_clock_index(ptp));
	return 0;
}

void vmclock_ptp_unregister(struct vmclock_dev *vd)
{
	if (!vd->ptp)
		return;
	ptp_clock_unregister(vd->ptp);
	vd->ptp = NULL;
}
