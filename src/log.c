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

#include "log.h"

static int	log_level = LOG_LEVEL_INFO;
static int	log_json;

static const char *log_names[] = { "error", "warn", "info", "debug" };

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
