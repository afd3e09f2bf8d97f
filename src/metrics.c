/*
 * metrics.c -- a registry of counters and gauges, rendered in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Metrics are grouped in families by name, in registration order; each
 * family prints its HELP and TYPE line once, then one sample per label
 * set.  Updating is a plain add on the metric, from the event loop only.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "metrics.h"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
};

struct metric {
	TAILQ_ENTRY(metric)	 me_entry;
	char			*me_labels;	/* "" when none */
	int64_t			 me_value;
	metrics_gauge_fn	 me_fn;		/* computed at render, or NULL */
	void			*me_arg;
};
TAILQ_HEAD(metrics_list, metric);

struct metrics_family {
	TAILQ_ENTRY(metrics_family) mf_entry;
	char			*mf_name;
	char			*mf_help;
	enum metrics_type	 mf_type;
	struct metrics_list	 mf_metrics;
};
TAILQ_HEAD(metrics_families, metrics_family);

static struct metrics_families	metrics_families =
    TAILQ_HEAD_INITIALIZER(metrics_families);

/* Check that a name follows Prometheus' rules and our janitor_ prefix. */
static void
metrics_check_name(const char *name)
{
	const char	*p;

	if (strncmp(name, "janitor_", 8) != 0)
		fatal("metric %s: names start with janitor_", name);
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			fatal("metric %s: invalid character", name);
	}
}

/* Find a family by name, or NULL. */
static struct metrics_family *
metrics_find_family(const char *name)
{
	struct metrics_family	*mf;

	TAILQ_FOREACH(mf, &metrics_families, mf_entry) {
		if (strcmp(mf->mf_name, name) == 0)
			return (mf);
	}
	return (NULL);
}

/* Find or create the metric for name and labels in a family of type. */
static struct metric *
metrics_get(const char *name, const char *labels, const char *help,
    enum metrics_type type)
{
	struct metrics_family	*mf;
	struct metric		*me;

	if (labels == NULL)
		labels = "";
	if ((mf = metrics_find_family(name)) == NULL) {
		metrics_check_name(name);
		mf = xcalloc(1, sizeof *mf);
		mf->mf_name = xstrdup(name);
		mf->mf_help = xstrdup(help != NULL ? help : name);
		mf->mf_type = type;
		TAILQ_INIT(&mf->mf_metrics);
		TAILQ_INSERT_TAIL(&metrics_families, mf, mf_entry);
	} else if (mf->mf_type != type)
		fatal("metric %s registered as both counter and gauge", name);

	TAILQ_FOREACH(me, &mf->mf_metrics, me_entry) {
		if (strcmp(me->me_labels, labels) == 0)
			return (me);
	}
	me = xcalloc(1, sizeof *me);
	me->me_labels = xstrdup(labels);
	TAILQ_INSERT_TAIL(&mf->mf_metrics, me, me_entry);
	return (me);
}

/* Register (or find) a counter. */
struct metric *
metrics_counter(const char *name, const char *labels, const char *help)
{
	return (metrics_get(name, labels, help, METRICS_COUNTER));
}

/* Register (or find) a gauge. */
struct metric *
metrics_gauge(const char *name, const char *labels, const char *help)
{
	return (metrics_get(name, labels, help, METRICS_GAUGE));
}

/* Register a metric of type whose value fn computes when rendered. */
static void
metrics_func(const char *name, const char *labels, const char *help,
    enum metrics_type type, metrics_gauge_fn fn, void *arg)
{
	struct metric	*me;

	me = metrics_get(name, labels, help, type);
	me->me_fn = fn;
	me->me_arg = arg;
}

/* Register a gauge whose value is computed when rendered. */
void
metrics_gauge_func(const char *name, const char *labels, const char *help,
    metrics_gauge_fn fn, void *arg)
{
	metrics_func(name, labels, help, METRICS_GAUGE, fn, arg);
}

/* Register a counter whose value is computed when rendered. */
void
metrics_counter_func(const char *name, const char *labels, const char *help,
    metrics_gauge_fn fn, void *arg)
{
	metrics_func(name, labels, help, METRICS_COUNTER, fn, arg);
}

/* Add to a counter or gauge. */
void
metrics_add(struct metric *me, int64_t n)
{
	me->me_value += n;
}

/* Set a gauge. */
void
metrics_set(struct metric *me, int64_t n)
{
	me->me_value = n;
}

/* The current value (computed for function gauges). */
int64_t
metrics_value(const struct metric *me)
{
	if (me->me_fn != NULL)
		return (me->me_fn(me->me_arg));
	return (me->me_value);
}

/* Append HELP text, escaping backslash and newline as the format asks. */
static void
metrics_add_help(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

/* Append every metric in the Prometheus text format. */
void
metrics_render(struct evbuffer *out)
{
	struct metrics_family	*mf;
	struct metric		*me;

	TAILQ_FOREACH(mf, &metrics_families, mf_entry) {
		evbuffer_add_printf(out, "# HELP %s ", mf->mf_name);
		metrics_add_help(out, mf->mf_help);
		evbuffer_add_printf(out, "\n# TYPE %s %s\n", mf->mf_name,
		    mf->mf_type == METRICS_COUNTER ? "counter" : "gauge");
		TAILQ_FOREACH(me, &mf->mf_metrics, me_entry) {
			if (*me->me_labels == '\0')
				evbuffer_add_printf(out, "%s %" PRId64 "\n",
				    mf->mf_name, metrics_value(me));
			else
				evbuffer_add_printf(out, "%s{%s} %" PRId64 "\n",
				    mf->mf_name, me->me_labels,
				    metrics_value(me));
		}
	}
}

/* Forget every metric. */
void
metrics_free(void)
{
	struct metrics_family	*mf;
	struct metric		*me;

	while ((mf = TAILQ_FIRST(&metrics_families)) != NULL) {
		TAILQ_REMOVE(&metrics_families, mf, mf_entry);
		while ((me = TAILQ_FIRST(&mf->mf_metrics)) != NULL) {
			TAILQ_REMOVE(&mf->mf_metrics, me, me_entry);
			free(me->me_labels);
			free(me);
		}
		free(mf->mf_name);
		free(mf->mf_help);
		free(mf);
	}
}
