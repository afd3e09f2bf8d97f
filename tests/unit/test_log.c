/*
 * test_log.c -- the rate limit on lines a flood could multiply: five of a
 * kind a second, the rest counted and told in one summary line, also when
 * no further line of that kind comes (the timer writes it).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "clock.h"
#include "log.h"

static char	path[] = "/tmp/test_log.XXXXXX";
static int	saved = -1;

/* Send stderr to a scratch file. */
static void
setup(void)
{
	int	fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Put stderr back and remove the file. */
static void
teardown(void)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unlink(path);
	strcpy(path, "/tmp/test_log.XXXXXX");
}

/* What was logged so far. */
static char *
logged(void)
{
	static char	buf[65536];
	FILE		*f;
	size_t		 n;

	fflush(stderr);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* How often needle is in hay. */
static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return (n);
}

/* Wait for the start of a second, so a burst falls within one. */
static void
second_start(void)
{
	struct timespec	ts = { 0, 1000000 };

	while (clock_coarse_ms() % 1000 > 100)
		nanosleep(&ts, NULL);
}

START_TEST(test_burst_and_summary)
{
	static struct log_limit	ll = LOG_LIMIT_INIT("test floods",
				    LOG_LEVEL_WARN);
	int			i;

	second_start();
	for (i = 0; i < 20; i++) {
		if (log_limit(&ll))
			log_warn("flood line %d", i);
	}
	ck_assert_int_eq(count(logged(), "flood line"), LOG_LIMIT_BURST);
	ck_assert_int_eq(count(logged(), "more line"), 0);
	log_limit_flush();
	ck_assert_ptr_nonnull(strstr(logged(), "warn test floods: 15 more lines "
	    "like them in that second, not logged"));
	/* Told once. */
	log_limit_flush();
	ck_assert_int_eq(count(logged(), "more line"), 1);
}
END_TEST

START_TEST(test_timer_writes_summary)
{
	static struct log_limit	ll = LOG_LIMIT_INIT("timed floods",
				    LOG_LEVEL_INFO);
	struct event_base	*base = event_base_new();
	struct timeval		 tv = { 1, 300 * 1000 };
	int			 i;

	log_limit_attach(base);
	second_start();
	for (i = 0; i < 6; i++) {
		if (log_limit(&ll))
			log_info("timed line %d", i);
	}
	ck_assert_int_eq(count(logged(), "timed line"), LOG_LIMIT_BURST);
	/* No further line comes: the timer tells the one held back. */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_ptr_nonnull(strstr(logged(), "info timed floods: 1 more line "
	    "like it in that second, not logged"));
	/* A new second allows a burst again. */
	ck_assert_int_eq(log_limit(&ll), 1);
	log_limit_detach();
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_burst_and_summary);
	tcase_add_test(tc, test_timer_writes_summary);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
