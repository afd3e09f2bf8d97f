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

START_TEST(test_json)
{
	static const char	*bad[] = {
		"",
		"{",
		"[\"session_hash\", \"a\"]",
		"{\"session_hash\": 7}",
		"{\"session_hash\": \"../x\"}",
		"{\"session_hash\": \"a b\"}",
		"{\"session_hash\": \"\"}",
		"{\"data\": {\"session_hash\": \"nested\"}}",
		"{\"session_hash\": \"a\\u0000b\"}",
		"{\"session_hash\": \"a\"} trailing",
		"{\"session_hash\": NaN}",
		NULL
	};
	const char	*ok = "{\"data\": [1, \"x\"], \"fn_index\": 0, "
	    "\"session_hash\": \"r2zku0ah3ur\", \"event_data\": null}";
	const char	*dup = "{\"session_hash\": \"first\", "
	    "\"session_hash\": \"last\"}";
	size_t		 i;

	ck_assert_int_eq(sessionkey_from_json(ok, strlen(ok), "session_hash",
	    out), 1);
	ck_assert_str_eq(out, "r2zku0ah3ur");
	/* The length is the bound, not a NUL. */
	ck_assert_int_eq(sessionkey_from_json(ok, 10, "session_hash", out), 0);
	/* As Python's json, which Gradio reads it with: the last one. */
	ck_assert_int_eq(sessionkey_from_json(dup, strlen(dup), "session_hash",
	    out), 1);
	ck_assert_str_eq(out, "last");
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(sessionkey_from_json(bad[i], strlen(bad[i]),
		    "session_hash", out) == 0, "%s", bad[i]);
}
END_TEST

START_TEST(test_find_body)
{
	struct policy	 po;
	struct key_rule	 rules[2];
	char		*cause = NULL;
	const char	*json[] = { "Content-Type", "application/json", NULL };
	const char	*json2[] = { "Content-Type",
	    "Application/JSON; charset=utf-8", NULL };
	const char	*form[] = { "Content-Type", "application/jsonx", NULL };
	const char	*none[] = { NULL };
	const char	*body = "{\"session_hash\": \"h1\"}";

	memset(&po, 0, sizeof po);
	memset(rules, 0, sizeof rules);
	rules[0].kr_source = KEY_QUERY;
	rules[0].kr_name = "session_hash";
	rules[1].kr_source = KEY_JSON;
	rules[1].kr_name = "session_hash";
	rules[1].kr_path = "/queue/join$";
	rules[1].kr_re = rx_compile(rules[1].kr_path, "test", 0, &cause);
	ck_assert_ptr_nonnull(rules[1].kr_re);
	po.po_sessions.keys = rules;
	po.po_sessions.nkeys = 2;

	/* Unread: a matching request asks for its body... */
	ck_assert_int_eq(sessionkey_find_body(&po, "/gradio_api/queue/join",
	    headers, json, SESSIONKEY_BODY_UNREAD, NULL, 0, out),
	    SESSIONKEY_NEED_BODY);
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/join?x=1",
	    headers, json2, SESSIONKEY_BODY_UNREAD, NULL, 0, out),
	    SESSIONKEY_NEED_BODY);
	/* ...but not when a source before it has the key. */
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/join?session_hash="
	    "q", headers, json, SESSIONKEY_BODY_UNREAD, NULL, 0, out), 1);
	ck_assert_str_eq(out, "q");
	/* Other paths, other types, no type: never. */
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/data", headers,
	    json, SESSIONKEY_BODY_UNREAD, NULL, 0, out), 0);
	ck_assert_int_eq(sessionkey_find_body(&po, "/x?p=/queue/join",
	    headers, json, SESSIONKEY_BODY_UNREAD, NULL, 0, out), 0);
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/join", headers,
	    form, SESSIONKEY_BODY_UNREAD, NULL, 0, out), 0);
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/join", headers,
	    none, SESSIONKEY_BODY_UNREAD, NULL, 0, out), 0);
	/* Read: the field. */
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/join", headers,
	    json, SESSIONKEY_BODY_READ, body, strlen(body), out), 1);
	ck_assert_str_eq(out, "h1");
	/* None (too large, chunked): no key from it; sessionkey_find too. */
	ck_assert_int_eq(sessionkey_find_body(&po, "/queue/join", headers,
	    json, SESSIONKEY_BODY_NONE, NULL, 0, out), 0);
	ck_assert_int_eq(sessionkey_find(&po, "/queue/join", headers, json,
	    out), 0);
	rx_free(rules[1].kr_re);
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
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_find_body);
	tcase_add_test(tc, test_generate);
	tcase_add_test(tc, test_set_cookie);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
