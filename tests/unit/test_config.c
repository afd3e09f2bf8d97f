/*
 * test_config.c -- the policy loader: scalar parsers, defaults, the Gradio
 * preset and its merge with the file, each error class with its exact
 * line and column, secrets and tokens, and the docs kept in step with the
 * schema table.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "config_job.h"
#include "log.h"
#include "rx.h"

/* Load a policy from a string; fails the test on error. */
static struct policy *
load_ok(const char *text)
{
	struct config_error	 err;
	struct policy		*po;
	char			 buf[1024];

	po = config_load_buffer("t.yaml", text, strlen(text), &err);
	if (po == NULL) {
		config_error_format(&err, buf, sizeof buf);
		ck_abort_msg("load failed: %s\n--\n%s", buf, text);
	}
	return (po);
}

/* Load a policy that must fail; return the formatted error. */
static const char *
load_err(const char *text)
{
	static char		 buf[1024];
	struct config_error	 err;
	struct policy		*po;

	po = config_load_buffer("t.yaml", text, strlen(text), &err);
	if (po != NULL) {
		config_unref(po);
		ck_abort_msg("load succeeded:\n%s", text);
	}
	config_error_format(&err, buf, sizeof buf);
	return (buf);
}

START_TEST(test_duration)
{
	static const struct {
		const char	*text;
		msec_t		 ms;
	} good[] = {
		{ "0", 0 }, { "0s", 0 }, { "500ms", 500 }, { "30s", 30000 },
		{ "10m", 600000 }, { "1h", 3600000 }, { "1d", 86400000 },
		{ "75s", 75000 }, { "3650d", 3650LL * 86400000 },
	};
	static const char *bad[] = {
		"", "soon", "10", "1.5h", "-1s", "+1s", " 1s", "1s ", "1 s",
		"1S", "1hh", "1h30m", "s", "ms", "99999999999999999999s",
		"9223372036854775807d", "1w", "0x10s",
	};
	msec_t	ms;
	size_t	i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_msg(config_parse_duration(good[i].text, &ms) == 0,
		    "%s", good[i].text);
		ck_assert_int_eq(ms, good[i].ms);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(config_parse_duration(bad[i], &ms) == -1, "'%s'",
		    bad[i]);
}
END_TEST

START_TEST(test_duration_format)
{
	static const struct {
		msec_t		 ms;
		const char	*text;
	} cases[] = {
		{ 0, "0" }, { 500, "500ms" }, { 1500, "1500ms" },
		{ 30000, "30s" }, { 90000, "90s" }, { 600000, "10m" },
		{ 3600000, "1h" }, { 86400000, "1d" }, { 5400000, "90m" },
	};
	char	buf[32];
	msec_t	back;
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		config_format_duration(cases[i].ms, buf, sizeof buf);
		ck_assert_str_eq(buf, cases[i].text);
		ck_assert_int_eq(config_parse_duration(buf, &back), 0);
		ck_assert_int_eq(back, cases[i].ms);
	}
}
END_TEST

START_TEST(test_size)
{
	static const struct {
		const char	*text;
		uint64_t	 n;
	} good[] = {
		{ "0", 0 }, { "512", 512 }, { "16k", 16384 }, { "16K", 16384 },
		{ "10M", 10485760 }, { "2G", 2147483648ULL },
		{ "1T", 1099511627776ULL },
	};
	static const char *bad[] = {
		"", "k", "16kb", "16 k", "-1", "1.5M", "1P", "18446744073709551616",
		"17179869184G", " 1", "0x10",
	};
	uint64_t	n;
	char		buf[32];
	size_t		i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ck_assert_msg(config_parse_size(good[i].text, &n) == 0, "%s",
		    good[i].text);
		ck_assert_uint_eq(n, good[i].n);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(config_parse_size(bad[i], &n) == -1, "'%s'",
		    bad[i]);
	config_format_size(16384, buf, sizeof buf);
	ck_assert_str_eq(buf, "16k");
	config_format_size(1000, buf, sizeof buf);
	ck_assert_str_eq(buf, "1000");
	config_format_size(3ULL << 30, buf, sizeof buf);
	ck_assert_str_eq(buf, "3G");
}
END_TEST

START_TEST(test_addr)
{
	struct addr		 ad;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	char			*cause = NULL, a[64];
	size_t			 i;
	static const char	*bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:http", ":8080", "::1:8080", "[::1]", "[::1]8080",
		"[127.0.0.1]:80", "example.com:80", "unix:", "unix:rel/x",
		"256.0.0.1:80", "127.0.0.1:80x", "[::1]:-1",
	};

	ck_assert_int_eq(config_parse_addr("127.0.0.1:8080", &ad, &cause), 0);
	ck_assert_int_eq(ad.ad_family, AF_INET);
	sin = (struct sockaddr_in *)&ad.ad_ss;
	ck_assert_int_eq(ntohs(sin->sin_port), 8080);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a),
	    "127.0.0.1");
	ck_assert_int_eq(ad.ad_len, sizeof *sin);
	ck_assert_str_eq(ad.ad_text, "127.0.0.1:8080");
	ck_assert(config_addr_is_local(&ad));

	ck_assert_int_eq(config_parse_addr("localhost:7860", &ad, &cause), 0);
	ck_assert_int_eq(ad.ad_family, AF_INET);
	ck_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a),
	    "127.0.0.1");
	ck_assert_str_eq(ad.ad_text, "localhost:7860");

	ck_assert_int_eq(config_parse_addr("[::1]:9090", &ad, &cause), 0);
	ck_assert_int_eq(ad.ad_family, AF_INET6);
	sin6 = (struct sockaddr_in6 *)&ad.ad_ss;
	ck_assert_int_eq(ntohs(sin6->sin6_port), 9090);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert(config_addr_is_local(&ad));

	ck_assert_int_eq(config_parse_addr("[::]:80", &ad, &cause), 0);
	ck_assert(!config_addr_is_local(&ad));
	ck_assert_int_eq(config_parse_addr("0.0.0.0:80", &ad, &cause), 0);
	ck_assert(!config_addr_is_local(&ad));
	ck_assert_int_eq(config_parse_addr("10.1.2.3:80", &ad, &cause), 0);
	ck_assert(!config_addr_is_local(&ad));
	ck_assert_int_eq(config_parse_addr("127.9.9.9:80", &ad, &cause), 0);
	ck_assert(config_addr_is_local(&ad));

	ck_assert_int_eq(config_parse_addr("unix:/run/app.sock", &ad, &cause),
	    0);
	ck_assert_int_eq(ad.ad_family, AF_UNIX);
	ck_assert(config_addr_is_local(&ad));

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(config_parse_addr(bad[i], &ad, &cause) == -1,
		    "'%s'", bad[i]);
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strstr(cause, bad[i]) != NULL, "%s", cause);
		free(cause);
	}
	/* A unix path longer than sun_path. */
	memset(a, 'x', sizeof a);
	{
		char	long_path[200];

		snprintf(long_path, sizeof long_path, "unix:/%0120d", 0);
		ck_assert_int_eq(config_parse_addr(long_path, &ad, &cause), -1);
		free(cause);
	}
}
END_TEST

START_TEST(test_addr_equal)
{
	struct addr	a, b;
	char		*cause;

	ck_assert_int_eq(config_parse_addr("localhost:80", &a, &cause), 0);
	ck_assert_int_eq(config_parse_addr("127.0.0.1:80", &b, &cause), 0);
	ck_assert(config_addr_equal(&a, &b));
	ck_assert_int_eq(config_parse_addr("127.0.0.1:81", &b, &cause), 0);
	ck_assert(!config_addr_equal(&a, &b));
	ck_assert_int_eq(config_parse_addr("unix:/a", &a, &cause), 0);
	ck_assert_int_eq(config_parse_addr("unix:/a", &b, &cause), 0);
	ck_assert(config_addr_equal(&a, &b));
	ck_assert_int_eq(config_parse_addr("[::1]:80", &b, &cause), 0);
	ck_assert(!config_addr_equal(&a, &b));
}
END_TEST

/* Build a sockaddr for a textual address. */
static struct sockaddr *
sa_of(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		ck_abort_msg("bad test address %s", text);
	return ((struct sockaddr *)ss);
}

START_TEST(test_cidr)
{
	struct sockaddr_storage	 ss;
	struct cidr		 ci[4];
	char			 buf[64];
	static const char	*bad[] = {
		"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
		"10.0.0/8", "/8", "10.0.0.0/08", "example.com", "10.0.0.0/-1",
		"10.0.0.0/8/8",
	};
	size_t			 i;

	ck_assert_int_eq(config_parse_cidr("10.0.0.0/8", &ci[0]), 0);
	ck_assert_int_eq(ci[0].ci_family, AF_INET);
	ck_assert_int_eq(ci[0].ci_bits, 8);
	ck_assert_int_eq(config_parse_cidr("192.168.1.7", &ci[1]), 0);
	ck_assert_int_eq(ci[1].ci_bits, 32);
	ck_assert_int_eq(config_parse_cidr("fd00::/8", &ci[2]), 0);
	ck_assert_int_eq(ci[2].ci_family, AF_INET6);
	ck_assert_int_eq(config_parse_cidr("::1", &ci[3]), 0);
	ck_assert_int_eq(ci[3].ci_bits, 128);

	/* Host bits are cleared. */
	ck_assert_int_eq(config_parse_cidr("172.16.5.4/12", &ci[0]), 0);
	config_format_cidr(&ci[0], buf, sizeof buf);
	ck_assert_str_eq(buf, "172.16.0.0/12");
	ck_assert(config_cidr_match(ci, 1, sa_of("172.31.255.255", &ss)));
	ck_assert(!config_cidr_match(ci, 1, sa_of("172.32.0.0", &ss)));
	ck_assert(!config_cidr_match(ci, 1, sa_of("172.15.255.255", &ss)));

	ck_assert_int_eq(config_parse_cidr("10.0.0.0/8", &ci[0]), 0);
	ck_assert(config_cidr_match(ci, 4, sa_of("10.255.0.1", &ss)));
	ck_assert(!config_cidr_match(ci, 4, sa_of("11.0.0.1", &ss)));
	ck_assert(config_cidr_match(ci, 4, sa_of("192.168.1.7", &ss)));
	ck_assert(!config_cidr_match(ci, 4, sa_of("192.168.1.8", &ss)));
	ck_assert(config_cidr_match(ci, 4, sa_of("fd12::5", &ss)));
	ck_assert(!config_cidr_match(ci, 4, sa_of("fe80::1", &ss)));
	ck_assert(config_cidr_match(ci, 4, sa_of("::1", &ss)));
	/* A v4 client on a dual-stack socket arrives as ::ffff:a.b.c.d. */
	ck_assert(config_cidr_match(ci, 4, sa_of("::ffff:10.1.1.1", &ss)));
	ck_assert(!config_cidr_match(ci, 4, sa_of("::ffff:11.1.1.1", &ss)));
	ck_assert(!config_cidr_match(ci, 0, sa_of("10.1.1.1", &ss)));
	ck_assert(!config_cidr_match(ci, 4, NULL));

	/* /0 matches everything of its family. */
	ck_assert_int_eq(config_parse_cidr("0.0.0.0/0", &ci[0]), 0);
	ck_assert(config_cidr_match(ci, 1, sa_of("203.0.113.9", &ss)));
	ck_assert(!config_cidr_match(ci, 1, sa_of("2001:db8::1", &ss)));
	ck_assert_int_eq(config_parse_cidr("2001:db8::/33", &ci[0]), 0);
	ck_assert(config_cidr_match(ci, 1, sa_of("2001:db8:7fff::1", &ss)));
	ck_assert(!config_cidr_match(ci, 1, sa_of("2001:db8:8000::1", &ss)));

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(config_parse_cidr(bad[i], &ci[0]) == -1, "'%s'",
		    bad[i]);
}
END_TEST

START_TEST(test_template)
{
	static const char *good[] = {
		"/srv/app/{session}", "/srv/{session}/files",
		"/a/{session}/b/{session}", "/srv/app/sessions/{session}",
		"/x/.hidden/{session}", "/x/..y/{session}",
	};
	static const struct {
		const char	*text;
		const char	*why;
	} bad[] = {
		{ "srv/{session}", "not an absolute path" },
		{ "/{session}", "first component" },
		{ "/{session}/x", "first component" },
		{ "/srv/app", "does not contain {session}" },
		{ "/srv/../{session}", "'..' component" },
		{ "/srv/./{session}", "'.' component" },
		{ "/srv//{session}", "empty path component" },
		{ "/srv/{session}/", "empty path component" },
		{ "/srv/u-{session}", "whole path component" },
		{ "/srv/{session}.d", "whole path component" },
		{ "/srv/{sess}", "whole path component" },
		{ "/srv/{app}/{session}", "whole path component" },
		{ "/srv/}/{session}", "whole path component" },
		{ "/", "not allowed" },
		{ "", "not an absolute path" },
	};
	char	*cause;
	size_t	 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		cause = NULL;
		ck_assert_msg(config_parse_template(good[i], &cause) == 0,
		    "%s: %s", good[i], cause);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(config_parse_template(bad[i].text, &cause) == -1,
		    "'%s'", bad[i].text);
		ck_assert_msg(strstr(cause, bad[i].why) != NULL, "%s: %s",
		    bad[i].text, cause);
		free(cause);
	}
	/* Plain paths follow the same component rules, without {session}. */
	ck_assert_int_eq(config_parse_path("/var/lib/janitor", &cause), 0);
	ck_assert_int_eq(config_parse_path("/var/../etc", &cause), -1);
	free(cause);
	ck_assert_int_eq(config_parse_path("var", &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_glob)
{
	static const char *good[] = {
		"*.lock", "[!.]*", "[]]x", "[!]]x", "a\\*b", "?x", "[[:alpha:]]*",
		"file[0-9].txt", "*",
	};
	static const char *bad[] = {
		"", "[abc", "x\\", "[!", "[[:alpha:]", "a[",
	};
	char	*cause;
	size_t	 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		cause = NULL;
		ck_assert_msg(config_parse_glob(good[i], &cause) == 0, "%s: %s",
		    good[i], cause);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(config_parse_glob(bad[i], &cause) == -1, "'%s'",
		    bad[i]);
		free(cause);
	}
	/* What passes the check behaves as fnmatch(3) says. */
	ck_assert_int_eq(fnmatch("[!.]*", "x.lock", 0), 0);
	ck_assert_int_ne(fnmatch("[!.]*", ".x", 0), 0);
}
END_TEST

START_TEST(test_defaults)
{
	struct policy	*po, *empty;
	char		 a[64];

	po = load_ok("upstream: 127.0.0.1:7860\n");
	ck_assert_str_eq(po->po_file, "t.yaml");
	ck_assert_ptr_null(po->po_preset);
	ck_assert_int_eq(po->po_nlisten, 1);
	ck_assert_str_eq(po->po_listen[0].ad_text, "127.0.0.1:8080");
	ck_assert_str_eq(po->po_upstream.ad_text, "127.0.0.1:7860");
	ck_assert_int_eq(po->po_ntrusted, 2);
	config_format_cidr(&po->po_trusted[0], a, sizeof a);
	ck_assert_str_eq(a, "127.0.0.1/32");
	config_format_cidr(&po->po_trusted[1], a, sizeof a);
	ck_assert_str_eq(a, "::1/128");
	ck_assert_str_eq(po->po_state_dir, "/var/lib/janitor");

	ck_assert_int_eq(po->po_limits.max_connections, 10000);
	ck_assert_int_eq(po->po_limits.header_timeout, 10000);
	ck_assert_int_eq(po->po_limits.keepalive_timeout, 75000);
	ck_assert_uint_eq(po->po_limits.max_header_size, 16384);
	ck_assert_uint_eq(po->po_limits.max_body_size, 0);
	ck_assert_int_eq(po->po_limits.upstream_connect_timeout, 5000);
	ck_assert_int_eq(po->po_limits.upstream_timeout, 60000);
	ck_assert_int_eq(po->po_limits.tunnel_timeout, 3600000);
	ck_assert_int_eq(po->po_limits.shutdown_timeout, 10000);

	ck_assert_str_eq(po->po_sessions.cookie_name, "janitor_sid");
	ck_assert(po->po_sessions.cookie_issue);
	ck_assert_int_eq(po->po_sessions.cookie_secure, COOKIE_SECURE_AUTO);
	ck_assert_int_eq(po->po_sessions.cookie_same_site, SAME_SITE_LAX);
	ck_assert_int_eq(po->po_sessions.nkeys, 1);
	ck_assert_int_eq(po->po_sessions.keys[0].kr_source, KEY_COOKIE);
	ck_assert_str_eq(po->po_sessions.keys[0].kr_name, "janitor_sid");
	ck_assert_str_eq(po->po_sessions.forward_header, "X-Janitor-Session");
	ck_assert_int_eq(po->po_sessions.capacity, 10000);
	ck_assert_int_eq(po->po_sessions.nlive, 2);
	ck_assert_int_eq(po->po_sessions.live[0].lr_kind, LIVE_WEBSOCKET);
	ck_assert_int_eq(po->po_sessions.live[1].lr_kind, LIVE_SSE);
	ck_assert_int_eq(po->po_sessions.keepalive_idle, 30000);
	ck_assert_int_eq(po->po_sessions.keepalive_interval, 10000);
	ck_assert_int_eq(po->po_sessions.keepalive_count, 3);
	ck_assert_int_eq(po->po_sessions.websocket_ping, 0);

	ck_assert_int_eq(po->po_unload_grace, 0);
	ck_assert_ptr_null(po->po_unload.ac_webhook);
	ck_assert_int_eq(po->po_unload.ac_nremove, 0);
	ck_assert_int_eq(po->po_expire_after_disconnect, 3600000);
	ck_assert_int_eq(po->po_expire_ttl, 0);
	ck_assert_ptr_null(po->po_expire.ac_webhook);
	ck_assert_int_eq(po->po_expire.ac_nremove, 0);

	ck_assert_ptr_null(po->po_webhooks.secret_file);
	ck_assert_ptr_null(po->po_webhooks.secret);
	ck_assert_int_eq(po->po_webhooks.timeout, 5000);
	ck_assert_int_eq(po->po_webhooks.max_attempts, 12);
	ck_assert_int_eq(po->po_webhooks.backoff_initial, 1000);
	ck_assert_int_eq(po->po_webhooks.backoff_max, 600000);

	ck_assert_int_eq(po->po_ncache, 0);
	ck_assert_str_eq(po->po_admin.listen.ad_text, "127.0.0.1:9090");
	ck_assert_ptr_null(po->po_admin.token_file);
	ck_assert_ptr_null(po->po_admin.token);
	ck_assert_int_eq(po->po_log.level, LOG_LEVEL_INFO);
	ck_assert_int_eq(po->po_log.format, LOG_FORMAT_TEXT);

	/* An empty file means the same. */
	empty = config_load_buffer("e.yaml", "", 0, &(struct config_error){0});
	ck_assert_ptr_nonnull(empty);
	ck_assert_str_eq(empty->po_upstream.ad_text, "127.0.0.1:7860");
	config_unref(empty);

	/* The default key source follows a renamed cookie. */
	config_unref(po);
	po = load_ok("sessions: {cookie: {name: sid}}\n");
	ck_assert_int_eq(po->po_sessions.nkeys, 1);
	ck_assert_str_eq(po->po_sessions.keys[0].kr_name, "sid");
	config_unref(po);
}
END_TEST

START_TEST(test_values)
{
	struct policy		*po;
	struct cache_entry	*ce;
	size_t			 so, eo;

	po = load_ok(
	    "listen: ['[::1]:8080', unix:/run/j.sock]\n"
	    "limits: {max_body_size: 10M, shutdown_timeout: 0}\n"
	    "sessions:\n"
	    "  cookie: {issue: no, secure: never, same_site: none}\n"
	    "  key:\n"
	    "    - header: X-Sid\n"
	    "    - path: '^/s/([a-z0-9]+)/'\n"
	    "  live: [sse, {path: '/events$'}]\n"
	    "on_unload: {grace: 500ms, webhook: 'http://127.0.0.1:1/u'}\n"
	    "on_expire:\n"
	    "  time_to_live: 2d\n"
	    "  remove: ['/srv/{session}', '/data/x/{session}/tmp']\n"
	    "cache:\n"
	    "  - path: /tmp/c\n"
	    "    age_by: [atime, ctime]\n"
	    "    keep: '*.lock'\n"
	    "    on_start: wipe\n"
	    "    max_size: 2G\n"
	    "log: {level: debug, format: json}\n");
	ck_assert_int_eq(po->po_nlisten, 2);
	ck_assert_int_eq(po->po_listen[0].ad_family, AF_INET6);
	ck_assert_int_eq(po->po_listen[1].ad_family, AF_UNIX);
	ck_assert_uint_eq(po->po_limits.max_body_size, 10 << 20);
	ck_assert_int_eq(po->po_limits.shutdown_timeout, 0);
	ck_assert(!po->po_sessions.cookie_issue);
	ck_assert_int_eq(po->po_sessions.cookie_secure, COOKIE_SECURE_NEVER);
	ck_assert_int_eq(po->po_sessions.cookie_same_site, SAME_SITE_NONE);
	ck_assert_int_eq(po->po_sessions.nkeys, 2);
	ck_assert_int_eq(po->po_sessions.keys[0].kr_source, KEY_HEADER);
	ck_assert_str_eq(po->po_sessions.keys[0].kr_name, "X-Sid");
	ck_assert_int_eq(po->po_sessions.keys[1].kr_source, KEY_PATH);
	ck_assert_int_eq(rx_match(po->po_sessions.keys[1].kr_re, "/s/abc9/x",
	    9, &so, &eo), 1);
	ck_assert_int_eq(so, 3);
	ck_assert_int_eq(eo, 7);
	ck_assert_int_eq(po->po_sessions.nlive, 2);
	ck_assert_int_eq(po->po_sessions.live[0].lr_kind, LIVE_SSE);
	ck_assert_int_eq(po->po_sessions.live[1].lr_kind, LIVE_PATH);
	ck_assert_str_eq(po->po_sessions.live[1].lr_text, "/events$");
	ck_assert_int_eq(rx_match(po->po_sessions.live[1].lr_re, "/a/events",
	    9, NULL, NULL), 1);
	ck_assert_int_eq(po->po_unload_grace, 500);
	ck_assert_str_eq(po->po_unload.ac_webhook, "http://127.0.0.1:1/u");
	ck_assert_int_eq(po->po_expire_ttl, 2 * 86400000);
	ck_assert_int_eq(po->po_expire.ac_nremove, 2);
	ck_assert_str_eq(po->po_expire.ac_remove[1], "/data/x/{session}/tmp");
	ck_assert_int_eq(po->po_ncache, 1);
	ce = &po->po_cache[0];
	ck_assert_str_eq(ce->ce_path, "/tmp/c");
	ck_assert_int_eq(ce->ce_every, 3600000);
	ck_assert_int_eq(ce->ce_age, 3600000);
	ck_assert_uint_eq(ce->ce_age_by, AGE_BY_ATIME | AGE_BY_CTIME);
	ck_assert_int_eq(ce->ce_on_start, CACHE_START_WIPE);
	ck_assert_int_eq(ce->ce_nkeep, 1);
	ck_assert_str_eq(ce->ce_keep[0], "*.lock");
	ck_assert_uint_eq(ce->ce_max_size, 2ULL << 30);
	ck_assert_int_eq(po->po_log.level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(po->po_log.format, LOG_FORMAT_JSON);
	config_unref(po);
}
END_TEST

/* Whether the preset's key rule extracts want from path (NULL: no match). */
static void
check_gradio_key(const struct policy *po, const char *path, const char *want)
{
	size_t	so, eo;
	int	r;

	r = rx_match(po->po_sessions.keys[0].kr_re, path, strlen(path), &so,
	    &eo);
	if (want == NULL) {
		ck_assert_msg(r == 0, "%s matched", path);
		return;
	}
	ck_assert_msg(r == 1, "%s did not match", path);
	ck_assert_int_eq(strlen(want), eo - so);
	ck_assert_msg(strncmp(path + so, want, strlen(want)) == 0,
	    "%s: got %.*s", path, (int)(eo - so), path + so);
}

START_TEST(test_preset_gradio)
{
	struct policy	*po;
	struct rx	*live;

	unsetenv("GRADIO_TEMP_DIR");
	po = load_ok("preset: gradio\n");
	ck_assert_str_eq(po->po_preset, "gradio");
	ck_assert_str_eq(po->po_upstream.ad_text, "127.0.0.1:7860");
	ck_assert(!po->po_sessions.cookie_issue);
	ck_assert_int_eq(po->po_sessions.nkeys, 3);
	ck_assert_int_eq(po->po_sessions.keys[0].kr_source, KEY_PATH);
	ck_assert_int_eq(po->po_sessions.keys[1].kr_source, KEY_QUERY);
	ck_assert_str_eq(po->po_sessions.keys[1].kr_name, "session_hash");
	/* queue/join: session_hash is in its JSON body only. */
	ck_assert_int_eq(po->po_sessions.keys[2].kr_source, KEY_JSON);
	ck_assert_str_eq(po->po_sessions.keys[2].kr_name, "session_hash");
	ck_assert_str_eq(po->po_sessions.keys[2].kr_path, "/queue/join$");
	ck_assert_int_eq(rx_match(po->po_sessions.keys[2].kr_re,
	    "/gradio_api/queue/join", 22, NULL, NULL), 1);
	ck_assert_int_eq(rx_match(po->po_sessions.keys[2].kr_re,
	    "/myapp/queue/join", 17, NULL, NULL), 1);
	ck_assert_int_eq(rx_match(po->po_sessions.keys[2].kr_re,
	    "/gradio_api/queue/data", 22, NULL, NULL), 0);
	ck_assert_int_eq(po->po_sessions.json_max, 64 * 1024);

	check_gradio_key(po, "/heartbeat/abc123xyz", "abc123xyz");
	check_gradio_key(po, "/gradio_api/heartbeat/Q2xv_c2-Vk", "Q2xv_c2-Vk");
	check_gradio_key(po, "/myapp/heartbeat/h1", "h1");
	check_gradio_key(po, "/a/b/gradio_api/heartbeat/h2", "h2");
	check_gradio_key(po, "/queue/data", NULL);
	check_gradio_key(po, "/heartbeat/", NULL);
	check_gradio_key(po, "/heartbeat/a/b", NULL);
	check_gradio_key(po, "/xheartbeat/a", NULL);

	ck_assert_int_eq(po->po_sessions.nlive, 1);
	ck_assert_int_eq(po->po_sessions.live[0].lr_kind, LIVE_PATH);
	live = po->po_sessions.live[0].lr_re;
	ck_assert_int_eq(rx_match(live, "/heartbeat/abc", 14, NULL, NULL), 1);
	ck_assert_int_eq(rx_match(live, "/root/gradio_api/heartbeat/abc", 30,
	    NULL, NULL), 1);
	ck_assert_int_eq(rx_match(live, "/queue/data", 11, NULL, NULL), 0);
	ck_assert_int_eq(rx_match(live, "/gradio_api/queue/data", 22, NULL,
	    NULL), 0);

	ck_assert_int_eq(po->po_expire_after_disconnect, 60 * 60 * 1000);
	ck_assert_int_eq(po->po_ncache, 1);
	ck_assert_str_eq(po->po_cache[0].ce_path, "/tmp/gradio");
	ck_assert_int_eq(po->po_cache[0].ce_every, 3600000);
	ck_assert_int_eq(po->po_cache[0].ce_age, 3600000);
	ck_assert_uint_eq(po->po_cache[0].ce_age_by, AGE_BY_CTIME);
	config_unref(po);

	setenv("GRADIO_TEMP_DIR", "/var/tmp/gr", 1);
	po = load_ok("preset: gradio\n");
	ck_assert_str_eq(po->po_cache[0].ce_path, "/var/tmp/gr");
	config_unref(po);
	unsetenv("GRADIO_TEMP_DIR");
}
END_TEST

START_TEST(test_preset_merge)
{
	struct policy	*po;

	/* The file wins, wherever the preset key stands. */
	po = load_ok(
	    "upstream: 127.0.0.1:9000\n"
	    "sessions:\n"
	    "  cookie: {issue: true}\n"
	    "  live: [websocket]\n"
	    "on_expire: {after_disconnect: 5m}\n"
	    "cache: []\n"
	    "preset: gradio\n");
	ck_assert_str_eq(po->po_preset, "gradio");
	ck_assert_str_eq(po->po_upstream.ad_text, "127.0.0.1:9000");
	ck_assert(po->po_sessions.cookie_issue);
	ck_assert_int_eq(po->po_sessions.nlive, 1);
	ck_assert_int_eq(po->po_sessions.live[0].lr_kind, LIVE_WEBSOCKET);
	ck_assert_int_eq(po->po_expire_after_disconnect, 5 * 60 * 1000);
	ck_assert_int_eq(po->po_ncache, 0);
	/* What the file did not set stays the preset's. */
	ck_assert_int_eq(po->po_sessions.nkeys, 3);
	ck_assert_int_eq(po->po_sessions.keys[0].kr_source, KEY_PATH);
	config_unref(po);

	/* A list set in the file replaces the preset's list. */
	po = load_ok("preset: gradio\n"
	    "sessions: {key: [{cookie: c}]}\n"
	    "cache: [{path: /srv/c, every: 5m}]\n");
	ck_assert_int_eq(po->po_sessions.nkeys, 1);
	ck_assert_int_eq(po->po_sessions.keys[0].kr_source, KEY_COOKIE);
	ck_assert_int_eq(po->po_ncache, 1);
	ck_assert_str_eq(po->po_cache[0].ce_path, "/srv/c");
	ck_assert_int_eq(po->po_cache[0].ce_every, 300000);
	/* A new cache entry takes the general defaults, not the preset's. */
	ck_assert_uint_eq(po->po_cache[0].ce_age_by, AGE_BY_MTIME);
	ck_assert(!po->po_sessions.cookie_issue);
	config_unref(po);
}
END_TEST

/* One error case: the policy text and the exact expected error line. */
struct error_case {
	const char	*text;
	const char	*want;		/* "t.yaml:L:C: prefix of message" */
};

START_TEST(test_errors)
{
	static const struct error_case cases[] = {
		/* not YAML: libyaml's own position and problem */
		{ "a: [1, 2\n", "t.yaml:2:1: did not find expected ',' or ']'" },
		{ "a:\n\tb: 1\n", "t.yaml:2:1: found character that cannot "
		    "start any token" },
		{ "a: 'x\n", "t.yaml:2:1: found unexpected end of stream" },
		{ "a: b: c\n", "t.yaml:1:5: mapping values are not allowed" },
		{ "a: *nope\n", "t.yaml:1:4: found undefined alias" },
		{ "a: 1\n---\nb: 2\n", "t.yaml:3:1: only one YAML document" },
		{ "x: \xff\n", "t.yaml:1:4: invalid leading UTF-8 octet" },
		/* structure */
		{ "[1]\n", "t.yaml:1:1: the policy must be a mapping" },
		{ "just a string\n", "t.yaml:1:1: the policy must be a mapping" },
		{ "upstrem: 127.0.0.1:1\n", "t.yaml:1:1: upstrem: unknown key "
		    "(known: preset, listen," },
		{ "limits:\n  foo: 1\n", "t.yaml:2:3: limits.foo: unknown key" },
		{ "cache:\n  - path: /x\n    ag: 1h\n",
		    "t.yaml:3:5: cache[0].ag: unknown key (known: path, every, "
		    "age, age_by, on_start, keep, max_size)" },
		{ "sessions:\n  key:\n    - {cookie: a}\n    - {body: b}\n",
		    "t.yaml:4:8: sessions.key[1].body: unknown key" },
		{ "limits.header_timeout: 1s\n", "t.yaml:1:1: "
		    "limits.header_timeout: unknown key" },
		{ "upstream: 127.0.0.1:1\nupstream: 127.0.0.1:2\n",
		    "t.yaml:2:1: upstream: duplicate key (first set on line 1)" },
		{ "[a]: 1\n", "t.yaml:1:1: keys must be plain words" },
		{ "limits: 5\n", "t.yaml:1:9: limits: expected a mapping, found "
		    "a scalar" },
		{ "limits: [1]\n", "t.yaml:1:9: limits: expected a mapping, "
		    "found a list" },
		{ "limits:\n  header_timeout: {a: 1}\n", "t.yaml:2:19: "
		    "limits.header_timeout: expected a duration, found a "
		    "mapping" },
		{ "upstream:\n", "t.yaml:1:10: upstream: expected an address, "
		    "found nothing" },
		{ "upstream: \"\\0\"\n", "t.yaml:1:11: upstream: contains a NUL" },
		{ "upstream: \"a\\nb\\tc\"\n", "t.yaml:1:11: upstream: "
		    "'a?b?c' is not an address" },
		{ "trusted_proxies: {a: 1}\n", "t.yaml:1:18: trusted_proxies: "
		    "expected a list, found a mapping" },
		{ "sessions: {key: cookie}\n", "t.yaml:1:17: sessions.key: "
		    "expected a list of sources" },
		{ "sessions:\n  key: [cookie]\n", "t.yaml:2:9: sessions.key[0]: "
		    "expected one of {cookie: NAME}" },
		{ "sessions:\n  key: [{}]\n", "t.yaml:2:9: sessions.key[0]: "
		    "needs one of cookie, query, header, path" },
		{ "sessions:\n  live: [{}]\n", "t.yaml:2:10: sessions.live[0]: "
		    "needs path: REGEX" },
		{ "cache: [/tmp/x]\n", "t.yaml:1:9: cache[0]: expected a mapping "
		    "with a path, found a scalar" },
		/* values */
		{ "limits:\n  header_timeout: soon\n", "t.yaml:2:19: "
		    "limits.header_timeout: 'soon' is not a duration (use e.g. "
		    "30s, 5m)" },
		{ "limits: {header_timeout: 0}\n", "t.yaml:1:26: "
		    "limits.header_timeout: '0' is too short (at least 1ms)" },
		{ "sessions: {keepalive: {idle: 500ms}}\n", "t.yaml:1:30: "
		    "sessions.keepalive.idle: '500ms' is too short (at least "
		    "1s)" },
		{ "on_expire: {time_to_live: 3651d}\n", "t.yaml:1:27: "
		    "on_expire.time_to_live: '3651d' is too long (at most "
		    "3650d)" },
		{ "limits: {max_header_size: big}\n", "t.yaml:1:27: "
		    "limits.max_header_size: 'big' is not a size (use e.g. 512, "
		    "16k, 10M, 2G)" },
		{ "limits: {max_header_size: 2M}\n", "t.yaml:1:27: "
		    "limits.max_header_size: '2M' is too large (at most 1M)" },
		{ "limits: {max_connections: -1}\n", "t.yaml:1:27: "
		    "limits.max_connections: '-1' is not a whole number" },
		{ "limits: {max_connections: 1000001}\n", "t.yaml:1:27: "
		    "limits.max_connections: 1000001 is out of range (1 to "
		    "1000000)" },
		{ "limits: {max_connections: 99999999999999999999}\n",
		    "t.yaml:1:27: limits.max_connections: '99999999999999999999' "
		    "is not a whole number" },
		{ "sessions: {cookie: {issue: 1}}\n", "t.yaml:1:28: "
		    "sessions.cookie.issue: '1' is not true or false" },
		{ "sessions: {cookie: {same_site: loose}}\n", "t.yaml:1:32: "
		    "sessions.cookie.same_site: 'loose' is not one of lax | "
		    "strict | none" },
		{ "sessions: {forward_header: 'X Session'}\n", "t.yaml:1:28: "
		    "sessions.forward_header: 'X Session' is not a valid name" },
		{ "sessions: {key: [{query: 'a=b'}]}\n", "t.yaml:1:26: "
		    "sessions.key[0].query: 'a=b' is not a valid query" },
		{ "sessions: {key: [{header: 'a:b'}]}\n", "t.yaml:1:27: "
		    "sessions.key[0].header: 'a:b' is not a valid name" },
		{ "sessions: {key: [{path: 'x'}]}\n", "t.yaml:1:25: "
		    "sessions.key[0].path: 'x' must have exactly one capturing "
		    "group (...) around the key; it has 0" },
		{ "sessions: {key: [{path: '(a'}]}\n", "t.yaml:1:25: "
		    "sessions.key[0].path: '(a' is not a regular expression: "
		    "missing closing parenthesis at offset 2 (after '(a')" },
		{ "sessions: {key: [{cookie: a, header: b}]}\n", "t.yaml:1:38: "
		    "sessions.key[0].header: one source per entry" },
		{ "sessions: {live: [stream]}\n", "t.yaml:1:19: "
		    "sessions.live[0]: 'stream' is not one of websocket | sse" },
		{ "sessions: {live: [{path: '+'}]}\n", "t.yaml:1:26: "
		    "sessions.live[0].path: '+' is not a regular expression: "
		    "quantifier does not follow a repeatable item at offset 0" },
		{ "upstream: web:80\n", "t.yaml:1:11: upstream: 'web:80': 'web' "
		    "is not a numeric address" },
		{ "listen: []\n", "t.yaml:1:9: listen: at least one address is "
		    "needed" },
		{ "listen: [127.0.0.1:1, localhost:1]\n", "t.yaml:1:23: "
		    "listen[1]: 'localhost:1' is listed twice" },
		{ "admin: {listen: 'unix:x'}\n", "t.yaml:1:17: admin.listen: "
		    "'unix:x': a unix socket needs an absolute path" },
		{ "trusted_proxies: ['::1/200']\n", "t.yaml:1:19: "
		    "trusted_proxies[0]: '::1/200' is not a network" },
		{ "trusted_proxies: [10.0.0.1/8]\n", "t.yaml:1:19: "
		    "trusted_proxies[0]: '10.0.0.1/8' has host bits set (did you "
		    "mean 10.0.0.0/8?)" },
		{ "state_dir: relative\n", "t.yaml:1:12: state_dir: 'relative' "
		    "is not an absolute path" },
		{ "state_dir: /var/./lib\n", "t.yaml:1:12: state_dir: "
		    "'/var/./lib' has a '.' component" },
		{ "on_unload:\n  remove:\n    - /srv/x\n", "t.yaml:3:7: "
		    "on_unload.remove[0]: '/srv/x' does not contain {session}" },
		{ "on_unload:\n  remove: /srv/{session}/../x\n", "t.yaml:2:11: "
		    "on_unload.remove[0]: '/srv/{session}/../x' has a '..' "
		    "component" },
		{ "on_unload: {remove: [/a/{session}]}\n", "t.yaml:1:25: did not "
		    "find expected ',' or ']' (while parsing a flow sequence); "
		    "quote templates inside [...]" },
		{ "trusted_proxies: [::1/128]\n", "t.yaml:1:19: did not find "
		    "expected node content (while parsing a flow node); quote "
		    "IPv6 addresses" },
		{ "on_expire: {webhook: '/hook'}\n", "t.yaml:1:22: "
		    "on_expire.webhook: '/hook' is not an http:// or https:// "
		    "URL" },
		{ "on_expire: {webhook: 'http://'}\n", "t.yaml:1:22: "
		    "on_expire.webhook: 'http://' has no host" },
		{ "on_expire: {webhook: 'http://a b/'}\n", "t.yaml:1:22: "
		    "on_expire.webhook: 'http://a b/' contains a space" },
		{ "cache:\n  - every: 1h\n", "t.yaml:2:5: cache[0]: path is "
		    "missing" },
		{ "sessions: {key: [{json: h}]}\n", "t.yaml:1:18: "
		    "sessions.key[0]: json needs path: REGEX" },
		{ "sessions: {key: [{json: h, json: i}]}\n", "t.yaml:1:28: "
		    "sessions.key[0].json: duplicate key" },
		{ "sessions: {key: [{json: 'a\"b', path: /a}]}\n",
		    "t.yaml:1:25: sessions.key[0].json: 'a\"b' is not a valid "
		    "JSON field name" },
		{ "sessions: {key: [{json: h, path: '('}]}\n", "t.yaml:1:34: "
		    "sessions.key[0].path: '(' is not a regular expression" },
		{ "sessions: {key: [{cookie: c, json: h}]}\n", "t.yaml:1:36: "
		    "sessions.key[0].json: one source per entry" },
		{ "sessions: {json_max: 8}\n", "t.yaml:1:22: "
		    "sessions.json_max: '8' is too small" },
		{ "sessions: {key: [{json: h, path: '/q/join$'}]}\n", NULL },
		{ "sessions: {key: [{path: '/q/join$', json: h}]}\n", NULL },
		{ "cache:\n  - path: /a\n  - path: /a\n", "t.yaml:3:5: cache[1]: "
		    "'/a' is already swept by cache[0]" },
		{ "cache: [{path: /a, age_by: []}]\n", "t.yaml:1:28: "
		    "cache[0].age_by: at least one of atime, ctime, mtime" },
		{ "cache: [{path: /a, keep: ['[x']}]\n", "t.yaml:1:27: "
		    "cache[0].keep[0]: '[x' has an unclosed '['" },
		{ "cache: [{path: /a, keep: ['']}]\n", "t.yaml:1:27: "
		    "cache[0].keep[0]: an empty pattern matches nothing" },
		{ "cache: [{path: /a, every: 500ms}]\n", "t.yaml:1:27: "
		    "cache[0].every: '500ms' is too short (at least 1s)" },
		{ "preset: django\n", "t.yaml:1:9: preset: 'django' is not one "
		    "of gradio" },
		{ "log: {level: trace}\n", "t.yaml:1:14: log.level: 'trace' is "
		    "not one of error | warn | info | debug" },
		/* across keys, after the walk */
		{ "admin: {listen: '[::]:9090'}\n", "t.yaml:1:17: admin.listen: "
		    "[::]:9090 is not loopback: set admin.token_file as well" },
		{ "listen: 127.0.0.1:9090\n", "t.yaml:1:9: listen: "
		    "127.0.0.1:9090 is also admin.listen" },
		{ "webhooks:\n  backoff: {initial: 1m}\n  # max stays 10m\n",
		    NULL },
		{ "webhooks:\n  backoff: {initial: 20m}\n", "t.yaml:2:22: "
		    "webhooks.backoff.initial: 20m is longer than "
		    "backoff.max 10m" },
		{ "webhooks:\n  backoff: {initial: 2m, max: 1m}\n", "t.yaml:2:31: "
		    "webhooks.backoff.max: 1m is shorter than backoff.initial "
		    "2m" },
		{ "webhooks: {secret_file: /nonexistent/x}\n", "t.yaml:1:25: "
		    "webhooks.secret_file: cannot read '/nonexistent/x': No such "
		    "file or directory" },
		{ "admin: {token_file: relative}\n", "t.yaml:1:21: "
		    "admin.token_file: 'relative' is not an absolute path" },
		/* aliases cannot make the walk explode */
		{ "a: &a [*a, *a]\n", "t.yaml:1:1: a: unknown key" },
	};
	const char	*got;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].want == NULL) {
			config_unref(load_ok(cases[i].text));
			continue;
		}
		got = load_err(cases[i].text);
		ck_assert_msg(strncmp(got, cases[i].want,
		    strlen(cases[i].want)) == 0,
		    "case %zu:\n%s\nwant: %s\n got: %s", i, cases[i].text,
		    cases[i].want, got);
	}
}
END_TEST

START_TEST(test_error_format)
{
	struct config_error	err;
	char			buf[64];

	memset(&err, 0, sizeof err);
	snprintf(err.file, sizeof err.file, "f.yaml");
	snprintf(err.msg, sizeof err.msg, "bad");
	config_error_format(&err, buf, sizeof buf);
	ck_assert_str_eq(buf, "f.yaml: bad");
	err.line = 3;
	err.column = 7;
	config_error_format(&err, buf, sizeof buf);
	ck_assert_str_eq(buf, "f.yaml:3:7: bad");
	ck_assert_ptr_null(config_load("/nonexistent/j.yaml", &err));
	config_error_format(&err, buf, sizeof buf);
	ck_assert_str_eq(buf, "/nonexistent/j.yaml: cannot open: No such "
	    "file or directory");
}
END_TEST

/* Write text to a fresh temporary file; return its path (static). */
/* A growing string, for generated policies. */
struct text {
	char	*t;
	size_t	 len;
	size_t	 cap;
};

/* Append printf-style to a text. */
static void __attribute__((format(printf, 2, 3)))
text_add(struct text *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->t = realloc(t->t, t->cap);
	}
	memcpy(t->t + t->len, s, (size_t)n + 1);
	t->len += (size_t)n;
	free(s);
}

/* Expect text to fail with want as a prefix, fast; then free it. */
static void
bounded_err(struct text *t, const char *want)
{
	struct timespec	 a, b;
	const char	*got;
	double		 ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	got = load_err(t->t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	ck_assert_msg(strncmp(got, want, strlen(want)) == 0,
	    "want: %s\n got: %s", want, got);
	/* Before the bounds: 12 s for the brackets, 10 s for the anchors. */
	ck_assert_msg(ms < 500, "%s: %.0f ms", want, ms);
	free(t->t);
	t->t = NULL;
	t->len = 0;
	t->cap = 0;
}

/*
 * The reviewer's file: n cache entries whose keep is *l, where &l lists
 * 256 aliases of one 4096-byte value (13 KB for n = 256).
 */
static void
keepbomb(struct text *t, int n)
{
	char	value[4097];
	int	i;

	memset(value, 'a', 4096);
	value[4096] = '\0';
	text_add(t, "cache:\n  - path: /tmp/c0\n    keep: &l [&g %s", value);
	for (i = 1; i < 256; i++)
		text_add(t, ", *g");
	text_add(t, "]\n");
	for (i = 1; i < n; i++)
		text_add(t, "  - path: /tmp/c%d\n    keep: *l\n", i);
}

START_TEST(test_bounds)
{
	static const char *const breaks[] = { "\r", "\r\n", "\xc2\x85",
	    "\xe2\x80\xa8", "\xe2\x80\xa9" };
	struct text	t = { NULL, 0, 0 };
	size_t		b;
	int		i;

	/* Nesting stops at the 65th level, whatever follows. */
	for (i = 0; i < 100000; i++)
		text_add(&t, "[");
	bounded_err(&t, "t.yaml:1:65: lists and mappings nest more than 64 "
	    "deep");
	text_add(&t, "a:\n");
	for (i = 1; i < 70; i++)
		text_add(&t, "%*sa:\n", i, "");
	bounded_err(&t, "t.yaml:65:65: lists and mappings nest more than 64 "
	    "deep");
	/* 64 levels are fine for the reader (the key is what is wrong). */
	for (i = 0; i < 63; i++)
		text_add(&t, "[");
	for (i = 0; i < 63; i++)
		text_add(&t, "]");
	text_add(&t, ": 1\n");
	bounded_err(&t, "t.yaml:1:1: keys must be plain words");

	text_add(&t, "x: [");
	for (i = 0; i < 200000; i++)
		text_add(&t, "a,");
	text_add(&t, "a]\n");
	bounded_err(&t, "t.yaml:1:199999: more than 100000 values in the file");

	text_add(&t, "x: [");
	for (i = 0; i < 50000; i++)
		text_add(&t, "&a%d v,", i);
	for (i = 0; i < 50000; i++)
		text_add(&t, "*a49999,");
	text_add(&t, "]\n");
	bounded_err(&t, "t.yaml:1:695: more than 100 anchors (&name) in the "
	    "file");

	text_add(&t, "state_dir: /");
	for (i = 0; i < 5000; i++)
		text_add(&t, "a");
	text_add(&t, "\n");
	bounded_err(&t, "t.yaml:1:12: state_dir: a value of 5001 bytes; at "
	    "most 4096 are allowed");

	/* Lists: one item more than each cap. */
	text_add(&t, "listen: [");
	for (i = 0; i < 65; i++)
		text_add(&t, "'127.0.0.1:%d',", 10000 + i);
	text_add(&t, "]\n");
	bounded_err(&t, "t.yaml:1:9: listen: 65 items; at most 64 are "
	    "allowed");
	text_add(&t, "trusted_proxies: [");
	for (i = 0; i < 1025; i++)
		text_add(&t, "'10.0.%d.%d',", i / 256, i % 256);
	text_add(&t, "]\n");
	bounded_err(&t, "t.yaml:1:18: trusted_proxies: 1025 items; at most "
	    "1024 are allowed");
	text_add(&t, "sessions:\n  key:\n");
	for (i = 0; i < 17; i++)
		text_add(&t, "    - header: X-K%d\n", i);
	bounded_err(&t, "t.yaml:3:5: sessions.key: 17 items; at most 16 are "
	    "allowed");
	text_add(&t, "sessions:\n  live:\n");
	for (i = 0; i < 17; i++)
		text_add(&t, "    - path: /x%d\n", i);
	bounded_err(&t, "t.yaml:3:5: sessions.live: 17 items; at most 16 are "
	    "allowed");
	text_add(&t, "on_expire:\n  remove:\n");
	for (i = 0; i < 65; i++)
		text_add(&t, "    - /srv/%d/{session}\n", i);
	bounded_err(&t, "t.yaml:3:5: on_expire.remove: 65 items; at most 64 "
	    "are allowed");
	text_add(&t, "cache:\n");
	for (i = 0; i < 257; i++)
		text_add(&t, "  - path: /c/%d\n", i);
	bounded_err(&t, "t.yaml:2:3: cache: 257 items; at most 256 are "
	    "allowed");
	text_add(&t, "cache:\n  - path: /c\n    keep:\n");
	for (i = 0; i < 257; i++)
		text_add(&t, "      - '*.%d'\n", i);
	bounded_err(&t, "t.yaml:4:7: cache[0].keep: 257 items; at most 256 "
	    "are allowed");
	text_add(&t, "cache: [{path: /c, age_by: [atime, ctime, mtime, "
	    "atime]}]\n");
	bounded_err(&t, "t.yaml:1:28: cache[0].age_by: 4 items; at most 3 "
	    "are allowed");

	/*
	 * Aliases: 256 uses of a list of 256 aliases of one 4 KiB value made
	 * 268 MB of policy out of 13 KB.  Each use is charged again: the
	 * 1016th copy passes 4 MiB.  It is reported at the value it copies.
	 */
	keepbomb(&t, 256);
	bounded_err(&t, "t.yaml:3:15: cache[3].keep[247]: the policy would "
	    "take more than 4 MiB (each use of an alias copies what it names); "
	    "stopped here");

	/*
	 * YAML directives: libyaml checks each %TAG against every earlier one
	 * before its first event (52,000 took 6.5 s).  Any line break libyaml
	 * knows ends a line: \r, \r\n, NEL, LS, PS.
	 */
	for (i = 0; i < 52000; i++)
		text_add(&t, "%%TAG !%x! t:\n", i);
	text_add(&t, "---\nupstream: 127.0.0.1:1\n");
	bounded_err(&t, "t.yaml:9:1: more than 8 YAML directives (%TAG, "
	    "%YAML); a policy needs none");
	for (b = 0; b < sizeof breaks / sizeof breaks[0]; b++) {
		for (i = 0; i < 9; i++)
			text_add(&t, "%%TAG !%x! t:%s", i, breaks[b]);
		text_add(&t, "---%supstream: 127.0.0.1:1%s", breaks[b],
		    breaks[b]);
		bounded_err(&t, "t.yaml:9:1: more than 8 YAML directives");
	}
	text_add(&t, "\xef\xbb\xbf");
	for (i = 0; i < 9; i++)
		text_add(&t, "%%TAG !%x! t:\n", i);
	bounded_err(&t, "t.yaml:9:1: more than 8 YAML directives");
	/* libyaml would decode UTF-16, where a byte scan sees no '%'. */
	text_add(&t, "\xff\xfe%%");
	bounded_err(&t, "t.yaml:1:1: the file is UTF-16; write it in UTF-8");

	/* At each cap, the file loads. */
	keepbomb(&t, 3);
	config_unref(load_ok(t.t));
	free(t.t);
	t.t = NULL;
	t.len = t.cap = 0;
	text_add(&t, "%%YAML 1.1\n");
	for (i = 0; i < 7; i++)
		text_add(&t, "%%TAG !%x! tag:example.org,2024:\n", i);
	text_add(&t, "---\nupstream: 127.0.0.1:1\n");
	config_unref(load_ok(t.t));
	free(t.t);
	t.t = NULL;
	t.len = t.cap = 0;
	text_add(&t, "trusted_proxies: [");
	for (i = 0; i < 1024; i++)
		text_add(&t, "'10.0.%d.%d',", i / 256, i % 256);
	text_add(&t, "]\nsessions:\n  live:\n");
	for (i = 0; i < 16; i++)
		text_add(&t, "    - path: /x%d\n", i);
	config_unref(load_ok(t.t));
	free(t.t);
}
END_TEST

static const char *
tmpfile_with(const char *text)
{
	static char	path[64];
	int		fd;

	snprintf(path, sizeof path, "/tmp/test_config.XXXXXX");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return (path);
}

START_TEST(test_secret)
{
	/* Standard Webhooks' example secret: 24 bytes. */
	static const unsigned char key[] = {
		0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a, 0xab, 0x4f,
		0x08, 0xd4, 0x3c, 0x3f, 0x08, 0x2c, 0xf6, 0x48, 0xa3, 0x62,
		0xda, 0x2d, 0xa4, 0xb0,
	};
	struct policy	*po;
	char		 text[256], file[64];

	snprintf(file, sizeof file, "%s",
	    tmpfile_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"));
	snprintf(text, sizeof text, "webhooks: {secret_file: %s}\n", file);
	po = load_ok(text);
	ck_assert_str_eq(po->po_webhooks.secret_file, file);
	ck_assert_uint_eq(po->po_webhooks.secret_len, sizeof key);
	ck_assert(memcmp(po->po_webhooks.secret, key, sizeof key) == 0);
	config_unref(po);
	unlink(file);

	/* Padding is not counted as key bytes. */
	snprintf(file, sizeof file, "%s", tmpfile_with("whsec_YWJjZA==\n"));
	snprintf(text, sizeof text, "webhooks: {secret_file: %s}\n", file);
	po = load_ok(text);
	ck_assert_uint_eq(po->po_webhooks.secret_len, 4);
	ck_assert(memcmp(po->po_webhooks.secret, "abcd", 4) == 0);
	config_unref(po);
	unlink(file);

	/* Without the prefix the (trimmed) bytes are the key. */
	snprintf(file, sizeof file, "%s", tmpfile_with("  raw-secret\n"));
	snprintf(text, sizeof text, "webhooks: {secret_file: %s}\n", file);
	po = load_ok(text);
	ck_assert_uint_eq(po->po_webhooks.secret_len, 10);
	ck_assert(memcmp(po->po_webhooks.secret, "raw-secret", 10) == 0);
	config_unref(po);
	unlink(file);

	snprintf(file, sizeof file, "%s", tmpfile_with("whsec_***\n"));
	snprintf(text, sizeof text, "webhooks:\n  secret_file: %s\n", file);
	ck_assert_msg(strstr(load_err(text), ":2:16: webhooks.secret_file: ") !=
	    NULL, "%s", load_err(text));
	unlink(file);

	snprintf(file, sizeof file, "%s", tmpfile_with(" \n"));
	snprintf(text, sizeof text, "webhooks:\n  secret_file: %s\n", file);
	ck_assert_ptr_nonnull(strstr(load_err(text), "is empty"));
	unlink(file);

	/* '' means unsigned. */
	po = load_ok("webhooks: {secret_file: ''}\n");
	ck_assert_ptr_null(po->po_webhooks.secret);
	config_unref(po);
}
END_TEST

START_TEST(test_token)
{
	struct policy	*po;
	char		 text[256], file[64], want[256], *big;

	snprintf(file, sizeof file, "%s", tmpfile_with("\n  t0ken-value \n"));
	snprintf(text, sizeof text, "admin:\n  listen: 0.0.0.0:9999\n"
	    "  token_file: %s\n", file);
	po = load_ok(text);
	ck_assert_str_eq(po->po_admin.token, "t0ken-value");
	ck_assert_str_eq(po->po_admin.token_file, file);
	config_unref(po);
	unlink(file);

	snprintf(file, sizeof file, "%s", tmpfile_with("two words\n"));
	snprintf(text, sizeof text, "admin:\n  token_file: %s\n", file);
	ck_assert_ptr_nonnull(strstr(load_err(text), "t.yaml:2:15: "
	    "admin.token_file: "));
	unlink(file);
	ck_assert_ptr_nonnull(strstr(load_err(text), "cannot read"));

	/* 4096 bytes are allowed, one more is not. */
	big = malloc(4098);
	memset(big, 'a', 4097);
	big[4097] = '\0';
	snprintf(file, sizeof file, "%s", tmpfile_with(big));
	snprintf(text, sizeof text, "admin:\n  token_file: %s\n", file);
	snprintf(want, sizeof want, "t.yaml:2:15: admin.token_file: '%s' is "
	    "4097 bytes, larger than 4096", file);
	ck_assert_str_eq(load_err(text), want);
	unlink(file);
	big[4096] = '\0';
	snprintf(file, sizeof file, "%s", tmpfile_with(big));
	snprintf(text, sizeof text, "admin:\n  token_file: %s\n", file);
	po = load_ok(text);
	ck_assert_uint_eq(strlen(po->po_admin.token), 4096);
	config_unref(po);
	unlink(file);
	free(big);
}
END_TEST

/* What a config_job called back with. */
struct job_result {
	int			 calls;
	struct policy		*po;
	struct config_error	 err;
	struct event_base	*base;
};

static void
job_done(struct policy *po, const struct config_error *err, void *arg)
{
	struct job_result	*r = arg;

	r->calls++;
	r->po = po;
	r->err = *err;
	event_base_loopexit(r->base, NULL);
}

/* Loading in a thread: the loop gets the policy or the error, once. */
START_TEST(test_job)
{
	struct job_result	 r;
	struct config_error	 err;
	struct config_job	*cj;
	struct policy		*po;
	const char		*path;
	char			 buf[1024];

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	memset(&r, 0, sizeof r);
	ck_assert_ptr_nonnull(r.base = event_base_new());
	path = tmpfile_with("upstream: 127.0.0.1:7000\n");
	cj = config_job_start(r.base, path, job_done, &r, &err);
	ck_assert_ptr_nonnull(cj);
	event_base_dispatch(r.base);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_ptr_nonnull(r.po);
	ck_assert_str_eq(r.po->po_upstream.ad_text, "127.0.0.1:7000");
	config_unref(r.po);
	unlink(path);

	path = tmpfile_with("upstream: nowhere\n");
	cj = config_job_start(r.base, path, job_done, &r, &err);
	ck_assert_ptr_nonnull(cj);
	event_base_dispatch(r.base);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_ptr_null(r.po);
	config_error_format(&r.err, buf, sizeof buf);
	ck_assert_msg(strstr(buf, ":1:11: upstream: 'nowhere'") != NULL, "%s",
	    buf);

	/* A job cancelled before it called back never does. */
	cj = config_job_start(r.base, path, job_done, &r, &err);
	config_job_cancel(cj);
	event_base_loopexit(r.base, &(struct timeval){ 0, 200000 });
	event_base_dispatch(r.base);
	ck_assert_int_eq(r.calls, 2);
	unlink(path);

	/* Without a loop. */
	path = tmpfile_with("upstream: 127.0.0.1:7001\n");
	po = config_load_timed(path, &err);
	ck_assert_ptr_nonnull(po);
	ck_assert_str_eq(po->po_upstream.ad_text, "127.0.0.1:7001");
	config_unref(po);
	unlink(path);
	ck_assert_ptr_null(config_load_timed("/nonexistent/x.yaml", &err));
	config_error_format(&err, buf, sizeof buf);
	ck_assert_str_eq(buf, "/nonexistent/x.yaml: cannot open: No such file "
	    "or directory");
	event_base_free(r.base);
}
END_TEST

START_TEST(test_refcount)
{
	struct policy	*po;

	po = load_ok("preset: gradio\n");
	ck_assert_ptr_eq(config_ref(po), po);
	ck_assert_int_eq(po->po_refcnt, 2);
	config_unref(po);
	ck_assert_int_eq(po->po_refcnt, 1);
	config_unref(po);
	config_unref(NULL);
}
END_TEST

START_TEST(test_summary)
{
	struct policy	*po;
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*f;

	unsetenv("GRADIO_TEMP_DIR");
	po = load_ok("preset: gradio\non_expire: {remove: ['/s/{session}']}\n");
	ck_assert_ptr_nonnull(f = open_memstream(&text, &len));
	config_print_summary(po, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "t.yaml: OK, preset gradio\n"));
	ck_assert_ptr_nonnull(strstr(text, "session key      path "
	    "/heartbeat/([A-Za-z0-9_-]+)$, then query session_hash, then "
	    "json session_hash (bodies of /queue/join$, at most 65536 "
	    "bytes)\n"));
	ck_assert_ptr_nonnull(strstr(text, "cookie           janitor_sid, "
	    "never issued"));
	ck_assert_ptr_nonnull(strstr(text, "on_expire        1h after "
	    "disconnect, time_to_live off: webhook none; remove "
	    "/s/{session}\n"));
	ck_assert_ptr_nonnull(strstr(text, "cache            /tmp/gradio every "
	    "1h, age 1h by ctime"));
	free(text);
	config_unref(po);
}
END_TEST

/* Read a whole file from the source tree into memory. */
static char *
read_source(const char *rel)
{
	const char	*src = getenv("JANITOR_SRC");
	char		 path[1024], *buf;
	FILE		*f;
	long		 n;

	snprintf(path, sizeof path, "%s/%s", src != NULL ? src : "..", rel);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* The summary of a policy loaded from text, as an allocated string. */
static char *
summary_of(const char *text)
{
	struct policy	*po;
	char		*out = NULL;
	size_t		 len = 0;
	FILE		*f;

	po = load_ok(text);
	ck_assert_ptr_nonnull(f = open_memstream(&out, &len));
	config_print_summary(po, f);
	fclose(f);
	config_unref(po);
	return (out);
}

/* Every list key has a cap on its items (docs/configuration.md, Limits). */
START_TEST(test_table_list_caps)
{
	size_t	i, len;

	for (i = 0; i < config_nkeys; i++) {
		len = strlen(config_keys[i].ck_type);
		if (len < 5 || strcmp(config_keys[i].ck_type + len - 5,
		    " list") != 0)
			continue;
		ck_assert_msg(config_keys[i].ck_max > 0, "%s: a list key needs "
		    "its cap in ck_max", config_keys[i].ck_path);
	}
}
END_TEST

START_TEST(test_table_defaults_true)
{
	char		 text[512], base[512], *a, *b;
	const char	*def, *leaf;
	size_t		 i, depth, used;

	/* Writing a key with the default the table states changes nothing. */
	for (i = 0; i < config_nkeys; i++) {
		def = config_keys[i].ck_default;
		if (config_keys[i].ck_set == NULL || *def == '\0')
			continue;
		leaf = strrchr(config_keys[i].ck_path, '.');
		leaf = leaf != NULL ? leaf + 1 : config_keys[i].ck_path;
		if (strncmp(config_keys[i].ck_path, "cache[].", 8) == 0) {
			snprintf(base, sizeof base, "cache:\n  - path: /x\n");
			snprintf(text, sizeof text, "%s    %s: %s\n", base, leaf,
			    def);
		} else {
			const char	*p = config_keys[i].ck_path, *dot;

			base[0] = '\0';
			used = 0;
			for (depth = 0; (dot = strchr(p, '.')) != NULL;
			    depth++, p = dot + 1)
				used += (size_t)snprintf(text + used,
				    sizeof text - used, "%*s%.*s:\n",
				    (int)depth * 2, "", (int)(dot - p), p);
			snprintf(text + used, sizeof text - used, "%*s%s: %s\n",
			    (int)depth * 2, "", p, def);
		}
		a = summary_of(text);
		b = summary_of(base);
		ck_assert_msg(strcmp(a, b) == 0, "%s: default '%s' is not the "
		    "default:\n%s\n--\n%s", config_keys[i].ck_path, def, a, b);
		free(a);
		free(b);
	}
}
END_TEST

START_TEST(test_docs_in_sync)
{
	char		*doc, *p, *end, *line, *want;
	size_t		 i, ndoc = 0;
	bool		 found;

	doc = read_source("docs/configuration.md");
	/* Every "### `key`" heading names a key of the table ... */
	for (p = doc; (p = strstr(p, "\n### `")) != NULL; p = end) {
		p += 6;
		ck_assert_ptr_nonnull(end = strchr(p, '`'));
		found = false;
		for (i = 0; i < config_nkeys; i++) {
			if (strlen(config_keys[i].ck_path) == (size_t)(end - p) &&
			    strncmp(config_keys[i].ck_path, p,
			    (size_t)(end - p)) == 0)
				found = true;
		}
		ck_assert_msg(found, "docs/configuration.md documents '%.*s', "
		    "which the parser does not know", (int)(end - p), p);
		ndoc++;
	}
	/* ... and every key of the table has one, saying type and default. */
	for (i = 0; i < config_nkeys; i++) {
		char	heading[128];

		snprintf(heading, sizeof heading, "\n### `%s`\n",
		    config_keys[i].ck_path);
		p = strstr(doc, heading);
		ck_assert_msg(p != NULL, "docs/configuration.md lacks a '### "
		    "`%s`' section", config_keys[i].ck_path);
		p += strlen(heading);
		while (*p == '\n')
			p++;
		end = strchr(p, '\n');
		line = xstrndup(p, end != NULL ? (size_t)(end - p) : strlen(p));
		ck_assert_msg(strncmp(line, config_keys[i].ck_type,
		    strlen(config_keys[i].ck_type)) == 0,
		    "%s: the first line should start with its type '%s': %s",
		    config_keys[i].ck_path, config_keys[i].ck_type, line);
		if (config_keys[i].ck_default[0] != '\0') {
			if (asprintf(&want, "default `%s`",
			    config_keys[i].ck_default) == -1)
				ck_abort();
			ck_assert_msg(strstr(line, want) != NULL,
			    "%s: the first line should say %s: %s",
			    config_keys[i].ck_path, want, line);
			free(want);
		}
		free(line);
	}
	ck_assert_int_eq(ndoc, config_nkeys);
	free(doc);
}
END_TEST

START_TEST(test_default_policy_file)
{
	struct policy	*a, *b;
	char		*conf, *sa = NULL, *sb = NULL;
	size_t		 la = 0, lb = 0;
	FILE		*f;
	size_t		 i;

	/* conf/janitor.yaml spells out exactly the defaults ... */
	conf = read_source("conf/janitor.yaml");
	a = load_ok(conf);
	b = load_ok("");
	ck_assert_ptr_nonnull(f = open_memstream(&sa, &la));
	config_print_summary(a, f);
	fclose(f);
	ck_assert_ptr_nonnull(f = open_memstream(&sb, &lb));
	config_print_summary(b, f);
	fclose(f);
	ck_assert_str_eq(sa, sb);
	free(sa);
	free(sb);
	config_unref(a);
	config_unref(b);

	/* ... and names every key (list items in the commented example). */
	for (i = 0; i < config_nkeys; i++) {
		const char	*leaf = strrchr(config_keys[i].ck_path, '.');
		char		 needle[64];

		leaf = leaf != NULL ? leaf + 1 : config_keys[i].ck_path;
		if (strchr(config_keys[i].ck_path, '[') != NULL &&
		    strncmp(config_keys[i].ck_path, "cache", 5) != 0)
			continue;	/* key sources: in the comment */
		snprintf(needle, sizeof needle, "%s:", leaf);
		ck_assert_msg(strstr(conf, needle) != NULL,
		    "conf/janitor.yaml does not mention %s",
		    config_keys[i].ck_path);
	}
	free(conf);
}
END_TEST

START_TEST(test_no_leak_on_error_paths)
{
	/* Errors after lists were built must free them (ASan/valgrind). */
	const char	*text =
	    "preset: gradio\n"
	    "listen: [127.0.0.1:1, 127.0.0.1:2]\n"
	    "sessions:\n"
	    "  key: [{path: '/(a)'}, {query: q}]\n"
	    "  live: [{path: x}, websocket]\n"
	    "on_expire: {remove: ['/a/{session}'], webhook: 'http://x/'}\n"
	    "cache: [{path: /a, keep: ['*']}, {path: /b, keep: ['*', '[']}]\n";

	ck_assert_ptr_nonnull(strstr(load_err(text), "cache[1].keep[1]"));
	ck_assert_ptr_nonnull(strstr(load_err("sessions:\n  key: [{path: "
	    "'/(a)'}, {path: '/(b)(c)'}]\n"), "sessions.key[1].path"));
	ck_assert_ptr_nonnull(strstr(load_err("sessions:\n  live: [{path: "
	    "a}, {path: '('}]\n"), "sessions.live[1].path"));
	ck_assert_ptr_nonnull(strstr(load_err("log: {level: x}\n" "preset: "
	    "gradio\n"), "log.level"));
}
END_TEST

/* The suite. */
static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("scalars");
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_duration_format);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_addr_equal);
	tcase_add_test(tc, test_cidr);
	tcase_add_test(tc, test_template);
	tcase_add_test(tc, test_glob);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_preset_gradio);
	tcase_add_test(tc, test_preset_merge);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_error_format);
	tcase_add_test(tc, test_secret);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_job);
	tcase_add_test(tc, test_summary);
	tcase_add_test(tc, test_no_leak_on_error_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("docs");
	tcase_add_test(tc, test_table_defaults_true);
	tcase_add_test(tc, test_table_list_caps);
	tcase_add_test(tc, test_docs_in_sync);
	tcase_add_test(tc, test_default_policy_file);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(config_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
