/*
 * test_sweep.c -- the sweeper's keep and age decisions, and single sweeps
 * run synchronously on real trees in a temporary directory.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "fsutil.h"
#include "log.h"
#include "sweep.h"

#define HOUR	(3600 * 1000)

static char	tmp[64];
static int64_t	now;

/* A fresh scratch directory per test; "now" is the real wall clock. */
static void
setup(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_sweep.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	now = clock_wall_ms();
}

/* Remove the scratch directory. */
static void
teardown(void)
{
	char	cmd[256];

	snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", tmp, tmp);
	if (system(cmd) != 0) {
		/* nothing more to do */
	}
}

/* tmp/rel into buf. */
static const char *
at(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s/%s", tmp, rel);
	return (buf);
}

/* Set every timestamp of rel (not following links) to ago ms before now. */
static void
age(const char *rel, int64_t ago)
{
	struct timespec	ts[2];
	char		p[PATH_MAX];
	int64_t		t = now - ago;

	ts[0].tv_sec = ts[1].tv_sec = t / 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = (t % 1000) * 1000000;
	ck_assert_int_eq(utimensat(AT_FDCWD, at(p, rel), ts,
	    AT_SYMLINK_NOFOLLOW), 0);
}

/* A file of n bytes, ago ms old. */
static void
mkfile(const char *rel, size_t n, int64_t ago)
{
	char	 p[PATH_MAX], *b;
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(at(p, rel), "w"));
	b = calloc(1, n + 1);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	free(b);
	fclose(f);
	age(rel, ago);
}

/* A directory. */
static void
mkd(const char *rel)
{
	char	p[PATH_MAX];

	ck_assert_int_eq(mkdir(at(p, rel), 0755), 0);
}

/* Whether rel exists, not following it. */
static int
exists(const char *rel)
{
	char		p[PATH_MAX];
	struct stat	sb;

	return (lstat(at(p, rel), &sb) == 0);
}

/* A cache entry for tmp/rel: one hour, mtime, the given keep globs. */
static void
entry(struct cache_entry *ce, char *path, const char *rel, char **keep,
    size_t nkeep)
{
	memset(ce, 0, sizeof *ce);
	ce->ce_path = (char *)at(path, rel);
	ce->ce_every = HOUR;
	ce->ce_age = HOUR;
	ce->ce_age_by = AGE_BY_MTIME;
	ce->ce_keep = keep;
	ce->ce_nkeep = nkeep;
}

START_TEST(test_keep_match)
{
	char	*keep[] = { "*.lock", "sub/*.png", "/top", "keepdir" };

	ck_assert(sweep_keep_match(keep, 4, "x.lock", "x.lock"));
	ck_assert(sweep_keep_match(keep, 4, "a/b/x.lock", "x.lock"));
	ck_assert(!sweep_keep_match(keep, 4, "a/b/x.lockx", "x.lockx"));
	ck_assert(sweep_keep_match(keep, 4, "sub/a.png", "a.png"));
	ck_assert(!sweep_keep_match(keep, 4, "sub/deep/a.png", "a.png"));
	ck_assert(!sweep_keep_match(keep, 4, "other/a.png", "a.png"));
	ck_assert(sweep_keep_match(keep, 4, "top", "top"));
	ck_assert(!sweep_keep_match(keep, 4, "a/top", "top"));
	ck_assert(sweep_keep_match(keep, 4, "keepdir", "keepdir"));
	ck_assert(sweep_keep_match(keep, 4, "a/keepdir", "keepdir"));
	ck_assert(!sweep_keep_match(keep, 4, "a/keepdir2", "keepdir2"));
	ck_assert(!sweep_keep_match(NULL, 0, "x.lock", "x.lock"));
	/* Hidden files are globbed like any other. */
	ck_assert(sweep_keep_match(keep, 4, ".x.lock", ".x.lock"));
}
END_TEST

START_TEST(test_age)
{
	struct fsutil_stat	st;
	int64_t			t = 10 * HOUR;

	memset(&st, 0, sizeof st);
	st.fst_atime_ms = t - 3 * HOUR;
	st.fst_mtime_ms = t - 2 * HOUR;
	st.fst_ctime_ms = t - 30 * 60 * 1000;

	ck_assert_int_eq(sweep_age_time(&st, AGE_BY_MTIME), t - 2 * HOUR);
	ck_assert_int_eq(sweep_age_time(&st, AGE_BY_ATIME | AGE_BY_MTIME),
	    t - 2 * HOUR);
	ck_assert_int_eq(sweep_age_time(&st, AGE_BY_ATIME | AGE_BY_CTIME),
	    t - 30 * 60 * 1000);

	ck_assert(sweep_is_old(&st, AGE_BY_MTIME, HOUR, t));
	ck_assert(sweep_is_old(&st, AGE_BY_ATIME, HOUR, t));
	ck_assert(!sweep_is_old(&st, AGE_BY_CTIME, HOUR, t));
	/* Every listed timestamp must be old. */
	ck_assert(sweep_is_old(&st, AGE_BY_ATIME | AGE_BY_MTIME, HOUR, t));
	ck_assert(!sweep_is_old(&st, AGE_BY_MTIME | AGE_BY_CTIME, HOUR, t));
	ck_assert(!sweep_is_old(&st, AGE_BY_ATIME | AGE_BY_MTIME |
	    AGE_BY_CTIME, HOUR, t));
	/* Older than age, strictly. */
	ck_assert(!sweep_is_old(&st, AGE_BY_MTIME, 2 * HOUR, t));
	ck_assert(sweep_is_old(&st, AGE_BY_MTIME, 2 * HOUR - 1, t));
	/* age 0 turns the age rule off. */
	ck_assert(!sweep_is_old(&st, AGE_BY_MTIME, 0, t));
}
END_TEST

START_TEST(test_tree)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	char		       *keep[] = { "*.lock", "keepdir" };

	mkd("c");
	mkfile("c/old", 100, 2 * HOUR);
	mkfile("c/new", 10, 0);
	mkfile("c/old.lock", 10, 2 * HOUR);
	mkd("c/a");
	mkd("c/a/b");
	mkd("c/a/b/c");
	mkfile("c/a/b/c/deep", 5, 3 * HOUR);
	mkd("c/mixed");
	mkfile("c/mixed/old", 7, 3 * HOUR);
	mkfile("c/mixed/new", 7, 0);
	mkd("c/keepdir");
	mkfile("c/keepdir/old", 1, 3 * HOUR);
	mkd("c/fresh_empty");
	mkd("c/old_empty");
	age("c/old_empty", 2 * HOUR);
	mkd("out");
	mkfile("out/target", 3, 5 * HOUR);
	mkfile("outfile", 3, 5 * HOUR);
	ck_assert_int_eq(symlink(at(p, "out"), at(q, "c/dirlink")), 0);
	ck_assert_int_eq(symlink(at(p, "outfile"), at(q, "c/filelink")), 0);
	ck_assert_int_eq(symlink(at(p, "out"), at(q, "c/newlink")), 0);
	age("c/dirlink", 2 * HOUR);
	age("c/filelink", 2 * HOUR);

	entry(&ce, path, "c", keep, 2);
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, 0);
	ck_assert(!exists("c/old"));
	ck_assert(exists("c/new"));
	ck_assert(exists("c/old.lock"));
	ck_assert(!exists("c/a"));		/* emptied, then removed */
	ck_assert(exists("c/mixed/new"));
	ck_assert(!exists("c/mixed/old"));
	ck_assert(exists("c/keepdir/old"));
	ck_assert(exists("c/fresh_empty"));	/* the app may just have made it */
	ck_assert(!exists("c/old_empty"));
	ck_assert(!exists("c/dirlink"));	/* the links, by their own age */
	ck_assert(!exists("c/filelink"));
	ck_assert(exists("c/newlink"));
	ck_assert(exists("out/target"));	/* never their targets */
	ck_assert(exists("outfile"));
	ck_assert(exists("c"));
	ck_assert_uint_eq(res.sr_files, 5);
	ck_assert_uint_eq(res.sr_bytes, 100 + 5 + 7 + 2 * strlen(tmp) + 12);
	ck_assert_uint_eq(res.sr_dirs, 4);	/* a, a/b, a/b/c, old_empty */
	ck_assert_uint_eq(res.sr_kept, 2);
	ck_assert_uint_eq(res.sr_errors, 0);

	/* Everything old: the root itself stays. */
	entry(&ce, path, "c", NULL, 0);
	sweep_run(&ce, 1, now, &res, NULL);
	ck_assert(exists("c"));
	ck_assert(!exists("c/new"));
	ck_assert(!exists("c/keepdir"));
	ck_assert(!exists("c/fresh_empty"));
	ck_assert(exists("out/target"));
}
END_TEST

START_TEST(test_wipe_keep)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX];
	char		       *keep[] = { "*.lock" };

	mkd("c");
	mkd("c/d");
	mkfile("c/d/f", 1, 0);
	mkfile("c/d/x.lock", 1, 0);
	mkfile("c/g", 1, 0);
	entry(&ce, path, "c", keep, 1);
	sweep_run(&ce, 1, now, &res, NULL);
	ck_assert(!exists("c/g"));
	ck_assert(!exists("c/d/f"));
	ck_assert(exists("c/d/x.lock"));
	ck_assert_uint_eq(res.sr_files, 2);
}
END_TEST

START_TEST(test_bad_roots)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX], p[PATH_MAX], q[PATH_MAX];

	entry(&ce, path, "missing", NULL, 0);
	sweep_run(&ce, 1, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, ENOENT);
	ck_assert(!exists("missing"));		/* not created */

	mkd("real");
	mkfile("real/f", 1, 5 * HOUR);
	ck_assert_int_eq(symlink(at(p, "real"), at(q, "link")), 0);
	entry(&ce, path, "link", NULL, 0);
	sweep_run(&ce, 1, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, ELOOP);
	ck_assert(exists("real/f"));

	/* A symbolic link higher up the path is refused the same way. */
	entry(&ce, path, "link/.", NULL, 0);
	sweep_run(&ce, 1, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, ELOOP);
	ck_assert(exists("real/f"));

	entry(&ce, path, "real/f", NULL, 0);
	sweep_run(&ce, 1, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, ENOTDIR);
	ck_assert(exists("real/f"));
}
END_TEST

START_TEST(test_locked)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX], p[PATH_MAX];
	int			fd, dfd;

	mkd("c");
	mkfile("c/held", 1, 2 * HOUR);
	mkfile("c/free", 1, 2 * HOUR);
	mkd("c/helddir");
	mkfile("c/helddir/f", 1, 2 * HOUR);
	ck_assert_int_ge(fd = open(at(p, "c/held"), O_RDONLY), 0);
	ck_assert_int_eq(flock(fd, LOCK_SH), 0);
	ck_assert_int_ge(dfd = open(at(p, "c/helddir"), O_RDONLY), 0);
	ck_assert_int_eq(flock(dfd, LOCK_EX), 0);
	entry(&ce, path, "c", NULL, 0);
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert(exists("c/held"));
	ck_assert(exists("c/helddir/f"));
	ck_assert(!exists("c/free"));
	ck_assert_uint_eq(res.sr_locked, 2);
	close(fd);
	close(dfd);
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert(!exists("c/held"));
	ck_assert(!exists("c/helddir"));
}
END_TEST

START_TEST(test_max_size)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX];
	char		       *keep[] = { "big.lock" };

	mkd("c");
	mkd("c/d");
	mkfile("c/big.lock", 1000, 50 * 60 * 1000);	/* kept, counted */
	mkfile("c/d/oldest", 100, 40 * 60 * 1000);
	mkfile("c/older", 100, 30 * 60 * 1000);
	mkfile("c/d/newer", 100, 20 * 60 * 1000);
	mkfile("c/newest", 100, 10 * 60 * 1000);
	entry(&ce, path, "c", keep, 1);
	ce.ce_max_size = 1250;
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, 0);
	ck_assert(!exists("c/d/oldest"));
	ck_assert(!exists("c/older"));
	ck_assert(exists("c/d/newer"));
	ck_assert(exists("c/newest"));
	ck_assert(exists("c/big.lock"));
	ck_assert_uint_eq(res.sr_files, 2);
	ck_assert_uint_eq(res.sr_size, 1200);

	/* Under the limit: nothing more goes. */
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert_uint_eq(res.sr_files, 0);
	ck_assert_uint_eq(res.sr_size, 1200);
}
END_TEST

/*
 * A wide tree, so that both walkers take part: the counts of the two add
 * up, and max_size sees the candidates of both.
 */
START_TEST(test_wide)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX], rel[64];
	int			d, f;

	mkd("c");
	for (d = 0; d < 40; d++) {
		snprintf(rel, sizeof rel, "c/d%02d", d);
		mkd(rel);
		for (f = 0; f < 10; f++) {
			snprintf(rel, sizeof rel, "c/d%02d/f%d", d, f);
			/* Old ones are 2 h old; new ones 1 to 10 min. */
			mkfile(rel, 10, f % 2 ? 2 * HOUR : (d * 10 + f + 1) *
			    1000);
		}
		snprintf(rel, sizeof rel, "c/top%02d", d);
		mkfile(rel, 1, d % 2 ? 2 * HOUR : 0);
	}
	entry(&ce, path, "c", NULL, 0);
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, 0);
	ck_assert_uint_eq(res.sr_files, 40 * 5 + 20);
	ck_assert_uint_eq(res.sr_bytes, 40 * 5 * 10 + 20);
	ck_assert_uint_eq(res.sr_dirs, 0);
	ck_assert_uint_eq(res.sr_size, 40 * 5 * 10 + 20);
	ck_assert_uint_eq(res.sr_errors, 0);
	ck_assert(exists("c/d00/f0"));
	ck_assert(!exists("c/d39/f9"));

	/* max_size: the oldest of what is left, wherever it was seen. */
	ce.ce_max_size = 40 * 5 * 10 + 20 - 100;
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, 0);
	ck_assert_uint_eq(res.sr_files, 10);
	ck_assert(!exists("c/d39/f8"));	/* the oldest of the new ones */
	ck_assert(exists("c/d00/f0"));	/* the newest */
	ck_assert(exists("c/top00"));	/* size 1, new */
}
END_TEST

/* Make top/dNN/fNNN: dirs directories of n old files each. */
static void
mkwide(const char *top, int dirs, int n)
{
	char	rel[64];
	int	d, f;

	mkd(top);
	for (d = 0; d < dirs; d++) {
		snprintf(rel, sizeof rel, "%s/d%02d", top, d);
		mkd(rel);
		for (f = 0; f < n; f++) {
			snprintf(rel, sizeof rel, "%s/d%02d/f%03d", top, d, f);
			mkfile(rel, 1, 2 * HOUR);
		}
	}
}

static int	traffic_done;

/* The proxy's part: a request every 200 us until told to stop. */
static void *
traffic_main(void *arg)
{
	struct timespec	ts = { 0, 200000 };

	(void)arg;
	while (!__atomic_load_n(&traffic_done, __ATOMIC_RELAXED)) {
		sweep_traffic();
		nanosleep(&ts, NULL);
	}
	return (NULL);
}

/*
 * With no requests the walkers never give way; while requests come in,
 * they do (and count for how long), and the sweep still removes all.
 */
START_TEST(test_give_way)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX];
	pthread_t		tid;

	mkwide("c", 10, 60);
	entry(&ce, path, "c", NULL, 0);
	sweep_run(&ce, 0, now, &res, NULL);
	ck_assert_int_eq(res.sr_status, 0);
	ck_assert_uint_eq(res.sr_files, 600);
	ck_assert_int_eq(res.sr_yield_us, 0);

	mkwide("e", 10, 60);
	entry(&ce, path, "e", NULL, 0);
	traffic_done = 0;
	ck_assert_int_eq(pthread_create(&tid, NULL, traffic_main, NULL), 0);
	sweep_run(&ce, 0, now, &res, NULL);
	__atomic_store_n(&traffic_done, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	ck_assert_int_eq(res.sr_status, 0);
	ck_assert_uint_eq(res.sr_files, 600);
	ck_assert_uint_eq(res.sr_dirs, 10);
	ck_assert(!exists("e/d00"));
	/* Time really slept: one nap is 5 ms or more, and within the sweep. */
	ck_assert_int_ge(res.sr_yield_us, 5000);
	ck_assert_int_ge(res.sr_ms, 5);
}
END_TEST

START_TEST(test_stop)
{
	struct cache_entry	ce;
	struct sweep_result	res;
	char			path[PATH_MAX];
	volatile int		stop = 1;

	mkd("c");
	mkfile("c/old", 1, 2 * HOUR);
	entry(&ce, path, "c", NULL, 0);
	sweep_run(&ce, 0, now, &res, &stop);
	ck_assert_int_eq(res.sr_status, EINTR);
	ck_assert(exists("c/old"));
}
END_TEST

/* Collect the cases. */
static Suite *
sweep_suite(void)
{
	Suite	*s = suite_create("sweep");
	TCase	*tc;

	tc = tcase_create("decisions");
	tcase_add_test(tc, test_keep_match);
	tcase_add_test(tc, test_age);
	suite_add_tcase(s, tc);

	tc = tcase_create("trees");
	/* Trees of files on a shared disk: creating them can take seconds. */
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tree);
	tcase_add_test(tc, test_wipe_keep);
	tcase_add_test(tc, test_bad_roots);
	tcase_add_test(tc, test_locked);
	tcase_add_test(tc, test_max_size);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_wide);
	tcase_add_test(tc, test_give_way);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(sweep_suite());
	int	 failed;

	log_setup(LOG_LEVEL_ERROR, 0);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
