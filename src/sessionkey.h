/*
 * sessionkey.h -- where a request's session key comes from (cookie, query
 * parameter, header, a path regex group or a field of a JSON body, as
 * sessions.key lists them), the
 * one rule that makes a key acceptable, and issuing fresh keys as cookies.
 *
 * A key is only ever accepted if it matches ^[A-Za-z0-9_-]{1,128}$; any
 * other value counts as no key, so a key can safely be put into a path.
 */
#ifndef JANITOR_SESSIONKEY_H
#define JANITOR_SESSIONKEY_H

#include <stddef.h>

#include "config.h"

/* Reads the first value of a request header (case-insensitive), or NULL. */
typedef const char *(*sessionkey_header_fn)(void *arg, const char *name);

/* Whether the len bytes at s form an acceptable key. */
int	sessionkey_valid(const char *s, size_t len);

/*
 * Find the key of a request by the policy's sources in order; the first
 * acceptable value wins.  target is the raw "/path?query".  Returns 1 with
 * out filled, or 0 when no source has an acceptable key.  json sources
 * need the body (sessionkey_find_body) and give nothing here.
 */
int	sessionkey_find(const struct policy *, const char *target,
	    sessionkey_header_fn, void *arg, char out[SESSION_KEY_MAX + 1]);

/* How much of the request's body sessionkey_find_body() may look at. */
enum sessionkey_body {
	SESSIONKEY_BODY_UNREAD,	/* not read yet: json sources may ask for it */
	SESSIONKEY_BODY_NONE,	/* none to read: json sources give nothing */
	SESSIONKEY_BODY_READ,	/* the whole body is given */
};

/* sessionkey_find_body(): a json source applies, and the body is unread. */
#define SESSIONKEY_NEED_BODY	(-1)

/*
 * As sessionkey_find(), with the body for json sources.  A json source
 * applies to a request with Content-Type application/json whose path
 * matches its path; with state UNREAD the search stops there and returns
 * SESSIONKEY_NEED_BODY, so sources before it still win without the body.
 */
int	sessionkey_find_body(const struct policy *, const char *target,
	    sessionkey_header_fn, void *arg, enum sessionkey_body state,
	    const char *body, size_t len, char out[SESSION_KEY_MAX + 1]);

/* The single sources, 1 with out filled or 0; exposed for tests. */
int	sessionkey_from_cookie(const char *cookie_header, const char *name,
	    char out[SESSION_KEY_MAX + 1]);
int	sessionkey_from_query(const char *target, const char *name,
	    char out[SESSION_KEY_MAX + 1]);
int	sessionkey_from_header(const char *value,
	    char out[SESSION_KEY_MAX + 1]);
int	sessionkey_from_path(const char *target, struct rx *,
	    char out[SESSION_KEY_MAX + 1]);
/* A top-level string field of a JSON object (jansson, strict). */
int	sessionkey_from_json(const char *body, size_t len, const char *field,
	    char out[SESSION_KEY_MAX + 1]);

/* A fresh key: 128 bits from getrandom(2), URL-safe base64 (22 chars). */
void	sessionkey_generate(char out[SESSION_KEY_MAX + 1]);

/*
 * The Set-Cookie value that hands key to the browser:
 * "NAME=KEY; Path=/; HttpOnly; SameSite=Lax" and "; Secure" when
 * cookie.secure is always, or auto and the request came over https.
 */
void	sessionkey_set_cookie(const struct policy *, const char *key,
	    int https, char *buf, size_t len);

#endif
