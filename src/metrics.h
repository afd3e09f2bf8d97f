/*
 * metrics.h -- counters and gauges, rendered by the admin API in the
 * Prometheus text format.  Every name starts with "janitor_".
 *
 * Metrics are registered once (at start-up or module init) and updated
 * from the event loop only; worker threads hand their figures back to the
 * loop first.  Updating is a plain add on a pointer: no lookups.
 */
#ifndef JANITOR_METRICS_H
#define JANITOR_METRICS_H

#include <stdint.h>

struct evbuffer;
struct metric;

/* Computes a gauge at render time. */
typedef int64_t (*metrics_gauge_fn)(void *arg);

/*
 * Register a counter or gauge.  labels is NULL or the inside of the braces,
 * e.g. "class=\"2xx\""; the same name may be registered with several label
 * sets and is rendered as one family with one HELP and TYPE line.  Asking
 * again for the same name and labels returns the same metric.
 */
struct metric	*metrics_counter(const char *name, const char *labels,
		    const char *help);
struct metric	*metrics_gauge(const char *name, const char *labels,
		    const char *help);
void		 metrics_gauge_func(const char *name, const char *labels,
		    const char *help, metrics_gauge_fn, void *arg);

/* A counter kept by its owner (a worker-safe atomic), read at render time. */
void		 metrics_counter_func(const char *name, const char *labels,
		    const char *help, metrics_gauge_fn, void *arg);

void		 metrics_add(struct metric *, int64_t);
void		 metrics_set(struct metric *, int64_t);
int64_t		 metrics_value(const struct metric *);

#define metrics_inc(m)	metrics_add((m), 1)
#define metrics_dec(m)	metrics_add((m), -1)

/* Append every metric in the Prometheus text format. */
void		 metrics_render(struct evbuffer *);

/* Forget every metric (at exit, and between unit tests). */
void		 metrics_free(void);

#endif
