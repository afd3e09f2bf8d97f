/*
 * regex.c -- what matching the Gradio preset's patterns costs per request:
 * glibc's POSIX regexec (what janitord used before issue 13) against
 * rx_match() on PCRE2, JIT-compiled and interpreted, and PCRE2 without
 * the automatic callouts that rx.c adds (to show what the CPU-time bound
 * costs).  Each request path of a Gradio page load is matched against the
 * key pattern (every request) and the live pattern (streams only).
 *
 *   bench_regex [-n ITERATIONS] [-r ROUNDS] [-m METHOD]
 *   bench_regex -w
 *
 * Rounds alternate the methods; the median of the rounds is printed, in ns
 * per match, for each path and pattern.  -m runs one method only (for
 * callgrind: instructions / ITERATIONS per match).  -w instead times
 * hostile patterns on hostile paths of 16 KiB and 1 MiB, the longest a
 * request head may be: how much CPU time a match can take before its
 * limits stop it (the most of 5 runs; CPU time, so that a busy machine's
 * preemptions do not count).
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "config.h"
#include "log.h"
#include "rx.h"

/* Paths of a Gradio 5 page load and session, as janitord sees them. */
static const char *const paths[] = {
	"/gradio_api/heartbeat/k3j9x2m1q8z",
	"/gradio_api/queue/join",
	"/gradio_api/queue/data?session_hash=k3j9x2m1q8z",
	"/gradio_api/file=/tmp/gradio/6f1c0b5d2e9a8f7c4b3a2d1e0f9c8b7a6d5e4f3c"
	    "/image.png",
	"/",
	"/assets/index-BbZx1L0c.js",
	"/gradio_api/info",
	"/heartbeat/k3j9x2m1q8z",
};
#define NPATHS	(sizeof paths / sizeof paths[0])

enum method {
	M_POSIX,
	M_JIT,
	M_INTERP,
	M_JIT_NOCALLOUT,
	M_COUNT
};
static const char *const method_names[] = { "posix", "pcre2-jit",
    "pcre2-interp", "pcre2-jit-nocallout" };

struct pat {
	const char	*text;
	int		 key;		/* the key rule: one group wanted */
	regex_t		 posix;
	struct rx	*jit;
	struct rx	*interp;
	pcre2_code	*raw;		/* JIT, no callouts */
};

static struct pat	pats[2] = {
	{ .text = CONFIG_GRADIO_KEY_PATH, .key = 1 },
	{ .text = CONFIG_GRADIO_LIVE_PATH, .key = 0 },
};
static pcre2_match_data	*raw_md;
static volatile size_t	 sink;

/* Nanoseconds on the monotonic clock. */
static double
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e9 + ts.tv_nsec);
}

/* Nanoseconds of CPU this thread used. */
static double
cpu_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (ts.tv_sec * 1e9 + ts.tv_nsec);
}

/* Compile every pattern four ways. */
static void
setup(void)
{
	char	*cause;
	int	 err;
	size_t	 off, i;

	for (i = 0; i < 2; i++) {
		if (regcomp(&pats[i].posix, pats[i].text,
		    REG_EXTENDED | (pats[i].key ? 0 : REG_NOSUB)) != 0)
			abort();
		if ((pats[i].jit = rx_compile(pats[i].text, "bench", 0,
		    &cause)) == NULL || !rx_jit(pats[i].jit))
			abort();
		if ((pats[i].interp = rx_compile(pats[i].text, "bench",
		    RX_NOJIT, &cause)) == NULL)
			abort();
		pats[i].raw = pcre2_compile((PCRE2_SPTR)pats[i].text,
		    PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF, &err, &off, NULL);
		if (pats[i].raw == NULL ||
		    pcre2_jit_compile(pats[i].raw, PCRE2_JIT_COMPLETE) != 0)
			abort();
	}
	raw_md = pcre2_match_data_create(2, NULL);
}

/* One match, as janitord makes it: the path without its query. */
static int
match(enum method m, struct pat *p, const char *target)
{
	regmatch_t	rm[2];
	size_t		len = strcspn(target, "?#"), so, eo;

	switch (m) {
	case M_POSIX:
		rm[0].rm_so = 0;
		rm[0].rm_eo = (regoff_t)len;
		return (regexec(&p->posix, target, p->key ? 2 : 1, rm,
		    REG_STARTEND) == 0);
	case M_JIT:
		return (rx_match(p->jit, target, len, p->key ? &so : NULL,
		    p->key ? &eo : NULL));
	case M_INTERP:
		return (rx_match(p->interp, target, len, p->key ? &so : NULL,
		    p->key ? &eo : NULL));
	default:
		return (pcre2_match(p->raw, (PCRE2_SPTR)target, len, 0, 0,
		    raw_md, NULL) > 0);
	}
}

/* ns per match of n matches. */
static double
run(enum method m, struct pat *p, const char *target, long n)
{
	double	t0;
	long	i;

	t0 = now_ns();
	for (i = 0; i < n; i++)
		sink += (size_t)match(m, p, target);
	return ((now_ns() - t0) / (double)n);
}

/* Hostile patterns: exponential, quadratic, and scans per start. */
static const char *const worst[] = {
	"(a+)+$",
	"^(\\w+\\s?)*$",
	"(a|aa)*$",
	"[^/]{0,9000}[xy]",
	"[^/]{0,65535}+[xy]",
	"(?:(?=[^!]*+!)|(?=[^?]*+\\?)|(?=[^#]*+#)){1,50}[xy]",
	"(.*a){12}$",
};

/* The slowest of 5 matches of each hostile pattern, JIT and not. */
static void
worst_cases(void)
{
	static const size_t	 lens[] = { 16 * 1024, 1024 * 1024 };
	struct rx		*rx;
	uint64_t		 hits;
	char			*s, *cause;
	double			 t0, ms, slowest;
	size_t			 i, l;
	int			 jit, r, got;

	printf("%-52s %8s %6s %10s %s\n", "pattern", "subject", "", "CPU ms",
	    "stopped");
	for (i = 0; i < sizeof worst / sizeof worst[0]; i++) {
		for (l = 0; l < 2; l++) {
			s = malloc(lens[l] + 1);
			memset(s, 'a', lens[l]);
			s[lens[l] - 1] = '!';
			s[lens[l]] = '\0';
			for (jit = 1; jit >= 0; jit--) {
				rx = rx_compile(worst[i], "worst", jit ? 0 :
				    RX_NOJIT, &cause);
				if (rx == NULL)
					abort();
				hits = rx_limit_hits();
				slowest = 0;
				got = 0;
				for (r = 0; r < 5; r++) {
					t0 = cpu_ns();
					got |= rx_match(rx, s, lens[l], NULL,
					    NULL);
					ms = (cpu_ns() - t0) / 1e6;
					if (ms > slowest)
						slowest = ms;
				}
				printf("%-52s %7zuk %6s %10.2f %s\n", worst[i],
				    lens[l] / 1024, jit ? "jit" : "interp",
				    slowest, got ? "matched" :
				    rx_limit_hits() > hits ? "yes" : "no match");
				rx_free(rx);
			}
			free(s);
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

int
main(int argc, char **argv)
{
	static double	 res[M_COUNT][2][NPATHS][64];
	double		 med[M_COUNT], sum[M_COUNT][2];
	long		 n = 200000;
	int		 rounds = 11, only = -1, ch, r, i;
	size_t		 pi, k;
	enum method	 m;

	while ((ch = getopt(argc, argv, "n:r:m:w")) != -1) {
		switch (ch) {
		case 'w':
			log_setup(LOG_LEVEL_ERROR, 0);
			worst_cases();
			return (0);
		case 'n':
			n = atol(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'm':
			for (i = 0; i < M_COUNT; i++) {
				if (strcmp(optarg, method_names[i]) == 0)
					only = i;
			}
			if (only < 0)
				abort();
			break;
		default:
			fprintf(stderr, "usage: bench_regex [-n N] [-r ROUNDS] "
			    "[-m posix|pcre2-jit|pcre2-interp|"
			    "pcre2-jit-nocallout]\n");
			return (2);
		}
	}
	if (rounds < 1 || rounds > 64)
		rounds = 11;
	setup();
	/* Every method agrees on every path. */
	for (k = 0; k < 2; k++) {
		for (pi = 0; pi < NPATHS; pi++) {
			for (m = 1; m < M_COUNT; m++) {
				if (match(m, &pats[k], paths[pi]) !=
				    match(M_POSIX, &pats[k], paths[pi]))
					abort();
			}
		}
	}
	if (only >= 0) {
		for (k = 0; k < 2; k++)
			for (pi = 0; pi < NPATHS; pi++)
				run((enum method)only, &pats[k], paths[pi], n);
		printf("%s: %ld matches of each of %zu paths x 2 patterns\n",
		    method_names[only], n, NPATHS);
		return (0);
	}
	for (r = 0; r < rounds; r++) {
		for (m = 0; m < M_COUNT; m++)
			for (k = 0; k < 2; k++)
				for (pi = 0; pi < NPATHS; pi++)
					res[m][k][pi][r] = run(m, &pats[k],
					    paths[pi], n);
	}

	printf("ns per match, median of %d rounds of %ld\n", rounds, n);
	memset(sum, 0, sizeof sum);
	for (k = 0; k < 2; k++) {
		printf("\n%s pattern %s\n", k == 0 ? "key" : "live",
		    pats[k].text);
		printf("%-52s", "path");
		for (m = 0; m < M_COUNT; m++)
			printf(" %20s", method_names[m]);
		printf("\n");
		for (pi = 0; pi < NPATHS; pi++) {
			printf("%-52.52s", paths[pi]);
			for (m = 0; m < M_COUNT; m++) {
				qsort(res[m][k][pi], (size_t)rounds,
				    sizeof res[m][k][pi][0], cmp_double);
				med[m] = res[m][k][pi][rounds / 2];
				sum[m][k] += med[m];
				printf(" %20.1f", med[m]);
			}
			printf("\n");
		}
	}
	printf("\nmean over the %zu paths (key pattern: every request)\n",
	    NPATHS);
	for (m = 0; m < M_COUNT; m++)
		printf("  %-20s key %7.1f ns  live %7.1f ns  (%.2fx posix)\n",
		    method_names[m], sum[m][0] / NPATHS, sum[m][1] / NPATHS,
		    sum[m][0] / sum[M_POSIX][0]);
	return (0);
}
