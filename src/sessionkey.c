/*
 * sessionkey.c -- finding a request's session key and issuing new ones.
 *
 * Values are taken raw: nothing is percent-decoded or unquoted, because an
 * acceptable key never needs either, and decoding is how "%2e%2e" would
 * turn into "..".
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "rx.h"
#include "sessionkey.h"

/* Whether c may appear in a key. */
static int
sessionkey_char(int c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-');
}

/* Whether the len bytes at s form an acceptable key. */
int
sessionkey_valid(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > SESSION_KEY_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!sessionkey_char((unsigned char)s[i]))
			return (0);
	}
	return (1);
}

/* Copy an acceptable value into out; 1, or 0 when it is not acceptable. */
static int
sessionkey_take(const char *s, size_t len, char out[SESSION_KEY_MAX + 1])
{
	if (!sessionkey_valid(s, len))
		return (0);
	memcpy(out, s, len);
	out[len] = '\0';
	return (1);
}

/* The first acceptable value of cookie name in a Cookie header. */
int
sessionkey_from_cookie(const char *hdr, const char *name,
    char out[SESSION_KEY_MAX + 1])
{
	const char	*p = hdr, *end, *eq, *v;
	size_t		 nlen = strlen(name), vlen;

	if (hdr == NULL)
		return (0);
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', end - p);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			v = eq + 1;
			vlen = end - v;
			while (vlen > 0 && (v[vlen - 1] == ' ' ||
			    v[vlen - 1] == '\t'))
				vlen--;
			if (sessionkey_take(v, vlen, out))
				return (1);
		}
		p = end;
	}
	return (0);
}

/* The first acceptable value of query parameter name in target. */
int
sessionkey_from_query(const char *target, const char *name,
    char out[SESSION_KEY_MAX + 1])
{
	const char	*p, *end, *eq;
	size_t		 nlen = strlen(name), qlen;

	if ((p = strchr(target, '?')) == NULL)
		return (0);
	p++;
	qlen = strcspn(p, "#");
	while (qlen > 0) {
		end = memchr(p, '&', qlen);
		if (end == NULL)
			end = p + qlen;
		eq = memchr(p, '=', end - p);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0 &&
		    sessionkey_take(eq + 1, end - eq - 1, out))
			return (1);
		if (end == p + qlen)
			break;
		qlen -= end + 1 - p;
		p = end + 1;
	}
	return (0);
}

/* A header's value, when acceptable (surrounding blanks ignored). */
int
sessionkey_from_header(const char *value, char out[SESSION_KEY_MAX + 1])
{
	size_t	len;

	if (value == NULL)
		return (0);
	while (*value == ' ' || *value == '\t')
		value++;
	len = strlen(value);
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	return (sessionkey_take(value, len, out));
}

/* The first group of re matched against target's path (without query). */
int
sessionkey_from_path(const char *target, struct rx *re,
    char out[SESSION_KEY_MAX + 1])
{
	size_t	so, eo;

	/* The length bounds the match to the path without copying it. */
	if (!rx_match(re, target, strcspn(target, "?#"), &so, &eo))
		return (0);
	return (sessionkey_take(target + so, eo - so, out));
}

/* A top-level string field of a JSON object body, when acceptable. */
int
sessionkey_from_json(const char *body, size_t len, const char *field,
    char out[SESSION_KEY_MAX + 1])
{
	json_t		*root, *v;
	json_error_t	 error;
	int		 found = 0;

	/* Strict: a body the parser refuses gives no key (and is relayed). */
	if ((root = json_loadb(body, len, 0, &error)) == NULL)
		return (0);
	v = json_is_object(root) ? json_object_get(root, field) : NULL;
	if (v != NULL && json_is_string(v))
		found = sessionkey_take(json_string_value(v),
		    json_string_length(v), out);
	json_decref(root);
	return (found);
}

/* Whether a Content-Type value is application/json (parameters allowed). */
static int
sessionkey_is_json(const char *ct)
{
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return (0);
	return (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ' ||
	    ct[16] == '\t');
}

/* Whether a json rule reads this request's body: JSON, on its path. */
static int
sessionkey_json_applies(const struct key_rule *kr, const char *target,
    sessionkey_header_fn header, void *arg)
{
	/* The header first: requests without a JSON body stop here. */
	if (!sessionkey_is_json(header(arg, "Content-Type")))
		return (0);
	return (rx_match(kr->kr_re, target, strcspn(target, "?#"), NULL,
	    NULL));
}

/* Find the key of a request by the policy's sources in order. */
int
sessionkey_find_body(const struct policy *po, const char *target,
    sessionkey_header_fn header, void *arg, enum sessionkey_body state,
    const char *body, size_t len, char out[SESSION_KEY_MAX + 1])
{
	const struct key_rule	*kr;
	size_t			 i;

	for (i = 0; i < po->po_sessions.nkeys; i++) {
		kr = &po->po_sessions.keys[i];
		switch (kr->kr_source) {
		case KEY_COOKIE:
			if (sessionkey_from_cookie(header(arg, "Cookie"),
			    kr->kr_name, out))
				return (1);
			break;
		case KEY_QUERY:
			if (sessionkey_from_query(target, kr->kr_name, out))
				return (1);
			break;
		case KEY_HEADER:
			if (sessionkey_from_header(header(arg, kr->kr_name),
			    out))
				return (1);
			break;
		case KEY_PATH:
			if (sessionkey_from_path(target, kr->kr_re, out))
				return (1);
			break;
		case KEY_JSON:
			if (state == SESSIONKEY_BODY_NONE ||
			    !sessionkey_json_applies(kr, target, header, arg))
				break;
			if (state == SESSIONKEY_BODY_UNREAD)
				return (SESSIONKEY_NEED_BODY);
			if (sessionkey_from_json(body, len, kr->kr_name, out))
				return (1);
			break;
		}
	}
	return (0);
}

/* Find the key without a body: json sources give nothing. */
int
sessionkey_find(const struct policy *po, const char *target,
    sessionkey_header_fn header, void *arg, char out[SESSION_KEY_MAX + 1])
{
	return (sessionkey_find_body(po, target, header, arg,
	    SESSIONKEY_BODY_NONE, NULL, 0, out));
}

/* A fresh key from 16 random bytes, URL-safe base64 without padding. */
void
sessionkey_generate(char out[SESSION_KEY_MAX + 1])
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 r[16];
	size_t			 got = 0, i, o = 0;
	ssize_t			 n;
	uint32_t		 v;

	while (got < sizeof r) {
		n = getrandom(r + got, sizeof r - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	/* 15 bytes in groups of three, then the last byte alone. */
	for (i = 0; i + 3 <= sizeof r; i += 3) {
		v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	v = r[15];
	out[o++] = b64[(v >> 2) & 63];
	out[o++] = b64[(v << 4) & 63];
	out[o] = '\0';
}

/* The Set-Cookie value that hands key to the browser. */
void
sessionkey_set_cookie(const struct policy *po, const char *key, int https,
    char *buf, size_t len)
{
	const char	*same_site;
	int		 secure;

	switch (po->po_sessions.cookie_same_site) {
	case SAME_SITE_STRICT:
		same_site = "Strict";
		break;
	case SAME_SITE_NONE:
		same_site = "None";
		break;
	default:
		same_site = "Lax";
		break;
	}
	switch (po->po_sessions.cookie_secure) {
	case COOKIE_SECURE_ALWAYS:
		secure = 1;
		break;
	case COOKIE_SECURE_NEVER:
		secure = 0;
		break;
	default:
		secure = https;
		break;
	}
	snprintf(buf, len, "%s=%s; Path=/; HttpOnly; SameSite=%s%s",
	    po->po_sessions.cookie_name, key, same_site,
	    secure ? "; Secure" : "");
}
