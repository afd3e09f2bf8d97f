/*
 * sessionkey.c -- finding a request's session key and issuing new ones.
 *
 * Values are taken raw: nothing is percent-decoded or unquoted, because an
 * acceptable key never needs either, and decoding is how "%2e%2e" would
 * turn into "..".
 *
 * The issued cookie is "KEY.ISSUED.MAC": the MAC is HMAC-SHA-256 over
 * "KEY.ISSUED" with the secret from state_dir, cut to 128 bits (a forger
 * has one try per request: 2^-128 each) and written in URL-safe base64.
 * The time of issue rides along so that a browser that comes back after
 * its provisional session was dropped gets a session that began when its
 * key did, and the app's files made since are still the session's.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <jansson.h>

#include "config.h"
#include "log.h"
#include "rx.h"
#include "sessionkey.h"

static unsigned char	sessionkey_secret[SESSIONKEY_SECRET_LEN];
static int		sessionkey_have_secret;

/*
 * HMAC's inner and outer hashes with the key's pads already in: each MAC
 * copies them instead of keying anew, half the SHA-256 blocks and none of
 * OpenSSL's look-ups (a cookie is signed on every new visitor's request).
 */
static EVP_MD_CTX	*sessionkey_inner, *sessionkey_outer, *sessionkey_work;

/* Random bytes handed out from a pool, refilled from getrandom(2). */
#define SESSIONKEY_POOL		4096
static unsigned char	sessionkey_pool[SESSIONKEY_POOL];
static size_t		sessionkey_pool_left;

static const char	sessionkey_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-_";

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

/* What a scan of the Cookie header does with a value; 1 ends the scan. */
typedef int (*sessionkey_take_fn)(const char *v, size_t len, void *arg);

/* Offer every value of cookie name in a Cookie header to take, in order. */
static int
sessionkey_cookie_scan(const char *hdr, const char *name,
    sessionkey_take_fn take, void *arg)
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
			if (take(v, vlen, arg))
				return (1);
		}
		p = end;
	}
	return (0);
}

/* A scan's taker: an acceptable value, as it is. */
static int
sessionkey_take_plain(const char *v, size_t len, void *arg)
{
	return (sessionkey_take(v, len, arg));
}

/* The first acceptable value of cookie name in a Cookie header. */
int
sessionkey_from_cookie(const char *hdr, const char *name,
    char out[SESSION_KEY_MAX + 1])
{
	return (sessionkey_cookie_scan(hdr, name, sessionkey_take_plain, out));
}

/* Where a scan for a signed cookie puts what it found. */
struct sessionkey_signed {
	char	*ss_out;
	int64_t	*ss_issued;
};

/* A scan's taker: a value janitord issued. */
static int
sessionkey_take_signed(const char *v, size_t len, void *arg)
{
	struct sessionkey_signed	*ss = arg;

	return (sessionkey_verify(v, len, ss->ss_out, ss->ss_issued));
}

/* The first copy of cookie name whose MAC verifies. */
int
sessionkey_from_signed_cookie(const char *hdr, const char *name,
    char out[SESSION_KEY_MAX + 1], int64_t *issued)
{
	struct sessionkey_signed	ss = { out, issued };

	return (sessionkey_cookie_scan(hdr, name, sessionkey_take_signed,
	    &ss));
}

/* Append s at buf[at] (len bytes in all, kept NUL-terminated); the new end. */
static size_t
sessionkey_cat(char *buf, size_t len, size_t at, const char *s)
{
	size_t	n = strlen(s);

	if (at >= len)
		return (at);
	if (n > len - at - 1)
		n = len - at - 1;
	memcpy(buf + at, s, n);
	buf[at + n] = '\0';
	return (at + n);
}

/* A Cookie header without cookie name, and with name=key when key is set. */
char *
sessionkey_cookie_rewrite(const char *hdr, const char *name, const char *key)
{
	const char	*p = hdr, *end, *eq, *q;
	size_t		 nlen = strlen(name), used = 0, alloc, n;
	char		*out;

	/*
	 * Each pair kept is joined by "; ", where the client may have put a
	 * bare ";": at most twice the header, whatever it holds.
	 */
	alloc = 2 * (hdr != NULL ? strlen(hdr) : 0) + nlen +
	    (key != NULL ? strlen(key) : 0) + 4;
	out = xmalloc(alloc);
	while (hdr != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		if (*p == '\0')
			break;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', end - p);
		q = eq != NULL ? eq : end;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if ((size_t)(q - p) != nlen || memcmp(p, name, nlen) != 0) {
			/* Someone else's cookie: kept as it was. */
			n = (size_t)(end - p);
			while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
				n--;
			if (used > 0) {
				memcpy(out + used, "; ", 2);
				used += 2;
			}
			memcpy(out + used, p, n);
			used += n;
		}
		p = end;
	}
	if (key != NULL) {
		if (used > 0)
			used = sessionkey_cat(out, alloc, used, "; ");
		used = sessionkey_cat(out, alloc, used, name);
		used = sessionkey_cat(out, alloc, used, "=");
		used = sessionkey_cat(out, alloc, used, key);
	}
	if (used == 0) {
		free(out);
		return (NULL);
	}
	out[used] = '\0';
	return (out);
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

/* Whether the source is the cookie janitord issues (and so verifies). */
int
sessionkey_is_issued(const struct policy *po, const struct key_rule *kr)
{
	return (kr->kr_source == KEY_COOKIE && po->po_sessions.cookie_issue &&
	    strcmp(kr->kr_name, po->po_sessions.cookie_name) == 0);
}

/* Find the key of a request by the policy's sources in order. */
int
sessionkey_find_body(const struct policy *po, const char *target,
    sessionkey_header_fn header, void *arg, enum sessionkey_body state,
    const char *body, size_t len, char out[SESSION_KEY_MAX + 1])
{
	struct sessionkey	sk;
	int			rc;

	rc = sessionkey_lookup(po, target, header, arg, state, body, len,
	    &sk);
	if (rc == 1)
		memcpy(out, sk.sk_key, sizeof sk.sk_key);
	return (rc);
}

/* Find the key of a request, and whether it is one janitord issued. */
int
sessionkey_lookup(const struct policy *po, const char *target,
    sessionkey_header_fn header, void *arg, enum sessionkey_body state,
    const char *body, size_t len, struct sessionkey *sk)
{
	const struct key_rule	*kr;
	char			*out = sk->sk_key;
	size_t			 i;

	memset(sk, 0, sizeof *sk);
	/* Whichever source wins, the issued cookie is among them. */
	for (i = 0; i < po->po_sessions.nkeys; i++) {
		if (sessionkey_is_issued(po, &po->po_sessions.keys[i]))
			sk->sk_cookie = 1;
	}
	for (i = 0; i < po->po_sessions.nkeys; i++) {
		kr = &po->po_sessions.keys[i];
		switch (kr->kr_source) {
		case KEY_COOKIE:
			if (sessionkey_is_issued(po, kr)) {
				if (sessionkey_from_signed_cookie(header(arg,
				    "Cookie"), kr->kr_name, out,
				    &sk->sk_issued)) {
					sk->sk_signed = 1;
					return (1);
				}
				break;
			}
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

/* Fill buf with len random bytes from getrandom(2); failing is fatal. */
static void
sessionkey_random(unsigned char *buf, size_t len)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < len) {
		n = getrandom(buf + got, len - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
}

/* 16 bytes as 22 characters of URL-safe base64 without padding. */
static void
sessionkey_b64_16(const unsigned char r[16], char out[23])
{
	size_t		i, o = 0;
	uint32_t	v;

	/* 15 bytes in groups of three, then the last byte alone. */
	for (i = 0; i + 3 <= 16; i += 3) {
		v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
		out[o++] = sessionkey_b64[(v >> 18) & 63];
		out[o++] = sessionkey_b64[(v >> 12) & 63];
		out[o++] = sessionkey_b64[(v >> 6) & 63];
		out[o++] = sessionkey_b64[v & 63];
	}
	v = r[15];
	out[o++] = sessionkey_b64[(v >> 2) & 63];
	out[o++] = sessionkey_b64[(v << 4) & 63];
	out[o] = '\0';
}

/*
 * A fresh key from 16 random bytes, URL-safe base64 without padding.  The
 * bytes come from a pool filled by getrandom(2) 4 KiB at a time (a system
 * call per new visitor showed in a flood); each is used once and wiped.
 */
void
sessionkey_generate(char out[SESSION_KEY_MAX + 1])
{
	unsigned char	*r;

	if (sessionkey_pool_left < 16) {
		sessionkey_random(sessionkey_pool, sizeof sessionkey_pool);
		sessionkey_pool_left = sizeof sessionkey_pool;
	}
	sessionkey_pool_left -= 16;
	r = sessionkey_pool + sessionkey_pool_left;
	sessionkey_b64_16(r, out);
	explicit_bzero(r, 16);
}

/* Start a SHA-256 context over the key XOR pad (HMAC's inner or outer). */
static void
sessionkey_pad(EVP_MD_CTX **ctx, unsigned char pad)
{
	unsigned char	block[64];
	size_t		i;

	if (*ctx == NULL && (*ctx = EVP_MD_CTX_new()) == NULL)
		fatal_oom();
	memset(block, pad, sizeof block);
	for (i = 0; i < sizeof sessionkey_secret; i++)
		block[i] ^= sessionkey_secret[i];
	if (EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(*ctx, block, sizeof block) != 1)
		fatal("SHA-256 failed");
	explicit_bzero(block, sizeof block);
}

/* Use these bytes as the secret. */
void
sessionkey_secret_set(const unsigned char *buf, size_t len)
{
	memset(sessionkey_secret, 0, sizeof sessionkey_secret);
	memcpy(sessionkey_secret, buf, len < sizeof sessionkey_secret ? len :
	    sizeof sessionkey_secret);
	sessionkey_have_secret = 1;
	/* A key of 32 bytes is shorter than SHA-256's block: used as it is. */
	sessionkey_pad(&sessionkey_inner, 0x36);
	sessionkey_pad(&sessionkey_outer, 0x5c);
	if (sessionkey_work == NULL &&
	    (sessionkey_work = EVP_MD_CTX_new()) == NULL)
		fatal_oom();
}

/* Read the secret from fd (an open regular file); 0 or -1 with *cause. */
static int
sessionkey_secret_read(int fd, const char *path, char **cause)
{
	unsigned char	buf[SESSIONKEY_SECRET_LEN];
	struct stat	st;
	size_t		got = 0;
	ssize_t		n;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (asprintf(cause, "%s is not a regular file", path) == -1)
			fatal_oom();
		return (-1);
	}
	if ((st.st_mode & 077) != 0) {
		if (asprintf(cause, "%s can be read by others (mode %03o): it "
		    "signs session cookies; chmod 600 it, or remove it to make "
		    "a new one (every issued cookie then becomes invalid)",
		    path, (unsigned)(st.st_mode & 0777)) == -1)
			fatal_oom();
		return (-1);
	}
	if (st.st_size != SESSIONKEY_SECRET_LEN) {
		if (asprintf(cause, "%s is %lld bytes, not %d: remove it to "
		    "make a new one", path, (long long)st.st_size,
		    SESSIONKEY_SECRET_LEN) == -1)
			fatal_oom();
		return (-1);
	}
	while (got < sizeof buf) {
		n = read(fd, buf + got, sizeof buf - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (asprintf(cause, "cannot read %s: %s", path,
			    n == 0 ? "short file" : strerror(errno)) == -1)
				fatal_oom();
			return (-1);
		}
		got += (size_t)n;
	}
	sessionkey_secret_set(buf, sizeof buf);
	explicit_bzero(buf, sizeof buf);
	return (0);
}

/* Make a new secret file at path, durably; 0 or -1 with *cause. */
static int
sessionkey_secret_make(const char *dir, const char *path, char **cause)
{
	unsigned char	buf[SESSIONKEY_SECRET_LEN];
	char		tmp[PATH_MAX];
	int		fd, dfd;

	if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp) {
		if (asprintf(cause, "%s: path too long", path) == -1)
			fatal_oom();
		return (-1);
	}
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		goto fail;
	sessionkey_random(buf, sizeof buf);
	if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf ||
	    fsync(fd) == -1) {
		close(fd);
		(void)unlink(tmp);
		goto fail;
	}
	close(fd);
	/* Renamed whole: a crash never leaves half a secret behind. */
	if (rename(tmp, path) == -1) {
		(void)unlink(tmp);
		goto fail;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	sessionkey_secret_set(buf, sizeof buf);
	explicit_bzero(buf, sizeof buf);
	log_info("cookie secret %s created", path);
	return (0);

fail:
	explicit_bzero(buf, sizeof buf);
	if (asprintf(cause, "cannot create %s: %s", path,
	    strerror(errno)) == -1)
		fatal_oom();
	return (-1);
}

/* Load state_dir/cookie.key, or make it at the first start. */
int
sessionkey_secret_init(const char *dir, char **cause)
{
	char	path[PATH_MAX];
	int	fd, rc;

	if (snprintf(path, sizeof path, "%s/%s", dir,
	    SESSIONKEY_SECRET_FILE) >= (int)sizeof path) {
		if (asprintf(cause, "state_dir %s: path too long", dir) == -1)
			fatal_oom();
		return (-1);
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 && errno == ENOENT)
		return (sessionkey_secret_make(dir, path, cause));
	if (fd == -1) {
		if (asprintf(cause, "cannot open %s: %s", path,
		    strerror(errno)) == -1)
			fatal_oom();
		return (-1);
	}
	rc = sessionkey_secret_read(fd, path, cause);
	close(fd);
	return (rc);
}

/* The MAC of "KEY.ISSUED" (len bytes at msg) as 22 characters. */
static void
sessionkey_mac(const char *msg, size_t len, char out[SESSIONKEY_MAC_CHARS + 1])
{
	unsigned char	inner[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
	unsigned char	fresh[SESSIONKEY_SECRET_LEN];
	unsigned int	ilen = 0, maclen = 0;

	if (!sessionkey_have_secret) {
		/* Nobody loaded one (tests): cookies last as long as we do. */
		sessionkey_random(fresh, sizeof fresh);
		sessionkey_secret_set(fresh, sizeof fresh);
		explicit_bzero(fresh, sizeof fresh);
	}
	/* HMAC = H((K ^ opad) || H((K ^ ipad) || msg)). */
	if (EVP_MD_CTX_copy_ex(sessionkey_work, sessionkey_inner) != 1 ||
	    EVP_DigestUpdate(sessionkey_work, msg, len) != 1 ||
	    EVP_DigestFinal_ex(sessionkey_work, inner, &ilen) != 1 ||
	    EVP_MD_CTX_copy_ex(sessionkey_work, sessionkey_outer) != 1 ||
	    EVP_DigestUpdate(sessionkey_work, inner, ilen) != 1 ||
	    EVP_DigestFinal_ex(sessionkey_work, mac, &maclen) != 1 ||
	    maclen < 16)
		fatal("HMAC-SHA-256 failed");
	/* Neither the MAC nor the inner hash tells anything of the key. */
	sessionkey_b64_16(mac, out);
}

/*
 * The cookie value for key issued at wall ms.  Put together by hand: it is
 * made for every new visitor, and snprintf() showed in a flood's profile.
 */
void
sessionkey_sign(const char *key, int64_t issued,
    char out[SESSIONKEY_COOKIE_MAX])
{
	char		digits[24];
	size_t		klen = strnlen(key, SESSION_KEY_MAX + 1), n = 0, d = 0;
	uint64_t	t = issued > 0 ? (uint64_t)issued : 0;

	if (klen > SESSION_KEY_MAX)
		fatal("sessionkey_sign: key too long");
	do {
		digits[d++] = (char)('0' + t % 10);
		t /= 10;
	} while (t > 0);
	memcpy(out, key, klen);
	n = klen;
	out[n++] = '.';
	while (d > 0)
		out[n++] = digits[--d];
	/* The MAC covers "KEY.ISSUED", without the dot after it. */
	out[n++] = '.';
	sessionkey_mac(out, n - 1, out + n);
}

/* Whether value is a cookie value janitord issued. */
int
sessionkey_verify(const char *value, size_t len,
    char key[SESSION_KEY_MAX + 1], int64_t *issued)
{
	const char	*dot1, *dot2, *p;
	char		 mac[SESSIONKEY_MAC_CHARS + 1];
	int64_t		 t = 0;
	size_t		 klen;

	if (len < 3 + SESSIONKEY_MAC_CHARS ||
	    len >= SESSIONKEY_COOKIE_MAX)
		return (0);
	dot2 = value + len - SESSIONKEY_MAC_CHARS - 1;
	if (*dot2 != '.')
		return (0);
	for (dot1 = dot2 - 1; dot1 > value && *dot1 != '.'; dot1--)
		;
	klen = (size_t)(dot1 - value);
	if (*dot1 != '.' || dot2 - dot1 < 2 || dot2 - dot1 > 17 ||
	    !sessionkey_valid(value, klen))
		return (0);
	for (p = dot1 + 1; p < dot2; p++) {
		if (*p < '0' || *p > '9')
			return (0);
		t = t * 10 + (*p - '0');
	}
	sessionkey_mac(value, (size_t)(dot2 - value), mac);
	if (CRYPTO_memcmp(mac, dot2 + 1, SESSIONKEY_MAC_CHARS) != 0)
		return (0);
	memcpy(key, value, klen);
	key[klen] = '\0';
	*issued = t;
	return (1);
}

/* The Set-Cookie value that hands key to the browser. */
void
sessionkey_set_cookie(const struct policy *po, const char *key,
    int64_t issued, int https, char *buf, size_t len)
{
	char		 value[SESSIONKEY_COOKIE_MAX];
	const char	*same_site;
	size_t		 at;
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
	/* By hand, not snprintf(): this is on every new visitor's request. */
	sessionkey_sign(key, issued, value);
	at = sessionkey_cat(buf, len, 0, po->po_sessions.cookie_name);
	at = sessionkey_cat(buf, len, at, "=");
	at = sessionkey_cat(buf, len, at, value);
	at = sessionkey_cat(buf, len, at, "; Path=/; HttpOnly; SameSite=");
	at = sessionkey_cat(buf, len, at, same_site);
	if (secure)
		sessionkey_cat(buf, len, at, "; Secure");
}
