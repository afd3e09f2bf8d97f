/*
 * clock.c -- monotonic and wall time in milliseconds, with a fake clock
 * that unit tests can move.
 */
#include <stdbool.h>
#include <time.h>

#include "clock.h"

static bool	clock_fake;
static int64_t	clock_fake_mono;
static int64_t	clock_fake_wall;

/* Read a POSIX clock in milliseconds. */
static int64_t
clock_read(clockid_t id)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Monotonic milliseconds. */
int64_t
clock_mono_ms(void)
{
	if (clock_fake)
		return (clock_fake_mono);
	return (clock_read(CLOCK_MONOTONIC));
}

/* Coarse monotonic milliseconds, real even when the fake clock is set. */
int64_t
clock_coarse_ms(void)
{
	return (clock_read(CLOCK_MONOTONIC_COARSE));
}

/* Wall-clock milliseconds since the epoch. */
int64_t
clock_wall_ms(void)
{
	if (clock_fake)
		return (clock_fake_wall);
	return (clock_read(CLOCK_REALTIME));
}

/* Freeze time at the given values. */
void
clock_fake_set(int64_t mono_ms, int64_t wall_ms)
{
	clock_fake = true;
	clock_fake_mono = mono_ms;
	clock_fake_wall = wall_ms;
}

/* Move the fake clock forward. */
void
clock_fake_advance(int64_t ms)
{
	clock_fake_mono += ms;
	clock_fake_wall += ms;
}

/* Go back to real time. */
void
clock_fake_off(void)
{
	clock_fake = false;
}
