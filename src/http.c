/*
 * http.c -- HTTP/1.x heads on top of llhttp.
 *
 * The parser is paused at the end of every head and every message, so the
 * caller always knows exactly which bytes belong to which part: the head is
 * rebuilt from struct http_head, the body is forwarded raw (a chunked body
 * keeps its framing, checked by chunked.c as well as by llhttp, and only
 * its trailer section is rebuilt) and the bytes after a message wait for
 * the next one.  Line ends in heads are checked here too: CRLF only, no
 * obsolete line folding, which llhttp 8.1 lets through.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "config.h"
#include "http.h"
#include "log.h"

static int	http_on_message_begin(llhttp_t *);
static int	http_on_url(llhttp_t *, const char *, size_t);
static int	http_on_status(llhttp_t *, const char *, size_t);
static int	http_on_header_field(llhttp_t *, const char *, size_t);
static int	http_on_header_value(llhttp_t *, const char *, size_t);
static int	http_on_headers_complete(llhttp_t *);
static int	http_on_body(llhttp_t *, const char *, size_t);
static int	http_on_message_complete(llhttp_t *);
static int	http_name_alike(const char *, const char *);

static const llhttp_settings_t http_settings = {
	.on_message_begin = http_on_message_begin,
	.on_url = http_on_url,
	.on_status = http_on_status,
	.on_header_field = http_on_header_field,
	.on_header_value = http_on_header_value,
	.on_headers_complete = http_on_headers_complete,
	.on_body = http_on_body,
	.on_message_complete = http_on_message_complete,
};

/* More arena space for a head. */
struct http_block {
	struct http_block	*hb_next;
	char			 hb_data[];
};

#define HTTP_BLOCK_SIZE		4096

/* Append len bytes to a NUL-terminated heap string (or start one). */
static void
http_heap_append(char **s, const char *p, size_t len)
{
	size_t	old;

	if (*s == NULL) {
		*s = xstrndup(p, len);
		return;
	}
	old = strlen(*s);
	*s = xrealloc(*s, old + len + 1);
	memcpy(*s + old, p, len);
	(*s)[old + len] = '\0';
}

/* n bytes from a head's arena. */
static char *
http_alloc(struct http_head *hd, size_t n)
{
	struct http_block	*hb;
	size_t			 size;
	char			*p;

	if (n > hd->hd_left) {
		size = n > HTTP_BLOCK_SIZE ? n : HTTP_BLOCK_SIZE;
		hb = xmalloc(sizeof *hb + size);
		hb->hb_next = hd->hd_blocks;
		hd->hd_blocks = hb;
		hd->hd_free = hb->hb_data;
		hd->hd_left = size;
	}
	p = hd->hd_free;
	hd->hd_free += n;
	hd->hd_left -= n;
	hd->hd_last = p;
	return (p);
}

/* A copy of len bytes, NUL-terminated, in the head's arena. */
static char *
http_strdup(struct http_head *hd, const char *s, size_t len)
{
	char	*p;

	p = http_alloc(hd, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

/* Append to an arena string: in place when it is the newest and fits. */
static void
http_append(struct http_head *hd, char **s, const char *p, size_t len)
{
	size_t	old;
	char	*n;

	if (*s == NULL) {
		*s = http_strdup(hd, p, len);
		return;
	}
	old = strlen(*s);
	if (*s == hd->hd_last && hd->hd_free == *s + old + 1 &&
	    hd->hd_left >= len) {
		memcpy(*s + old, p, len);
		(*s)[old + len] = '\0';
		hd->hd_free += len;
		hd->hd_left -= len;
		return;
	}
	n = http_alloc(hd, old + len + 1);
	memcpy(n, *s, old);
	memcpy(n + old, p, len);
	n[old + len] = '\0';
	*s = n;
}

/* Make room for one more header. */
static struct http_header *
http_head_grow(struct http_head *hd)
{
	struct http_header	*nh;

	if (hd->hd_nhdrs == hd->hd_cap) {
		if (hd->hd_hdrs == hd->hd_inhdrs) {
			nh = xmalloc(hd->hd_cap * 2 * sizeof *nh);
			memcpy(nh, hd->hd_hdrs, hd->hd_nhdrs * sizeof *nh);
			hd->hd_hdrs = nh;
		} else
			hd->hd_hdrs = xrealloc(hd->hd_hdrs,
			    hd->hd_cap * 2 * sizeof *hd->hd_hdrs);
		hd->hd_cap *= 2;
	}
	return (&hd->hd_hdrs[hd->hd_nhdrs++]);
}

/* A new, empty head. */
struct http_head *
http_head_new(int request)
{
	struct http_head	*hd;

	hd = xmalloc(sizeof *hd);
	memset(hd, 0, offsetof(struct http_head, hd_inhdrs));
	hd->hd_request = request;
	hd->hd_length = -1;
	hd->hd_major = 1;
	hd->hd_minor = 1;
	hd->hd_hdrs = hd->hd_inhdrs;
	hd->hd_cap = HTTP_HEAD_INLINE_HDRS;
	hd->hd_free = hd->hd_inbytes;
	hd->hd_left = sizeof hd->hd_inbytes;
	return (hd);
}

/* Free a head, its headers and its arena. */
void
http_head_free(struct http_head *hd)
{
	struct http_block	*hb;

	if (hd == NULL)
		return;
	while ((hb = hd->hd_blocks) != NULL) {
		hd->hd_blocks = hb->hb_next;
		free(hb);
	}
	if (hd->hd_hdrs != hd->hd_inhdrs)
		free(hd->hd_hdrs);
	free(hd);
}

/* Prepare a parser for one direction of a connection. */
void
http_parse_init(struct http_parse *hp, llhttp_type_t type, size_t maxhead)
{
	memset(hp, 0, sizeof *hp);
	llhttp_init(&hp->hp_parser, type, &http_settings);
	hp->hp_parser.data = hp;
	hp->hp_maxhead = maxhead;
	hp->hp_state = HTTP_PARSE_HEAD;
}

/* Drop a half-built head and any trailer fields. */
void
http_parse_clear(struct http_parse *hp)
{
	http_head_free(hp->hp_head);
	hp->hp_head = NULL;
	http_head_free(hp->hp_trailers);
	hp->hp_trailers = NULL;
}

/* Fail from inside a callback with our own status and reason. */
static int
http_cb_fail(struct http_parse *hp, int status, const char *why)
{
	hp->hp_status = status;
	hp->hp_error = why;
	return (-1);
}

/* A message starts: begin a fresh head. */
static int
http_on_message_begin(llhttp_t *p)
{
	struct http_parse	*hp = p->data;

	http_head_free(hp->hp_head);
	hp->hp_head = http_head_new(p->type == HTTP_REQUEST);
	hp->hp_inname = 0;
	return (0);
}

/* A piece of the request target. */
static int
http_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_parse	*hp = p->data;

	http_append(hp->hp_head, &hp->hp_head->hd_target, at, len);
	return (0);
}

/* A piece of the reason phrase. */
static int
http_on_status(llhttp_t *p, const char *at, size_t len)
{
	struct http_parse	*hp = p->data;

	http_append(hp->hp_head, &hp->hp_head->hd_reason, at, len);
	return (0);
}

/* Where header fields go: into the head, or after it into the trailers. */
static struct http_head *
http_fields(struct http_parse *hp)
{
	if (hp->hp_state == HTTP_PARSE_HEAD)
		return (hp->hp_head);
	if (hp->hp_trailers == NULL)
		hp->hp_trailers = http_head_new(0);
	return (hp->hp_trailers);
}

/* A piece of a header (or trailer) name. */
static int
http_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_parse	*hp = p->data;
	struct http_head	*hd = http_fields(hp);
	struct http_header	*hh;

	if (!hp->hp_inname || hd->hd_nhdrs == 0) {
		hh = http_head_grow(hd);
		hh->hh_name = NULL;
		hh->hh_value = NULL;
		hp->hp_inname = 1;
	}
	hh = &hd->hd_hdrs[hd->hd_nhdrs - 1];
	http_append(hd, &hh->hh_name, at, len);
	return (0);
}

/* A piece of a header (or trailer) value. */
static int
http_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_parse	*hp = p->data;
	struct http_head	*hd = http_fields(hp);
	struct http_header	*hh;

	if (hd->hd_nhdrs == 0)
		return (0);
	hp->hp_inname = 0;
	hh = &hd->hd_hdrs[hd->hd_nhdrs - 1];
	http_append(hd, &hh->hh_value, at, len);
	return (0);
}

/* Give every header a value, without trailing white space. */
static void
http_fields_trim(struct http_head *hd)
{
	size_t	 i, n;
	char	*v;

	for (i = 0; i < hd->hd_nhdrs; i++) {
		if (hd->hd_hdrs[i].hh_name == NULL)
			hd->hd_hdrs[i].hh_name = http_strdup(hd, "", 0);
		if (hd->hd_hdrs[i].hh_value == NULL)
			hd->hd_hdrs[i].hh_value = http_strdup(hd, "", 0);
		v = hd->hd_hdrs[i].hh_value;
		n = strlen(v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			v[--n] = '\0';
	}
}

/* The head is complete: note what the parser knows and pause. */
static int
http_on_headers_complete(llhttp_t *p)
{
	struct http_parse	*hp = p->data;
	struct http_head	*hd = hp->hp_head;

	hd->hd_major = p->http_major;
	hd->hd_minor = p->http_minor;
	if (p->http_major != 1 || p->http_minor > 1)
		return (http_cb_fail(hp, 505, "unsupported HTTP version"));
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > INT64_MAX)
		return (http_cb_fail(hp, 400, "Content-Length too large"));
	hd->hd_method = p->method;
	hd->hd_status = p->status_code;
	/* No body, whatever the head says (llhttp reads the flag later). */
	if (!hd->hd_request && (hp->hp_skipbody || hd->hd_status / 100 == 1 ||
	    hd->hd_status == 204 || hd->hd_status == 304))
		p->flags |= F_SKIPBODY;
	hd->hd_keepalive = llhttp_should_keep_alive(p);
	hd->hd_chunked = (p->flags & F_CHUNKED) != 0;
	if (p->flags & F_CONTENT_LENGTH)
		hd->hd_length = (int64_t)p->content_length;
	hd->hd_upgrade = (p->flags & F_UPGRADE) &&
	    (p->flags & F_CONNECTION_UPGRADE);
	if (hd->hd_target == NULL)
		hd->hd_target = http_strdup(hd, "", 0);
	http_fields_trim(hd);
	hp->hp_chunked = hd->hd_chunked && !(p->flags & F_SKIPBODY);
	/*
	 * Decided here, once: llhttp's flags change with the fields of a
	 * trailer section (a "Transfer-Encoding" trailer clears F_CHUNKED).
	 */
	hp->hp_untileof = !hd->hd_request && !(p->flags & (F_CHUNKED |
	    F_CONTENT_LENGTH | F_SKIPBODY)) && llhttp_message_needs_eof(p);
	hp->hp_inname = 0;
	hp->hp_state = HTTP_PARSE_HEAD_DONE;
	return (HPE_PAUSED);
}

/* Count body bytes (for max_body_size on chunked bodies). */
static int
http_on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_parse	*hp = p->data;

	hp->hp_bodylen += len;
	if (hp->hp_ondata != NULL)
		hp->hp_ondata(hp->hp_ondata_arg, at, len);
	return (0);
}

/* The message is complete: pause so the next one waits. */
static int
http_on_message_complete(llhttp_t *p)
{
	struct http_parse	*hp = p->data;

	if (hp->hp_trailers != NULL)
		http_fields_trim(hp->hp_trailers);
	hp->hp_state = HTTP_PARSE_DONE;
	return (HPE_PAUSED);
}

/* Fail with a status and a reason: ours if a callback set one, else llhttp's. */
static ssize_t
http_parse_fail(struct http_parse *hp, llhttp_errno_t e)
{
	const char	*reason;

	hp->hp_state = HTTP_PARSE_ERROR;
	if (hp->hp_error != NULL)
		return (-1);
	reason = llhttp_get_error_reason(&hp->hp_parser);
	hp->hp_status = 400;
	if (e == HPE_PAUSED_H2_UPGRADE) {
		/* "PRI * HTTP/2.0", the HTTP/2 preface. */
		hp->hp_status = 505;
		reason = "unsupported HTTP version";
	} else if (e == HPE_INVALID_VERSION && reason != NULL &&
	    strcmp(reason, "Invalid HTTP version") == 0)
		/* Well formed, but not a version llhttp knows (1.2, 3.0). */
		hp->hp_status = 505;
	hp->hp_error = reason != NULL ? reason : llhttp_errno_name(e);
	return (-1);
}

/* Fail with our own status and reason. */
static ssize_t
http_parse_refuse(struct http_parse *hp, int status, const char *why)
{
	hp->hp_state = HTTP_PARSE_ERROR;
	hp->hp_status = status;
	hp->hp_error = why;
	return (-1);
}

/*
 * Check the line ends of head bytes the parser took: every LF comes after
 * a CR, every CR before an LF, and no line starts with white space (obs-fold,
 * which a recipient may join or split).  llhttp 8.1 takes a bare LF after
 * the request line and at the end of the head, and joins folded lines.
 */
static int
http_head_lines(struct http_parse *hp, const char *data, size_t n)
{
	const char	*p, *end = data + n;
	int		 before;

	if (n == 0)
		return (0);
	if (hp->hp_prev == '\n' && (data[0] == ' ' || data[0] == '\t'))
		return (http_parse_refuse(hp, 400, "obsolete line folding"));
	if (hp->hp_prev == '\r' && data[0] != '\n')
		return (http_parse_refuse(hp, 400, "CR without LF in the head"));
	for (p = data; (p = memchr(p, '\n', end - p)) != NULL; p++) {
		before = p > data ? p[-1] : hp->hp_prev;
		if (before != '\r')
			return (http_parse_refuse(hp, 400,
			    "bare LF in the head"));
		if (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
			return (http_parse_refuse(hp, 400,
			    "obsolete line folding"));
	}
	for (p = data; (p = memchr(p, '\r', end - p)) != NULL; p++) {
		if (p + 1 < end && p[1] != '\n')
			return (http_parse_refuse(hp, 400,
			    "CR without LF in the head"));
	}
	hp->hp_prev = (unsigned char)end[-1];
	return (0);
}

/* Feed bytes of a head. */
ssize_t
http_parse_head(struct http_parse *hp, const char *data, size_t len)
{
	llhttp_errno_t	e;
	size_t		n, want, room;

	if (hp->hp_state != HTTP_PARSE_HEAD)
		return (0);
	/* Never read more than one byte past the limit. */
	room = hp->hp_maxhead + 1 - hp->hp_headbytes;
	want = len < room ? len : room;
	e = llhttp_execute(&hp->hp_parser, data, want);
	if (e == HPE_OK)
		n = want;
	else if (e == HPE_PAUSED && hp->hp_state == HTTP_PARSE_HEAD_DONE)
		n = llhttp_get_error_pos(&hp->hp_parser) - data;
	else
		return (http_parse_fail(hp, e));
	if (http_head_lines(hp, data, n) == -1)
		return (-1);
	hp->hp_headbytes += n;
	if (hp->hp_headbytes > hp->hp_maxhead)
		return (http_parse_refuse(hp, 431, "request header too large"));
	if (hp->hp_state == HTTP_PARSE_HEAD)
		return ((ssize_t)n);

	/*
	 * Paused after the head.  Resume with no bytes: llhttp decides
	 * whether a body follows, and completes a message without one here.
	 */
	llhttp_resume(&hp->hp_parser);
	e = llhttp_execute(&hp->hp_parser, data + n, 0);
	if (hp->hp_state == HTTP_PARSE_DONE &&
	    (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE))
		;
	else if (e == HPE_OK && hp->hp_state == HTTP_PARSE_HEAD_DONE) {
		hp->hp_state = HTTP_PARSE_BODY;
		if (hp->hp_chunked)
			chunked_init(&hp->hp_chunk);
	} else
		return (http_parse_fail(hp, e));
	hp->hp_headbytes = 0;
	return ((ssize_t)n);
}

/* Take the head just parsed. */
struct http_head *
http_parse_take(struct http_parse *hp)
{
	struct http_head	*hd = hp->hp_head;

	hp->hp_head = NULL;
	return (hd);
}

/* Whether a body follows the head just parsed. */
int
http_parse_has_body(const struct http_parse *hp)
{
	return (hp->hp_state == HTTP_PARSE_BODY);
}

/*
 * Feed chunked body bytes: chunked.c checks them first and says where the
 * body ends; llhttp must then agree, byte for byte.
 */
static ssize_t
http_parse_chunked(struct http_parse *hp, const char *data, size_t len)
{
	llhttp_errno_t	e;
	ssize_t		n;
	size_t		raw;
	int		done;

	n = chunked_check(&hp->hp_chunk, data, len, &raw);
	if (n < 0)
		return (http_parse_refuse(hp, 400, hp->hp_chunk.ch_error));
	hp->hp_trailerbytes += (size_t)n - raw;
	if (hp->hp_trailerbytes > hp->hp_maxhead)
		return (http_parse_refuse(hp, 400, "trailer section too large"));
	e = llhttp_execute(&hp->hp_parser, data, (size_t)n);
	done = chunked_done(&hp->hp_chunk);
	if (e != HPE_OK && e != HPE_PAUSED)
		return (http_parse_fail(hp, e));
	if ((e == HPE_PAUSED) != done || (hp->hp_state == HTTP_PARSE_DONE) !=
	    done || (done && llhttp_get_error_pos(&hp->hp_parser) !=
	    data + n))
		return (http_parse_refuse(hp, 400,
		    "chunked framing: llhttp and the check disagree"));
	hp->hp_raw = raw;
	return (n);
}

/* Feed body bytes. */
ssize_t
http_parse_body(struct http_parse *hp, const char *data, size_t len)
{
	llhttp_errno_t	e;
	size_t		n;

	hp->hp_raw = 0;
	if (hp->hp_state != HTTP_PARSE_BODY || len == 0)
		return (0);
	if (hp->hp_chunked)
		return (http_parse_chunked(hp, data, len));
	e = llhttp_execute(&hp->hp_parser, data, len);
	if (e == HPE_OK)
		n = len;
	else if (e == HPE_PAUSED && hp->hp_state == HTTP_PARSE_DONE)
		n = llhttp_get_error_pos(&hp->hp_parser) - data;
	else
		return (http_parse_fail(hp, e));
	hp->hp_raw = n;
	return ((ssize_t)n);
}

/* Whether a trailer field is dropped on the way through. */
static int
http_trailer_dropped(const char *name, const char *drop)
{
	static const char *const never[] = {
		"Content-Length", "Transfer-Encoding", "Host", "Connection",
		"Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade",
		"Forwarded", "X-Real-IP", "X-Forwarded-For",
		"X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
		"X-Forwarded-Ssl",
	};
	size_t	i;

	for (i = 0; i < sizeof never / sizeof never[0]; i++) {
		if (http_name_alike(name, never[i]))
			return (1);
	}
	return (drop != NULL && *drop != '\0' && http_name_alike(name, drop));
}

/* Write a chunked body's trailer section, filtered. */
void
http_parse_trailers(struct http_parse *hp, struct evbuffer *out,
    const char *drop)
{
	struct http_head	*tr = hp->hp_trailers;
	size_t			 i;

	if (!hp->hp_chunked)
		return;
	for (i = 0; tr != NULL && i < tr->hd_nhdrs; i++) {
		if (http_trailer_dropped(tr->hd_hdrs[i].hh_name, drop))
			continue;
		evbuffer_add_printf(out, "%s: %s\r\n", tr->hd_hdrs[i].hh_name,
		    tr->hd_hdrs[i].hh_value);
	}
	evbuffer_add(out, "\r\n", 2);
	http_head_free(tr);
	hp->hp_trailers = NULL;
	hp->hp_chunked = 0;
}

/* The connection closed: a body that runs until then is complete. */
void
http_parse_eof(struct http_parse *hp)
{
	if (hp->hp_state == HTTP_PARSE_BODY &&
	    http_parse_until_eof(hp))
		hp->hp_state = HTTP_PARSE_DONE;
}

/* Whether the current body is delimited by the connection closing. */
int
http_parse_until_eof(struct http_parse *hp)
{
	return (hp->hp_state == HTTP_PARSE_BODY && hp->hp_untileof);
}

/* Get ready for the next message. */
void
http_parse_next(struct http_parse *hp)
{
	http_parse_clear(hp);
	llhttp_reset(&hp->hp_parser);
	hp->hp_state = HTTP_PARSE_HEAD;
	hp->hp_headbytes = 0;
	hp->hp_trailerbytes = 0;
	hp->hp_bodylen = 0;
	hp->hp_skipbody = 0;
	hp->hp_chunked = 0;
	hp->hp_untileof = 0;
	hp->hp_inname = 0;
	hp->hp_prev = 0;
	hp->hp_raw = 0;
	hp->hp_status = 0;
	hp->hp_error = NULL;
}

/* First value of a header. */
const char *
http_head_get(const struct http_head *hd, const char *name)
{
	size_t	i;

	for (i = 0; i < hd->hd_nhdrs; i++) {
		if (strcasecmp(hd->hd_hdrs[i].hh_name, name) == 0)
			return (hd->hd_hdrs[i].hh_value);
	}
	return (NULL);
}

/* How many copies of a header there are. */
size_t
http_head_count(const struct http_head *hd, const char *name)
{
	size_t	i, n = 0;

	for (i = 0; i < hd->hd_nhdrs; i++) {
		if (strcasecmp(hd->hd_hdrs[i].hh_name, name) == 0)
			n++;
	}
	return (n);
}

/* Whether a comma-separated value holds token. */
static int
http_list_has(const char *v, const char *token)
{
	size_t		 tlen = strlen(token), n;
	const char	*p = v, *end;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		end = p;
		while (*end != '\0' && *end != ',')
			end++;
		n = end - p;
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return (1);
		p = end;
	}
	return (0);
}

/* Whether any copy of a comma-separated header holds token. */
int
http_head_has_token(const struct http_head *hd, const char *name,
    const char *token)
{
	size_t	i;

	for (i = 0; i < hd->hd_nhdrs; i++) {
		if (strcasecmp(hd->hd_hdrs[i].hh_name, name) == 0 &&
		    http_list_has(hd->hd_hdrs[i].hh_value, token))
			return (1);
	}
	return (0);
}

/*
 * Whether two header names are the same when case is ignored and '_' is
 * taken for '-', as WSGI and CGI servers do when they map headers to
 * variables (X_Janitor_Session reaches the app as X-Janitor-Session).
 */
static int
http_name_alike(const char *a, const char *b)
{
	int	ca, cb;

	for (;; a++, b++) {
		ca = *a == '_' ? '-' : tolower((unsigned char)*a);
		cb = *b == '_' ? '-' : tolower((unsigned char)*b);
		if (ca != cb)
			return (0);
		if (ca == '\0')
			return (1);
	}
}

/* Remove every copy of a header, also spelt with '_' for '-'. */
void
http_head_remove(struct http_head *hd, const char *name)
{
	size_t	i, j;

	for (i = j = 0; i < hd->hd_nhdrs; i++) {
		if (http_name_alike(hd->hd_hdrs[i].hh_name, name))
			continue;
		hd->hd_hdrs[j++] = hd->hd_hdrs[i];
	}
	hd->hd_nhdrs = j;
}

/* Append a header. */
void
http_head_add(struct http_head *hd, const char *name, const char *value)
{
	struct http_header	*hh;

	hh = http_head_grow(hd);
	hh->hh_name = http_strdup(hd, name, strlen(name));
	hh->hh_value = http_strdup(hd, value, strlen(value));
}

/* Replace every copy of a header with one. */
void
http_head_set(struct http_head *hd, const char *name, const char *value)
{
	http_head_remove(hd, name);
	http_head_add(hd, name, value);
}

/* The method as text. */
const char *
http_head_method(const struct http_head *hd)
{
	return (llhttp_method_name((llhttp_method_t)hd->hd_method));
}

/*
 * Byte classes for the checks below, one table lookup per byte (they run
 * on every request and response head).
 */
#define HTTP_C_TCHAR	0x1	/* RFC 9110 tchar: header names */
#define HTTP_C_CTL	0x2	/* a control byte but tab, or DEL */
#define HTTP_C_HOST	0x4	/* RFC 3986 host and port characters */

static const unsigned char http_class[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	0, 5, 0, 1, 5, 5, 5, 5, 4, 4, 5, 5, 4, 5, 5, 0,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 0, 4, 0, 0,
	0, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 0, 4, 1, 5,
	1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
	5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 1, 0, 5, 2,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Whether c may appear in a header name. */
static int
http_tchar(unsigned char c)
{
	return (http_class[c] & HTTP_C_TCHAR);
}

/* Whether a Host value is uri-host [":" port] in RFC 3986's characters. */
static int
http_host_ok(const char *h)
{
	for (; *h != '\0'; h++) {
		if (!(http_class[(unsigned char)*h] & HTTP_C_HOST))
			return (0);
	}
	return (1);
}

/* Whether a value has a control byte other than tab, or DEL. */
static int
http_value_bad(const char *v)
{
	/* NUL is a control byte too: the loop stops at the end. */
	while (!(http_class[(unsigned char)*v] & HTTP_C_CTL))
		v++;
	return (*v != '\0');
}

/*
 * Check a request target's form: origin-form ("/..."), asterisk-form for
 * OPTIONS only, or absolute-form with an http or https authority that is
 * the Host (RFC 9112 section 3.2: a recipient takes the target's authority
 * over Host, the app may take Host; they must not differ).
 */
static int
http_target_ok(const struct http_head *hd, const char *host,
    const char **cause)
{
	const char	*t = hd->hd_target, *auth;
	size_t		 alen;

	if (t[0] == '/')
		return (0);
	if (strcmp(t, "*") == 0) {
		if (hd->hd_method == HTTP_OPTIONS)
			return (0);
		*cause = "asterisk-form target other than OPTIONS";
		return (-1);
	}
	if (strncasecmp(t, "http://", 7) == 0)
		auth = t + 7;
	else if (strncasecmp(t, "https://", 8) == 0)
		auth = t + 8;
	else {
		*cause = "request target is neither a path nor an http URI";
		return (-1);
	}
	alen = strcspn(auth, "/?#");
	if (alen == 0 || memchr(auth, '@', alen) != NULL) {
		*cause = "absolute-form target without a plain authority";
		return (-1);
	}
	if (host != NULL && (strlen(host) != alen ||
	    strncasecmp(host, auth, alen) != 0)) {
		*cause = "absolute-form target differs from Host";
		return (-1);
	}
	return (0);
}

/*
 * Check the rules the parser does not.  One pass over the headers: this
 * runs for every request and every response.
 */
int
http_head_validate(const struct http_head *hd, const char **cause)
{
	const char	*te = NULL, *cl = NULL, *host = NULL, *name, *p;
	size_t		 i, nte = 0, nhost = 0;

	if (hd->hd_major != 1 || hd->hd_minor > 1) {
		*cause = "unsupported HTTP version";
		return (-1);
	}
	if (hd->hd_request && hd->hd_method == HTTP_CONNECT) {
		*cause = "CONNECT is not supported";
		return (-1);
	}
	for (i = 0; i < hd->hd_nhdrs; i++) {
		name = hd->hd_hdrs[i].hh_name;
		for (p = name; http_tchar((unsigned char)*p); p++)
			;
		if (*p != '\0') {
			*cause = "invalid byte in a header name";
			return (-1);
		}
		if (p == name) {
			*cause = "empty header name";
			return (-1);
		}
		if (http_value_bad(hd->hd_hdrs[i].hh_value)) {
			*cause = "invalid byte in a header value";
			return (-1);
		}
		switch (p - name) {
		case 4:
			if (strcasecmp(name, "Host") == 0 && nhost++ == 0)
				host = hd->hd_hdrs[i].hh_value;
			break;
		case 14:
			if (strcasecmp(name, "Content-Length") != 0)
				break;
			if (cl == NULL)
				cl = hd->hd_hdrs[i].hh_value;
			else if (strcmp(cl, hd->hd_hdrs[i].hh_value) != 0) {
				*cause = "differing Content-Length headers";
				return (-1);
			}
			break;
		case 17:
			if (strcasecmp(name, "Transfer-Encoding") == 0 &&
			    nte++ == 0)
				te = hd->hd_hdrs[i].hh_value;
			break;
		}
	}
	if (hd->hd_request) {
		/* Printable US-ASCII only: no controls, no space, no 8-bit. */
		for (p = hd->hd_target; *p != '\0'; p++) {
			if ((unsigned char)*p <= 0x20 ||
			    (unsigned char)*p >= 0x7f) {
				*cause = "invalid byte in the request target";
				return (-1);
			}
		}
		if (hd->hd_target[0] == '\0') {
			*cause = "empty request target";
			return (-1);
		}
		if (nhost > 1) {
			*cause = "more than one Host header";
			return (-1);
		}
		if (hd->hd_minor >= 1 && host == NULL) {
			*cause = "HTTP/1.1 request without Host";
			return (-1);
		}
		if (host != NULL && *host == '\0') {
			*cause = "empty Host";
			return (-1);
		}
		if (host != NULL && !http_host_ok(host)) {
			*cause = "invalid byte in Host";
			return (-1);
		}
		if (http_target_ok(hd, host, cause) != 0)
			return (-1);
	} else if (hd->hd_reason != NULL && http_value_bad(hd->hd_reason)) {
		*cause = "invalid byte in the reason phrase";
		return (-1);
	}
	if (te != NULL) {
		if (nte != 1 || strcasecmp(te, "chunked") != 0) {
			*cause = "Transfer-Encoding other than chunked";
			return (-1);
		}
		if (cl != NULL) {
			*cause = "Content-Length with Transfer-Encoding";
			return (-1);
		}
		if (hd->hd_minor == 0) {
			*cause = "Transfer-Encoding in HTTP/1.0";
			return (-1);
		}
		/*
		 * llhttp must have read it as chunked too: it does not take
		 * "chunked" followed by a tab for chunked (fuzz_http), where
		 * the value written out again says chunked.
		 */
		if (!hd->hd_chunked) {
			*cause = "Transfer-Encoding not read as chunked";
			return (-1);
		}
	}
	if (cl != NULL && (*cl == '\0' || strspn(cl, "0123456789") !=
	    strlen(cl) || hd->hd_length < 0)) {
		*cause = "invalid Content-Length";
		return (-1);
	}
	return (0);
}

/* Whether a header is hop-by-hop by itself (not only when Connection names it). */
static int
http_is_hop(const char *name, int keep_upgrade)
{
	switch (strlen(name)) {
	case 2:
		return (strcasecmp(name, "TE") == 0);
	case 7:
		return (strcasecmp(name, "Trailer") == 0 ||
		    (!keep_upgrade && strcasecmp(name, "Upgrade") == 0));
	case 10:
		return (strcasecmp(name, "Connection") == 0 ||
		    strcasecmp(name, "Keep-Alive") == 0);
	case 16:
		return (strcasecmp(name, "Proxy-Connection") == 0);
	}
	return (0);
}

/* Remove the hop-by-hop headers. */
void
http_head_strip_hop(struct http_head *hd, int keep_upgrade)
{
	char	*named, *tok, *save;
	size_t	 i, j;

	/* First mark the headers that Connection names (other than itself). */
	for (i = 0; i < hd->hd_nhdrs; i++) {
		if (strcasecmp(hd->hd_hdrs[i].hh_name, "Connection") != 0)
			continue;
		named = xstrdup(hd->hd_hdrs[i].hh_value);
		for (tok = strtok_r(named, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			if (strcasecmp(tok, "close") == 0 ||
			    strcasecmp(tok, "keep-alive") == 0 ||
			    strcasecmp(tok, "Connection") == 0)
				continue;
			/*
			 * Never the framing or the Host: the body still goes
			 * out as framed, and an app reading it without its
			 * length would take it for a second request.
			 */
			if (strcasecmp(tok, "Content-Length") == 0 ||
			    strcasecmp(tok, "Transfer-Encoding") == 0 ||
			    strcasecmp(tok, "Host") == 0)
				continue;
			if (keep_upgrade && strcasecmp(tok, "Upgrade") == 0)
				continue;
			for (j = 0; j < hd->hd_nhdrs; j++) {
				if (strcasecmp(hd->hd_hdrs[j].hh_name,
				    tok) == 0)
					hd->hd_hdrs[j].hh_name[0] = '\0';
			}
		}
		free(named);
	}
	/* Then one pass drops the marked and the always hop-by-hop ones. */
	for (i = j = 0; i < hd->hd_nhdrs; i++) {
		if (hd->hd_hdrs[i].hh_name[0] == '\0' ||
		    http_is_hop(hd->hd_hdrs[i].hh_name, keep_upgrade))
			continue;
		hd->hd_hdrs[j++] = hd->hd_hdrs[i];
	}
	hd->hd_nhdrs = j;
	if (keep_upgrade)
		http_head_add(hd, "Connection", "upgrade");
}

/* Whether the text address ip lies inside one of the networks. */
int
http_ip_trusted(const char *ip, const struct cidr *nets, size_t n)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	if (n == 0)
		return (0);
	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return (config_cidr_match(nets, n, (struct sockaddr *)&sin));
	}
	if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return (config_cidr_match(nets, n, (struct sockaddr *)&sin6));
	}
	return (0);
}

/* Copy one X-Forwarded-For entry (trimmed, ports and brackets kept off). */
static void
http_xff_entry(const char *p, size_t n, char *out, size_t outlen)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* What http_xf_kind() says about a header name. */
#define HTTP_XF_NONE		0
#define HTTP_XF_FOR		1	/* X-Forwarded-For */
#define HTTP_XF_PROTO		2	/* X-Forwarded-Proto */
#define HTTP_XF_HOST		3	/* X-Forwarded-Host */
#define HTTP_XF_OTHER		4	/* Forwarded, X-Real-IP, -Port, -Ssl */
#define HTTP_XF_UNDERSCORE	5	/* any of them spelt with '_' */

/*
 * Which header of the forwarding family a name is.  The '_' spellings
 * are apart: WSGI and CGI servers (Gradio's among them) map '_' and '-' to
 * one name, so X_Forwarded_For would reach the app as X-Forwarded-For.
 */
static int
http_xf_kind(const char *name)
{
	static const char *const family[] = { "X-Forwarded-For",
	    "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
	    "X-Forwarded-Ssl", "X-Real-IP", "Forwarded" };
	size_t	i;
	int	c = name[0] | 0x20;

	if (c != 'x' && c != 'f')
		return (HTTP_XF_NONE);
	for (i = 0; i < sizeof family / sizeof family[0]; i++) {
		if (!http_name_alike(name, family[i]))
			continue;
		if (strchr(name, '_') != NULL)
			return (HTTP_XF_UNDERSCORE);
		return (i < 3 ? (int)i + 1 : HTTP_XF_OTHER);
	}
	return (HTTP_XF_NONE);
}

/* Whether a text is an IPv4 or IPv6 address. */
static int
http_ip_valid(const char *ip)
{
	unsigned char	buf[sizeof (struct in6_addr)];

	return (inet_pton(AF_INET, ip, buf) == 1 ||
	    inet_pton(AF_INET6, ip, buf) == 1);
}

/* Append a header whose value is already in the head's arena. */
static void
http_head_add_owned(struct http_head *hd, const char *name, char *value)
{
	struct http_header	*hh;

	hh = http_head_grow(hd);
	hh->hh_name = http_strdup(hd, name, strlen(name));
	hh->hh_value = value;
}

/* Rewrite X-Forwarded-For/-Proto/-Host, in one pass over the headers. */
void
http_head_forwarded(struct http_head *hd, const char *peer,
    const struct cidr *trusted, size_t ntrusted, struct http_client *hc)
{
	char		*xff = NULL, entry[64], *nxff, *nproto, *nhost;
	const char	*proto = NULL, *fhost = NULL, *host = NULL, *end, *start;
	size_t		 i, j, len, plen = strlen(peer);
	int		 believe, kind;

	believe = http_ip_trusted(peer, trusted, ntrusted);
	if (plen >= sizeof hc->hc_ip)
		plen = sizeof hc->hc_ip - 1;
	memcpy(hc->hc_ip, peer, plen);
	hc->hc_ip[plen] = '\0';
	hc->hc_https = 0;
	hc->hc_badxff[0] = '\0';

	for (i = 0; i < hd->hd_nhdrs; i++) {
		kind = http_xf_kind(hd->hd_hdrs[i].hh_name);
		if (kind == HTTP_XF_NONE) {
			if (host == NULL &&
			    strcasecmp(hd->hd_hdrs[i].hh_name, "Host") == 0)
				host = hd->hd_hdrs[i].hh_value;
			continue;
		}
		if (!believe)
			continue;
		/* All copies of X-Forwarded-For form one list, in order. */
		if (kind == HTTP_XF_FOR) {
			if (xff != NULL)
				http_heap_append(&xff, ", ", 2);
			http_heap_append(&xff, hd->hd_hdrs[i].hh_value,
			    strlen(hd->hd_hdrs[i].hh_value));
		} else if (kind == HTTP_XF_PROTO && proto == NULL)
			proto = hd->hd_hdrs[i].hh_value;
		else if (kind == HTTP_XF_HOST && fhost == NULL)
			fhost = hd->hd_hdrs[i].hh_value;
	}

	if (xff != NULL && *xff != '\0') {
		/*
		 * The client is the rightmost entry not a trusted proxy.  An
		 * entry that is not an address ends the walk: what a trusted
		 * proxy wrote there is broken, and what lies left of it
		 * cannot be told from what the client made up.
		 */
		end = xff + strlen(xff);
		while (end > xff) {
			start = end;
			while (start > xff && start[-1] != ',')
				start--;
			http_xff_entry(start, end - start, entry, sizeof entry);
			if (entry[0] != '\0') {
				if (!http_ip_valid(entry)) {
					http_xff_entry(start, end - start,
					    hc->hc_badxff, sizeof hc->hc_badxff);
					break;
				}
				snprintf(hc->hc_ip, sizeof hc->hc_ip, "%s",
				    entry);
				if (!http_ip_trusted(entry, trusted, ntrusted))
					break;
			}
			end = start > xff ? start - 1 : xff;
		}
		len = strlen(xff);
		nxff = http_alloc(hd, len + 2 + strlen(peer) + 1);
		memcpy(nxff, xff, len);
		memcpy(nxff + len, ", ", 2);
		strcpy(nxff + len + 2, peer);
	} else
		nxff = http_strdup(hd, peer, strlen(peer));
	free(xff);

	if (proto != NULL && *proto != '\0') {
		hc->hc_https = strncasecmp(proto, "https", 5) == 0 &&
		    (proto[5] == '\0' || proto[5] == ',' || proto[5] == ' ');
		nproto = (char *)proto;
	} else
		nproto = http_strdup(hd, "http", 4);
	if (fhost != NULL && *fhost != '\0')
		nhost = (char *)fhost;
	else
		nhost = (char *)host;

	/*
	 * Out with the old ones, in with the new.  Forwarded, X-Real-IP,
	 * -Port and -Ssl stay only when a trusted proxy sent them.
	 */
	for (i = j = 0; i < hd->hd_nhdrs; i++) {
		kind = http_xf_kind(hd->hd_hdrs[i].hh_name);
		if (kind != HTTP_XF_NONE && (kind != HTTP_XF_OTHER || !believe))
			continue;
		hd->hd_hdrs[j++] = hd->hd_hdrs[i];
	}
	hd->hd_nhdrs = j;
	http_head_add_owned(hd, "X-Forwarded-For", nxff);
	http_head_add_owned(hd, "X-Forwarded-Proto", nproto);
	if (nhost != NULL)
		http_head_add_owned(hd, "X-Forwarded-Host", nhost);
}

/* The reason phrase for a status. */
const char *
http_reason(int status)
{
	switch (status) {
	case 100: return ("Continue");
	case 101: return ("Switching Protocols");
	case 200: return ("OK");
	case 201: return ("Created");
	case 202: return ("Accepted");
	case 204: return ("No Content");
	case 206: return ("Partial Content");
	case 301: return ("Moved Permanently");
	case 302: return ("Found");
	case 303: return ("See Other");
	case 304: return ("Not Modified");
	case 307: return ("Temporary Redirect");
	case 308: return ("Permanent Redirect");
	case 400: return ("Bad Request");
	case 401: return ("Unauthorized");
	case 403: return ("Forbidden");
	case 404: return ("Not Found");
	case 405: return ("Method Not Allowed");
	case 408: return ("Request Timeout");
	case 409: return ("Conflict");
	case 413: return ("Content Too Large");
	case 422: return ("Unprocessable Content");
	case 429: return ("Too Many Requests");
	case 431: return ("Request Header Fields Too Large");
	case 500: return ("Internal Server Error");
	case 501: return ("Not Implemented");
	case 502: return ("Bad Gateway");
	case 503: return ("Service Unavailable");
	case 504: return ("Gateway Timeout");
	case 505: return ("HTTP Version Not Supported");
	case 103: return ("Early Hints");
	case 203: return ("Non-Authoritative Information");
	case 205: return ("Reset Content");
	case 207: return ("Multi-Status");
	case 300: return ("Multiple Choices");
	case 410: return ("Gone");
	case 411: return ("Length Required");
	case 412: return ("Precondition Failed");
	case 414: return ("URI Too Long");
	case 415: return ("Unsupported Media Type");
	case 416: return ("Range Not Satisfiable");
	case 417: return ("Expectation Failed");
	case 421: return ("Misdirected Request");
	case 426: return ("Upgrade Required");
	case 428: return ("Precondition Required");
	case 451: return ("Unavailable For Legal Reasons");
	}
	switch (status / 100) {
	case 1: return ("Informational");
	case 2: return ("Success");
	case 3: return ("Redirection");
	case 4: return ("Client Error");
	case 5: return ("Server Error");
	}
	return ("Unknown");
}

/* Write an unsigned number in decimal; returns the end. */
static char *
http_put_uint(char *p, unsigned v)
{
	char	tmp[16];
	int	n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return (p);
}

/* Copy len bytes; returns the end. */
static char *
http_put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return (p + len);
}

/* Write a head, in one piece of the buffer. */
void
http_head_write(const struct http_head *hd, struct evbuffer *out)
{
	const struct http_header	*hh;
	struct evbuffer_iovec		 v;
	const char			*first, *reason = NULL;
	size_t				 len, i;
	char				*p;

	if (hd->hd_request) {
		first = http_head_method(hd);
		len = strlen(first) + 1 + strlen(hd->hd_target) + 11;
	} else {
		/* The app's own reason phrase, checked by http_head_validate(). */
		reason = hd->hd_reason != NULL && *hd->hd_reason != '\0' ?
		    hd->hd_reason : http_reason(hd->hd_status);
		first = NULL;
		len = 9 + 12 + 1 + strlen(reason) + 2;
	}
	for (i = 0; i < hd->hd_nhdrs; i++) {
		hh = &hd->hd_hdrs[i];
		len += strlen(hh->hh_name) + 2 + strlen(hh->hh_value) + 2;
	}
	len += 2 + 16;
	if (evbuffer_reserve_space(out, len, &v, 1) != 1)
		fatal_oom();
	p = v.iov_base;
	if (hd->hd_request) {
		p = http_put(p, first, strlen(first));
		*p++ = ' ';
		p = http_put(p, hd->hd_target, strlen(hd->hd_target));
		p = http_put(p, " HTTP/", 6);
	} else
		p = http_put(p, "HTTP/", 5);
	p = http_put_uint(p, hd->hd_major % 10);
	*p++ = '.';
	p = http_put_uint(p, hd->hd_minor % 10);
	if (!hd->hd_request) {
		*p++ = ' ';
		p = http_put_uint(p, (unsigned)hd->hd_status % 1000);
		*p++ = ' ';
		p = http_put(p, reason, strlen(reason));
	}
	p = http_put(p, "\r\n", 2);
	for (i = 0; i < hd->hd_nhdrs; i++) {
		hh = &hd->hd_hdrs[i];
		p = http_put(p, hh->hh_name, strlen(hh->hh_name));
		p = http_put(p, ": ", 2);
		p = http_put(p, hh->hh_value, strlen(hh->hh_value));
		p = http_put(p, "\r\n", 2);
	}
	p = http_put(p, "\r\n", 2);
	v.iov_len = p - (char *)v.iov_base;
	evbuffer_commit_space(out, &v, 1);
}

/* Write a complete short error response. */
void
http_error_write(struct evbuffer *out, int status, const char *msg)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "%s\n", status, http_reason(status), strlen(msg) + 1, msg);
}
