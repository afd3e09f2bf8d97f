/*
 * log.h -- one line per message on stderr, as text or JSON lines, for a
 * terminal or journald.  libevent's own warnings are routed here too.
 */
#ifndef JANITOR_LOG_H
#define JANITOR_LOG_H

#include <stdarg.h>
#include <stdint.h>

struct event_base;

#define LOG_LEVEL_ERROR	0
#define LOG_LEVEL_WARN	1
#define LOG_LEVEL_INFO	2
#define LOG_LEVEL_DEBUG	3

/* Set the threshold and the format (0 text, 1 json); safe to call again. */
void	log_setup(int level, int json);

/* Route libevent's messages into this log. */
void	log_route_libevent(void);

/* Whether a message at level would be written; cheap, for hot paths. */
int	log_enabled(int level);

/* Write one message; a trailing newline in fmt is not needed. */
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(int level, const char *fmt, va_list ap);

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) do {						\
	if (log_enabled(LOG_LEVEL_DEBUG))				\
		log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);			\
} while (0)

/*
 * A rate limit for one kind of line that a flood could multiply (evictions,
 * expiries, refusals): at most LOG_LIMIT_BURST such lines a second are
 * written; the others are counted, and one summary line tells how many when
 * that second is over.  For the event loop's thread only.
 */
#define LOG_LIMIT_BURST	5

struct log_limit {
	const char		*ll_what;	/* names the lines in the summary */
	int			 ll_level;
	int64_t			 ll_sec;	/* the second counted (coarse) */
	unsigned		 ll_lines;	/* lines written in it */
	uint64_t		 ll_held;	/* lines held back in it */
	struct log_limit	*ll_next;	/* on the list of summaries due */
	int			 ll_due;
};
#define LOG_LIMIT_INIT(what, level)	{ (what), (level), 0, 0, 0, NULL, 0 }

/* Whether a line of this kind may be written now; 0: it is counted. */
int	log_limit(struct log_limit *);

/* Write the summaries that are due (a timer on base does it each second). */
void	log_limit_flush(void);
void	log_limit_attach(struct event_base *);
void	log_limit_detach(void);

/* Log at error level and exit 1: only at start-up or for broken invariants. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Like fatal() for allocation failure; see docs/architecture.md. */
void	fatal_oom(void) __attribute__((noreturn));

/* Allocation wrappers that never return NULL: out of memory is fatal. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

#endif
