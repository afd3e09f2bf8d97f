/*
 * sweep.h -- the cache sweeper: Gradio's delete_cache for every directory
 * the policy's cache: list names, done in a worker thread the way
 * systemd-tmpfiles cleans a directory (see fsutil.h for the safety rules).
 */
#ifndef JANITOR_SWEEP_H
#define JANITOR_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct fsutil_stat;

/* What one sweep of one cache entry did. */
struct sweep_result {
	uint64_t	sr_files;	/* non-directories removed */
	uint64_t	sr_dirs;	/* directories removed */
	uint64_t	sr_bytes;	/* apparent size of the removed files */
	uint64_t	sr_errors;	/* entries that could not be removed */
	uint64_t	sr_kept;	/* entries matching keep */
	uint64_t	sr_locked;	/* entries skipped: held under flock */
	uint64_t	sr_mounts;	/* mount points not entered */
	uint64_t	sr_size;	/* bytes left in the tree afterwards */
	int64_t		sr_ms;		/* how long it took */
	int64_t		sr_yield_us;	/* walkers' time given to traffic */
	int		sr_status;	/* 0, EINTR, or why the root was refused */
};

/*
 * The proxy's relaying (request heads, response body reads, tunnel
 * reads), counted: while the count moves, a running sweep gives way.
 */
extern uint64_t	sweep_traffic_count;

/* Something was relayed: tell the walkers. */
static inline void
sweep_traffic(void)
{
	__atomic_fetch_add(&sweep_traffic_count, 1, __ATOMIC_RELAXED);
}

/*
 * Start the sweeper: the worker thread, the timers of the cache entries,
 * POST /sweep and the reload hook.  Runs on_start wipe/sweep.  0, or -1
 * with *cause.  Starting twice does nothing.
 */
int	sweep_start_thread(char **cause);

/* Interrupt a running sweep, stop the thread and forget every entry. */
void	sweep_stop_thread(void);

/*
 * Sweep one entry now on the calling thread: remove what is old by the
 * entry's rules (everything not kept when wipe is set) as seen at wall
 * time now_ms.  stop is polled and ends the sweep early with EINTR.
 */
void	sweep_run(const struct cache_entry *, int wipe, int64_t now_ms,
	    struct sweep_result *, const volatile int *stop);

/* Whether relpath (or its last component, base) matches a keep glob. */
int	sweep_keep_match(char *const *keep, size_t nkeep, const char *relpath,
	    const char *base);

/* The newest of the timestamps age_by lists, in wall milliseconds. */
int64_t	sweep_age_time(const struct fsutil_stat *, unsigned age_by);

/* Whether every timestamp age_by lists is older than age at now_ms. */
int	sweep_is_old(const struct fsutil_stat *, unsigned age_by, msec_t age,
	    int64_t now_ms);

#endif
