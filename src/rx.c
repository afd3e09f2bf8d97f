/*
 * rx.c -- regular expressions on PCRE2 with limits on both sides.
 *
 * Compiling: the pattern text is at most RX_PATTERN_MAX bytes, parentheses
 * nest at most RX_NEST_MAX deep, and the compiled code is at most
 * RX_CODE_MAX bytes (PCRE2 itself refuses code past 64 KiB); so a
 * repeat of a repeat such as ((a{255}){255}){255}, which glibc's regcomp
 * expanded into gigabytes, is an error in microseconds.  UTF-8 mode is
 * locked out: paths are matched as bytes.
 *
 * Matching: PCRE2's match limit counts backtracking steps, but afresh at
 * each start position, and a single-character repeat scans the subject
 * without counting; so [^/]{0,9000}[xy] on a 16 KiB path stays under any
 * match limit and still takes a second (measured: 1.1 s interpreted,
 * 93 ms JIT).  Patterns are therefore compiled with automatic callouts,
 * one before each item, and the callout reads the thread's CPU clock
 * every so often: a match is abandoned once the budget it draws on is
 * spent.  Between two callouts one item may scan the whole subject, so
 * each callout takes the subject's length (at least RX_COST_MIN) from a
 * credit of RX_UNCOUNTED_MAX bytes, and the clock is read when the credit
 * runs out: at most about RX_UNCOUNTED_MAX bytes are scanned between two
 * reads.  The match, depth and heap limits stop exponential backtracking
 * and bound the interpreter's memory before the clock does.
 *
 * The budget is a request's (rx_budget_start): every match made for one
 * request draws on the same RX_BUDGET_NS, so 16 key rules and 16 live
 * rules (matched on the request head and again on the response head) cost
 * the loop 1 ms, not 48.  A legitimate request makes a few
 * dozen callouts and never reads the clock.  Once the clock has been read
 * for a request, each of its later matches is timed from its start (two
 * reads), and once the budget is spent its later matches are not run at
 * all: so a request's matching costs at most RX_BUDGET_NS plus, for each
 * rx_budget_start(), the RX_UNCOUNTED_MAX bytes scanned before the first
 * read.  A thread that never starts a budget gives each match one of its
 * own.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "log.h"
#include "metrics.h"
#include "rx.h"

/*
 * Backtracking steps per start position.  The Gradio preset's patterns
 * take under 20; 10,000 stops (a+)+$ on a long path within about 0.1 ms
 * (JIT) to 1 ms (interpreter).
 */
#define RX_MATCH_LIMIT		10000

/* Nested backtracking points (interpreter only; JIT has its stack). */
#define RX_DEPTH_LIMIT		5000

/* Interpreter's backtracking frames, in KiB; kept with the match data. */
#define RX_HEAP_LIMIT		1024

/* JIT stack: starts small, grows up to this. */
#define RX_JIT_STACK_MIN	(32 * 1024)
#define RX_JIT_STACK_MAX	(512 * 1024)

/* Most callouts between two reads of the thread's CPU clock. */
#define RX_CALLOUT_CHECK	256

/* Bytes of subject that may be scanned between two reads, about. */
#define RX_UNCOUNTED_MAX	(256 * 1024)

/* What a callout costs at least: so at most RX_CALLOUT_CHECK per read. */
#define RX_COST_MIN		(RX_UNCOUNTED_MAX / RX_CALLOUT_CHECK)

struct rx {
	pcre2_code	*rx_code;
	char		*rx_name;	/* for the log */
	uint32_t	 rx_groups;
	size_t		 rx_size;	/* compiled and JIT code, bytes */
	int		 rx_jit;
	int		 rx_logged;	/* a limit hit was logged */
};

/* What one thread needs to match: made on its first match. */
struct rx_thread {
	pcre2_match_context	*rt_mctx;
	pcre2_match_data	*rt_md;
	pcre2_jit_stack		*rt_stack;
	int			 rt_budget;	/* rx_budget_start() was called */
	int64_t			 rt_left;	/* ns of the budget left */
	int			 rt_timed;	/* time each match from its start */
	int64_t			 rt_credit;	/* bytes until the next clock read */
	int64_t			 rt_cost;	/* credit one callout takes */
	int64_t			 rt_calls;	/* callouts the credit pays for */
	int64_t			 rt_start;	/* ns: this match's first read, or 0 */
	int			 rt_over;	/* the budget stopped this match */
};

static __thread struct rx_thread	*rx_thread;
static uint64_t				 rx_hits;

/* Allocate a formatted cause string. */
static char * __attribute__((format(printf, 1, 2)))
rx_cause(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal_oom();
	va_end(ap);
	return (s);
}

/* This thread's CPU time in nanoseconds. */
static int64_t
rx_cpu_ns(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return (0);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* How many callouts of this match the credit pays for. */
static void
rx_calls(struct rx_thread *rt)
{
	/* The usual short path costs the minimum: a shift, no division. */
	if (rt->rt_cost == RX_COST_MIN)
		rt->rt_calls = rt->rt_credit / RX_COST_MIN;
	else
		rt->rt_calls = rt->rt_credit / rt->rt_cost;
}

/* The automatic callout: abandon a match once its budget is spent. */
static int
rx_callout(pcre2_callout_block *cb, void *arg)
{
	struct rx_thread	*rt = arg;
	int64_t			 now;

	(void)cb;
	if (--rt->rt_calls > 0)
		return (0);
	rt->rt_credit = RX_UNCOUNTED_MAX;
	rx_calls(rt);
	now = rx_cpu_ns();
	if (rt->rt_start == 0) {
		/* From now on this budget's matches are timed whole. */
		rt->rt_start = now;
		rt->rt_timed = 1;
		return (0);
	}
	if (now - rt->rt_start < rt->rt_left)
		return (0);
	rt->rt_over = 1;
	return (PCRE2_ERROR_CALLOUT);
}

/* Give the thread a fresh budget of ns, nothing read from the clock yet. */
static void
rx_budget_reset(struct rx_thread *rt, int64_t ns)
{
	rt->rt_left = ns;
	rt->rt_credit = RX_UNCOUNTED_MAX;
	rt->rt_timed = 0;
}

/* This thread's match state, made on first use. */
static struct rx_thread *
rx_thread_get(void)
{
	struct rx_thread	*rt;

	if (rx_thread != NULL)
		return (rx_thread);
	rt = xcalloc(1, sizeof *rt);
	if ((rt->rt_mctx = pcre2_match_context_create(NULL)) == NULL ||
	    (rt->rt_md = pcre2_match_data_create(2, NULL)) == NULL)
		fatal_oom();
	pcre2_set_match_limit(rt->rt_mctx, RX_MATCH_LIMIT);
	pcre2_set_depth_limit(rt->rt_mctx, RX_DEPTH_LIMIT);
	pcre2_set_heap_limit(rt->rt_mctx, RX_HEAP_LIMIT);
	pcre2_set_callout(rt->rt_mctx, rx_callout, rt);
	/* NULL where JIT is missing: PCRE2 then uses its 32 KiB default. */
	rt->rt_stack = pcre2_jit_stack_create(RX_JIT_STACK_MIN,
	    RX_JIT_STACK_MAX, NULL);
	if (rt->rt_stack != NULL)
		pcre2_jit_stack_assign(rt->rt_mctx, NULL, rt->rt_stack);
	rx_thread = rt;
	return (rt);
}

/* Start a request's budget: the matches that follow on this thread share it. */
void
rx_budget_start(int64_t ns)
{
	struct rx_thread	*rt = rx_thread_get();

	rt->rt_budget = 1;
	rx_budget_reset(rt, ns);
	/* A budget drawn on before was timed: its matches stay timed. */
	rt->rt_timed = ns < RX_BUDGET_NS;
}

/* What is left of the budget, in ns (0 or less when spent). */
int64_t
rx_budget_left(void)
{
	return (rx_thread_get()->rt_left);
}

/* Free this thread's match state. */
void
rx_thread_free(void)
{
	struct rx_thread	*rt = rx_thread;

	if (rt == NULL)
		return;
	pcre2_match_data_free(rt->rt_md);
	pcre2_match_context_free(rt->rt_mctx);
	if (rt->rt_stack != NULL)
		pcre2_jit_stack_free(rt->rt_stack);
	free(rt);
	rx_thread = NULL;
}

/* The metric's value. */
uint64_t
rx_limit_hits(void)
{
	return (__atomic_load_n(&rx_hits, __ATOMIC_RELAXED));
}

/* The metric, computed at render time. */
static int64_t
rx_metric(void *arg)
{
	(void)arg;
	return ((int64_t)rx_limit_hits());
}

/* Register the metric. */
void
rx_init(void)
{
	metrics_counter_func("janitor_regex_limit_total", NULL,
	    "Regex matches stopped by a limit (counted as no match).",
	    rx_metric, NULL);
}

/* Whether this PCRE2 has a JIT compiler. */
static int
rx_jit_available(void)
{
	uint32_t	yes = 0;

	if (pcre2_config(PCRE2_CONFIG_JIT, &yes) < 0)
		return (0);
	return (yes != 0);
}

/* A compile error as "MESSAGE at offset N (after '...')". */
static char *
rx_error(int code, const char *pattern, size_t off)
{
	PCRE2_UCHAR	 why[256];
	size_t		 from;

	if (pcre2_get_error_message(code, why, sizeof why) < 0)
		snprintf((char *)why, sizeof why, "error %d", code);
	if (off == 0)
		return (rx_cause("%s at offset 0", (char *)why));
	/* Show what comes before the offset, at most 20 bytes of it. */
	from = off > 20 ? off - 20 : 0;
	return (rx_cause("%s at offset %zu (after '%s%.*s')", (char *)why,
	    off, from > 0 ? "..." : "", (int)(off - from), pattern + from));
}

/* Compile a pattern with the limits. */
struct rx *
rx_compile(const char *pattern, const char *name, int flags, char **cause)
{
	pcre2_compile_context	*cctx;
	pcre2_code		*code;
	struct rx		*rx;
	PCRE2_SIZE		 off;
	size_t			 len = strlen(pattern), size, jit_size;
	uint32_t		 groups;
	int			 error, jit_rc;

	if (len > RX_PATTERN_MAX) {
		*cause = rx_cause("the pattern is %zu bytes long, more than %d",
		    len, RX_PATTERN_MAX);
		return (NULL);
	}
	if ((cctx = pcre2_compile_context_create(NULL)) == NULL)
		fatal_oom();
	pcre2_set_parens_nest_limit(cctx, RX_NEST_MAX);
	code = pcre2_compile((PCRE2_SPTR)pattern, len,
	    PCRE2_NEVER_UTF | PCRE2_AUTO_CALLOUT, &error, &off, cctx);
	pcre2_compile_context_free(cctx);
	if (code == NULL) {
		if (error == PCRE2_ERROR_HEAP_FAILED)
			fatal_oom();
		*cause = rx_error(error, pattern, off);
		return (NULL);
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_SIZE, &size) != 0 ||
	    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &groups) != 0)
		fatal("pcre2_pattern_info failed");
	if (size > RX_CODE_MAX) {
		pcre2_code_free(code);
		*cause = rx_cause("compiles to %zu bytes, more than %d (a "
		    "repeat {n} of a group copies the group n times)", size,
		    RX_CODE_MAX);
		return (NULL);
	}

	rx = xcalloc(1, sizeof *rx);
	rx->rx_code = code;
	rx->rx_name = xstrdup(name);
	rx->rx_groups = groups;
	rx->rx_size = size;
	if (rx_jit_available() && !(flags & RX_NOJIT)) {
		/* Without executable memory (MemoryDenyWriteExecute=) it fails. */
		jit_rc = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
		if (jit_rc == 0 && pcre2_pattern_info(code, PCRE2_INFO_JITSIZE,
		    &jit_size) == 0) {
			rx->rx_jit = 1;
			rx->rx_size += jit_size;
		} else
			log_debug("regex %s: no JIT (error %d), interpreted",
			    name, jit_rc);
	}
	return (rx);
}

/* Free a compiled pattern. */
void
rx_free(struct rx *rx)
{
	if (rx == NULL)
		return;
	pcre2_code_free(rx->rx_code);
	free(rx->rx_name);
	free(rx);
}

/* The number of capturing groups. */
unsigned
rx_groups(const struct rx *rx)
{
	return (rx->rx_groups);
}

/* Whether matching runs JIT-compiled code. */
int
rx_jit(const struct rx *rx)
{
	return (rx->rx_jit);
}

/* The memory the pattern holds: compiled code and JIT code. */
size_t
rx_size(const struct rx *rx)
{
	return (rx->rx_size);
}

/* A match ended by a limit (or any matching error): count it, log once. */
static void
rx_stopped(struct rx *rx, struct rx_thread *rt, int rc, size_t len)
{
	PCRE2_UCHAR	why[128];

	__atomic_add_fetch(&rx_hits, 1, __ATOMIC_RELAXED);
	if (rx->rx_logged)
		return;
	rx->rx_logged = 1;
	if (rt->rt_over)
		snprintf((char *)why, sizeof why, "CPU time limit (%d ms per "
		    "request) exceeded", RX_BUDGET_NS / 1000000);
	else if (pcre2_get_error_message(rc, why, sizeof why) < 0)
		snprintf((char *)why, sizeof why, "error %d", rc);
	log_warn("regex %s: %s on a %zu-byte subject; counted as no match "
	    "(janitor_regex_limit_total; logged once per pattern)",
	    rx->rx_name, (char *)why, len);
}

/* Match the len bytes at s. */
int
rx_match(struct rx *rx, const char *s, size_t len, size_t *so, size_t *eo)
{
	struct rx_thread	*rt = rx_thread_get();
	PCRE2_SIZE		*ov;
	int			 rc;

	if (!rt->rt_budget)
		rx_budget_reset(rt, RX_BUDGET_NS);
	rt->rt_over = 0;
	if (rt->rt_left <= 0) {
		/* Spent by earlier matches of the request: none runs. */
		rt->rt_over = 1;
		rx_stopped(rx, rt, PCRE2_ERROR_CALLOUT, len);
		return (0);
	}
	rt->rt_cost = len + 1 > RX_COST_MIN ? (int64_t)len + 1 : RX_COST_MIN;
	rx_calls(rt);
	rt->rt_start = rt->rt_timed ? rx_cpu_ns() : 0;
	rc = pcre2_match(rx->rx_code, (PCRE2_SPTR)s, len, 0, 0, rt->rt_md,
	    rt->rt_mctx);
	/* The request's next match goes on with what is left. */
	rt->rt_credit = rt->rt_calls * rt->rt_cost;
	if (rt->rt_start != 0)
		rt->rt_left -= rx_cpu_ns() - rt->rt_start;
	if (rc == PCRE2_ERROR_NOMATCH)
		return (0);
	if (rc < 0) {
		rx_stopped(rx, rt, rc, len);
		return (0);
	}
	if (so == NULL)
		return (1);
	ov = pcre2_get_ovector_pointer(rt->rt_md);
	if (rc < 2 || ov[2] == PCRE2_UNSET)
		return (0);
	*so = ov[2];
	*eo = ov[3];
	return (1);
}
