// SPDX-License-Identifier: MIT
/*
 * servo.c - the basic-mode comparison: what a guest without precise time
 * does.  A software clock on the guest counter, y = y0 + (G - g0) * p *
 * (1 + freq), steered by a PI loop that polls an NTP-like server every
 * 16-64 s; each measurement has uniform network jitter.  On a
 * DISRUPTED event (basic mode still bumps the marker) it polls at once.
 */
#include <math.h>

#include "sim.h"

#define KP 0.5 /* share of the measured offset corrected at once */
#define KI 0.15 /* share of offset / interval added to the frequency */

static double servo_time(const struct sim *s, int64_t t)
{
	const struct servo *v = &s->servo;
	double ticks = (double)(int64_t)(model_counter(s, t) - v->g0);

	return v->y0 + ticks * v->nominal * (1 + v->freq);
}

double servo_error(const struct sim *s)
{
	return servo_time(s, s->counter_t) -
	       (double)model_true_utc(s, s->counter_t);
}

void servo_init(struct sim *s)
{
	struct servo *v = &s->servo;

	v->on = 1;
	v->nominal = 1e9 / (double)s->sc.counter_hz;
	/* Start converged on the first host's frequency. */
	v->freq = 1 / (1 + (s->base_ppb + s->wander_ppb) * 1e-9) - 1;
	v->g0 = model_counter(s, 0);
	v->y0 = (double)model_true_utc(s, 0);
	v->next_poll = 16 * NS;
	v->last_poll = 0;
}

void servo_poll(struct sim *s)
{
	struct servo *v = &s->servo;
	double jitter = sim_uniform(s, -1, 1) * s->sc.servo_jitter_us * 1e3;
	double y = servo_time(s, s->t);
	double theta = (double)model_true_utc(s, s->t) + jitter - y;
	double interval = (double)(s->t - v->last_poll);

	v->y0 = y + KP * theta;
	v->g0 = model_counter(s, s->t);
	/* An early poll (after a disruption) must not kick the frequency. */
	v->freq += KI * theta / fmax(interval, 16e9);
	v->last_poll = s->t;
	v->next_poll = s->t + (int64_t)(sim_uniform(s, 16, 64) * 1e9);
}
