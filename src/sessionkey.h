/*
 * sessionkey.h -- where a request's session key comes from (cookie, query
 * parameter, header, a path regex group or a field of a JSON body, as
 * sessions.key lists them), the
 * one rule that makes a key acceptable, and issuing fresh keys as cookies.
 *
 * A key is only ever accepted if it matches ^[A-Za-z0-9_-]{1,128}$; any
 * other value counts as no key, so a key can safely be put into a path.
 *
 * The cookie janitord issues carries the key, the time it was issued and a
 * MAC over both (HMAC-SHA-256 with a secret kept in state_dir): a value
 * whose MAC does not verify counts as no cookie, so nobody can choose or
 * invent a key that janitord did not issue.  Every other source (a query
 * parameter, a header, a path, a cookie janitord does not issue) is the
 * client's to choose: see docs/sessions.md, "Trust".
 */
#ifndef JANITOR_SESSIONKEY_H
#define JANITOR_SESSIONKEY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SESSIONKEY_SECRET_FILE	"cookie.key"	/* in state_dir */
#define SESSIONKEY_SECRET_LEN	32
#define SESSIONKEY_MAC_CHARS	22		/* 128 bits, base64url */
/* "KEY.ISSUED.MAC": key, wall ms in decimal, MAC. */
#define SESSIONKEY_COOKIE_MAX	(SESSION_KEY_MAX + 1 + 20 + 1 + \
				    SESSIONKEY_MAC_CHARS + 1)

/* What sessionkey_lookup() found. */
struct sessionkey {
	char	sk_key[SESSION_KEY_MAX + 1];
	int	sk_signed;	/* from the cookie janitord issues, verified */
	int64_t	sk_issued;	/* then: when it was issued (wall ms) */
	int	sk_cookie;	/* that cookie is among the sources, won or not */
};

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

/* How much of the request's body a lookup may look at. */
enum sessionkey_body {
	SESSIONKEY_BODY_UNREAD,	/* not read yet: json sources may ask for it */
	SESSIONKEY_BODY_NONE,	/* none to read: json sources give nothing */
	SESSIONKEY_BODY_READ,	/* the whole body is given */
};

/* A lookup: a json source applies, and the body is unread. */
#define SESSIONKEY_NEED_BODY	(-1)

/*
 * Find the key as sessionkey_find() does, with the body for json sources,
 * and say whether it came from the cookie janitord issues (verified, with
 * its time of issue).  A json source applies to a request with
 * Content-Type application/json whose path matches its path; with state
 * UNREAD the search stops there and returns SESSIONKEY_NEED_BODY, so
 * sources before it still win without the body.  1 with sk filled, 0.
 */
int	sessionkey_lookup(const struct policy *, const char *target,
	    sessionkey_header_fn, void *arg, enum sessionkey_body state,
	    const char *body, size_t len, struct sessionkey *);

/* The same with only the key: 1 with out filled, 0, or NEED_BODY. */
int	sessionkey_find_body(const struct policy *, const char *target,
	    sessionkey_header_fn, void *arg, enum sessionkey_body state,
	    const char *body, size_t len, char out[SESSION_KEY_MAX + 1]);

/* Whether the policy's source name is the cookie janitord issues. */
int	sessionkey_is_issued(const struct policy *, const struct key_rule *);

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

/*
 * The first copy of cookie name that janitord issued (its MAC verifies):
 * 1 with out and *issued filled, or 0.
 */
int	sessionkey_from_signed_cookie(const char *cookie_header,
	    const char *name, char out[SESSION_KEY_MAX + 1], int64_t *issued);

/*
 * Load the secret from state_dir/cookie.key, or make it (32 random bytes,
 * mode 0600) at the first start.  0, or -1 with *cause: the file is not a
 * regular file of 32 bytes readable by its owner only, or cannot be made.
 */
int	sessionkey_secret_init(const char *state_dir, char **cause);

/* Use these bytes as the secret (tests, fuzzing). */
void	sessionkey_secret_set(const unsigned char *, size_t);

/* The cookie value that carries key issued at wall ms: "KEY.ISSUED.MAC". */
void	sessionkey_sign(const char *key, int64_t issued,
	    char out[SESSIONKEY_COOKIE_MAX]);

/*
 * Whether the len bytes at value are a cookie value janitord issued: 1
 * with key and *issued filled, or 0.
 */
int	sessionkey_verify(const char *value, size_t len,
	    char key[SESSION_KEY_MAX + 1], int64_t *issued);

/*
 * A Cookie header without any copy of cookie name, and with name=key
 * appended when key is not NULL: what the app gets, so it never sees a
 * MAC or a value janitord refused.  Returns a new string (free() it), or
 * NULL when nothing is left.
 */
char	*sessionkey_cookie_rewrite(const char *cookie_header, const char *name,
	    const char *key);

/* A fresh key: 128 bits from getrandom(2), URL-safe base64 (22 chars). */
void	sessionkey_generate(char out[SESSION_KEY_MAX + 1]);

/*
 * The Set-Cookie value that hands key (issued at wall ms) to the browser:
 * "NAME=KEY.ISSUED.MAC; Path=/; HttpOnly; SameSite=Lax" and "; Secure"
 * when cookie.secure is always, or auto and the request came over https.
 */
void	sessionkey_set_cookie(const struct policy *, const char *key,
	    int64_t issued, int https, char *buf, size_t len);

#endif
