/*
 * test_sock.c -- the relay's buffered socket over real socketpairs and a
 * real listening socket: one read takes what is there, reads grow with the
 * data, EOF and errors reach the event callback once, a callback may free
 * its own sock, pushes write at once, the write callback honours the low
 * mark, connects report from the loop, a connect that cannot start fails
 * at once.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "sock.h"

struct seen {
	int		 reads;
	int		 writes;
	int		 events;
	short		 what;
	int		 error;
	int		 free_on_event;
	struct sock	*s;
};

static void
on_read(struct sock *s, void *arg)
{
	struct seen	*sn = arg;

	(void)s;
	sn->reads++;
}

static void
on_write(struct sock *s, void *arg)
{
	struct seen	*sn = arg;

	(void)s;
	sn->writes++;
}

static void
on_event(struct sock *s, short what, void *arg)
{
	struct seen	*sn = arg;

	sn->events++;
	sn->what = what;
	sn->error = errno;
	if (sn->free_on_event) {
		sock_free(s);
		sn->s = NULL;
	}
}

/* A non-blocking socketpair. */
static void
pair(int fd[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    fd), 0);
}

/* Run the loop until cond or about a second passes. */
#define RUN_UNTIL(base, cond) do {					\
	int	 i_;							\
	for (i_ = 0; i_ < 1000 && !(cond); i_++) {			\
		event_base_loop((base), EVLOOP_NONBLOCK);		\
		if (!(cond))						\
			usleep(1000);					\
	}								\
} while (0)

START_TEST(test_reads_all_that_came_then_eof)
{
	struct event_base	*base = event_base_new();
	struct seen		 sn = { 0 };
	static char		 big[200000];
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd[2];

	pair(fd);
	sn.s = sock_new(base, fd[0]);
	sock_setcb(sn.s, on_read, on_write, on_event, &sn);
	sock_enable(sn.s, EV_READ);
	memset(big, 'x', sizeof big);
	/* What is there is taken in one read, beyond the first 4 KiB guess. */
	ck_assert_int_eq(write(fd[1], big, 6000), 6000);
	RUN_UNTIL(base, sn.reads > 0);
	ck_assert_int_eq(sn.reads, 1);
	ck_assert_uint_eq(evbuffer_get_length(sock_input(sn.s)), 6000);
	evbuffer_drain(sock_input(sn.s), 6000);
	sn.reads = 0;
	/* Write in pieces (the socketpair holds less than all of it). */
	while (got < sizeof big) {
		n = write(fd[1], big + got, sizeof big - got);
		if (n > 0)
			got += (size_t)n;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	RUN_UNTIL(base, evbuffer_get_length(sock_input(sn.s)) == sizeof big);
	ck_assert_uint_eq(evbuffer_get_length(sock_input(sn.s)), sizeof big);
	/* 4 KiB reads alone would take at least 49. */
	ck_assert_int_lt(sn.reads, 49);
	ck_assert_int_eq(sn.events, 0);
	close(fd[1]);
	RUN_UNTIL(base, sn.events > 0);
	ck_assert_int_eq(sn.events, 1);
	ck_assert_int_eq(sn.what, SOCK_READING | SOCK_EOF);
	ck_assert(!(sock_enabled(sn.s) & EV_READ));
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(sn.events, 1);
	sock_free(sn.s);
	event_base_free(base);
}
END_TEST

START_TEST(test_free_inside_event_callback)
{
	struct event_base	*base = event_base_new();
	struct seen		 sn = { 0 };
	int			 fd[2];

	pair(fd);
	sn.s = sock_new(base, fd[0]);
	sn.free_on_event = 1;
	sock_setcb(sn.s, on_read, on_write, on_event, &sn);
	sock_enable(sn.s, EV_READ);
	ck_assert_int_eq(write(fd[1], "hi", 2), 2);
	close(fd[1]);
	RUN_UNTIL(base, sn.events > 0);
	ck_assert_int_eq(sn.events, 1);
	ck_assert_ptr_null(sn.s);
	/* The descriptor was closed with the sock. */
	ck_assert_int_eq(fcntl(fd[0], F_GETFD), -1);
	event_base_free(base);
}
END_TEST

START_TEST(test_push_writes_now_and_lowmark)
{
	struct event_base	*base = event_base_new();
	struct seen		 sn = { 0 };
	static char		 big[1 << 20];
	char			 buf[65536];
	size_t			 drained = 0;
	ssize_t			 n;
	int			 fd[2];

	pair(fd);
	sn.s = sock_new(base, fd[0]);
	sock_setcb(sn.s, on_read, on_write, on_event, &sn);
	sock_disable(sn.s, EV_WRITE);
	sock_set_lowmark(sn.s, 0);

	/* A small push is written before the loop runs at all. */
	evbuffer_add(sock_output(sn.s), "hello", 5);
	sock_push(sn.s);
	ck_assert_uint_eq(evbuffer_get_length(sock_output(sn.s)), 0);
	ck_assert_int_eq(read(fd[1], buf, sizeof buf), 5);
	ck_assert_int_eq(sn.writes, 0);

	/* A large one waits for the write event; the callback comes once the
	 * output has drained to the low mark. */
	evbuffer_add(sock_output(sn.s), big, sizeof big);
	sock_push(sn.s);
	ck_assert_uint_gt(evbuffer_get_length(sock_output(sn.s)), 0);
	while (drained < sizeof big) {
		n = read(fd[1], buf, sizeof buf);
		if (n > 0)
			drained += (size_t)n;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (n <= 0)
			usleep(100);
	}
	RUN_UNTIL(base, sn.writes > 0);
	ck_assert_int_eq(sn.writes, 1);
	ck_assert_uint_eq(evbuffer_get_length(sock_output(sn.s)), 0);
	sock_free(sn.s);
	close(fd[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_connect_refused_and_connected)
{
	struct event_base	*base = event_base_new();
	struct seen		 sn = { 0 };
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 lfd, fd;

	/* A port nobody listens on: bind one, then close it. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	close(lfd);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sn.s = sock_new(base, fd);
	sock_setcb(sn.s, on_read, on_write, on_event, &sn);
	/* Nothing is reported from inside the call. */
	if (sock_connect(sn.s, (struct sockaddr *)&sin, sizeof sin, 1000) == 0) {
		ck_assert_int_eq(sn.events, 0);
		RUN_UNTIL(base, sn.events > 0);
		ck_assert_int_eq(sn.events, 1);
		ck_assert(sn.what & SOCK_ERROR);
		ck_assert_int_eq(sn.error, ECONNREFUSED);
	} else
		ck_assert_int_eq(errno, ECONNREFUSED);
	sock_free(sn.s);

	/* Now listening: connected, and queued output follows. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	memset(&sn, 0, sizeof sn);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sn.s = sock_new(base, fd);
	sock_setcb(sn.s, on_read, on_write, on_event, &sn);
	ck_assert_int_eq(sock_connect(sn.s, (struct sockaddr *)&sin,
	    sizeof sin, 1000), 0);
	evbuffer_add(sock_output(sn.s), "GET", 3);
	sock_push(sn.s);	/* not connected yet: it must wait */
	ck_assert_int_eq(sn.events, 0);
	RUN_UNTIL(base, evbuffer_get_length(sock_output(sn.s)) == 0);
	ck_assert_int_eq(sn.events, 1);
	ck_assert_int_eq(sn.what, SOCK_CONNECTED);
	ck_assert_uint_eq(evbuffer_get_length(sock_output(sn.s)), 0);
	sock_free(sn.s);
	close(lfd);
	event_base_free(base);
}
END_TEST

START_TEST(test_connect_eagain_fails_now)
{
	struct event_base	*base = event_base_new();
	struct seen		 sn = { 0 };
	struct sockaddr_un	 sun;
	int			 lfd, first, fd;

	/* A unix listener whose backlog is full answers EAGAIN: that is no
	 * connect under way, and must fail at once, not from the loop. */
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "/tmp/test_sock.%d",
	    (int)getpid());
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	first = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(connect(first, (struct sockaddr *)&sun, sizeof sun),
	    0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sn.s = sock_new(base, fd);
	sock_setcb(sn.s, on_read, on_write, on_event, &sn);
	ck_assert_int_eq(sock_connect(sn.s, (struct sockaddr *)&sun,
	    sizeof sun, 1000), -1);
	ck_assert_int_eq(errno, EAGAIN);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(sn.events, 0);
	sock_free(sn.s);
	close(first);
	close(lfd);
	unlink(sun.sun_path);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sock");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_reads_all_that_came_then_eof);
	tcase_add_test(tc, test_free_inside_event_callback);
	tcase_add_test(tc, test_push_writes_now_and_lowmark);
	tcase_add_test(tc, test_connect_refused_and_connected);
	tcase_add_test(tc, test_connect_eagain_fails_now);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
