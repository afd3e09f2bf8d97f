/*
 * rx.h -- the policy's regular expressions (sessions.key and sessions.live
 * paths) on PCRE2, compiled and matched with limits, so that no pattern an
 * operator writes and no path a client sends can stall the event loop or
 * grow the process.
 *
 * A compiled struct rx is immutable but for one flag (whether a limit hit
 * was logged yet); matching happens on the event loop, compiling in the
 * thread that loads a policy.
 */
#ifndef JANITOR_RX_H
#define JANITOR_RX_H

#include <stddef.h>
#include <stdint.h>

/* Longest pattern text, in bytes. */
#define RX_PATTERN_MAX	4096

/* Deepest nesting of parentheses. */
#define RX_NEST_MAX	32

/*
 * Largest compiled pattern, in bytes (PCRE2_INFO_SIZE).  Every item
 * carries an 8-byte callout (see rx.c), so the Gradio preset's key pattern
 * is 304 bytes and 16 KiB holds 2,000 plain characters; JIT code is about
 * 23 times the compiled size, 370 KiB at this limit.
 */
#define RX_CODE_MAX	(16 * 1024)

/* rx_compile() flags. */
#define RX_NOJIT	0x1	/* never JIT-compile (benchmarks and tests) */

struct rx;

/*
 * Compile pattern; name says where it came from in log lines (e.g.
 * "janitor.yaml:3:13 sessions.key[0].path").  NULL and an allocated
 * *cause ("... at offset N (after '...')") when the pattern is not valid
 * or exceeds a limit.
 */
struct rx	*rx_compile(const char *pattern, const char *name, int flags,
		    char **cause);
void		 rx_free(struct rx *);

/* The number of capturing groups. */
unsigned	 rx_groups(const struct rx *);

/* Whether matching runs JIT-compiled code. */
int		 rx_jit(const struct rx *);

/* The memory a compiled pattern holds (compiled and JIT code), in bytes. */
size_t		 rx_size(const struct rx *);

/* The CPU time all the matches for one request may use together (ns). */
#define RX_BUDGET_NS	(1000 * 1000)

/*
 * Start a request's budget of ns (RX_BUDGET_NS, or what rx_budget_left()
 * said was left of it when the request matched earlier): every rx_match()
 * on this thread draws on it until the next rx_budget_start().  A thread
 * that never calls it gives each match a budget of its own; one that does
 * must call it for every request it matches for.
 */
void		 rx_budget_start(int64_t ns);
int64_t		 rx_budget_left(void);

/*
 * Match the len bytes at s.  1 when the pattern matches; with so and eo
 * not NULL, group 1 must have taken part and its span is stored there.
 * 0 for no match; a match stopped by a limit (or not run because the
 * request's budget is spent) is no match, counted in
 * janitor_regex_limit_total and logged once per compiled pattern.
 */
int		 rx_match(struct rx *, const char *s, size_t len, size_t *so,
		    size_t *eo);

/* How many matches a limit stopped so far (the metric's value). */
uint64_t	 rx_limit_hits(void);

/* Register the metric. */
void		 rx_init(void);

/* Free this thread's match state (at exit; matching again recreates it). */
void		 rx_thread_free(void);

#endif
