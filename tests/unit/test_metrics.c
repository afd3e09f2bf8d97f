/*
 * test_metrics.c -- the registry and its Prometheus text rendering.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "metrics.h"

/* Render every metric into a new string. */
static char *
render(void)
{
	struct evbuffer	*buf = evbuffer_new();
	size_t		 len;
	char		*s;

	metrics_render(buf);
	len = evbuffer_get_length(buf);
	s = malloc(len + 1);
	evbuffer_remove(buf, s, len);
	s[len] = '\0';
	evbuffer_free(buf);
	return (s);
}

/* How often needle occurs in hay. */
static int
count(const char *hay, const char *needle)
{
	int	n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return (n);
}

static int64_t
seven(void *arg)
{
	return (*(int *)arg + 7);
}

START_TEST(test_counter_plain)
{
	struct metric	*m;
	char		*s;

	m = metrics_counter("janitor_things_total", NULL, "Things seen.");
	metrics_inc(m);
	metrics_add(m, 41);
	ck_assert_int_eq(metrics_value(m), 42);
	s = render();
	ck_assert_str_eq(s, "# HELP janitor_things_total Things seen.\n"
	    "# TYPE janitor_things_total counter\n"
	    "janitor_things_total 42\n");
	free(s);
	metrics_free();
}
END_TEST

START_TEST(test_family_with_labels)
{
	struct metric	*a, *b, *a2;
	char		*s;

	a = metrics_counter("janitor_requests_total", "class=\"2xx\"",
	    "Requests.");
	b = metrics_counter("janitor_requests_total", "class=\"5xx\"",
	    "Requests.");
	a2 = metrics_counter("janitor_requests_total", "class=\"2xx\"",
	    "Requests.");
	ck_assert_ptr_eq(a, a2);
	ck_assert_ptr_ne(a, b);
	metrics_add(a, 3);
	metrics_inc(b);
	s = render();
	ck_assert_int_eq(count(s, "# HELP janitor_requests_total"), 1);
	ck_assert_int_eq(count(s, "# TYPE janitor_requests_total counter"), 1);
	ck_assert_ptr_nonnull(strstr(s,
	    "janitor_requests_total{class=\"2xx\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "janitor_requests_total{class=\"5xx\"} 1\n"));
	/* HELP and TYPE come before the samples. */
	ck_assert(strstr(s, "# TYPE") < strstr(s, "janitor_requests_total{"));
	free(s);
	metrics_free();
}
END_TEST

START_TEST(test_gauges)
{
	struct metric	*g;
	int		 base = 35;
	char		*s;

	g = metrics_gauge("janitor_queue_depth", NULL, "Queued.");
	metrics_set(g, 10);
	metrics_dec(g);
	ck_assert_int_eq(metrics_value(g), 9);
	metrics_gauge_func("janitor_sessions", "state=\"live\"", "Sessions.",
	    seven, &base);
	metrics_gauge_func("janitor_sessions", "state=\"idle\"", "Sessions.",
	    seven, &base);
	s = render();
	ck_assert_ptr_nonnull(strstr(s, "# TYPE janitor_queue_depth gauge\n"
	    "janitor_queue_depth 9\n"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE janitor_sessions gauge\n"
	    "janitor_sessions{state=\"live\"} 42\n"
	    "janitor_sessions{state=\"idle\"} 42\n"));
	ck_assert_int_eq(count(s, "# HELP janitor_sessions "), 1);
	free(s);
	metrics_free();
}
END_TEST

START_TEST(test_counter_func)
{
	int	 base = 1;
	char	*s;

	metrics_counter_func("janitor_regex_limit_total", NULL, "Stopped.",
	    seven, &base);
	s = render();
	ck_assert_ptr_nonnull(strstr(s, "# TYPE janitor_regex_limit_total "
	    "counter\njanitor_regex_limit_total 8\n"));
	free(s);
	metrics_free();
}
END_TEST

START_TEST(test_help_escaped_and_order)
{
	char	*s;

	metrics_counter("janitor_b_total", NULL, "two\nlines \\ here");
	metrics_counter("janitor_a_total", NULL, "A.");
	s = render();
	ck_assert_ptr_nonnull(strstr(s,
	    "# HELP janitor_b_total two\\nlines \\\\ here\n"));
	/* Families render in registration order. */
	ck_assert(strstr(s, "janitor_b_total") < strstr(s, "janitor_a_total"));
	free(s);
	metrics_free();
	s = render();
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_negative_gauge)
{
	struct metric	*g;
	char		*s;

	g = metrics_gauge("janitor_delta", NULL, "Delta.");
	metrics_add(g, -5);
	s = render();
	ck_assert_ptr_nonnull(strstr(s, "janitor_delta -5\n"));
	free(s);
	metrics_free();
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_counter_plain);
	tcase_add_test(tc, test_family_with_labels);
	tcase_add_test(tc, test_gauges);
	tcase_add_test(tc, test_counter_func);
	tcase_add_test(tc, test_help_escaped_and_order);
	tcase_add_test(tc, test_negative_gauge);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
