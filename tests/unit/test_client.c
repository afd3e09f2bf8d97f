/*
 * test_client.c -- per-client accounting: connections per address (IPv4,
 * IPv6 by /64, v4-mapped as IPv4), new sessions in a sliding minute driven
 * by the fake clock, trusted proxies left alone, and a bounded table.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "client.h"
#include "clock.h"
#include "config.h"

/* A sockaddr for text. */
static struct sockaddr *
addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return ((struct sockaddr *)ss);
}

static void
teardown(void)
{
	client_free();
	clock_fake_off();
}

START_TEST(test_connections)
{
	struct sockaddr_storage	 ss;
	struct client		*cl[4], *other, *six;
	int			 i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(client_conn_open(addr("192.0.2.1", &ss), 3,
		    &cl[i]), 0);
	ck_assert_int_eq(client_conn_open(addr("192.0.2.1", &ss), 3, &cl[3]),
	    -1);
	/* The same address as v4-mapped IPv6 is the same client. */
	ck_assert_int_eq(client_conn_open(addr("::ffff:192.0.2.1", &ss), 3,
	    &cl[3]), -1);
	ck_assert_int_eq(client_conn_open(addr("192.0.2.2", &ss), 3, &other),
	    0);
	client_conn_close(cl[0]);
	ck_assert_int_eq(client_conn_open(addr("192.0.2.1", &ss), 3, &cl[0]),
	    0);
	/* An IPv6 /64 is one client; the next /64 another. */
	ck_assert_int_eq(client_conn_open(addr("2001:db8:1:2::1", &ss), 1,
	    &six), 0);
	ck_assert_int_eq(client_conn_open(addr("2001:db8:1:2:ffff::9", &ss), 1,
	    &cl[3]), -1);
	ck_assert_int_eq(client_conn_open(addr("2001:db8:1:3::1", &ss), 1,
	    &cl[3]), 0);
	/* 0 is no limit. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(client_conn_open(addr("192.0.2.2", &ss), 0,
		    &other), 0);
	/* A unix socket is not counted. */
	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(client_conn_open((struct sockaddr *)&ss, 1, &other),
	    0);
	ck_assert_ptr_null(other);
	client_conn_close(NULL);
}
END_TEST

START_TEST(test_new_sessions)
{
	struct cidr	trusted;
	int		i;

	ck_assert_int_eq(config_parse_cidr("127.0.0.1/32", &trusted), 0);
	clock_fake_set(1000 * 60000, 1764000000000);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(client_new_session("203.0.113.9", 10, &trusted,
		    1), 1);
	ck_assert_int_eq(client_new_session("203.0.113.9", 10, &trusted, 1),
	    0);
	/* Others, the trusted proxy, and no limit are not held back. */
	ck_assert_int_eq(client_new_session("203.0.113.10", 10, &trusted, 1),
	    1);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(client_new_session("127.0.0.1", 10, &trusted,
		    1), 1);
	ck_assert_int_eq(client_new_session("203.0.113.9", 0, &trusted, 1),
	    1);
	ck_assert_int_eq(client_new_session("not an address", 10, &trusted,
	    1), 1);
	/* A sliding minute: half a minute into the next, half of the last
	 * still counts (5 of 10), so 5 more may come. */
	clock_fake_advance(90000);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(client_new_session("203.0.113.9", 10,
		    &trusted, 1), 1);
	ck_assert_int_eq(client_new_session("203.0.113.9", 10, &trusted, 1),
	    0);
	/* Two minutes later all is forgotten. */
	clock_fake_advance(120000);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(client_new_session("203.0.113.9", 10,
		    &trusted, 1), 1);
}
END_TEST

START_TEST(test_bounded)
{
	struct sockaddr_storage	 ss;
	struct client		*held;
	char			 ip[64];
	int			 i;

	/* One address with a connection open must never be forgotten. */
	ck_assert_int_eq(client_conn_open(addr("198.51.100.1", &ss), 1, &held),
	    0);
	for (i = 0; i < 200000; i++) {
		snprintf(ip, sizeof ip, "2001:db8:%x:%x::1", i >> 16,
		    i & 0xffff);
		client_new_session(ip, 1000, NULL, 0);
	}
	ck_assert_uint_le(client_count(), 131072);
	ck_assert_int_eq(client_conn_open(addr("198.51.100.1", &ss), 1, &held),
	    -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("client");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_connections);
	tcase_add_test(tc, test_new_sessions);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
