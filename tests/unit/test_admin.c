/*
 * test_admin.c -- the admin HTTP server over a real unix socket: built-in
 * routes, routing errors, the bearer token, query parameters and late
 * replies (also to a client that went away).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
#include "metrics.h"

static struct event_base	*base;
static struct policy		*po;
static char			 sock_path[108];

struct client {
	const char	*request;
	int		 hangup;	/* close right after sending */
	char		 response[65536];
};

/* Connect, send, read to EOF; then stop the loop. */
static void *
client_main(void *arg)
{
	struct client		*c = arg;
	struct sockaddr_un	 sun;
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		if (write(fd, c->request, strlen(c->request)) < 0)
			c->response[0] = '\0';
		if (c->hangup) {
			close(fd);
			usleep(300 * 1000);
			event_base_loopexit(base, NULL);
			return (NULL);
		}
		while ((n = read(fd, c->response + got,
		    sizeof c->response - 1 - got)) > 0)
			got += (size_t)n;
	}
	c->response[got] = '\0';
	close(fd);
	event_base_loopexit(base, NULL);
	return (NULL);
}

/* Run one request through the daemon's loop; the response stays in c. */
static void
exchange(struct client *c)
{
	pthread_t	t;

	pthread_create(&t, NULL, client_main, c);
	event_base_dispatch(base);
	pthread_join(t, NULL);
}

static struct admin_req	*held;
static int		 late_replied;

static void
echo_handler(struct admin_req *ar, const char *tail, void *arg)
{
	json_t	*j;
	const char *v = admin_query(ar, "state");

	(void)arg;
	j = json_pack("{s:s, s:s?}", "tail", tail, "state", v);
	admin_reply_json(ar, 200, j);
}

static void
late_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	admin_reply_text(held, 202, NULL, "later\n");
	held = NULL;
	late_replied = 1;
}

static void
late_handler(struct admin_req *ar, const char *tail, void *arg)
{
	struct timeval	tv = { 0, 100 * 1000 };

	(void)tail;
	(void)arg;
	held = ar;
	event_base_once(base, -1, EV_TIMEOUT, late_cb, NULL, &tv);
}

/* A reply made in five slices, with another event between each two. */
static struct event	*tick_ev;
static int		 ticks, slices, ticks_seen[8], freed;

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	ticks++;
}

static int
slice_fn(struct admin_req *ar, void *arg)
{
	char	body[64];

	(void)arg;
	ticks_seen[slices++] = ticks;
	/* Made ready now: it runs before the next slice, or never does. */
	event_active(tick_ev, EV_TIMEOUT, 0);
	if (slices < 5)
		return (slices == 2 ? ADMIN_SLICE_WAIT : ADMIN_SLICE_AGAIN);
	snprintf(body, sizeof body, "%d slices\n", slices);
	admin_reply_header(ar, "Link", "</sliced?after=5>; rel=\"next\"");
	admin_reply_text(ar, 200, NULL, body);
	return (ADMIN_SLICE_DONE);
}

static void
slice_free(void *arg)
{
	(void)arg;
	freed++;
}

static void
sliced_handler(struct admin_req *ar, const char *tail, void *arg)
{
	size_t		limit;
	uint64_t	after;

	(void)tail;
	(void)arg;
	if (admin_paging(ar, &limit, &after) != 0)
		return;
	slices = ticks = freed = 0;
	admin_slices(ar, slice_fn, slice_free, NULL);
}

static void
setup(void)
{
	struct sockaddr_un	*sun;
	char			*cause = NULL;

	evthread_use_pthreads();
	base = event_base_new();
	po = calloc(1, sizeof *po);
	po->po_refcnt = 1;
	snprintf(sock_path, sizeof sock_path, "/tmp/test_admin.%d.sock",
	    (int)getpid());
	sun = (struct sockaddr_un *)&po->po_admin.listen.ad_ss;
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof sun->sun_path, "%s", sock_path);
	po->po_admin.listen.ad_len = sizeof *sun;
	po->po_admin.listen.ad_family = AF_UNIX;
	snprintf(po->po_admin.listen.ad_text, sizeof po->po_admin.listen.ad_text,
	    "unix:%s", sock_path);
	daemon_init(base, po);
	/* Routes may be added before admin_init(). */
	admin_route("GET", "/echo/", 1, echo_handler, NULL);
	admin_route("DELETE", "/echo/", 1, echo_handler, NULL);
	admin_route("POST", "/late", 0, late_handler, NULL);
	admin_route("GET", "/sliced", 0, sliced_handler, NULL);
	tick_ev = evtimer_new(base, tick_cb, NULL);
	ck_assert_int_eq(admin_init(&cause), 0);
	metrics_inc(metrics_counter("janitor_test_total", NULL, "Test."));
}

static void
teardown(void)
{
	event_free(tick_ev);
	admin_free();
	metrics_free();
	daemon_init(base, NULL);
	daemon_free();
	free(po);
	event_base_free(base);
	ck_assert_int_ne(access(sock_path, F_OK), 0);	/* socket removed */
}

START_TEST(test_healthz)
{
	struct client	c = { .request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" };

	exchange(&c);
	ck_assert_ptr_nonnull(strstr(c.response, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response, "Content-Length: 3\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response, "\r\n\r\nok\n"));
}
END_TEST

START_TEST(test_metrics_route)
{
	struct client	c = { .request = "GET /metrics HTTP/1.1\r\n\r\n" };

	exchange(&c);
	ck_assert_ptr_nonnull(strstr(c.response, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response, "text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(c.response, "janitor_test_total 1\n"));
	ck_assert_ptr_nonnull(strstr(c.response,
	    "janitor_admin_requests_total 1\n"));
}
END_TEST

START_TEST(test_not_found_and_method)
{
	struct client	a = { .request = "GET /nope HTTP/1.1\r\n\r\n" };
	struct client	b = { .request = "POST /healthz HTTP/1.1\r\n\r\n" };
	struct client	d = { .request = "PUT /echo/x HTTP/1.1\r\n\r\n" };
	struct client	e = { .request = "garbage\r\n\r\n" };

	exchange(&a);
	ck_assert_ptr_nonnull(strstr(a.response, "HTTP/1.1 404 "));
	exchange(&b);
	ck_assert_ptr_nonnull(strstr(b.response, "HTTP/1.1 405 "));
	ck_assert_ptr_nonnull(strstr(b.response, "Allow: GET\r\n"));
	exchange(&d);
	ck_assert_ptr_nonnull(strstr(d.response, "HTTP/1.1 405 "));
	ck_assert_ptr_nonnull(strstr(d.response, "Allow: GET, DELETE\r\n"));
	exchange(&e);
	ck_assert_ptr_nonnull(strstr(e.response, "HTTP/1.1 400 "));
}
END_TEST

START_TEST(test_prefix_and_query)
{
	struct client	c = { .request =
	    "GET /echo/abc?limit=3&state=li%76e HTTP/1.1\r\n\r\n" };
	struct client	d = { .request = "DELETE /echo/k1 HTTP/1.1\r\n\r\n" };

	exchange(&c);
	ck_assert_ptr_nonnull(strstr(c.response, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response, "application/json"));
	ck_assert_ptr_nonnull(strstr(c.response, "\"tail\": \"abc\""));
	ck_assert_ptr_nonnull(strstr(c.response, "\"state\": \"live\""));
	exchange(&d);
	ck_assert_ptr_nonnull(strstr(d.response, "\"tail\": \"k1\""));
}
END_TEST

START_TEST(test_token)
{
	struct client	none = { .request = "GET /healthz HTTP/1.1\r\n\r\n" };
	struct client	wrong = { .request = "GET /healthz HTTP/1.1\r\n"
	    "Authorization: Bearer s3cret-\r\n\r\n" };
	struct client	right = { .request = "GET /healthz HTTP/1.1\r\n"
	    "authorization: bearer s3cret\r\n\r\n" };
	struct client	body = { .request = "POST /late HTTP/1.1\r\n"
	    "Content-Length: 4\r\n\r\nabcd" };

	po->po_admin.token = "s3cret";
	exchange(&none);
	ck_assert_ptr_nonnull(strstr(none.response, "HTTP/1.1 401 "));
	ck_assert_ptr_nonnull(strstr(none.response, "WWW-Authenticate: Bearer"));
	exchange(&wrong);
	ck_assert_ptr_nonnull(strstr(wrong.response, "HTTP/1.1 401 "));
	exchange(&body);
	ck_assert_ptr_nonnull(strstr(body.response, "HTTP/1.1 401 "));
	exchange(&right);
	ck_assert_ptr_nonnull(strstr(right.response, "HTTP/1.1 200 OK\r\n"));
	po->po_admin.token = NULL;
}
END_TEST

START_TEST(test_late_reply)
{
	struct client	c = { .request = "POST /late HTTP/1.1\r\n"
	    "Content-Length: 2\r\n\r\n{}" };

	late_replied = 0;
	exchange(&c);
	ck_assert_int_eq(late_replied, 1);
	ck_assert_ptr_nonnull(strstr(c.response, "HTTP/1.1 202 Accepted\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response, "\r\n\r\nlater\n"));
}
END_TEST

START_TEST(test_late_reply_client_gone)
{
	struct client	c = { .request = "POST /late HTTP/1.1\r\n\r\n",
	    .hangup = 1 };
	struct client	d = { .request = "GET /healthz HTTP/1.1\r\n\r\n" };

	late_replied = 0;
	exchange(&c);
	ck_assert_int_eq(late_replied, 1);
	/* Still serving. */
	exchange(&d);
	ck_assert_ptr_nonnull(strstr(d.response, "HTTP/1.1 200 OK\r\n"));
}
END_TEST

START_TEST(test_head_too_large)
{
	static char	req[40000];
	struct client	c = { .request = req };

	memset(req, 'a', sizeof req - 1);
	memcpy(req, "GET /healthz HTTP/1.1\r\nX: ", 26);
	exchange(&c);
	ck_assert_ptr_nonnull(strstr(c.response, "HTTP/1.1 431 "));
}
END_TEST

START_TEST(test_slices)
{
	struct client	c = { .request = "GET /sliced HTTP/1.1\r\n\r\n" };
	struct client	d = { .request = "GET /sliced?limit=10001 HTTP/1.1\r\n"
	    "\r\n" };
	int		i;

	exchange(&c);
	ck_assert_int_eq(slices, 5);
	/* The loop ran the other event between every two slices. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(ticks_seen[i], i);
	ck_assert_int_eq(freed, 0);
	ck_assert_ptr_nonnull(strstr(c.response, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response,
	    "\r\nLink: </sliced?after=5>; rel=\"next\"\r\n"));
	ck_assert_ptr_nonnull(strstr(c.response, "\r\n\r\n5 slices\n"));
	/* A bad page size is a 400 before any slice. */
	slices = 0;
	exchange(&d);
	ck_assert_ptr_nonnull(strstr(d.response, "HTTP/1.1 400 "));
	ck_assert_int_eq(slices, 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("admin");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_metrics_route);
	tcase_add_test(tc, test_not_found_and_method);
	tcase_add_test(tc, test_prefix_and_query);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_late_reply);
	tcase_add_test(tc, test_late_reply_client_gone);
	tcase_add_test(tc, test_head_too_large);
	tcase_add_test(tc, test_slices);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
