/*
 * log.c -- stderr logging in text or JSON lines, and the allocation
 * wrappers whose only failure mode is a logged exit.
 */
#include <sys/time.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "clock.h"
#include "log.h"

static int	log_level = LOG_LEVEL_INFO;
static int	log_json;

static const char *log_names[] = { "error", "warn", "info", "debug" };

static struct log_limit	*log_limits_due;	/* summaries to write */
static struct event	*log_limit_ev;

static void	log_limit_arm(void);

/* Set the threshold and the format. */
void
log_setup(int level, int json)
{
	if (level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_level = level;
	log_json = json;
}

/* Whether level passes the threshold. */
int
log_enabled(int level)
{
	return (level <= log_level);
}

/* Map libevent's severities onto ours. */
static void
log_libevent_cb(int severity, const char *msg)
{
	int	level;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		level = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		level = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		level = LOG_LEVEL_WARN;
		break;
	default:
		level = LOG_LEVEL_ERROR;
		break;
	}
	log_msg(level, "libevent: %s", msg);
}

/* Route libevent's messages into this log. */
void
log_route_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}

/* Write one formatted message at level. */
void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char		 msg[2048], ts[64];
	struct timeval	 tv;
	struct tm	 tm;
	json_t		*obj;
	char		*line;

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));

	if (!log_json) {
		fprintf(stderr, "%s %s %s\n", ts, log_names[level], msg);
		return;
	}
	/* jansson does the escaping; a message may hold anything. */
	obj = json_pack("{s:s, s:s, s:s}", "ts", ts, "level",
	    log_names[level], "msg", msg);
	if (obj == NULL)
		return;
	line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(obj);
	if (line == NULL)
		return;
	fprintf(stderr, "%s\n", line);
	free(line);
}

/* Write one message at level. */
void
log_msg(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

/* Write one limiter's summary, if lines were held back. */
static void
log_limit_summary(struct log_limit *ll)
{
	if (ll->ll_held > 0)
		log_msg(ll->ll_level, "%s: %llu more line%s like %s in that "
		    "second, not logged", ll->ll_what,
		    (unsigned long long)ll->ll_held, ll->ll_held == 1 ? "" :
		    "s", ll->ll_held == 1 ? "it" : "them");
	ll->ll_held = 0;
}

/* Whether a line of this kind may be written now; 0: counted instead. */
int
log_limit(struct log_limit *ll)
{
	int64_t	sec = clock_coarse_ms() / 1000;

	if (sec != ll->ll_sec) {
		/* A new second: what the last one held back is told first. */
		log_limit_summary(ll);
		ll->ll_sec = sec;
		ll->ll_lines = 0;
	}
	if (ll->ll_lines < LOG_LIMIT_BURST) {
		ll->ll_lines++;
		return (1);
	}
	if (ll->ll_held++ == 0 && !ll->ll_due) {
		ll->ll_due = 1;
		ll->ll_next = log_limits_due;
		log_limits_due = ll;
		log_limit_arm();
	}
	return (0);
}

/* Write every summary whose second is over (or all, at exit). */
static void
log_limit_run(int all)
{
	struct log_limit	*ll, **pp;
	int64_t			 sec = clock_coarse_ms() / 1000;

	for (pp = &log_limits_due; (ll = *pp) != NULL; ) {
		if (!all && ll->ll_sec == sec && ll->ll_held > 0) {
			pp = &ll->ll_next;
			continue;
		}
		*pp = ll->ll_next;
		ll->ll_due = 0;
		log_limit_summary(ll);
	}
	if (log_limits_due != NULL)
		log_limit_arm();
}

/* The summaries' timer. */
static void
log_limit_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	log_limit_run(0);
}

/* Arm the summaries' timer for the start of the next second. */
static void
log_limit_arm(void)
{
	struct timeval	tv;
	int64_t		ms = 1000 - clock_coarse_ms() % 1000 + 10;

	if (log_limit_ev == NULL || evtimer_pending(log_limit_ev, NULL))
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(log_limit_ev, &tv);
}

/* Write every summary now. */
void
log_limit_flush(void)
{
	log_limit_run(1);
}

/* Let a timer on base write the summaries each second. */
void
log_limit_attach(struct event_base *base)
{
	if (log_limit_ev == NULL &&
	    (log_limit_ev = evtimer_new(base, log_limit_cb, NULL)) == NULL)
		fatal_oom();
	if (log_limits_due != NULL)
		log_limit_arm();
}

/* Write what is due and drop the timer (at exit). */
void
log_limit_detach(void)
{
	log_limit_flush();
	if (log_limit_ev != NULL)
		event_free(log_limit_ev);
	log_limit_ev = NULL;
}

/* Log and exit 1. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Out of memory: a proxy that cannot allocate cannot keep its promises. */
void
fatal_oom(void)
{
	static const char msg[] = "janitord: out of memory\n";

	/* No allocation here: write(2) the message and leave. */
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* nothing left to report to */
	}
	abort();
}

/* malloc or die. */
void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal_oom();
	return (p);
}

/* calloc or die. */
void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal_oom();
	return (p);
}

/* realloc or die. */
void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		fatal_oom();
	return (p);
}

/* strdup or die. */
char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal_oom();
	return (p);
}

/* strndup or die. */
char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal_oom();
	return (p);
}
