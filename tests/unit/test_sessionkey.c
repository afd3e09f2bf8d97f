/*
 * test_sessionkey.c -- key sources, the acceptance rule against hostile
 * values, fresh keys and the Set-Cookie value.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <check.h>

#include "config.h"
#include "rx.h"
#include "sessionkey.h"

static char	out[SESSION_KEY_MAX + 1];

START_TEST(test_valid)
{
	char	long_key[200];

	ck_assert_int_eq(sessionkey_valid("abc_DEF-123", 11), 1);
	ck_assert_int_eq(sessionkey_valid("", 0), 0);
	ck_assert_int_eq(sessionkey_valid("../x", 4), 0);
	ck_assert_int_eq(sessionkey_valid("%2e%2e", 6), 0);
	ck_assert_int_eq(sessionkey_valid("a b", 3), 0);
	ck_assert_int_eq(sessionkey_valid("a/b", 3), 0);
	ck_assert_int_eq(sessionkey_valid("a.b", 3), 0);
	ck_assert_int_eq(sessionkey_valid("a\0b", 3), 0);
	ck_assert_int_eq(sessionkey_valid("\xc3\xa9", 2), 0);
	memset(long_key, 'k', sizeof long_key);
	ck_assert_int_eq(sessionkey_valid(long_key, 128), 1);
	ck_assert_int_eq(sessionkey_valid(long_key, 129), 0);
}
END_TEST

START_TEST(test_cookie)
{
	char	hdr[400];

	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid=abc", "janitor_sid",
	    out), 1);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(sessionkey_from_cookie("a=1; janitor_sid=K-1_x ; b=2",
	    "janitor_sid", out), 1);
	ck_assert_str_eq(out, "K-1_x");
	/* Names must match whole. */
	ck_assert_int_eq(sessionkey_from_cookie("xjanitor_sid=abc",
	    "janitor_sid", out), 0);
	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid_x=abc",
	    "janitor_sid", out), 0);
	/* Hostile values are no key. */
	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid=../x",
	    "janitor_sid", out), 0);
	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid=%2e%2e",
	    "janitor_sid", out), 0);
	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid=", "janitor_sid",
	    out), 0);
	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid=\"abc\"",
	    "janitor_sid", out), 0);
	ck_assert_int_eq(sessionkey_from_cookie(NULL, "janitor_sid", out), 0);
	ck_assert_int_eq(sessionkey_from_cookie("", "janitor_sid", out), 0);
	ck_assert_int_eq(sessionkey_from_cookie(";;;", "janitor_sid", out), 0);
	strcpy(hdr, "janitor_sid=");
	memset(hdr + 12, 'a', 129);
	hdr[12 + 129] = '\0';
	ck_assert_int_eq(sessionkey_from_cookie(hdr, "janitor_sid", out), 0);
	hdr[12 + 128] = '\0';
	ck_assert_int_eq(sessionkey_from_cookie(hdr, "janitor_sid", out), 1);
	ck_assert_int_eq(strlen(out), 128);
	/* A hostile first copy does not hide a good second one. */
	ck_assert_int_eq(sessionkey_from_cookie("janitor_sid=..; janitor_sid=ok",
	    "janitor_sid", out), 1);
	ck_assert_str_eq(out, "ok");
}
END_TEST

START_TEST(test_query)
{
	ck_assert_int_eq(sessionkey_from_query("/queue/join?session_hash=h1",
	    "session_hash", out), 1);
	ck_assert_str_eq(out, "h1");
	ck_assert_int_eq(sessionkey_from_query(
	    "/q?a=1&session_hash=h2&b=3#frag", "session_hash", out), 1);
	ck_assert_str_eq(out, "h2");
	ck_assert_int_eq(sessionkey_from_query("/q?session_hash=h3#x",
	    "session_hash", out), 1);
	ck_assert_str_eq(out, "h3");
	ck_assert_int_eq(sessionkey_from_query("/q?xsession_hash=h",
	    "session_hash", out), 0);
	ck_assert_int_eq(sessionkey_from_query("/q?session_hash=%2e%2e",
	    "session_hash", out), 0);
	ck_assert_int_eq(sessionkey_from_query("/q?session_hash=../x",
	    "session_hash", out), 0);
	ck_assert_int_eq(sessionkey_from_query("/q?session_hash=",
	    "session_hash", out), 0);
	ck_assert_int_eq(sessionkey_from_query("/q?session_hash",
	    "session_hash", out), 0);
	ck_assert_int_eq(sessionkey_from_query("/session_hash=x",
	    "session_hash", out), 0);
	ck_assert_int_eq(sessionkey_from_query("/q?&&", "session_hash", out),
	    0);
	ck_assert_int_eq(sessionkey_from_query("/q?", "session_hash", out), 0);
}
END_TEST

START_TEST(test_header)
{
	ck_assert_int_eq(sessionkey_from_header("  k1  ", out), 1);
	ck_assert_str_eq(out, "k1");
	ck_assert_int_eq(sessionkey_from_header("../x", out), 0);
	ck_assert_int_eq(sessionkey_from_header("", out), 0);
	ck_assert_int_eq(sessionkey_from_header(NULL, out), 0);
}
END_TEST

START_TEST(test_path)
{
	struct rx	*re;
	char		*cause;

	re = rx_compile("/heartbeat/([^/]+)$", "test", 0, &cause);
	ck_assert_ptr_nonnull(re);
	ck_assert_int_eq(sessionkey_from_path(
	    "/gradio_api/heartbeat/abc123", re, out), 1);
	ck_assert_str_eq(out, "abc123");
	ck_assert_int_eq(sessionkey_from_path(
	    "/root/path/heartbeat/h9?x=1", re, out), 1);
	ck_assert_str_eq(out, "h9");
	ck_assert_int_eq(sessionkey_from_path("/heartbeat/%2e%2e", re, out),
	    0);
	ck_assert_int_eq(sessionkey_from_path("/heartbeat/a.b", re, out), 0);
	ck_assert_int_eq(sessionkey_from_path("/heartbeat/", re, out), 0);
	ck_assert_int_eq(sessionkey_from_path("/other/x", re, out), 0);
	/* The query is not part of the path. */
	ck_assert_int_eq(sessionkey_from_path("/x?/heartbeat/abc", re, out),
	    0);
	rx_free(re);
}
END_TEST

static const char *
headers(void *arg, const char *name)
{
	const char	**h = arg;

	for (; h[0] != NULL; h += 2) {
		if (strcasecmp(h[0], name) == 0)
			return (h[1]);
	}
	return (NULL);
}

START_TEST(test_find_order)
{
	struct policy	 po;
	struct key_rule	 rules[4];
	char		*cause;
	const char	*h1[] = { "cookie", "janitor_sid=fromcookie",
	    "X-Key", "fromheader", NULL };
	const char	*h2[] = { "Cookie", "janitor_sid=../x", "X-Key",
	    "fromheader", NULL };
	const char	*h3[] = { "Cookie", "other=1", NULL };

	memset(&po, 0, sizeof po);
	memset(rules, 0, sizeof rules);
	rules[0].kr_source = KEY_COOKIE;
	rules[0].kr_name = "janitor_sid";
	rules[1].kr_source = KEY_HEADER;
	rules[1].kr_name = "X-Key";
	rules[2].kr_source = KEY_QUERY;
	rules[2].kr_name = "session_hash";
	rules[3].kr_source = KEY_PATH;
	rules[3].kr_name = "/heartbeat/([^/]+)$";
	rules[3].kr_re = rx_compile(rules[3].kr_name, "test", 0, &cause);
	ck_assert_ptr_nonnull(rules[3].kr_re);
	po.po_sessions.keys = rules;
	po.po_sessions.nkeys = 4;

	ck_assert_int_eq(sessionkey_find(&po, "/x?session_hash=q", headers,
	    h1, out), 1);
	ck_assert_str_eq(out, "fromcookie");
	ck_assert_int_eq(sessionkey_find(&po, "/x?session_hash=q", headers,
	    h2, out), 1);
	ck_assert_str_eq(out, "fromheader");
	ck_assert_int_eq(sessionkey_find(&po, "/x?session_hash=q", headers,
	    h3, out), 1);
	ck_assert_str_eq(out, "q");
	ck_assert_int_eq(sessionkey_find(&po, "/heartbeat/p", headers, h3,
	    out), 1);
	ck_assert_str_eq(out, "p");
	ck_assert_int_eq(sessionkey_find(&po, "/heartbeat/..", headers, h3,
	    out), 0);
	rx_free(rules[3].kr_re);
}
END_TEST

START_TEST(test_generate)
{
	char	a[SESSION_KEY_MAX + 1], b[SESSION_KEY_MAX + 1];

	sessionkey_generate(a);
	sessionkey_generate(b);
	ck_assert_int_eq(strlen(a), 22);	/* 128 bits in base64 */
	ck_assert_int_eq(sessionkey_valid(a, strlen(a)), 1);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_set_cookie)
{
	struct policy	po;
	char		buf[256];

	memset(&po, 0, sizeof po);
	po.po_sessions.cookie_name = "janitor_sid";
	po.po_sessions.cookie_secure = COOKIE_SECURE_AUTO;
	po.po_sessions.cookie_same_site = SAME_SITE_LAX;
	sessionkey_set_cookie(&po, "k", 0, buf, sizeof buf);
	ck_assert_str_eq(buf, "janitor_sid=k; Path=/; HttpOnly; SameSite=Lax");
	sessionkey_set_cookie(&po, "k", 1, buf, sizeof buf);
	ck_assert_str_eq(buf,
	    "janitor_sid=k; Path=/; HttpOnly; SameSite=Lax; Secure");
	po.po_sessions.cookie_secure = COOKIE_SECURE_NEVER;
	po.po_sessions.cookie_same_site = SAME_SITE_STRICT;
	sessionkey_set_cookie(&po, "k", 1, buf, sizeof buf);
	ck_assert_str_eq(buf, "janitor_sid=k; Path=/; HttpOnly; SameSite=Strict");
	po.po_sessions.cookie_secure = COOKIE_SECURE_ALWAYS;
	po.po_sessions.cookie_same_site = SAME_SITE_NONE;
	sessionkey_set_cookie(&po, "k", 0, buf, sizeof buf);
	ck_assert_str_eq(buf,
	    "janitor_sid=k; Path=/; HttpOnly; SameSite=None; Secure");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sessionkey");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_cookie);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_path);
	tcase_add_test(tc, test_find_order);
	tcase_add_test(tc, test_generate);
	tcase_add_test(tc, test_set_cookie);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
