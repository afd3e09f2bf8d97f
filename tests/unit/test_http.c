/*
 * test_http.c -- request/response heads: parsing, the 400/431/505 rules,
 * chunked bodies (llhttp and chunked.c together) and their trailers, and
 * the header rewriting the relay does (hop-by-hop, X-Forwarded-*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "config.h"
#include "http.h"

/* The reason of the last parse_req() that failed. */
static const char	*last_why;

/*
 * Parse a whole request head (len bytes, or strlen); returns the status
 * (0 = fine) and the head.
 */
static int
parse_req_len(const char *text, size_t len, size_t maxhead,
    struct http_head **hdp, size_t *used)
{
	struct http_parse	 hp;
	ssize_t			 n;
	const char		*cause;

	last_why = NULL;
	http_parse_init(&hp, HTTP_REQUEST, maxhead);
	n = http_parse_head(&hp, text, len);
	*hdp = NULL;
	if (n < 0) {
		last_why = hp.hp_error;
		http_parse_clear(&hp);
		return (hp.hp_status);
	}
	if (used != NULL)
		*used = (size_t)n;
	if (hp.hp_state != HTTP_PARSE_BODY && hp.hp_state != HTTP_PARSE_DONE) {
		http_parse_clear(&hp);
		return (-1);	/* incomplete */
	}
	*hdp = http_parse_take(&hp);
	if (http_head_validate(*hdp, &cause) != 0) {
		last_why = cause;
		http_head_free(*hdp);
		*hdp = NULL;
		return (400);
	}
	http_parse_clear(&hp);
	return (0);
}

/* Parse a whole request head given as a string. */
static int
parse_req(const char *text, size_t maxhead, struct http_head **hdp,
    size_t *used)
{
	return (parse_req_len(text, strlen(text), maxhead, hdp, used));
}

/* The status a request head gets. */
static int
status_of(const char *text)
{
	struct http_head	*hd;
	int			 st;

	st = parse_req(text, 16384, &hd, NULL);
	http_head_free(hd);
	return (st);
}

/* Serialise a head into a string. */
static char *
head_text(struct http_head *hd)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;
	char		*s;

	http_head_write(hd, b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return (s);
}

START_TEST(test_parse_simple)
{
	struct http_head	*hd;
	size_t			 used;
	const char		*req = "GET /a/b?c=d HTTP/1.1\r\nHost: x\r\n"
	    "Accept:  text/html  \r\nX-Two: 1\r\nx-two: 2\r\n\r\nGET /next";

	ck_assert_int_eq(parse_req(req, 16384, &hd, &used), 0);
	ck_assert_uint_eq(used, strlen(req) - strlen("GET /next"));
	ck_assert_str_eq(http_head_method(hd), "GET");
	ck_assert_str_eq(hd->hd_target, "/a/b?c=d");
	ck_assert_str_eq(http_head_get(hd, "accept"), "text/html");
	ck_assert_str_eq(http_head_get(hd, "X-TWO"), "1");
	ck_assert_uint_eq(http_head_count(hd, "x-two"), 2);
	ck_assert_int_eq(hd->hd_keepalive, 1);
	ck_assert_int_eq(hd->hd_length, -1);
	http_head_free(hd);
}
END_TEST

START_TEST(test_parse_split)
{
	struct http_parse	 hp;
	const char		*req = "POST /up HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t			 off = 0, len = strlen(req);
	ssize_t			 n;
	struct http_head	*hd;

	/* One byte at a time: every byte lands in the right part. */
	http_parse_init(&hp, HTTP_REQUEST, 16384);
	while (hp.hp_state == HTTP_PARSE_HEAD) {
		n = http_parse_head(&hp, req + off, 1);
		ck_assert_int_ge(n, 0);
		off += n;
	}
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_BODY);
	ck_assert_int_eq(http_parse_has_body(&hp), 1);
	hd = http_parse_take(&hp);
	ck_assert_int_eq(hd->hd_length, 5);
	http_head_free(hd);
	n = http_parse_body(&hp, req + off, len - off);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	off += n;
	http_parse_next(&hp);
	n = http_parse_head(&hp, req + off, len - off);
	ck_assert_int_eq(n, (ssize_t)(len - off));
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	hd = http_parse_take(&hp);
	ck_assert_str_eq(hd->hd_target, "/");
	http_head_free(hd);
	http_parse_clear(&hp);
}
END_TEST

START_TEST(test_parse_chunked)
{
	struct http_parse	 hp;
	const char		*req = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
	const char		*body;
	ssize_t			 n;
	struct http_head	*hd;
	const char		*cause;

	http_parse_init(&hp, HTTP_REQUEST, 16384);
	n = http_parse_head(&hp, req, strlen(req));
	ck_assert_int_gt(n, 0);
	hd = http_parse_take(&hp);
	ck_assert_int_eq(hd->hd_chunked, 1);
	ck_assert_int_eq(http_head_validate(hd, &cause), 0);
	http_head_free(hd);
	body = req + n;
	n = http_parse_body(&hp, body, strlen(body));
	ck_assert_int_eq(n, (ssize_t)(strlen(body) - 4));
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	http_parse_clear(&hp);

	/* A bad chunk size is an error. */
	http_parse_init(&hp, HTTP_REQUEST, 16384);
	req = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\nhello\r\n";
	n = http_parse_head(&hp, req, strlen(req));
	ck_assert_int_gt(n, 0);
	http_head_free(http_parse_take(&hp));
	ck_assert_int_eq(http_parse_body(&hp, req + n, strlen(req + n)), -1);
	ck_assert_int_eq(hp.hp_status, 400);
	http_parse_clear(&hp);
}
END_TEST

START_TEST(test_bad_requests)
{
	/* Each of these is a 400. */
	static const char *bad[] = {
		"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 3\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		    "Content-Length: 4\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
		/* Even equal copies: llhttp refuses any second one. */
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
		    "Content-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\n"
		    "Transfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\001b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX A: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A\r\n\r\n",
		"GET /\001 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"BREW / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / FTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		/* Line ends: CRLF only, and no obsolete line folding. */
		"GET / HTTP/1.1\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\n",
		"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
		    " chunked\r\n\r\n",
		"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		/* Space before the colon; the request line. */
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
		/* The request target. */
		"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET abc HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a:80/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
		/* Host. */
		"GET / HTTP/1.1\r\nHost:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.0\r\nHost:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",
		/* Content-Length beyond 2^63-1, and beyond 2^64. */
		"POST / HTTP/1.1\r\nHost: h\r\n"
		    "Content-Length: 9223372036854775808\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\n"
		    "Content-Length: 18446744073709551616\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\n"
		    "Transfer-Encoding: chunked\t\r\n\r\n",
	};
	const char	 nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
	struct http_parse hp;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (status_of(bad[i]) != 400)
			ck_abort_msg("not a 400: %s", bad[i]);
	}
	/* A NUL in the head. */
	http_parse_init(&hp, HTTP_REQUEST, 16384);
	ck_assert_int_eq(http_parse_head(&hp, nul, sizeof nul - 1), -1);
	ck_assert_int_eq(hp.hp_status, 400);
	http_parse_clear(&hp);
}
END_TEST

START_TEST(test_good_requests)
{
	ck_assert_int_eq(status_of("GET / HTTP/1.0\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 3\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: Chunked\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("GET http://H.example:8080/x?y HTTP/1.1\r\n"
	    "Host: h.example:8080\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("GET https://h HTTP/1.1\r\nHost: h\r\n\r\n"),
	    0);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"),
	    0);
	ck_assert_int_eq(status_of("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 9223372036854775807\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: h\r\nX:\r\n\r\n"), 0);
	ck_assert_int_eq(status_of("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Utf8: caf\xc3\xa9\r\n\r\n"), 0);
}
END_TEST

START_TEST(test_header_limit)
{
	char		*big;
	size_t		 n = 20000;

	big = malloc(n + 100);
	strcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	memset(big + strlen(big), 'a', n);
	big[n + 32] = '\0';
	strcat(big, "\r\n\r\n");
	ck_assert_int_eq(status_of(big), 431);
	/* The limit counts the whole head, not one header. */
	struct http_head *hd;
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-A: 0123456789\r\nX-B: 0123456789\r\n\r\n", 40, &hd, NULL), 431);
	free(big);
	/* Exactly the limit passes; one byte more does not. */
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27,
	    &hd, NULL), 0);
	http_head_free(hd);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 26,
	    &hd, NULL), 431);
}
END_TEST

START_TEST(test_incomplete)
{
	struct http_head	*hd;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n", 16384,
	    &hd, NULL), -1);
}
END_TEST

START_TEST(test_upgrade)
{
	struct http_head	*hd;

	ck_assert_int_eq(parse_req("GET /ws HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	    16384, &hd, NULL), 0);
	ck_assert_int_eq(hd->hd_upgrade, 1);
	http_head_strip_hop(hd, 1);
	ck_assert_str_eq(http_head_get(hd, "Upgrade"), "websocket");
	ck_assert_str_eq(http_head_get(hd, "Connection"), "upgrade");
	ck_assert_uint_eq(http_head_count(hd, "Connection"), 1);
	http_head_free(hd);
}
END_TEST

START_TEST(test_strip_hop)
{
	struct http_head	*hd;
	char			*s;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: close, X-Secret\r\nConnection: x-other\r\n"
	    "X-Secret: 1\r\nX-Other: 2\r\nKeep-Alive: timeout=5\r\n"
	    "Proxy-Connection: keep-alive\r\nTE: trailers\r\n"
	    "Trailer: X-T\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\n",
	    16384, &hd, NULL), 0);
	ck_assert_int_eq(hd->hd_keepalive, 0);
	http_head_strip_hop(hd, 0);
	s = head_text(hd);
	ck_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: h\r\nX-Kept: yes\r\n\r\n");
	free(s);
	http_head_free(hd);
}
END_TEST

/* Connection may not name the framing: the body would become a request. */
START_TEST(test_strip_hop_keeps_framing)
{
	struct http_head	*hd;
	char			*s;

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: Content-Length, Host, X-A\r\nX-A: 1\r\n"
	    "Content-Length: 5\r\n\r\n", 16384, &hd, NULL), 0);
	http_head_strip_hop(hd, 0);
	s = head_text(hd);
	ck_assert_str_eq(s, "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\n\r\n");
	free(s);
	http_head_free(hd);

	ck_assert_int_eq(parse_req("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive, Transfer-Encoding\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 16384, &hd, NULL), 0);
	http_head_strip_hop(hd, 0);
	s = head_text(hd);
	ck_assert_str_eq(s, "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n");
	free(s);
	http_head_free(hd);
}
END_TEST

/* Removing a header also removes its '_' spelling (WSGI merges them). */
START_TEST(test_remove_underscore_spelling)
{
	struct http_head	*hd;
	char			*s;

	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X_Janitor_Session: spoof\r\nx-janitor-session: spoof2\r\n"
	    "X-Janitor-Sessions: other\r\n\r\n", 16384, &hd, NULL), 0);
	http_head_remove(hd, "X-Janitor-Session");
	s = head_text(hd);
	ck_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Janitor-Sessions: other\r\n\r\n");
	free(s);
	http_head_free(hd);
}
END_TEST

/* Build a trusted list from text. */
static struct cidr *
nets(const char *a, const char *b, size_t *n)
{
	static struct cidr	c[2];

	*n = 0;
	if (a != NULL)
		ck_assert_int_eq(config_parse_cidr(a, &c[(*n)++]), 0);
	if (b != NULL)
		ck_assert_int_eq(config_parse_cidr(b, &c[(*n)++]), 0);
	return (c);
}

START_TEST(test_forwarded_untrusted)
{
	struct http_head	*hd;
	struct http_client	 hc;
	struct cidr		*c;
	size_t			 n;

	c = nets("127.0.0.1/32", "::1/128", &n);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: app.example\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: evil\r\n\r\n", 16384, &hd, NULL), 0);
	http_head_forwarded(hd, "198.51.100.4", c, n, &hc);
	ck_assert_str_eq(hc.hc_ip, "198.51.100.4");
	ck_assert_int_eq(hc.hc_https, 0);
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-For"), "198.51.100.4");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-Proto"), "http");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-Host"), "app.example");
	ck_assert_uint_eq(http_head_count(hd, "X-Forwarded-For"), 1);
	ck_assert_str_eq(http_head_get(hd, "Host"), "app.example");
	http_head_free(hd);
}
END_TEST

START_TEST(test_forwarded_trusted)
{
	struct http_head	*hd;
	struct http_client	 hc;
	struct cidr		*c;
	size_t			 n;

	c = nets("127.0.0.1/32", "10.0.0.0/8", &n);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: internal:8080\r\n"
	    "X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n"
	    "X-Forwarded-For: 10.1.2.3\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: app.example\r\n\r\n", 16384, &hd, NULL), 0);
	http_head_forwarded(hd, "127.0.0.1", c, n, &hc);
	/* The rightmost untrusted entry, not the spoofable leftmost one. */
	ck_assert_str_eq(hc.hc_ip, "203.0.113.7");
	ck_assert_int_eq(hc.hc_https, 1);
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-For"),
	    "6.6.6.6, 203.0.113.7, 10.1.2.3, 127.0.0.1");
	ck_assert_uint_eq(http_head_count(hd, "X-Forwarded-For"), 1);
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-Proto"), "https");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-Host"), "app.example");
	ck_assert_str_eq(http_head_get(hd, "Host"), "internal:8080");
	http_head_free(hd);

	/* Trusted but no headers: the peer is the client. */
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 16384,
	    &hd, NULL), 0);
	http_head_forwarded(hd, "127.0.0.1", c, n, &hc);
	ck_assert_str_eq(hc.hc_ip, "127.0.0.1");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-For"), "127.0.0.1");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-Proto"), "http");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-Host"), "h");
	http_head_free(hd);

	/* IPv6 peer. */
	c = nets("::1/128", NULL, &n);
	ck_assert_int_eq(parse_req("GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Forwarded-For: 2001:db8::1\r\n\r\n", 16384, &hd, NULL), 0);
	http_head_forwarded(hd, "::1", c, n, &hc);
	ck_assert_str_eq(hc.hc_ip, "2001:db8::1");
	ck_assert_str_eq(http_head_get(hd, "X-Forwarded-For"),
	    "2001:db8::1, ::1");
	http_head_free(hd);
}
END_TEST

START_TEST(test_edit_and_write)
{
	struct http_head	*hd;
	char			*s;

	hd = http_head_new(0);
	hd->hd_status = 200;
	http_head_add(hd, "Content-Type", "text/plain");
	http_head_add(hd, "Set-Cookie", "a=1");
	http_head_add(hd, "Set-Cookie", "b=2");
	http_head_set(hd, "content-type", "text/html");
	s = head_text(hd);
	ck_assert_str_eq(s, "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\n"
	    "Set-Cookie: b=2\r\ncontent-type: text/html\r\n\r\n");
	free(s);
	http_head_remove(hd, "SET-COOKIE");
	ck_assert_uint_eq(hd->hd_nhdrs, 1);
	ck_assert_int_eq(http_head_has_token(hd, "Content-Type", "text/html"),
	    1);
	http_head_free(hd);
}
END_TEST

START_TEST(test_response)
{
	struct http_parse	 hp;
	const char		*r = "HTTP/1.1 204 No Content\r\n"
	    "Content-Length: 10\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
	    "data: 1\n\n";
	ssize_t			 n;
	struct http_head	*hd;

	http_parse_init(&hp, HTTP_RESPONSE, 65536);
	n = http_parse_head(&hp, r, strlen(r));
	ck_assert_int_gt(n, 0);
	/* 204 has no body whatever Content-Length says. */
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	hd = http_parse_take(&hp);
	ck_assert_int_eq(hd->hd_status, 204);
	http_head_free(hd);
	http_parse_next(&hp);
	r += n;
	n = http_parse_head(&hp, r, strlen(r));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_BODY);
	ck_assert_int_eq(http_parse_until_eof(&hp), 1);
	http_head_free(http_parse_take(&hp));
	r += n;
	ck_assert_int_eq(http_parse_body(&hp, r, strlen(r)), (ssize_t)strlen(r));
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_BODY);
	http_parse_eof(&hp);
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	http_parse_clear(&hp);

	/* A response to HEAD has no body either. */
	http_parse_init(&hp, HTTP_RESPONSE, 65536);
	hp.hp_skipbody = 1;
	r = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
	ck_assert_int_eq(http_parse_head(&hp, r, strlen(r)), (ssize_t)strlen(r));
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	http_parse_clear(&hp);

	/* 100 Continue, then the final response. */
	http_parse_init(&hp, HTTP_RESPONSE, 65536);
	r = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
	    "Content-Length: 2\r\n\r\nok";
	n = http_parse_head(&hp, r, strlen(r));
	ck_assert_int_eq(n, 25);
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	http_parse_next(&hp);
	r += n;
	n = http_parse_head(&hp, r, strlen(r));
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_BODY);
	ck_assert_int_eq(http_parse_body(&hp, r + n, 2), 2);
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
	http_parse_clear(&hp);
}
END_TEST

START_TEST(test_error_write)
{
	struct evbuffer	*b = evbuffer_new();
	char		 s[256];
	size_t		 n;

	http_error_write(b, 502, "upstream unreachable");
	n = evbuffer_remove(b, s, sizeof s - 1);
	s[n] = '\0';
	ck_assert_ptr_nonnull(strstr(s, "HTTP/1.1 502 Bad Gateway\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "Content-Length: 21\r\n"));
	ck_assert_ptr_nonnull(strstr(s, "\r\n\r\nupstream unreachable\n"));
	evbuffer_free(b);
}
END_TEST

/* Versions other than 1.0 and 1.1: 505 when well formed, else 400. */
START_TEST(test_versions)
{
	static const char *v505[] = {
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
		"GET / HTTP/0.9\r\nHost: a\r\n\r\n",
		"GET / HTTP/3.0\r\nHost: a\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET /\r\n\r\n",	/* HTTP/0.9 */
	};
	static const char *v400[] = {
		"GET / HTTP/1.10\r\nHost: a\r\n\r\n",
		"GET / HTTP/11\r\nHost: a\r\n\r\n",
		"GET / http/1.1\r\nHost: a\r\n\r\n",
	};
	size_t	i;

	for (i = 0; i < sizeof v505 / sizeof v505[0]; i++) {
		if (status_of(v505[i]) != 505)
			ck_abort_msg("not a 505 (%d): %s", status_of(v505[i]),
			    v505[i]);
	}
	for (i = 0; i < sizeof v400 / sizeof v400[0]; i++) {
		if (status_of(v400[i]) != 400)
			ck_abort_msg("not a 400 (%d): %s", status_of(v400[i]),
			    v400[i]);
	}
}
END_TEST

/* Line ends are checked also when the head comes one byte at a time. */
START_TEST(test_line_ends_split)
{
	static const struct {
		const char	*head;
		const char	*why;
	} bad[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n b\r\n\r\n",
		    "obsolete line folding" },
		{ "GET / HTTP/1.1\nHost: a\r\n\r\n", "bare LF in the head" },
		{ "GET / HTTP/1.1\r\nHost: a\r\n\n", "bare LF in the head" },
	};
	struct http_parse	 hp;
	size_t			 i, off, len;
	ssize_t			 n = 0;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_parse_init(&hp, HTTP_REQUEST, 16384);
		len = strlen(bad[i].head);
		for (off = 0; off < len; off += (size_t)n) {
			n = http_parse_head(&hp, bad[i].head + off, 1);
			if (n < 0 || hp.hp_state != HTTP_PARSE_HEAD)
				break;
		}
		if (n != -1 || strcmp(hp.hp_error, bad[i].why) != 0)
			ck_abort_msg("%zu: %zd %s", i, n, hp.hp_error != NULL ?
			    hp.hp_error : "-");
		ck_assert_int_eq(hp.hp_status, 400);
		http_parse_clear(&hp);
	}
}
END_TEST

/* Parse a chunked request's head, then feed body in pieces of step. */
static ssize_t
chunked_req(const char *body, size_t len, size_t step, struct http_parse *hp,
    size_t *raw)
{
	static const char	 head[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	size_t			 off = 0, n;
	ssize_t			 r;

	http_parse_init(hp, HTTP_REQUEST, 256);
	ck_assert_int_eq(http_parse_head(hp, head, sizeof head - 1),
	    sizeof head - 1);
	ck_assert_int_eq(hp->hp_state, HTTP_PARSE_BODY);
	http_head_free(http_parse_take(hp));
	*raw = 0;
	while (off < len && hp->hp_state == HTTP_PARSE_BODY) {
		n = step == 0 || len - off < step ? len - off : step;
		r = http_parse_body(hp, body + off, n);
		if (r < 0)
			return (-1);
		if (*raw == off)
			*raw += hp->hp_raw;
		off += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return ((ssize_t)off);
}

/* The vectors and friends: 400, whole or byte by byte. */
START_TEST(test_chunked_framing)
{
	static const struct {
		const char	*body;
		const char	*why;
	} bad[] = {
		{ "5\r\nhelloXX0\r\n\r\n", NULL },
		{ "5\r\nhello\r\r0\r\n\r\n", NULL },
		{ "2\r\nxx\n410\r\n0123456789abcdef\r\n0\r\n\r\n", NULL },
		{ "5 \r\nhello\r\n0\r\n\r\n", NULL },
		{ "5\nhello\r\n0\r\n\r\n", NULL },
		{ "0\r\n\n", "bare LF in chunked framing" },
		{ "0\r\nX: 1\r\n y\r\n\r\n",
		    "obsolete line folding in the trailer section" },
		{ "0\r\nX: 1\n\r\n", "bare LF in chunked framing" },
		{ "5;a=\"b\\\"c\"\r\nhello\r\n0\r\n\r\n", NULL },
	};
	struct http_parse	 hp;
	size_t			 i, raw, step;
	ssize_t			 n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		for (step = 0; step < 2; step++) {
			n = chunked_req(bad[i].body, strlen(bad[i].body), step,
			    &hp, &raw);
			if (n != -1 || hp.hp_status != 400 ||
			    (bad[i].why != NULL &&
			    strcmp(hp.hp_error, bad[i].why) != 0))
				ck_abort_msg("%zu/%zu: %zd %d %s", i, step, n,
				    hp.hp_status, hp.hp_error != NULL ?
				    hp.hp_error : "-");
			http_parse_clear(&hp);
		}
	}
}
END_TEST

/* Trailers are parsed, filtered and written again; the rest goes raw. */
START_TEST(test_trailers)
{
	const char		*body = "5\r\nhello\r\n0;x=y\r\n"
	    "X-T: 1\r\nX-Forwarded-For: 6.6.6.6\r\nX_Janitor_Session: v\r\n"
	    "x-janitor-session: w\r\nContent-Length: 5\r\nHost: h\r\n"
	    "Connection: x\r\nTE: t\r\nForwarded: for=1.2.3.4\r\n"
	    "X-Real-IP: 1.2.3.4\r\nX-Ok: y \r\n\r\nGET";
	struct http_parse	 hp;
	struct evbuffer		*b;
	size_t			 raw, step, len = strlen(body) - 3;
	char			 out[256];
	int			 n;

	for (step = 0; step < 2; step++) {
		ck_assert_int_eq(chunked_req(body, strlen(body), step, &hp,
		    &raw), (ssize_t)len);
		ck_assert_int_eq(hp.hp_state, HTTP_PARSE_DONE);
		ck_assert_uint_eq(hp.hp_bodylen, 5);
		ck_assert_uint_eq(raw, strlen("5\r\nhello\r\n0;x=y\r\n"));
		b = evbuffer_new();
		http_parse_trailers(&hp, b, "X-Janitor-Session");
		n = evbuffer_remove(b, out, sizeof out - 1);
		out[n] = '\0';
		ck_assert_str_eq(out, "X-T: 1\r\nX-Ok: y\r\n\r\n");
		/* Only once. */
		http_parse_trailers(&hp, b, NULL);
		ck_assert_uint_eq(evbuffer_get_length(b), 0);
		evbuffer_free(b);
		http_parse_clear(&hp);
	}

	/* No trailer: just the empty line. */
	ck_assert_int_eq(chunked_req("0\r\n\r\n", 5, 0, &hp, &raw), 5);
	ck_assert_uint_eq(raw, 3);
	b = evbuffer_new();
	http_parse_trailers(&hp, b, NULL);
	ck_assert_uint_eq(evbuffer_get_length(b), 2);
	evbuffer_free(b);
	http_parse_clear(&hp);

	/* A trailer section over the head limit (256 here) is refused. */
	{
		char	big[600];

		snprintf(big, sizeof big, "0\r\nX-Big: %0400d\r\n\r\n", 0);
		ck_assert_int_eq(chunked_req(big, strlen(big), 0, &hp, &raw),
		    -1);
		ck_assert_str_eq(hp.hp_error, "trailer section too large");
		http_parse_clear(&hp);
	}
}
END_TEST

/* Untrusted peers lose the whole forwarding family; '_' spellings go always. */
START_TEST(test_forwarded_family)
{
	struct http_head	*hd;
	struct http_client	 hc;
	struct cidr		*c;
	size_t			 n;
	char			*s;
	const char		*req = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
	    "X-Forwarded-Port: 443\r\nX-Forwarded-Ssl: on\r\n"
	    "X_Forwarded_For: 6.6.6.6\r\nx_forwarded_proto: https\r\n"
	    "X-Forwarded_Host: evil\r\nX_Real_IP: 6.6.6.6\r\n"
	    "X-Forwarded-Portal: kept\r\n\r\n";

	c = nets("10.0.0.0/8", NULL, &n);
	ck_assert_int_eq(parse_req(req, 16384, &hd, NULL), 0);
	http_head_forwarded(hd, "192.0.2.1", c, n, &hc);
	s = head_text(hd);
	ck_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Forwarded-Portal: kept\r\nX-Forwarded-For: 192.0.2.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n");
	free(s);
	http_head_free(hd);

	ck_assert_int_eq(parse_req(req, 16384, &hd, NULL), 0);
	http_head_forwarded(hd, "10.0.0.1", c, n, &hc);
	s = head_text(hd);
	ck_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
	    "X-Forwarded-Port: 443\r\nX-Forwarded-Ssl: on\r\n"
	    "X-Forwarded-Portal: kept\r\nX-Forwarded-For: 10.0.0.1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n");
	free(s);
	http_head_free(hd);
}
END_TEST

/* A trusted X-Forwarded-For entry that is not an address stops the walk. */
START_TEST(test_forwarded_not_ip)
{
	static const struct {
		const char	*xff;
		const char	*ip;
		const char	*bad;
	} cases[] = {
		{ "203.0.113.7, bogus", "127.0.0.1", "bogus" },
		{ "bogus, 203.0.113.7", "203.0.113.7", "" },
		{ "203.0.113.9, unknown, 10.1.1.1", "10.1.1.1", "unknown" },
		{ "203.0.113.9, 1.2.3.4:80", "127.0.0.1", "1.2.3.4:80" },
		{ "_hidden", "127.0.0.1", "_hidden" },
		{ "203.0.113.9, , 10.1.1.1", "203.0.113.9", "" },
		{ "2001:db8::1", "2001:db8::1", "" },
	};
	struct http_head	*hd;
	struct http_client	 hc;
	struct cidr		*c;
	size_t			 n, i;
	char			 req[256];

	c = nets("127.0.0.1/32", "10.0.0.0/8", &n);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\n"
		    "X-Forwarded-For: %s\r\n\r\n", cases[i].xff);
		ck_assert_int_eq(parse_req(req, 16384, &hd, NULL), 0);
		http_head_forwarded(hd, "127.0.0.1", c, n, &hc);
		if (strcmp(hc.hc_ip, cases[i].ip) != 0 ||
		    strcmp(hc.hc_badxff, cases[i].bad) != 0)
			ck_abort_msg("%zu: ip %s bad %s", i, hc.hc_ip,
			    hc.hc_badxff);
		http_head_free(hd);
	}
}
END_TEST

/* Responses get the same checks; the app's reason phrase is kept. */
START_TEST(test_response_checks)
{
	static const char *bad[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 5\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: 1\r\n y\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		/* llhttp reads no chunked here, the value trimmed would. */
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n",
	};
	struct http_parse	 hp;
	struct http_head	*hd;
	const char		*cause, *r;
	char			*s;
	ssize_t			 n;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		http_parse_init(&hp, HTTP_RESPONSE, 65536);
		n = http_parse_head(&hp, bad[i], strlen(bad[i]));
		if (n >= 0) {
			hd = http_parse_take(&hp);
			ck_assert_ptr_nonnull(hd);
			if (http_head_validate(hd, &cause) == 0)
				ck_abort_msg("accepted: %s", bad[i]);
			http_head_free(hd);
		}
		http_parse_clear(&hp);
	}

	http_parse_init(&hp, HTTP_RESPONSE, 65536);
	r = "HTTP/1.1 299 Quite Fine\r\nContent-Length: 0\r\n\r\n";
	ck_assert_int_eq(http_parse_head(&hp, r, strlen(r)), (ssize_t)strlen(r));
	hd = http_parse_take(&hp);
	ck_assert_int_eq(http_head_validate(hd, &cause), 0);
	s = head_text(hd);
	ck_assert_str_eq(s, r);
	free(s);
	http_head_free(hd);
	http_parse_clear(&hp);

	/* A trailer field does not change how the body ends (fuzz_http). */
	http_parse_init(&hp, HTTP_RESPONSE, 65536);
	r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\nX: 1\r\nTransfer-Encoding: x\r\n";
	n = http_parse_head(&hp, r, strlen(r));
	ck_assert_int_gt(n, 0);
	http_head_free(http_parse_take(&hp));
	ck_assert_int_eq(http_parse_body(&hp, r + n, strlen(r + n)),
	    (ssize_t)strlen(r + n));
	ck_assert_int_eq(http_parse_until_eof(&hp), 0);
	http_parse_eof(&hp);
	ck_assert_int_eq(hp.hp_state, HTTP_PARSE_BODY);
	http_parse_clear(&hp);

	/* A bad chunk in a response body is an error too. */
	http_parse_init(&hp, HTTP_RESPONSE, 65536);
	r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhelloXX0\r\n\r\n";
	n = http_parse_head(&hp, r, strlen(r));
	ck_assert_int_gt(n, 0);
	http_head_free(http_parse_take(&hp));
	ck_assert_int_eq(http_parse_body(&hp, r + n, strlen(r + n)), -1);
	ck_assert_str_eq(hp.hp_error, "chunk data not followed by CRLF");
	http_parse_clear(&hp);
}
END_TEST

/* Body bytes reach hp_ondata without their framing. */
static void
collect(void *arg, const char *p, size_t len)
{
	strncat(arg, p, len);
}

START_TEST(test_ondata)
{
	struct http_parse	 hp;
	char			 got[64] = "";
	const char		*req = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n1;a=b\r\n,\r\n6\r\n world\r\n0\r\n\r\n";
	ssize_t			 n;

	http_parse_init(&hp, HTTP_REQUEST, 16384);
	hp.hp_ondata = collect;
	hp.hp_ondata_arg = got;
	n = http_parse_head(&hp, req, strlen(req));
	http_head_free(http_parse_take(&hp));
	ck_assert_int_eq(http_parse_body(&hp, req + n, strlen(req + n)),
	    (ssize_t)strlen(req + n));
	ck_assert_str_eq(got, "hello, world");
	http_parse_clear(&hp);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_parse_simple);
	tcase_add_test(tc, test_parse_split);
	tcase_add_test(tc, test_parse_chunked);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_good_requests);
	tcase_add_test(tc, test_header_limit);
	tcase_add_test(tc, test_incomplete);
	tcase_add_test(tc, test_upgrade);
	tcase_add_test(tc, test_strip_hop);
	tcase_add_test(tc, test_strip_hop_keeps_framing);
	tcase_add_test(tc, test_remove_underscore_spelling);
	tcase_add_test(tc, test_forwarded_untrusted);
	tcase_add_test(tc, test_forwarded_trusted);
	tcase_add_test(tc, test_edit_and_write);
	tcase_add_test(tc, test_response);
	tcase_add_test(tc, test_error_write);
	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_line_ends_split);
	tcase_add_test(tc, test_chunked_framing);
	tcase_add_test(tc, test_trailers);
	tcase_add_test(tc, test_forwarded_family);
	tcase_add_test(tc, test_forwarded_not_ip);
	tcase_add_test(tc, test_response_checks);
	tcase_add_test(tc, test_ondata);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
