/*
 * test_wsframe.c -- pings only between frames of the app, whatever the
 * chunking; our pongs taken out of the client's stream and nothing else;
 * an unanswered ping declares the channel dead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "wsframe.h"

/* Append one frame; mask when mask_key is not NULL. */
static size_t
frame(unsigned char *p, int fin, int op, const unsigned char *payload,
    size_t len, const unsigned char *mask_key)
{
	size_t	n = 0, i;

	p[n++] = (fin ? 0x80 : 0) | op;
	if (len < 126)
		p[n++] = (mask_key ? 0x80 : 0) | (unsigned char)len;
	else if (len < 65536) {
		p[n++] = (mask_key ? 0x80 : 0) | 126;
		p[n++] = (unsigned char)(len >> 8);
		p[n++] = (unsigned char)len;
	} else {
		p[n++] = (mask_key ? 0x80 : 0) | 127;
		for (i = 0; i < 8; i++)
			p[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	if (mask_key) {
		memcpy(p + n, mask_key, 4);
		n += 4;
	}
	for (i = 0; i < len; i++)
		p[n + i] = payload[i] ^ (mask_key ? mask_key[i & 3] : 0);
	return (n + len);
}

struct parsed {
	int	op;
	size_t	len;
	size_t	off;	/* of the payload in the stream */
};

/* Split an unmasked stream into frames; -1 if it does not parse whole. */
static int
parse(const unsigned char *p, size_t n, struct parsed *out, int max)
{
	size_t	at = 0, len, hl, i;
	int	k = 0;

	while (at < n) {
		if (n - at < 2 || k == max)
			return (-1);
		len = p[at + 1] & 0x7f;
		hl = 2;
		if (len == 126) {
			len = (size_t)p[at + 2] << 8 | p[at + 3];
			hl = 4;
		} else if (len == 127) {
			len = 0;
			for (i = 0; i < 8; i++)
				len = len << 8 | p[at + 2 + i];
			hl = 10;
		}
		if (p[at + 1] & 0x80)
			hl += 4;
		if (at + hl + len > n)
			return (-1);
		out[k].op = p[at] & 0x0f;
		out[k].len = len;
		out[k].off = at + hl;
		k++;
		at += hl + len;
	}
	return (k);
}

static int	dead_calls;

static void
dead(void *arg, const char *why)
{
	(void)arg;
	(void)why;
	dead_calls++;
}

START_TEST(test_app_stream_pings_at_boundaries)
{
	static unsigned char	 stream[200000], big[70000], mid[300];
	struct parsed		 fr[64];
	struct evbuffer		*in, *out;
	unsigned char		*res;
	size_t			 n = 0, at, chunk, rlen;
	int			 k, i, nonping, pings;

	memset(big, 'B', sizeof big);
	memset(mid, 'M', sizeof mid);
	n += frame(stream + n, 1, 1, (const unsigned char *)"hello", 5, NULL);
	n += frame(stream + n, 1, 2, big, sizeof big, NULL);
	n += frame(stream + n, 0, 1, (const unsigned char *)"part1", 5, NULL);
	n += frame(stream + n, 1, 0, (const unsigned char *)"part2", 5, NULL);
	n += frame(stream + n, 1, 2, mid, sizeof mid, NULL);
	n += frame(stream + n, 1, 1, (const unsigned char *)"", 0, NULL);
	n += frame(stream + n, 1, 8, (const unsigned char *)"\x03\xe8", 2, NULL);

	for (chunk = 1; chunk < 40; chunk += (chunk < 16 ? 1 : 7)) {
		struct wsframe	*wf;

		in = evbuffer_new();
		out = evbuffer_new();
		wf = wsframe_new(NULL, 1000, out, NULL, dead, NULL);
		for (at = 0; at < n; at += chunk) {
			evbuffer_add(in, stream + at,
			    at + chunk > n ? n - at : chunk);
			wsframe_relay(wf, 0, in, out);
			/* The client answers whatever was sent ... */
			if (wsframe_pings(wf) > wsframe_pongs(wf)) {
				unsigned char	pong[64], key[4] = { 1, 2, 3, 4 };
				struct evbuffer	*cin = evbuffer_new(),
						*cout = evbuffer_new();
				char		 pl[32];
				size_t		 pn;

				snprintf(pl, sizeof pl, "janitor-ping-%08x", 0);
				pn = frame(pong, 1, 0xa,
				    (const unsigned char *)pl, strlen(pl), key);
				evbuffer_add(cin, pong, pn);
				wsframe_relay(wf, 1, cin, cout);
				ck_assert_int_eq(evbuffer_get_length(cout), 0);
				evbuffer_free(cin);
				evbuffer_free(cout);
			}
			/* ... and a ping is due at every chunk. */
			wsframe_tick(wf);
		}
		ck_assert_int_eq(evbuffer_get_length(in), 0);
		ck_assert_int_eq(dead_calls, 0);
		rlen = evbuffer_get_length(out);
		res = evbuffer_pullup(out, -1);
		k = parse(res, rlen, fr, 64);
		ck_assert_int_gt(k, 0);
		/* The app's frames, in order and intact, plus whole pings. */
		nonping = pings = 0;
		for (i = 0; i < k; i++) {
			if (fr[i].op == 9) {
				ck_assert_int_eq(fr[i].len, 21);
				ck_assert_int_eq(memcmp(res + fr[i].off,
				    "janitor-ping-", 13), 0);
				pings++;
				continue;
			}
			nonping++;
		}
		ck_assert_int_eq(nonping, 7);
		ck_assert_int_ge(pings, 1);
		ck_assert_int_eq((uint64_t)pings, wsframe_pings(wf));
		ck_assert_int_eq(rlen, n + (size_t)pings * 23);
		wsframe_free(wf);
		evbuffer_free(in);
		evbuffer_free(out);
	}
}
END_TEST

START_TEST(test_client_stream_drops_our_pongs_only)
{
	static unsigned char	 stream[4096], expect[4096], bin[130];
	unsigned char		 key[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct evbuffer		*in, *out, *toc;
	struct wsframe		*wf;
	size_t			 n = 0, e = 0, f, at, chunk;
	char			 ours[32];

	memset(bin, 7, sizeof bin);
	snprintf(ours, sizeof ours, "janitor-ping-%08x", 0);
	f = frame(stream + n, 1, 1, (const unsigned char *)"hi", 2, key);
	memcpy(expect + e, stream + n, f);
	n += f;
	e += f;
	n += frame(stream + n, 1, 0xa, (const unsigned char *)ours,
	    strlen(ours), key);
	/* A pong to the app's own ping, even of the same length, passes. */
	f = frame(stream + n, 1, 0xa,
	    (const unsigned char *)"app-ping-00000000000x", 21, key);
	memcpy(expect + e, stream + n, f);
	n += f;
	e += f;
	f = frame(stream + n, 1, 2, bin, sizeof bin, key);
	memcpy(expect + e, stream + n, f);
	n += f;
	e += f;
	n += frame(stream + n, 1, 0xa, (const unsigned char *)ours,
	    strlen(ours), key);

	for (chunk = 1; chunk < 50; chunk++) {
		in = evbuffer_new();
		out = evbuffer_new();
		toc = evbuffer_new();
		wf = wsframe_new(NULL, 1000, toc, NULL, dead, NULL);
		for (at = 0; at < n; at += chunk) {
			evbuffer_add(in, stream + at,
			    at + chunk > n ? n - at : chunk);
			wsframe_relay(wf, 1, in, out);
		}
		ck_assert_int_eq(evbuffer_get_length(in), 0);
		ck_assert_int_eq(evbuffer_get_length(out), e);
		ck_assert_int_eq(memcmp(evbuffer_pullup(out, -1), expect, e), 0);
		ck_assert_int_eq(wsframe_pongs(wf), 2);
		wsframe_free(wf);
		evbuffer_free(in);
		evbuffer_free(out);
		evbuffer_free(toc);
	}
}
END_TEST

START_TEST(test_unanswered_ping_is_dead)
{
	struct evbuffer	*toc = evbuffer_new(), *in = evbuffer_new();
	struct wsframe	*wf;
	unsigned char	 hdr[4];

	dead_calls = 0;
	wf = wsframe_new(NULL, 1000, toc, NULL, dead, NULL);
	ck_assert_int_eq(wsframe_tick(wf), 0);
	ck_assert_int_eq(evbuffer_get_length(toc), 23);	/* sent at once */
	ck_assert_int_eq(wsframe_tick(wf), 1);
	ck_assert_int_eq(dead_calls, 1);
	wsframe_free(wf);

	/* Mid-frame, the ping waits for the end of the frame. */
	evbuffer_drain(toc, evbuffer_get_length(toc));
	wf = wsframe_new(NULL, 1000, toc, NULL, dead, NULL);
	hdr[0] = 0x82;
	hdr[1] = 10;
	evbuffer_add(in, hdr, 2);
	evbuffer_add(in, "12345", 5);
	wsframe_relay(wf, 0, in, toc);
	ck_assert_int_eq(wsframe_tick(wf), 0);
	ck_assert_int_eq(wsframe_pings(wf), 0);
	ck_assert_int_eq(evbuffer_get_length(toc), 7);
	evbuffer_add(in, "67890", 5);
	wsframe_relay(wf, 0, in, toc);
	ck_assert_int_eq(wsframe_pings(wf), 1);
	ck_assert_int_eq(evbuffer_get_length(toc), 12 + 23);
	wsframe_free(wf);
	evbuffer_free(toc);
	evbuffer_free(in);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("wsframe");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_app_stream_pings_at_boundaries);
	tcase_add_test(tc, test_client_stream_drops_our_pongs_only);
	tcase_add_test(tc, test_unanswered_ping_is_dead);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
