/*
 * config.c -- the policy file: libyaml's document tree walked against the
 * schema table config_keys[], into a fresh, fully validated struct policy.
 *
 * The walk is table-driven: a mapping's keys are looked up by their dotted
 * path ("limits.header_timeout", list items as "cache[].path"), unknown
 * ones are errors, and each entry's setter parses its value into the
 * member at ck_off of the current base (the policy, a cache entry, a key
 * rule or a live rule).  Errors carry the line and column of the node that
 * is wrong: the key for unknown or duplicate keys, the value otherwise.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "clock.h"
#include "config.h"
#include "config_int.h"
#include "log.h"

#define MS_S		((int64_t)1000)

/* snprintf that may truncate on purpose (paths and messages are bounded). */
void __attribute__((format(printf, 3, 4)))
config_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Replace control bytes a quoted value may carry: an error is one line. */
static void
config_clean(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
	}
}

/* Whether a file of size bytes is within max; if not, msg says why. */
bool
config_size_ok(uint64_t size, size_t max, char *msg, size_t len)
{
	if (size <= max)
		return (true);
	config_fmt(msg, len, "%llu bytes, larger than %zu",
	    (unsigned long long)size, max);
	return (false);
}

/* Record an error at a mark, prefixed with the current key path. */
int
config_fail_at(struct config_walk *w, const yaml_mark_t *mark,
    const char *fmt, ...)
{
	struct config_error	*err = w->cw_err;
	char			 msg[sizeof err->msg];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	config_fmt(err->file, sizeof err->file, "%s", w->cw_name);
	err->line = (int)mark->line + 1;
	err->column = (int)mark->column + 1;
	if (w->cw_path[0] != '\0')
		config_fmt(err->msg, sizeof err->msg, "%s: %s", w->cw_path, msg);
	else
		config_fmt(err->msg, sizeof err->msg, "%s", msg);
	config_clean(err->msg);
	return (-1);
}

/* Record an error at a node and free the allocated cause. */
int
config_fail_cause(struct config_walk *w, yaml_node_t *n, char *cause)
{
	config_fail(w, n, "%s", cause);
	free(cause);
	return (-1);
}

/* Count a visited node against the budget, and the time. */
int
config_visit(struct config_walk *w, yaml_node_t *n)
{
	if (w->cw_budget == 0)
		return (config_fail(w, n, "too many nodes (aliases?)"));
	w->cw_budget--;
	if (clock_coarse_ms() > w->cw_deadline)
		return (config_fail(w, n, "checking the file took longer than "
		    "%d ms; stopped here", CONFIG_TIME_MAX));
	return (0);
}

/* Charge bytes the policy will hold for n; over CONFIG_POLICY_MAX, fail. */
int
config_charge(struct config_walk *w, yaml_node_t *n, size_t bytes)
{
	if (bytes > w->cw_bytes)
		return (config_fail(w, n, "the policy would take more than "
		    "%d MiB (each use of an alias copies what it names); "
		    "stopped here", CONFIG_POLICY_MAX / (1024 * 1024)));
	w->cw_bytes -= bytes;
	return (0);
}

/* A node's type as an operator would say it. */
const char *
config_node_kind(yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return ("a scalar");
	case YAML_SEQUENCE_NODE:
		return ("a list");
	case YAML_MAPPING_NODE:
		return ("a mapping");
	default:
		return ("nothing");
	}
}

/* Whether a node is YAML's null: empty plain scalar, ~ or null. */
bool
config_is_null(yaml_node_t *n)
{
	const char	*v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return (false);
	v = (const char *)n->data.scalar.value;
	return (*v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
}

/* The text of a scalar node, or an error naming what was expected. */
int
config_scalar(struct config_walk *w, yaml_node_t *n, const char *what,
    const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return (config_fail(w, n, "expected %s, found %s", what,
		    config_node_kind(n)));
	if (strlen((const char *)n->data.scalar.value) !=
	    n->data.scalar.length)
		return (config_fail(w, n, "contains a NUL byte"));
	if (n->data.scalar.length > CONFIG_SCALAR_MAX)
		return (config_fail(w, n, "a value of %zu bytes; at most %d "
		    "are allowed", n->data.scalar.length, CONFIG_SCALAR_MAX));
	if (config_is_null(n))
		return (config_fail(w, n, "expected %s, found nothing", what));
	if (config_charge(w, n, n->data.scalar.length + 1 +
	    CONFIG_CHARGE_ITEM) != 0)
		return (-1);
	*out = (const char *)n->data.scalar.value;
	return (0);
}

/* Items of a list-valued key: a sequence, one scalar, or null for none. */
int
config_items(struct config_walk *w, yaml_node_t *n, yaml_node_item_t **items,
    size_t *nitems, yaml_node_item_t *one)
{
	if (n->type == YAML_SEQUENCE_NODE) {
		*items = n->data.sequence.items.start;
		*nitems = (size_t)(n->data.sequence.items.top -
		    n->data.sequence.items.start);
		return (0);
	}
	if (config_is_null(n)) {
		*items = NULL;
		*nitems = 0;
		return (0);
	}
	if (n->type == YAML_SCALAR_NODE) {
		/* A single value stands for a list of one. */
		*one = (yaml_node_item_t)(n - w->cw_doc->nodes.start) + 1;
		*items = one;
		*nitems = 1;
		return (0);
	}
	return (config_fail(w, n, "expected a list, found %s",
	    config_node_kind(n)));
}

/* Fetch list item i and set the display path to "prefix[i]". */
yaml_node_t *
config_item(struct config_walk *w, yaml_node_item_t *items, size_t i,
    const char *prefix)
{
	config_fmt(w->cw_path, sizeof w->cw_path, "%s[%zu]", prefix, i);
	return (yaml_document_get_node(w->cw_doc, items[i]));
}

/* Look a dotted table path up in config_keys[]. */
static const struct config_key *
config_find(const char *path)
{
	size_t	i;

	for (i = 0; i < config_nkeys; i++) {
		if (strcmp(config_keys[i].ck_path, path) == 0)
			return (&config_keys[i]);
	}
	return (NULL);
}

/* List the keys allowed under a table path, for the unknown-key message. */
static void
config_known(const char *tpath, char *buf, size_t len)
{
	size_t		 i, plen = strlen(tpath), used = 0;
	const char	*rest;
	int		 n;

	buf[0] = '\0';
	for (i = 0; i < config_nkeys; i++) {
		rest = config_keys[i].ck_path;
		if (plen != 0) {
			if (strncmp(rest, tpath, plen) != 0 || rest[plen] != '.')
				continue;
			rest += plen + 1;
		}
		if (strpbrk(rest, ".[") != NULL)
			continue;
		n = snprintf(buf + used, len - used, "%s%s",
		    used == 0 ? "" : ", ", rest);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

/* Walk a mapping whose keys are looked up under tpath ("" at the top). */
int
config_walk_map(struct config_walk *w, yaml_node_t *n, const char *tpath,
    const char *dpath, void *base)
{
	yaml_node_pair_t		*p, *q;
	yaml_node_t			*k, *v, *k2;
	const struct config_key		*ck;
	const char			*key;
	char				 tkey[CONFIG_PATH_MAX];
	char				 dkey[CONFIG_PATH_MAX];
	char				 known[400];

	config_fmt(w->cw_path, sizeof w->cw_path, "%s", dpath);
	if (config_visit(w, n) != 0)
		return (-1);
	if (config_is_null(n))
		return (0);
	if (n->type != YAML_MAPPING_NODE)
		return (config_fail(w, n, "expected a mapping, found %s",
		    config_node_kind(n)));

	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(w->cw_doc, p->key);
		v = yaml_document_get_node(w->cw_doc, p->value);
		config_fmt(w->cw_path, sizeof w->cw_path, "%s", dpath);
		if (k == NULL || v == NULL)
			return (config_fail(w, n, "broken document"));
		if (k->type != YAML_SCALAR_NODE ||
		    strlen((const char *)k->data.scalar.value) !=
		    k->data.scalar.length)
			return (config_fail(w, k, "keys must be plain words"));
		key = (const char *)k->data.scalar.value;

		config_fmt(tkey, sizeof tkey, "%s%s%s", tpath,
		    *tpath == '\0' ? "" : ".", key);
		config_fmt(dkey, sizeof dkey, "%s%s%s", dpath,
		    *dpath == '\0' ? "" : ".", key);
		if (strpbrk(key, ".[]") != NULL ||
		    (ck = config_find(tkey)) == NULL) {
			config_known(tpath, known, sizeof known);
			config_fmt(w->cw_path, sizeof w->cw_path, "%s", dkey);
			return (config_fail(w, k, "unknown key%s%s%s",
			    *known != '\0' ? " (known: " : "", known,
			    *known != '\0' ? ")" : ""));
		}
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			k2 = yaml_document_get_node(w->cw_doc, q->key);
			if (k2 != NULL && strcmp(key,
			    (const char *)k2->data.scalar.value) == 0) {
				config_fmt(w->cw_path, sizeof w->cw_path, "%s",
				    dkey);
				return (config_fail(w, k, "duplicate key "
				    "(first set on line %zu)",
				    k2->start_mark.line + 1));
			}
		}

		/* The preset is applied before everything else. */
		if ((w->cw_pass == 0) != (strcmp(tkey, "preset") == 0))
			continue;

		w->cw_marks[ck - config_keys] = v->start_mark;
		w->cw_set[ck - config_keys] = true;
		if (ck->ck_set == NULL) {
			if (config_walk_map(w, v, tkey, dkey, base) != 0)
				return (-1);
			continue;
		}
		config_fmt(w->cw_path, sizeof w->cw_path, "%s", dkey);
		if (config_visit(w, v) != 0)
			return (-1);
		if (ck->ck_set(w, v, base, ck) != 0)
			return (-1);
	}
	return (0);
}

/* A fresh policy holding every default. */
static struct policy *
config_defaults(const char *name)
{
	struct policy	*po;
	char		*why;

	po = xcalloc(1, sizeof *po);
	po->po_refcnt = 1;
	po->po_file = xstrdup(name);

	po->po_listen = xcalloc(1, sizeof *po->po_listen);
	po->po_nlisten = 1;
	if (config_parse_addr("127.0.0.1:8080", &po->po_listen[0], &why) != 0 ||
	    config_parse_addr("127.0.0.1:7860", &po->po_upstream, &why) != 0 ||
	    config_parse_addr("127.0.0.1:9090", &po->po_admin.listen,
	    &why) != 0)
		fatal("default address: %s", why);
	po->po_trusted = xcalloc(2, sizeof *po->po_trusted);
	po->po_ntrusted = 2;
	config_parse_cidr("127.0.0.1/32", &po->po_trusted[0]);
	config_parse_cidr("::1/128", &po->po_trusted[1]);
	po->po_state_dir = xstrdup("/var/lib/janitor");

	po->po_limits.max_connections = 10000;
	po->po_limits.max_connections_per_client = 256;
	po->po_limits.header_timeout = 10 * MS_S;
	po->po_limits.keepalive_timeout = 75 * MS_S;
	po->po_limits.max_header_size = 16 * 1024;
	po->po_limits.max_body_size = 0;
	po->po_limits.upstream_connect_timeout = 5 * MS_S;
	po->po_limits.upstream_timeout = 60 * MS_S;
	po->po_limits.tunnel_timeout = 3600 * MS_S;
	po->po_limits.shutdown_timeout = 10 * MS_S;

	po->po_sessions.cookie_name = xstrdup("janitor_sid");
	po->po_sessions.cookie_issue = true;
	po->po_sessions.cookie_secure = COOKIE_SECURE_AUTO;
	po->po_sessions.cookie_same_site = SAME_SITE_LAX;
	/* keys: filled in after the walk from cookie.name, unless set. */
	po->po_sessions.forward_header = xstrdup("X-Janitor-Session");
	po->po_sessions.capacity = 10000;
	po->po_sessions.provisional_capacity = 0;
	po->po_sessions.provisional_ttl = 2 * 60 * MS_S;
	po->po_sessions.confirm = CONFIRM_RETURN;
	po->po_sessions.new_per_client = 120;
	po->po_sessions.live = xcalloc(2, sizeof *po->po_sessions.live);
	po->po_sessions.live[0].lr_kind = LIVE_WEBSOCKET;
	po->po_sessions.live[1].lr_kind = LIVE_SSE;
	po->po_sessions.nlive = 2;
	po->po_sessions.keepalive_idle = 30 * MS_S;
	po->po_sessions.keepalive_interval = 10 * MS_S;
	po->po_sessions.keepalive_count = 3;
	po->po_sessions.json_max = 64 * 1024;
	po->po_sessions.websocket_ping = 0;

	po->po_unload_grace = 0;
	po->po_expire_after_disconnect = 60 * 60 * MS_S;
	po->po_expire_ttl = 0;

	po->po_webhooks.timeout = 5 * MS_S;
	po->po_webhooks.max_attempts = 12;
	po->po_webhooks.backoff_initial = 1 * MS_S;
	po->po_webhooks.backoff_max = 10 * 60 * MS_S;
	po->po_webhooks.max_pending = 100000;

	po->po_log.level = LOG_LEVEL_INFO;
	po->po_log.format = LOG_FORMAT_TEXT;
	return (po);
}

/* Free an action's insides. */
static void
config_free_action(struct action *ac)
{
	free(ac->ac_webhook);
	config_free_strings(ac->ac_remove, ac->ac_nremove);
}

/* Free a policy and everything it owns. */
static void
config_free(struct policy *po)
{
	size_t	i;

	free(po->po_file);
	free(po->po_preset);
	free(po->po_listen);
	free(po->po_trusted);
	free(po->po_state_dir);
	free(po->po_sessions.cookie_name);
	for (i = 0; i < po->po_sessions.nkeys; i++)
		config_free_key_rule(&po->po_sessions.keys[i]);
	free(po->po_sessions.keys);
	free(po->po_sessions.forward_header);
	for (i = 0; i < po->po_sessions.nlive; i++)
		config_free_live_rule(&po->po_sessions.live[i]);
	free(po->po_sessions.live);
	config_free_action(&po->po_unload);
	config_free_action(&po->po_expire);
	free(po->po_webhooks.secret_file);
	if (po->po_webhooks.secret != NULL)
		explicit_bzero(po->po_webhooks.secret,
		    po->po_webhooks.secret_len);
	free(po->po_webhooks.secret);
	for (i = 0; i < po->po_ncache; i++)
		config_free_cache_entry(&po->po_cache[i]);
	free(po->po_cache);
	free(po->po_admin.token_file);
	if (po->po_admin.token != NULL)
		explicit_bzero(po->po_admin.token, strlen(po->po_admin.token));
	free(po->po_admin.token);
	free(po);
}

/* Take a reference. */
struct policy *
config_ref(struct policy *po)
{
	__atomic_add_fetch(&po->po_refcnt, 1, __ATOMIC_RELAXED);
	return (po);
}

/* Drop a reference; the last one frees. */
void
config_unref(struct policy *po)
{
	if (po == NULL)
		return;
	if (__atomic_sub_fetch(&po->po_refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(po);
}

/* The index of a key in config_keys[]; the key must exist. */
static size_t
config_index(const char *path)
{
	const struct config_key	*ck;

	if ((ck = config_find(path)) == NULL)
		fatal("config: no key %s", path);
	return ((size_t)(ck - config_keys));
}

/* Where a key was set, or the start of the file when it was not. */
static yaml_mark_t *
config_mark(struct config_walk *w, const char *path)
{
	return (&w->cw_marks[config_index(path)]);
}

/* Checks that span keys, after the walk. */
static int
config_finish(struct config_walk *w)
{
	struct policy	*po = w->cw_po;
	struct key_rule	*kr;
	size_t		 i;
	char		 a[32], b[32];

	if (po->po_sessions.nkeys == 0) {
		/* The default key source follows the cookie's name. */
		po->po_sessions.keys = kr = xcalloc(1, sizeof *kr);
		po->po_sessions.nkeys = 1;
		kr->kr_source = KEY_COOKIE;
		kr->kr_name = xstrdup(po->po_sessions.cookie_name);
	}

	if (po->po_webhooks.backoff_max < po->po_webhooks.backoff_initial) {
		config_format_duration(po->po_webhooks.backoff_initial, a,
		    sizeof a);
		config_format_duration(po->po_webhooks.backoff_max, b,
		    sizeof b);
		if (w->cw_set[config_index("webhooks.backoff.max")]) {
			config_fmt(w->cw_path, sizeof w->cw_path,
			    "webhooks.backoff.max");
			return (config_fail_at(w, config_mark(w, w->cw_path),
			    "%s is shorter than backoff.initial %s", b, a));
		}
		config_fmt(w->cw_path, sizeof w->cw_path,
		    "webhooks.backoff.initial");
		return (config_fail_at(w, config_mark(w, w->cw_path),
		    "%s is longer than backoff.max %s", a, b));
	}

	config_fmt(w->cw_path, sizeof w->cw_path, "admin.listen");
	if (!config_addr_is_local(&po->po_admin.listen) &&
	    po->po_admin.token == NULL)
		return (config_fail_at(w, config_mark(w, "admin.listen"),
		    "%s is not loopback: set admin.token_file as well",
		    po->po_admin.listen.ad_text));
	for (i = 0; i < po->po_nlisten; i++) {
		if (!config_addr_equal(&po->po_admin.listen,
		    &po->po_listen[i]))
			continue;
		if (w->cw_set[config_index("admin.listen")])
			return (config_fail_at(w, config_mark(w,
			    "admin.listen"), "%s is also in listen",
			    po->po_admin.listen.ad_text));
		config_fmt(w->cw_path, sizeof w->cw_path, "listen");
		return (config_fail_at(w, config_mark(w, "listen"),
		    "%s is also admin.listen", po->po_admin.listen.ad_text));
	}
	w->cw_path[0] = '\0';
	return (0);
}

/* Whether line (0-based) of buf, or the one before, holds needle. */
static bool
config_line_has(const char *buf, size_t len, size_t line, const char *needle)
{
	const char	*p = buf, *end = buf + len, *eol;
	size_t		 n = 0, nlen = strlen(needle);

	for (; p < end; p = eol + 1, n++) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if (n + 1 >= line && n <= line && (size_t)(eol - p) >= nlen &&
		    memmem(p, (size_t)(eol - p), needle, nlen) != NULL)
			return (true);
		if (n > line)
			break;
	}
	return (false);
}

/* Line and column of a byte offset: reader errors only know the offset. */
static void
config_offset_mark(const char *buf, size_t len, size_t off, yaml_mark_t *mark)
{
	size_t	i;

	memset(mark, 0, sizeof *mark);
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			mark->line++;
			mark->column = 0;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			mark->column++;
	}
}

/* Turn a libyaml parser error into a config_error. */
static void
config_yaml_error(const char *name, yaml_parser_t *parser, const char *buf,
    size_t len, struct config_error *err)
{
	yaml_mark_t	 mark = parser->problem_mark;
	const char	*problem, *hint = "";

	if (parser->error == YAML_READER_ERROR)
		config_offset_mark(buf, len, parser->problem_offset, &mark);
	problem = parser->problem != NULL ? parser->problem : "bad YAML";
	/* [/srv/{session}] is a flow mapping inside a flow list to YAML. */
	if (parser->error != YAML_READER_ERROR &&
	    config_line_has(buf, len, mark.line, "{session}"))
		hint = "; quote templates inside [...], as in "
		    "['/srv/app/{session}']";
	else if (parser->error != YAML_READER_ERROR &&
	    config_line_has(buf, len, mark.line, "::"))
		hint = "; quote IPv6 addresses inside [...], as in "
		    "['::1/128']";
	config_fmt(err->file, sizeof err->file, "%s", name);
	err->line = (int)mark.line + 1;
	err->column = (int)mark.column + 1;
	if (parser->error == YAML_MEMORY_ERROR)
		fatal_oom();
	else if (parser->context != NULL)
		config_fmt(err->msg, sizeof err->msg, "%s (%s)%s", problem,
		    parser->context, hint);
	else
		config_fmt(err->msg, sizeof err->msg, "%s%s", problem, hint);
	config_clean(err->msg);
}

/* Record an error at a mark outside a walk. */
static void
config_error_at(struct config_error *err, const char *name,
    const yaml_mark_t *mark, const char *msg)
{
	config_fmt(err->file, sizeof err->file, "%s", name);
	err->line = (int)mark->line + 1;
	err->column = (int)mark->column + 1;
	config_fmt(err->msg, sizeof err->msg, "%s", msg);
}

/* Whether p starts a line break as libyaml knows them; its length if so. */
static size_t
config_break(const unsigned char *p, const unsigned char *end)
{
	if (*p == '\n')
		return (1);
	if (*p == '\r')
		return (p + 1 < end && p[1] == '\n' ? 2 : 1);
	/* NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR in UTF-8. */
	if (*p == 0xc2 && p + 1 < end && p[1] == 0x85)
		return (2);
	if (*p == 0xe2 && p + 2 < end && p[1] == 0x80 &&
	    (p[2] == 0xa8 || p[2] == 0xa9))
		return (3);
	return (0);
}

/*
 * Count the directives (a '%' at the start of a line) before libyaml sees
 * the buffer: a byte scan, so a file libyaml would read as UTF-16 (by its
 * byte order mark) is refused first.
 */
static int
config_directives(const char *name, const char *buf, size_t len,
    struct config_error *err)
{
	const unsigned char	*p = (const unsigned char *)buf, *end = p + len;
	yaml_mark_t		 mark;
	size_t			 n = 0, brk;
	char			 msg[128];
	int			 bol = 1;

	memset(&mark, 0, sizeof mark);
	if (len >= 2 && ((p[0] == 0xff && p[1] == 0xfe) ||
	    (p[0] == 0xfe && p[1] == 0xff))) {
		config_error_at(err, name, &mark, "the file is UTF-16; write "
		    "it in UTF-8");
		return (-1);
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		if (bol && *p == '%' && ++n > CONFIG_DIRECTIVES_MAX) {
			config_fmt(msg, sizeof msg, "more than %d YAML "
			    "directives (%%TAG, %%YAML); a policy needs none",
			    CONFIG_DIRECTIVES_MAX);
			config_error_at(err, name, &mark, msg);
			return (-1);
		}
		if ((brk = config_break(p, end)) != 0) {
			mark.line++;
			p += brk;
			bol = 1;
		} else {
			p++;
			bol = 0;
		}
	}
	return (0);
}

/*
 * Read the events once before anything is built, bounding nesting, values
 * and anchors as they stream by: 100,000 nested '[' stop at the 65th
 * instead of costing libyaml 25 s and the loader a deep tree.
 */
static int
config_prescan(const char *name, const char *buf, size_t len,
    int64_t deadline, struct config_error *err)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	yaml_char_t	*anchor;
	size_t		 depth = 0, values = 0, anchors = 0, events = 0;
	char		 msg[128];
	int		 rc = -1;

	if (!yaml_parser_initialize(&parser))
		fatal_oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			config_yaml_error(name, &parser, buf, len, err);
			break;
		}
		anchor = NULL;
		msg[0] = '\0';
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
			anchor = ev.data.sequence_start.anchor;
			values++;
			depth++;
			break;
		case YAML_MAPPING_START_EVENT:
			anchor = ev.data.mapping_start.anchor;
			values++;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			values++;
			break;
		case YAML_ALIAS_EVENT:
			values++;
			break;
		default:
			break;
		}
		if (anchor != NULL)
			anchors++;
		if (depth > CONFIG_DEPTH_MAX)
			config_fmt(msg, sizeof msg, "lists and mappings nest "
			    "more than %d deep", CONFIG_DEPTH_MAX);
		else if (values > CONFIG_VALUES_MAX)
			config_fmt(msg, sizeof msg, "more than %d values in "
			    "the file", CONFIG_VALUES_MAX);
		else if (anchors > CONFIG_ANCHORS_MAX)
			config_fmt(msg, sizeof msg, "more than %d anchors "
			    "(&name) in the file", CONFIG_ANCHORS_MAX);
		else if (++events % 256 == 0 && clock_coarse_ms() > deadline)
			config_fmt(msg, sizeof msg, "reading the file took "
			    "longer than %d ms; stopped here", CONFIG_TIME_MAX);
		if (msg[0] != '\0') {
			config_error_at(err, name, &ev.start_mark, msg);
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return (rc);
}

/* Load and validate a policy from memory, by the deadline. */
static struct policy *
config_load_until(const char *name, const char *buf, size_t len,
    int64_t deadline, struct config_error *err)
{
	struct config_walk	 w;
	yaml_parser_t		 parser;
	yaml_document_t		 doc, doc2;
	yaml_node_t		*root, *root2;
	struct policy		*po = NULL;
	int			 have_doc = 0;

	memset(err, 0, sizeof *err);
	memset(&w, 0, sizeof w);
	if (!config_size_ok(len, CONFIG_FILE_MAX, err->msg, sizeof err->msg)) {
		config_fmt(err->file, sizeof err->file, "%s", name);
		return (NULL);
	}
	if (config_directives(name, buf, len, err) != 0 ||
	    config_prescan(name, buf, len, deadline, err) != 0)
		return (NULL);
	if (!yaml_parser_initialize(&parser))
		fatal_oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		config_yaml_error(name, &parser, buf, len, err);
		goto out;
	}
	have_doc = 1;
	root = yaml_document_get_root_node(&doc);
	if (root != NULL) {
		if (!yaml_parser_load(&parser, &doc2)) {
			config_yaml_error(name, &parser, buf, len, err);
			goto out;
		}
		root2 = yaml_document_get_root_node(&doc2);
		if (root2 != NULL) {
			config_fmt(err->file, sizeof err->file, "%s", name);
			err->line = (int)root2->start_mark.line + 1;
			err->column = (int)root2->start_mark.column + 1;
			config_fmt(err->msg, sizeof err->msg, "only one YAML "
			    "document is allowed");
			yaml_document_delete(&doc2);
			goto out;
		}
		yaml_document_delete(&doc2);
	}

	w.cw_name = name;
	w.cw_doc = &doc;
	w.cw_err = err;
	w.cw_budget = CONFIG_NODE_BUDGET;
	w.cw_bytes = CONFIG_POLICY_MAX;
	w.cw_deadline = deadline;
	w.cw_po = po = config_defaults(name);
	w.cw_marks = xcalloc(config_nkeys, sizeof *w.cw_marks);
	w.cw_set = xcalloc(config_nkeys, sizeof *w.cw_set);
	if (root != NULL && root->type != YAML_MAPPING_NODE &&
	    !config_is_null(root)) {
		config_fail(&w, root, "the policy must be a mapping of keys "
		    "such as 'upstream: 127.0.0.1:7860', found %s",
		    config_node_kind(root));
		goto fail;
	}
	if (root != NULL) {
		for (w.cw_pass = 0; w.cw_pass < 2; w.cw_pass++) {
			if (config_walk_map(&w, root, "", "", po) != 0)
				goto fail;
		}
	}
	if (config_finish(&w) != 0)
		goto fail;
	goto out;

fail:
	config_unref(po);
	po = NULL;
out:
	free(w.cw_marks);
	free(w.cw_set);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return (po);
}

/* Load and validate a policy from memory. */
struct policy *
config_load_buffer(const char *name, const char *buf, size_t len,
    struct config_error *err)
{
	return (config_load_until(name, buf, len,
	    clock_coarse_ms() + CONFIG_TIME_MAX, err));
}

/* Load and validate a policy file. */
struct policy *
config_load(const char *file, struct config_error *err)
{
	struct policy	*po;
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 got;
	int64_t		 deadline = clock_coarse_ms() + CONFIG_TIME_MAX;
	int		 fd;

	memset(err, 0, sizeof *err);
	config_fmt(err->file, sizeof err->file, "%s", file);
	/* O_NONBLOCK: -c on a FIFO is refused below instead of hanging. */
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		config_fmt(err->msg, sizeof err->msg, "cannot open: %s",
		    strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		config_fmt(err->msg, sizeof err->msg, "not a regular file");
		close(fd);
		return (NULL);
	}
	if (!config_size_ok((uint64_t)st.st_size, CONFIG_FILE_MAX, err->msg,
	    sizeof err->msg)) {
		close(fd);
		return (NULL);
	}
	buf = xmalloc(CONFIG_FILE_MAX + 1);
	for (;;) {
		if (clock_coarse_ms() > deadline) {
			config_fmt(err->msg, sizeof err->msg, "reading took "
			    "longer than %d ms", CONFIG_TIME_MAX);
			close(fd);
			free(buf);
			return (NULL);
		}
		got = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			config_fmt(err->msg, sizeof err->msg, "cannot read: %s",
			    strerror(errno));
			close(fd);
			free(buf);
			return (NULL);
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > CONFIG_FILE_MAX) {
			/* It grew since fstat: say how big it is now. */
			if (fstat(fd, &st) == -1 || st.st_size < (off_t)len)
				st.st_size = (off_t)len;
			config_size_ok((uint64_t)st.st_size, CONFIG_FILE_MAX,
			    err->msg, sizeof err->msg);
			close(fd);
			free(buf);
			return (NULL);
		}
	}
	close(fd);
	po = config_load_until(file, buf, len, deadline, err);
	free(buf);
	return (po);
}

/* Format err as "file:line:column: message". */
void
config_error_format(const struct config_error *err, char *buf, size_t len)
{
	if (err->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line,
		    err->column, err->msg);
	else
		snprintf(buf, len, "%s: %s", err->file, err->msg);
}
