/*
 * fuzz_http.c -- a round trip through the relay's HTTP path: arbitrary
 * bytes are parsed as janitord parses a client's (or the app's) stream,
 * in pieces the input chooses; every message janitord would forward is
 * written out as it forwards it (head rewritten with the hop-by-hop and
 * X-Forwarded-* edits, body raw, trailer section rebuilt); then a fresh
 * parser reads what was written.  The two parses must agree: the same
 * number of complete messages, the same heads byte for byte, the same
 * body data, the same trailers, and every forwarded head valid again (the
 * second parse validates as the first).  A message cut off by an error
 * must not come out complete.
 *
 * The first input byte: bit 7 set for responses, bits 0-6 the size of the
 * pieces fed to the first parser (0: all at once).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "http.h"

#define FUZZ_MAXHEAD	4096
#define FUZZ_MAXMSG	8

/* What one parse found in one message. */
struct fuzz_msg {
	struct evbuffer	*fm_head;	/* the head as written */
	struct evbuffer	*fm_body;	/* body data, without framing */
	struct evbuffer	*fm_trailers;	/* the trailer section as written */
	int		 fm_complete;
};

/* Body data goes to the message being parsed. */
static void
fuzz_ondata(void *arg, const char *p, size_t len)
{
	evbuffer_add(arg, p, len);
}

/* A finding: say what and stop. */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_http: %s\n", what);
	abort();
}

/* Whether two buffers hold the same bytes. */
static int
fuzz_same(struct evbuffer *a, struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(a);

	if (n != evbuffer_get_length(b))
		return (0);
	return (n == 0 || memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1),
	    n) == 0);
}

static void
fuzz_msg_init(struct fuzz_msg *fm)
{
	fm->fm_head = evbuffer_new();
	fm->fm_body = evbuffer_new();
	fm->fm_trailers = evbuffer_new();
	fm->fm_complete = 0;
}

static void
fuzz_msg_free(struct fuzz_msg *fm)
{
	evbuffer_free(fm->fm_head);
	evbuffer_free(fm->fm_body);
	evbuffer_free(fm->fm_trailers);
}

/*
 * Parse messages from data as the relay does, step bytes at a time (0:
 * all), up to FUZZ_MAXMSG.  With out, forward each one there as janitord
 * would, with its edits.  Returns how many messages were seen (the last
 * possibly incomplete); msgs[i] says what each held; *bad is set if the
 * parse stopped at an error (not at the end of the bytes).
 */
static int
fuzz_parse(const char *data, size_t len, int response, size_t step,
    struct evbuffer *out, struct fuzz_msg *msgs, int *bad)
{
	static struct cidr	 nets[1];
	static int		 init;
	struct http_parse	 hp;
	struct http_head	*hd;
	struct http_client	 hc;
	struct fuzz_msg		*fm;
	const char		*cause;
	size_t			 off = 0, n, raw, total;
	ssize_t			 r;
	int			 nmsg = 0, last, keep;

	*bad = 1;
	if (!init) {
		config_parse_cidr("127.0.0.0/8", &nets[0]);
		init = 1;
	}
	/*
	 * A forwarded head may be longer than what came (X-Forwarded-Host
	 * repeats Host): the second parse allows for that.
	 */
	http_parse_init(&hp, response ? HTTP_RESPONSE : HTTP_REQUEST,
	    out != NULL ? FUZZ_MAXHEAD : 4 * FUZZ_MAXHEAD);
	while (nmsg < FUZZ_MAXMSG && off < len) {
		fm = &msgs[nmsg++];
		hp.hp_ondata = fuzz_ondata;
		hp.hp_ondata_arg = fm->fm_body;
		/* The head, in pieces (the relay offers all it has). */
		while (hp.hp_state == HTTP_PARSE_HEAD && off < len) {
			n = step == 0 || len - off < step ? len - off : step;
			r = http_parse_head(&hp, data + off, n);
			if (r < 0)
				goto done;
			off += (size_t)r;
		}
		if (hp.hp_state == HTTP_PARSE_HEAD)
			break;
		hd = http_parse_take(&hp);
		if (http_head_validate(hd, &cause) != 0) {
			http_head_free(hd);
			goto done;
		}
		/* After an upgrade the bytes are a tunnel's, as in proxy.c. */
		if (response)
			keep = hd->hd_status == 101 && hd->hd_upgrade;
		else
			keep = hd->hd_upgrade && hd->hd_method == HTTP_GET &&
			    http_head_has_token(hd, "Upgrade", "websocket");
		/*
		 * janitord reads no further request on a connection it closes
		 * after this one; the second parse reads on, since the
		 * forwarded head no longer says (Connection is hop-by-hop).
		 */
		last = keep || (out != NULL && !hd->hd_keepalive);
		if (out != NULL) {
			http_head_strip_hop(hd, keep);
			if (!response) {
				http_head_forwarded(hd, "127.0.0.1", nets, 1,
				    &hc);
				http_head_remove(hd, "X-Janitor-Session");
				http_head_add(hd, "X-Janitor-Session", "k");
			}
			http_head_write(hd, out);
		}
		http_head_write(hd, fm->fm_head);
		http_head_free(hd);
		/* The body, in pieces: raw bytes, the trailer section rebuilt. */
		while (hp.hp_state == HTTP_PARSE_BODY && off < len) {
			n = step == 0 || len - off < step ? len - off : step;
			r = http_parse_body(&hp, data + off, n);
			if (r < 0)
				goto done;
			raw = hp.hp_raw;
			total = (size_t)r;
			if (raw > total)
				fuzz_fail("more raw bytes than consumed");
			if (out != NULL)
				evbuffer_add(out, data + off, raw);
			off += total;
			if (total == 0)
				break;
		}
		if (hp.hp_state == HTTP_PARSE_BODY && response &&
		    http_parse_until_eof(&hp))
			http_parse_eof(&hp);
		if (hp.hp_state != HTTP_PARSE_DONE)
			break;
		http_parse_trailers(&hp, fm->fm_trailers, "X-Janitor-Session");
		if (out != NULL && evbuffer_get_length(fm->fm_trailers) > 0)
			evbuffer_add(out, evbuffer_pullup(fm->fm_trailers, -1),
			    evbuffer_get_length(fm->fm_trailers));
		fm->fm_complete = 1;
		if (last)
			break;
		http_parse_next(&hp);
	}
	*bad = 0;
done:
	http_parse_clear(&hp);
	return (nmsg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_msg	 a[FUZZ_MAXMSG], b[FUZZ_MAXMSG];
	struct evbuffer	*out;
	size_t		 step, olen;
	int		 response, na, nb, ca, cb, i, bada, badb;

	if (size < 1)
		return (0);
	response = (data[0] & 0x80) != 0;
	step = data[0] & 0x7f;
	for (i = 0; i < FUZZ_MAXMSG; i++) {
		fuzz_msg_init(&a[i]);
		fuzz_msg_init(&b[i]);
	}
	out = evbuffer_new();
	na = fuzz_parse((const char *)data + 1, size - 1, response, step, out,
	    a, &bada);
	olen = evbuffer_get_length(out);
	nb = fuzz_parse(olen == 0 ? "" : (const char *)evbuffer_pullup(out,
	    -1), olen, response, 0, NULL, b, &badb);
	/*
	 * Every forwarded byte parses: complete messages, then at most the
	 * start of one cut off where the first parse met an error.
	 */
	if (badb)
		fuzz_fail("the forwarded bytes do not parse");

	for (ca = 0; ca < na && a[ca].fm_complete; ca++)
		;
	for (cb = 0; cb < nb && b[cb].fm_complete; cb++)
		;
	/* Also: a message cut off by an error does not come out whole. */
	if (ca != cb)
		fuzz_fail("the second parse counts other complete messages");
	for (i = 0; i < ca; i++) {
		if (!fuzz_same(a[i].fm_head, b[i].fm_head))
			fuzz_fail("a forwarded head parses differently");
		if (!fuzz_same(a[i].fm_body, b[i].fm_body))
			fuzz_fail("a forwarded body parses differently");
		if (!fuzz_same(a[i].fm_trailers, b[i].fm_trailers))
			fuzz_fail("forwarded trailers parse differently");
	}
	evbuffer_free(out);
	for (i = 0; i < FUZZ_MAXMSG; i++) {
		fuzz_msg_free(&a[i]);
		fuzz_msg_free(&b[i]);
	}
	return (0);
}
