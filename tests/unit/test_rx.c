/*
 * test_rx.c -- PCRE2 with limits: compile errors with their offset, the
 * length, nesting and compiled-size limits, each pathological family of
 * issue 13 refused in microseconds, group spans, and matches stopped by
 * the match limit and by the CPU-time callout (counted, never a match),
 * with JIT and without, and the CPU budget all of a request's matches
 * share.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "rx.h"

/* Compile or fail the test. */
static struct rx *
compile_ok(const char *pattern, int flags)
{
	struct rx	*rx;
	char		*cause = NULL;

	rx = rx_compile(pattern, "test", flags, &cause);
	ck_assert_msg(rx != NULL, "%.60s: %s", pattern, cause);
	return (rx);
}

/* Expect a compile error containing want; return how long it took (ms). */
static double
compile_bad(const char *pattern, const char *want)
{
	struct timespec	 a, b;
	struct rx	*rx;
	char		*cause = NULL;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rx = rx_compile(pattern, "test", 0, &cause);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ck_assert_msg(rx == NULL, "%.60s compiled", pattern);
	ck_assert_msg(strstr(cause, want) != NULL, "%.60s: '%s' lacks '%s'",
	    pattern, cause, want);
	free(cause);
	return ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
}

/* A string of n copies of s. */
static char *
repeat(const char *s, size_t n)
{
	size_t	 len = strlen(s), i;
	char	*out = malloc(len * n + 1);

	for (i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[len * n] = '\0';
	return (out);
}

/* n opening parentheses, a, n closing ones. */
static char *
nested(size_t n)
{
	char	*out = malloc(2 * n + 2);

	memset(out, '(', n);
	out[n] = 'a';
	memset(out + n + 1, ')', n);
	out[2 * n + 1] = '\0';
	return (out);
}

START_TEST(test_errors)
{
	compile_bad("s++++id", "quantifier does not follow a repeatable item "
	    "at offset 3 (after 's++')");
	compile_bad("/x/(abc", "missing closing parenthesis at offset 7 "
	    "(after '/x/(abc')");
	compile_bad("0123456789012345678901234[", "at offset 26 "
	    "(after '...6789012345678901234[')");
	compile_bad("[[=a=]]", "not supported");
	/* UTF-8 mode is locked out: paths are bytes. */
	compile_bad("(*UTF)x", "using UTF is disabled by the application");
}
END_TEST

START_TEST(test_limits)
{
	struct rx	*rx;
	char		*p;

	/* 4096 bytes that compile small: a comment. */
	p = repeat("x", RX_PATTERN_MAX);
	memcpy(p, "(?#", 3);
	p[RX_PATTERN_MAX - 1] = ')';
	rx = compile_ok(p, 0);
	rx_free(rx);
	free(p);
	p = repeat("a", RX_PATTERN_MAX + 1);
	compile_bad(p, "the pattern is 4097 bytes long, more than 4096");
	free(p);

	p = nested(RX_NEST_MAX);
	rx = compile_ok(p, 0);
	ck_assert_uint_eq(rx_groups(rx), RX_NEST_MAX);
	rx_free(rx);
	free(p);
	p = nested(RX_NEST_MAX + 1);
	compile_bad(p, "parentheses are too deeply nested at offset 33");
	free(p);

	/* Each item costs its callout too: 2000 letters are 16149 bytes. */
	p = repeat("x", 2000);
	rx = compile_ok(p, 0);
	rx_free(rx);
	free(p);
	p = repeat("x", 2100);
	compile_bad(p, "compiles to 16949 bytes, more than 16384");
	free(p);
	/* 39 KiB: under PCRE2's own 64 KiB, over ours. */
	compile_bad("(a|b){1000}", "compiles to 39155 bytes, more than 16384");
	rx = compile_ok("(?:[a-z]{255}){30}", 0);
	rx_free(rx);
}
END_TEST

/* Each family that glibc's regcomp turned into gigabytes or a crash. */
START_TEST(test_families)
{
	char	*p, *q;

	p = repeat("+", 32);
	q = malloc(strlen(p) + 4);
	strcpy(q, "s");
	strcat(q, p);
	strcat(q, "id");
	ck_assert(compile_bad(q, "quantifier does not follow") < 50);
	free(p);
	free(q);
	ck_assert(compile_bad("((a{255}){255}){255}",
	    "regular expression is too large at offset 20") < 50);
	ck_assert(compile_bad("a{32767}{32767}",
	    "quantifier does not follow a repeatable item at offset 14") < 50);
	ck_assert(compile_bad("(((a{100}){100}){100}){100}",
	    "regular expression is too large at offset 27") < 50);
	p = repeat("a|", 200000);
	ck_assert(compile_bad(p, "400000 bytes long") < 50);
	free(p);
	p = repeat("a|", 2000);
	ck_assert(compile_bad(p, "compiles to") < 50);
	free(p);
	p = nested(20000);
	ck_assert(compile_bad(p, "40001 bytes long") < 50);
	free(p);
	p = nested(2000);
	ck_assert(compile_bad(p, "too deeply nested at offset 33") < 50);
	free(p);
}
END_TEST

START_TEST(test_match)
{
	struct rx	*rx;
	size_t		 so, eo;
	int		 flags = _i;

	rx = compile_ok("/heartbeat/([A-Za-z0-9_-]+)$", flags);
	ck_assert_uint_eq(rx_groups(rx), 1);
	ck_assert_int_eq(rx_match(rx, "/a/heartbeat/k1", 15, &so, &eo), 1);
	ck_assert_uint_eq(so, 13);
	ck_assert_uint_eq(eo, 15);
	/* The length bounds the subject: "?q" is not seen. */
	ck_assert_int_eq(rx_match(rx, "/heartbeat/k1?q", 13, &so, &eo), 1);
	ck_assert_uint_eq(eo, 13);
	ck_assert_int_eq(rx_match(rx, "/heartbeat/k1?q", 15, &so, &eo), 0);
	ck_assert_int_eq(rx_match(rx, "/heartbeat/", 11, NULL, NULL), 0);
	rx_free(rx);

	/* A group that took no part gives no span: no key. */
	rx = compile_ok("^/s/(x)?y", flags);
	ck_assert_int_eq(rx_match(rx, "/s/y", 4, NULL, NULL), 1);
	ck_assert_int_eq(rx_match(rx, "/s/y", 4, &so, &eo), 0);
	ck_assert_int_eq(rx_match(rx, "/s/xy", 5, &so, &eo), 1);
	rx_free(rx);

	/* Leftmost-first, as in Perl: POSIX would take the longer "ab". */
	rx = compile_ok("^/(a|ab)", flags);
	ck_assert_int_eq(rx_match(rx, "/ab", 3, &so, &eo), 1);
	ck_assert_uint_eq(eo - so, 1);
	rx_free(rx);
}
END_TEST

START_TEST(test_jit)
{
	struct rx	*rx;

	rx = compile_ok("/x", RX_NOJIT);
	ck_assert_int_eq(rx_jit(rx), 0);
	rx_free(rx);
	/* Debian's libpcre2 has JIT on amd64 and arm64. */
	rx = compile_ok("/x", 0);
	ck_assert_int_eq(rx_jit(rx), 1);
	rx_free(rx);
}
END_TEST

/* Wall time of one match in ms; *r gets its result. */
static double
timed_match(struct rx *rx, const char *s, size_t len, int *r)
{
	struct timespec	a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	*r = rx_match(rx, s, len, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
}

/* Exponential backtracking: the match limit stops it, counted. */
START_TEST(test_match_limit)
{
	struct rx	*rx;
	uint64_t	 before;
	char		*s;
	double		 ms;
	int		 r;

	s = repeat("a", 4000);
	s[3999] = '!';
	rx = compile_ok("(a+)+$", _i);
	before = rx_limit_hits();
	ms = timed_match(rx, s, 4000, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(rx_limit_hits(), before + 1);
	ck_assert_msg(ms < 100, "took %.1f ms", ms);
	/* A later match of the same pattern still works. */
	ck_assert_int_eq(rx_match(rx, "aaa", 3, NULL, NULL), 1);
	ck_assert_uint_eq(rx_limit_hits(), before + 1);
	rx_free(rx);
	free(s);
}
END_TEST

/*
 * Quadratic work under the match limit: each start position backtracks
 * fewer steps than the limit, so only the CPU-time callout stops it
 * (without it: 1.1 s interpreted, 93 ms JIT on 16 KiB; 64 KiB here).
 */
START_TEST(test_cpu_limit)
{
	struct rx	*rx;
	uint64_t	 before;
	char		*s;
	double		 ms;
	int		 r;

	s = repeat("a", 64 * 1024);
	rx = compile_ok("[^/]{0,9000}[xy]", _i);
	before = rx_limit_hits();
	ms = timed_match(rx, s, 64 * 1024, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(rx_limit_hits(), before + 1);
	ck_assert_msg(ms < 250, "took %.1f ms", ms);
	rx_free(rx);

	/* Possessive: each start scans to the end, one counted step. */
	rx = compile_ok("[^/]{0,65535}+[xy]", _i);
	before = rx_limit_hits();
	ms = timed_match(rx, s, 64 * 1024, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(rx_limit_hits(), before + 1);
	ck_assert_msg(ms < 250, "took %.1f ms", ms);
	rx_free(rx);
	free(s);
}
END_TEST

/* This thread's CPU time in ms. */
static double
thread_cpu_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

/*
 * One budget per request: 16 key rules and 16 live rules that each would
 * run to the 1 ms limit cost 1 ms together, not 32.  The later matches
 * are stopped, counted, and a legitimate match of the same request is no
 * match either; the next request has its own budget, and what was left of
 * a budget carries over to the request's later matches.
 */
START_TEST(test_budget)
{
	struct rx	*rx;
	uint64_t	 before;
	char		*s;
	double		 t0, ms;
	int		 i, r = 0;

	s = repeat("a", 64 * 1024);
	rx = compile_ok("[^/]{0,9000}[xy]", _i);
	before = rx_limit_hits();
	rx_budget_start(RX_BUDGET_NS);
	t0 = thread_cpu_ms();
	for (i = 0; i < 32; i++)
		r |= rx_match(rx, s, 64 * 1024, NULL, NULL);
	ms = thread_cpu_ms() - t0;
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(rx_limit_hits(), before + 32);
	/* Per match it was 32 ms at least; 1 ms and one uncounted scan now. */
	ck_assert_msg(ms < 8, "32 matches of one request took %.1f ms of CPU",
	    ms);
	ck_assert_int_le(rx_budget_left(), 0);
	ck_assert_int_eq(rx_match(rx, "ax", 2, NULL, NULL), 0);
	ck_assert_uint_eq(rx_limit_hits(), before + 33);

	/* The next request starts afresh. */
	rx_budget_start(RX_BUDGET_NS);
	ck_assert_int_eq(rx_match(rx, "ax", 2, NULL, NULL), 1);
	ck_assert_int_eq(rx_budget_left(), RX_BUDGET_NS);
	t0 = thread_cpu_ms();
	ck_assert_int_eq(rx_match(rx, s, 64 * 1024, NULL, NULL), 0);
	ms = thread_cpu_ms() - t0;
	ck_assert_msg(ms > 0.5, "a fresh budget stopped after %.2f ms", ms);

	/* Half a budget left, carried over: a match stops after about that. */
	rx_budget_start(RX_BUDGET_NS / 2);
	t0 = thread_cpu_ms();
	ck_assert_int_eq(rx_match(rx, s, 64 * 1024, NULL, NULL), 0);
	ms = thread_cpu_ms() - t0;
	ck_assert_msg(ms < 0.9, "half a budget took %.2f ms", ms);
	ck_assert_int_le(rx_budget_left(), 0);
	rx_free(rx);
	free(s);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("rx");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_families);
	/* _i: 0 with JIT, RX_NOJIT without. */
	tcase_add_loop_test(tc, test_match, 0, 2);
	tcase_add_test(tc, test_jit);
	tcase_add_loop_test(tc, test_match_limit, 0, 2);
	tcase_add_loop_test(tc, test_cpu_limit, 0, 2);
	tcase_add_loop_test(tc, test_budget, 0, 2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
