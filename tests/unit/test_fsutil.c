/*
 * test_fsutil.c -- safe removal on real files in a temporary directory.
 */
#include <sys/file.h>
#include <sys/mount.h>
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

#include <event2/event.h>
#include <event2/thread.h>

#include "daemon.h"
#include "fsutil.h"
#include "log.h"

static char	tmp[64];

/* Make a fresh scratch directory for one test. */
static void
setup(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_fsutil.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

/* Remove the scratch directory with a plain shell command. */
static void
teardown(void)
{
	char	cmd[256];

	snprintf(cmd, sizeof cmd, "umount -R %s/t/m 2>/dev/null; "
	    "rm -rf %s", tmp, tmp);
	if (system(cmd) != 0) {
		/* nothing more to do */
	}
}

/* Build tmp/rel into buf. */
static const char *
at(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s/%s", tmp, rel);
	return (buf);
}

/* Create a file with some bytes. */
static void
mkfile(const char *rel, size_t n)
{
	char	 p[PATH_MAX], *b;
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(at(p, rel), "w"));
	b = calloc(1, n + 1);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	free(b);
	fclose(f);
}

/* Create a directory. */
static void
mkd(const char *rel)
{
	char	p[PATH_MAX];

	ck_assert_int_eq(mkdir(at(p, rel), 0755), 0);
}

/* Whether tmp/rel exists (without following it). */
static int
exists(const char *rel)
{
	char		p[PATH_MAX];
	struct stat	sb;

	return (lstat(at(p, rel), &sb) == 0);
}

START_TEST(test_nested)
{
	struct fsutil_stats	st;
	char			p[PATH_MAX];

	mkd("t");
	mkd("t/a");
	mkd("t/a/b");
	mkd("t/a/b/c");
	mkd("t/empty");
	mkfile("t/f1", 10);
	mkfile("t/a/f2", 20);
	mkfile("t/a/b/c/f3", 30);
	ck_assert_int_eq(fsutil_remove(at(p, "t"), &st, NULL), 0);
	ck_assert(!exists("t"));
	ck_assert_uint_eq(st.fs_files, 3);
	ck_assert_uint_eq(st.fs_dirs, 5);
	ck_assert_uint_eq(st.fs_bytes, 60);
	ck_assert_uint_eq(st.fs_errors, 0);
	ck_assert(exists(""));
}
END_TEST

START_TEST(test_symlinks_inside)
{
	struct fsutil_stats	st;
	char			p[PATH_MAX], q[PATH_MAX];

	mkd("out");
	mkfile("out/keep", 5);
	mkfile("outfile", 7);
	mkd("t");
	mkd("t/sub");
	ck_assert_int_eq(symlink(at(p, "out"), at(q, "t/dirlink")), 0);
	ck_assert_int_eq(symlink(at(p, "outfile"), at(q, "t/sub/filelink")),
	    0);
	ck_assert_int_eq(symlink("../../out", at(q, "t/sub/rellink")), 0);
	ck_assert_int_eq(fsutil_remove(at(p, "t"), &st, NULL), 0);
	ck_assert(!exists("t"));
	ck_assert(exists("out/keep"));
	ck_assert(exists("outfile"));
	ck_assert_uint_eq(st.fs_files, 3);
}
END_TEST

START_TEST(test_missing)
{
	char	p[PATH_MAX];

	ck_assert_int_eq(fsutil_remove(at(p, "nothing"), NULL, NULL), 0);
	ck_assert_int_eq(fsutil_remove(at(p, "no/such/dir"), NULL, NULL), 0);
}
END_TEST

START_TEST(test_parent_symlink)
{
	char	p[PATH_MAX], q[PATH_MAX];

	mkd("real");
	mkd("real/victim");
	mkfile("real/victim/f", 3);
	ck_assert_int_eq(symlink(at(p, "real"), at(q, "link")), 0);
	ck_assert_int_eq(fsutil_remove(at(p, "link/victim"), NULL, NULL),
	    ELOOP);
	ck_assert(exists("real/victim/f"));
	/* A symlink deeper up the path is refused as well. */
	ck_assert_int_eq(fsutil_remove(at(p, "link/victim/f"), NULL, NULL),
	    ELOOP);
	ck_assert(exists("real/victim/f"));
	errno = 0;
	ck_assert_int_eq(fsutil_open_path(at(p, "link")), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(fsutil_open_path(at(p, "real/victim/f")), -1);
	ck_assert_int_eq(errno, ENOTDIR);
}
END_TEST

START_TEST(test_path_is_symlink)
{
	char	p[PATH_MAX], q[PATH_MAX];

	mkd("real");
	mkfile("real/f", 3);
	ck_assert_int_eq(symlink(at(p, "real"), at(q, "link")), 0);
	/* The link is removed as a link; its target stays. */
	ck_assert_int_eq(fsutil_remove(at(p, "link"), NULL, NULL), 0);
	ck_assert(!exists("link"));
	ck_assert(exists("real/f"));
}
END_TEST

START_TEST(test_bad_paths)
{
	char	p[PATH_MAX];

	mkd("d");
	ck_assert_int_eq(fsutil_remove("relative/path", NULL, NULL), EINVAL);
	ck_assert_int_eq(fsutil_remove(at(p, "d/../d"), NULL, NULL), EINVAL);
	ck_assert_int_eq(fsutil_remove(at(p, "d/.."), NULL, NULL), EINVAL);
	ck_assert_int_eq(fsutil_remove("/", NULL, NULL), EINVAL);
	ck_assert(exists("d"));
	/* A trailing slash names the same directory. */
	mkfile("d/x", 1);
	ck_assert_int_eq(fsutil_remove(at(p, "d/"), NULL, NULL), 0);
	ck_assert(!exists("d"));
}
END_TEST

START_TEST(test_mount_inside)
{
	char	p[PATH_MAX], q[PATH_MAX];
	int	error;

	mkd("t");
	mkd("t/m");
	mkfile("t/f", 1);
	ck_assert_int_eq(mount("tmpfs", at(p, "t/m"), "tmpfs", 0, "size=1m"),
	    0);
	mkfile("t/m/inside", 4);
	error = fsutil_remove(at(p, "t"), NULL, NULL);
	ck_assert_int_eq(error, EXDEV);
	ck_assert(exists("t/m/inside"));
	ck_assert(!exists("t/f"));
	ck_assert_int_eq(umount(at(p, "t/m")), 0);

	/* A bind mount of the same file system has no other st_dev. */
	mkd("src");
	mkfile("src/precious", 2);
	ck_assert_int_eq(mount(at(p, "src"), at(q, "t/m"), NULL, MS_BIND,
	    NULL), 0);
	error = fsutil_remove(at(p, "t"), NULL, NULL);
	ck_assert_int_eq(error, EXDEV);
	ck_assert(exists("src/precious"));
	ck_assert_int_eq(umount(at(p, "t/m")), 0);
	ck_assert_int_eq(fsutil_remove(at(p, "t"), NULL, NULL), 0);
	ck_assert(!exists("t"));
}
END_TEST

START_TEST(test_locked)
{
	char	p[PATH_MAX];
	int	a, b;

	mkfile("f", 1);
	ck_assert_int_ge(a = open(at(p, "f"), O_RDONLY), 0);
	ck_assert_int_ge(b = open(at(p, "f"), O_RDONLY), 0);
	ck_assert_int_eq(flock(a, LOCK_EX), 0);
	ck_assert_int_eq(fsutil_locked(b), 1);
	close(a);
	ck_assert_int_eq(fsutil_locked(b), 0);
	close(b);
}
END_TEST

START_TEST(test_locks_snapshot)
{
	struct fsutil_locks	*fl;
	struct stat		 sb;
	char			 p[PATH_MAX];
	int			 fd;

	mkfile("f", 1);
	ck_assert_int_eq(stat(at(p, "f"), &sb), 0);
	ck_assert_ptr_nonnull(fl = fsutil_locks_new());
	ck_assert_int_eq(fsutil_locks_refresh(fl, 0), 1);
	ck_assert(!fsutil_locks_held(fl, sb.st_dev, sb.st_ino));
	ck_assert_int_ge(fd = open(at(p, "f"), O_RDONLY), 0);
	ck_assert_int_eq(flock(fd, LOCK_SH), 0);
	/* A fresh snapshot sees it; one younger than max_age is kept. */
	ck_assert_int_eq(fsutil_locks_refresh(fl, 60000), 0);
	ck_assert(!fsutil_locks_held(fl, sb.st_dev, sb.st_ino));
	ck_assert_int_eq(fsutil_locks_refresh(fl, 0), 1);
	ck_assert(fsutil_locks_held(fl, sb.st_dev, sb.st_ino));
	close(fd);
	ck_assert_int_eq(fsutil_locks_refresh(fl, 0), 1);
	ck_assert(!fsutil_locks_held(fl, sb.st_dev, sb.st_ino));
	fsutil_locks_free(fl);
}
END_TEST

START_TEST(test_stop)
{
	volatile int	stop = 1;
	char		p[PATH_MAX];

	mkd("t");
	mkfile("t/f", 1);
	ck_assert_int_eq(fsutil_remove(at(p, "t"), NULL, &stop), EINTR);
	ck_assert(exists("t/f"));
}
END_TEST

/* A thread that keeps exchanging two names (a directory and a link). */
struct swapper {
	char		 sw_a[PATH_MAX], sw_b[PATH_MAX];
	int		 sw_stop;
	unsigned long	 sw_swaps;
};

/* Exchange sw_a and sw_b atomically until told to stop. */
static void *
swapper_main(void *arg)
{
	struct swapper	*sw = arg;

	while (!__atomic_load_n(&sw->sw_stop, __ATOMIC_RELAXED)) {
		if (renameat2(AT_FDCWD, sw->sw_a, AT_FDCWD, sw->sw_b,
		    RENAME_EXCHANGE) == 0)
			__atomic_add_fetch(&sw->sw_swaps, 1, __ATOMIC_RELAXED);
		usleep(20);
	}
	return (NULL);
}

/* Rounds in which a swap must have happened while the tree was removed. */
#define SWAP_RACED	100
/* ...within this long; Check's timeout for the case is longer. */
#define SWAP_DEADLINE	45

/*
 * A directory inside the tree exchanged with a link to the outside while
 * the tree is removed: the link is removed as a link, nothing outside is
 * touched, and the tree is gone every time (it used to stay when the name
 * was a link again by the time the emptied directory was to be removed,
 * or when a swap between fstatat and statx made it look like a mount
 * point).  Rounds go on until SWAP_RACED of them had a swap during the
 * removal itself, however slowly the machine schedules the swapper; only
 * a machine that never lets it run within SWAP_DEADLINE fails the count.
 */
START_TEST(test_swap_race)
{
	struct swapper	 sw;
	pthread_t	 th;
	char		 p[PATH_MAX], q[PATH_MAX], rel[64];
	unsigned long	 before;
	time_t		 deadline = time(NULL) + SWAP_DEADLINE;
	int		 round, raced = 0, i;

	mkd("out");
	mkd("out/in");
	mkfile("out/keep", 5);
	mkfile("out/in/keep", 5);
	for (round = 0; raced < SWAP_RACED && time(NULL) < deadline;
	    round++) {
		mkd("t");
		mkd("t/a");
		mkd("t/a/sub");
		for (i = 0; i < 50; i++) {
			snprintf(rel, sizeof rel, "t/a/sub/f%d", i);
			mkfile(rel, 1);
		}
		ck_assert_int_eq(symlink(at(p, "out"), at(q, "t/a/alt")), 0);
		memset(&sw, 0, sizeof sw);
		at(sw.sw_a, "t/a/sub");
		at(sw.sw_b, "t/a/alt");
		ck_assert_int_eq(pthread_create(&th, NULL, swapper_main, &sw),
		    0);
		usleep(100);
		before = __atomic_load_n(&sw.sw_swaps, __ATOMIC_RELAXED);
		ck_assert_int_eq(fsutil_remove(at(p, "t"), NULL, NULL), 0);
		if (__atomic_load_n(&sw.sw_swaps, __ATOMIC_RELAXED) != before)
			raced++;
		__atomic_store_n(&sw.sw_stop, 1, __ATOMIC_RELAXED);
		pthread_join(th, NULL);
		ck_assert_msg(!exists("t"), "round %d: the tree stayed", round);
		ck_assert(exists("out/keep"));
		ck_assert(exists("out/in/keep"));
	}
	ck_assert_msg(raced >= SWAP_RACED, "a swap came during the removal in "
	    "only %d of %d rounds in %d s", raced, round, SWAP_DEADLINE);
}
END_TEST

static int	async_calls;
static int	async_error[4];
static char	async_path[4][PATH_MAX];

/* Record one finished removal; leave the loop after the last. */
static void
async_cb(const char *path, int error, void *arg)
{
	int	n = async_calls++;

	(void)arg;
	async_error[n] = error;
	snprintf(async_path[n], PATH_MAX, "%s", path);
	if (async_calls == 3)
		event_base_loopexit(daemon_base(), NULL);
}

START_TEST(test_async)
{
	struct event_base	*base;
	char			 p[PATH_MAX], q[PATH_MAX], *cause = NULL;
	struct timeval		 tv = { 10, 0 };
	int			 i;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	daemon_init(base, NULL);
	ck_assert_int_eq(fsutil_remove_async(at(p, "a"), 0, async_cb, NULL),
	    -1);
	ck_assert_int_eq(fsutil_start_thread(&cause), 0);
	ck_assert_int_eq(fsutil_start_thread(&cause), 0);	/* once */
	mkd("a");
	mkd("a/b");
	for (i = 0; i < 100; i++) {
		snprintf(p, sizeof p, "a/b/f%d", i);
		mkfile(p, 1);
	}
	mkd("r");
	mkd("r/x");
	ck_assert_int_eq(symlink(at(p, "r"), at(q, "l")), 0);
	ck_assert_int_eq(fsutil_remove_async(at(p, "a"), 0, async_cb, NULL),
	    0);
	ck_assert_int_eq(fsutil_remove_async(at(p, "missing"), 0, async_cb,
	    NULL), 0);
	ck_assert_int_eq(fsutil_remove_async(at(p, "l/x"), 0, async_cb, NULL),
	    0);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(async_calls, 3);
	ck_assert_int_eq(async_error[0], 0);
	ck_assert_int_eq(async_error[1], 0);
	ck_assert_int_eq(async_error[2], ELOOP);
	ck_assert_str_eq(async_path[0], at(p, "a"));
	ck_assert(!exists("a"));
	ck_assert(exists("r/x"));
	fsutil_stop_thread();
	fsutil_stop_thread();
	daemon_free();
	event_base_free(base);
}
END_TEST

/* Wall milliseconds, real. */
static int64_t
wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Sleep ms milliseconds. */
static void
nap(int ms)
{
	struct timespec	ts = { 0, (long)ms * 1000000 };

	nanosleep(&ts, NULL);
}

START_TEST(test_older)
{
	struct fsutil_age	fa;
	char			p[PATH_MAX];
	int64_t			before, between, after;

	before = wall_ms() - 200;
	mkd("t");
	mkfile("t/old", 1);
	nap(100);
	between = wall_ms();
	nap(100);
	/* The directory changes now (its ctime), its file stays old. */
	ck_assert_int_eq(chmod(at(p, "t"), 0700), 0);
	after = wall_ms() + 200;

	/* Made before the limit: older, whichever time is asked. */
	ck_assert_int_eq(fsutil_older(at(p, "t"), after, 1, &fa, NULL), 1);
	ck_assert_int_eq(fsutil_older(at(p, "t"), after, 0, &fa, NULL), 1);
	ck_assert_int_eq(fa.fa_by_ctime, 1);
	/* Made after it: not older. */
	ck_assert_int_eq(fsutil_older(at(p, "t"), before, 1, &fa, NULL), 0);
	ck_assert_int_eq(fsutil_older(at(p, "t"), before, 0, &fa, NULL), 0);
	/* Without a birth time the old file inside gives it away. */
	ck_assert_int_eq(fsutil_older(at(p, "t"), between, 0, &fa, NULL), 1);
	ck_assert_str_eq(fa.fa_what, "old");
	ck_assert_int_eq(fa.fa_by_ctime, 1);
	/* A birth time says it at once, where the file system keeps one. */
	if (fsutil_older(at(p, "t"), between, 1, &fa, NULL) == 1 &&
	    !fa.fa_by_ctime)
		ck_assert_str_eq(fa.fa_what, "");
	/* Missing is not older: there is nothing to leave alone. */
	ck_assert_int_eq(fsutil_older(at(p, "nope"), after, 1, &fa, NULL), 0);
	/* A link is judged by itself, never by its target. */
	ck_assert_int_eq(symlink("/etc", at(p, "l")), 0);
	ck_assert_int_eq(fsutil_older(at(p, "l"), before, 1, &fa, NULL), 0);
}
END_TEST

static int	older_calls;

static void
older_cb(const char *path, int error, void *arg)
{
	(void)path;
	(void)arg;
	ck_assert_int_eq(error, 0);
	if (++older_calls == 2)
		event_base_loopexit(daemon_base(), NULL);
}

START_TEST(test_async_older)
{
	struct event_base	*base;
	char			 p[PATH_MAX], *cause = NULL;
	struct timeval		 tv = { 10, 0 };
	int64_t			 born;

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	daemon_init(base, NULL);
	ck_assert_int_eq(fsutil_start_thread(&cause), 0);
	mkd("static");
	mkfile("static/app.js", 10);
	nap(50);
	born = wall_ms() + FSUTIL_BIRTH_SLACK_MS + 100;
	/* A session that began after "static" was made: left alone. */
	ck_assert_int_eq(fsutil_remove_async(at(p, "static"), born, older_cb,
	    NULL), 0);
	/* One that began before "mine" was made: removed. */
	mkd("mine");
	mkfile("mine/upload", 10);
	ck_assert_int_eq(fsutil_remove_async(at(p, "mine"), wall_ms() - 5000,
	    older_cb, NULL), 0);
	older_calls = 0;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_int_eq(older_calls, 2);
	ck_assert(exists("static/app.js"));
	ck_assert(!exists("mine"));
	fsutil_stop_thread();
	daemon_free();
	event_base_free(base);
}
END_TEST

/* Collect the cases. */

/* Whether this process may mount a tmpfs (root, outside a jail). */
static int
fsutil_can_mount(void)
{
	char	dir[] = "/tmp/test_fsutil_mount.XXXXXX";
	int	ok;

	if (mkdtemp(dir) == NULL)
		return (0);
	ok = mount("tmpfs", dir, "tmpfs", 0, "size=1m") == 0;
	if (ok)
		umount(dir);
	else
		printf("unit: SKIP fsutil/test_mount_inside: cannot mount a "
		    "tmpfs here (%s)\n", strerror(errno));
	rmdir(dir);
	return (ok);
}

/* Collect the cases; test_mount_inside only where mounting works. */
static Suite *
fsutil_suite(int mount_ok)
{
	Suite	*s = suite_create("fsutil");
	TCase	*tc = tcase_create("remove");

	/* test_swap_race takes 1-2 s alone, more beside other tests. */
	tcase_set_timeout(tc, 60);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_symlinks_inside);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_parent_symlink);
	tcase_add_test(tc, test_path_is_symlink);
	tcase_add_test(tc, test_bad_paths);
	if (mount_ok)
		tcase_add_test(tc, test_mount_inside);
	tcase_add_test(tc, test_locked);
	tcase_add_test(tc, test_locks_snapshot);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_swap_race);
	tcase_add_test(tc, test_async);
	tcase_add_test(tc, test_older);
	tcase_add_test(tc, test_async_older);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	int	 mount_ok = fsutil_can_mount();
	SRunner	*sr = srunner_create(fsutil_suite(mount_ok));
	int	 failed;

	log_setup(LOG_LEVEL_ERROR, 0);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed != 0)
		return (EXIT_FAILURE);
	/* A test left out is a skip, not a pass (meson's 77). */
	return (mount_ok ? EXIT_SUCCESS : 77);
}
