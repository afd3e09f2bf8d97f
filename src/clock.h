/*
 * clock.h -- the one source of time.  Everything that schedules or ages
 * asks here, so tests can drive time without sleeping.
 */
#ifndef JANITOR_CLOCK_H
#define JANITOR_CLOCK_H

#include <stdint.h>

/* Milliseconds on a monotonic clock (or the fake one, when set). */
int64_t	clock_mono_ms(void);

/*
 * Milliseconds on the coarse monotonic clock (a vDSO read, to a tick),
 * never faked: for worker threads that pace themselves in real time.
 */
int64_t	clock_coarse_ms(void);

/* Milliseconds since the Unix epoch (or the fake one, when set). */
int64_t	clock_wall_ms(void);

/* Freeze both clocks at the given values (tests); clock_fake_off() resumes. */
void	clock_fake_set(int64_t mono_ms, int64_t wall_ms);
void	clock_fake_advance(int64_t ms);
void	clock_fake_off(void);

#endif
