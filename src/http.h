/*
 * http.h -- HTTP/1.x message heads on top of llhttp (strict mode): parsing
 * a request or response head incrementally, validating it, editing its
 * header list, and writing it out again.  Bodies are not buffered here: the
 * parser only measures them (Content-Length, or chunked framing, which
 * chunked.c checks byte by byte as well) so the relay can forward the raw
 * bytes it was given; a chunked body's trailer section is parsed and
 * written out again, filtered.
 */
#ifndef JANITOR_HTTP_H
#define JANITOR_HTTP_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "chunked.h"

struct evbuffer;
struct cidr;

/* One header line, name and value as received (value without OWS). */
struct http_header {
	char	*hh_name;
	char	*hh_value;
};

#define HTTP_HEAD_INLINE_HDRS	24
#define HTTP_HEAD_INLINE_BYTES	1536

struct http_block;

/*
 * A request or response head.  Its strings live in an arena that only
 * grows (the inline bytes first, then blocks from the heap), so they never
 * move and a whole head costs one allocation in the common case; removing
 * a header just drops the pointers.
 */
struct http_head {
	int			 hd_request;	/* 1 request, 0 response */
	unsigned		 hd_method;	/* enum http_method */
	char			*hd_target;	/* request target as sent */
	int			 hd_status;
	char			*hd_reason;	/* response: reason as sent */
	unsigned short		 hd_major;
	unsigned short		 hd_minor;
	int			 hd_keepalive;	/* llhttp_should_keep_alive() */
	int			 hd_chunked;	/* Transfer-Encoding: chunked */
	int64_t			 hd_length;	/* Content-Length or -1 */
	int			 hd_upgrade;	/* Connection: upgrade + Upgrade */
	struct http_header	*hd_hdrs;
	size_t			 hd_nhdrs;
	size_t			 hd_cap;
	char			*hd_free;	/* arena: next free byte */
	size_t			 hd_left;	/* arena: bytes left there */
	char			*hd_last;	/* arena: the newest string */
	struct http_block	*hd_blocks;	/* arena: heap blocks */
	struct http_header	 hd_inhdrs[HTTP_HEAD_INLINE_HDRS];
	char			 hd_inbytes[HTTP_HEAD_INLINE_BYTES];
};

enum http_parse_state {
	HTTP_PARSE_HEAD,	/* reading the head */
	HTTP_PARSE_HEAD_DONE,	/* head complete, body not started */
	HTTP_PARSE_BODY,	/* reading the body */
	HTTP_PARSE_DONE,	/* message complete */
	HTTP_PARSE_ERROR,
};

/* Body bytes (without framing) as they are parsed; see hp_ondata. */
typedef void	(*http_data_cb)(void *arg, const char *, size_t);

/*
 * One direction of one connection: parses heads and measures bodies,
 * message after message.
 */
struct http_parse {
	llhttp_t		 hp_parser;
	enum http_parse_state	 hp_state;
	struct http_head	*hp_head;	/* being built, then handed out */
	struct http_head	*hp_trailers;	/* a chunked body's trailer fields */
	struct chunked		 hp_chunk;	/* our own check of chunked framing */
	size_t			 hp_headbytes;	/* bytes of the current head */
	size_t			 hp_maxhead;	/* beyond: 431 (and trailer limit) */
	size_t			 hp_trailerbytes;
	size_t			 hp_raw;	/* see http_parse_body() */
	int			 hp_prev;	/* the last head byte scanned */
	int			 hp_inname;	/* last callback was a header name */
	int			 hp_skipbody;	/* response to HEAD, 1xx, 204, 304 */
	int			 hp_chunked;	/* the body is chunked */
	int			 hp_untileof;	/* the body runs until the close */
	uint64_t		 hp_bodylen;	/* body bytes, without framing */
	http_data_cb		 hp_ondata;	/* if set: each span of body data */
	void			*hp_ondata_arg;
	int			 hp_status;	/* on error: 400, 431 or 505 */
	const char		*hp_error;	/* on error: why */
};

/* Prepare a parser for requests (type HTTP_REQUEST) or responses. */
void		 http_parse_init(struct http_parse *, llhttp_type_t,
		    size_t maxhead);

/* Drop whatever the parser still holds. */
void		 http_parse_clear(struct http_parse *);

/*
 * Feed bytes of a head.  Returns how many were consumed; when the head is
 * complete hp_state becomes HTTP_PARSE_HEAD_DONE and http_parse_take()
 * hands it out.  -1 on a malformed or oversized head (hp_status and
 * hp_error say why).
 */
ssize_t		 http_parse_head(struct http_parse *, const char *, size_t);

/* Take the completed head; the parser forgets it. */
struct http_head *http_parse_take(struct http_parse *);

/*
 * After the head: whether a body follows.  For a response to HEAD set
 * hp_skipbody before feeding the head (1xx, 204 and 304 need nothing).
 */
int		 http_parse_has_body(const struct http_parse *);

/*
 * Feed body bytes (raw, with chunk framing).  Returns how many belong to
 * this message; hp_state becomes HTTP_PARSE_DONE at its end.  Of those,
 * the first hp_raw are forwarded as they are; the rest belong to a chunked
 * body's trailer section, which is not forwarded raw: once hp_state is
 * HTTP_PARSE_DONE, http_parse_trailers() writes it out again.  -1 on bad
 * framing (hp_status and hp_error say why).
 */
ssize_t		 http_parse_body(struct http_parse *, const char *, size_t);

/*
 * After a chunked body: write its trailer section (the trailer fields
 * that are not dropped, then the empty line).  Dropped are the hop-by-hop
 * and framing fields, Host, the X-Forwarded-* family, Forwarded,
 * X-Real-IP, and drop (a header janitord sets, or NULL), each also in
 * its '_' spelling.  Does nothing for a body that is not chunked.
 */
void		 http_parse_trailers(struct http_parse *, struct evbuffer *,
		    const char *drop);

/* A body that runs until the connection closes ends here. */
void		 http_parse_eof(struct http_parse *);

/* Get ready for the next message on the same connection. */
void		 http_parse_next(struct http_parse *);

/* Whether the body (of a response) runs until the connection closes. */
int		 http_parse_until_eof(struct http_parse *);

struct http_head *http_head_new(int request);
void		 http_head_free(struct http_head *);

/* First value of a header (case-insensitive), or NULL. */
const char	*http_head_get(const struct http_head *, const char *name);

/* How many copies of a header there are. */
size_t		 http_head_count(const struct http_head *, const char *name);

/* Whether a comma-separated header holds token (case-insensitive). */
int		 http_head_has_token(const struct http_head *, const char *name,
		    const char *token);

/* Remove every copy of a header. */
void		 http_head_remove(struct http_head *, const char *name);

/* Append a header. */
void		 http_head_add(struct http_head *, const char *name,
		    const char *value);

/* Replace every copy of a header with one. */
void		 http_head_set(struct http_head *, const char *name,
		    const char *value);

/* The method as text. */
const char	*http_head_method(const struct http_head *);

/*
 * The rules llhttp leaves to us: 0 for a head that may be forwarded, else
 * -1 with *cause (a static string): a 400 for a request, a 502 for a
 * response.
 */
int		 http_head_validate(const struct http_head *, const char **cause);

/*
 * Remove the hop-by-hop headers: Connection and what it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, and Upgrade unless keep_upgrade (which
 * also keeps "Connection: upgrade").
 */
void		 http_head_strip_hop(struct http_head *, int keep_upgrade);

/* What http_head_forwarded() decided about the client. */
struct http_client {
	char	hc_ip[64];	/* the client's address as text */
	int	hc_https;	/* it came over https */
	char	hc_badxff[64];	/* a trusted X-Forwarded-For entry that is
				   not an IP address ("" if none) */
};

/*
 * Rewrite X-Forwarded-For/-Proto/-Host for a request from peer (a text
 * address).  The incoming values are believed only when peer is inside
 * trusted; then the client address is the rightmost untrusted entry of
 * X-Forwarded-For, where the walk stops at an entry that is not an IP
 * address (hc_badxff).  From an untrusted peer, Forwarded, X-Real-IP,
 * X-Forwarded-Port and X-Forwarded-Ssl are removed as well; the '_'
 * spellings of the whole family are removed from anyone.  Fills hc.
 */
void		 http_head_forwarded(struct http_head *, const char *peer,
		    const struct cidr *trusted, size_t ntrusted,
		    struct http_client *hc);

/* Whether the text address ip lies inside one of the networks. */
int		 http_ip_trusted(const char *ip, const struct cidr *, size_t);

/* Write a head (request or status line, headers, blank line). */
void		 http_head_write(const struct http_head *, struct evbuffer *);

/* The reason phrase for a status. */
const char	*http_reason(int status);

/* Write a complete short plain-text error response that closes. */
void		 http_error_write(struct evbuffer *, int status,
		    const char *msg);

#endif
