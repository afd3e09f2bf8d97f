/*
 * config_schema.c -- the schema of the policy file: config_keys[], one
 * entry per key, and the setters that parse a node into the member the
 * entry points at.  Also the Gradio preset, which sets what a Gradio app
 * needs before the file's own keys are applied.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "config.h"
#include "config_int.h"
#include "log.h"
#include "rx.h"

static const char *const config_words_preset[] = { "gradio", NULL };
static const char *const config_words_secure[] = { "auto", "always",
    "never", NULL };
static const char *const config_words_same_site[] = { "lax", "strict",
    "none", NULL };
static const char *const config_words_on_start[] = { "none", "sweep",
    "wipe", NULL };
static const char *const config_words_level[] = { "error", "warn", "info",
    "debug", NULL };
static const char *const config_words_confirm[] = { "return",
    "first_request", NULL };
static const char *const config_words_format[] = { "text", "json", NULL };
static const char *const config_words_live[] = { "websocket", "sse", NULL };
static const char *const config_words_age_by[] = { "atime", "ctime", "mtime",
    NULL };

/* The member a key entry points at. */
#define config_member(base, ck, type) ((type *)((char *)(base) + (ck)->ck_off))

/*
 * Refuse a list longer than its key's ck_max.  Every "... list" key has
 * one (test_config checks); 0 would leave only the file's value limit.
 */
static int
config_count(struct config_walk *w, yaml_node_t *n, size_t nitems,
    const struct config_key *ck)
{
	if (ck->ck_max > 0 && nitems > (size_t)ck->ck_max)
		return (config_fail(w, n, "%zu items; at most %lld are allowed",
		    nitems, (long long)ck->ck_max));
	return (0);
}

/* Set a duration; ck_min/ck_max bound it. */
static int
config_set_duration(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s;
	msec_t		 ms;
	char		 lim[32];

	if (config_scalar(w, n, "a duration", &s) != 0)
		return (-1);
	if (config_parse_duration(s, &ms) != 0)
		return (config_fail(w, n, "'%s' is not a duration (use e.g. "
		    "30s, 5m)", s));
	if (ms < ck->ck_min) {
		config_format_duration(ck->ck_min, lim, sizeof lim);
		return (config_fail(w, n, "'%s' is too short (at least %s)",
		    s, lim));
	}
	if (ms > ck->ck_max) {
		config_format_duration(ck->ck_max, lim, sizeof lim);
		return (config_fail(w, n, "'%s' is too long (at most %s)",
		    s, lim));
	}
	*config_member(base, ck, msec_t) = ms;
	return (0);
}

/* Set a size in bytes; ck_min/ck_max bound it. */
static int
config_set_size(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s;
	uint64_t	 v;
	char		 lim[32];

	if (config_scalar(w, n, "a size", &s) != 0)
		return (-1);
	if (config_parse_size(s, &v) != 0)
		return (config_fail(w, n, "'%s' is not a size (use e.g. 512, "
		    "16k, 10M, 2G)", s));
	if (v < (uint64_t)ck->ck_min) {
		config_format_size((uint64_t)ck->ck_min, lim, sizeof lim);
		return (config_fail(w, n, "'%s' is too small (at least %s)",
		    s, lim));
	}
	if (v > (uint64_t)ck->ck_max) {
		config_format_size((uint64_t)ck->ck_max, lim, sizeof lim);
		return (config_fail(w, n, "'%s' is too large (at most %s)",
		    s, lim));
	}
	*config_member(base, ck, uint64_t) = v;
	return (0);
}

/* Parse a bounded decimal integer. */
static int
config_integer(struct config_walk *w, yaml_node_t *n,
    const struct config_key *ck, long long *out)
{
	const char	*s;
	char		*end;
	long long	 v;

	if (config_scalar(w, n, "a number", &s) != 0)
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0)
		return (config_fail(w, n, "'%s' is not a whole number", s));
	if (v < ck->ck_min || v > ck->ck_max)
		return (config_fail(w, n, "%lld is out of range (%lld to %lld)",
		    v, (long long)ck->ck_min, (long long)ck->ck_max));
	*out = v;
	return (0);
}

/* Set a long. */
static int
config_set_long(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	long long	v = 0;	/* gcc -O3 cannot see config_fail() is -1 */

	if (config_integer(w, n, ck, &v) != 0)
		return (-1);
	*config_member(base, ck, long) = (long)v;
	return (0);
}

/* Set an int. */
static int
config_set_int(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	long long	v = 0;	/* gcc -O3 cannot see config_fail() is -1 */

	if (config_integer(w, n, ck, &v) != 0)
		return (-1);
	*config_member(base, ck, int) = (int)v;
	return (0);
}

/* Set a bool from true/false (yes/no and on/off are accepted too). */
static int
config_set_bool(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	static const char *const yes[] = { "true", "yes", "on", "True",
	    "Yes", "On", "TRUE", NULL };
	static const char *const no[] = { "false", "no", "off", "False", "No",
	    "Off", "FALSE", NULL };
	const char	*s;
	size_t		 i;

	if (config_scalar(w, n, "true or false", &s) != 0)
		return (-1);
	for (i = 0; yes[i] != NULL; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*config_member(base, ck, bool) = true;
			return (0);
		}
		if (strcmp(s, no[i]) == 0) {
			*config_member(base, ck, bool) = false;
			return (0);
		}
	}
	return (config_fail(w, n, "'%s' is not true or false", s));
}

/* Find s among words; -1 with an error listing them if absent. */
static int
config_word(struct config_walk *w, yaml_node_t *n, const char *const *words,
    const char *s)
{
	char	list[128];
	size_t	i, used = 0;

	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(s, words[i]) == 0)
			return ((int)i);
	}
	list[0] = '\0';
	for (i = 0; words[i] != NULL && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used,
		    "%s%s", i == 0 ? "" : " | ", words[i]);
	return (config_fail(w, n, "'%s' is not one of %s", s, list));
}

/* Set an enumeration stored as an int (or enum) member. */
static int
config_set_enum(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s;
	int		 i;

	if (config_scalar(w, n, "a word", &s) != 0)
		return (-1);
	if ((i = config_word(w, n, ck->ck_words, s)) < 0)
		return (-1);
	*config_member(base, ck, int) = i;
	return (0);
}

/* Whether s is an HTTP token (cookie and header names). */
static bool
config_is_token(const char *s)
{
	if (*s == '\0')
		return (false);
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return (false);
	}
	return (true);
}

/* Replace a string member. */
static void
config_replace(char **member, const char *s)
{
	free(*member);
	*member = s == NULL ? NULL : xstrdup(s);
}

/* Set a cookie or header name (an HTTP token). */
static int
config_set_token(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s;

	if (config_scalar(w, n, "a name", &s) != 0)
		return (-1);
	if (!config_is_token(s))
		return (config_fail(w, n, "'%s' is not a valid name (letters, "
		    "digits and !#$%%&'*+-.^_`|~)", s));
	config_replace(config_member(base, ck, char *), s);
	return (0);
}

/* Set an absolute path. */
static int
config_set_path(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s;
	char		*cause;

	if (config_scalar(w, n, "an absolute path", &s) != 0)
		return (-1);
	if (config_parse_path(s, &cause) != 0)
		return (config_fail_cause(w, n, cause));
	config_replace(config_member(base, ck, char *), s);
	return (0);
}

/* Set an optional webhook URL: http:// or https:// with a host. */
static int
config_set_url(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s, *host;
	size_t		 i;

	if (config_is_null(n) || (n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.length == 0)) {
		config_replace(config_member(base, ck, char *), NULL);
		return (0);
	}
	if (config_scalar(w, n, "a URL", &s) != 0)
		return (-1);
	if (strncmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return (config_fail(w, n, "'%s' is not an http:// or https:// "
		    "URL", s));
	if (*host == '\0' || *host == '/')
		return (config_fail(w, n, "'%s' has no host", s));
	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return (config_fail(w, n, "'%s' contains a space or "
			    "control character", s));
	}
	config_replace(config_member(base, ck, char *), s);
	return (0);
}

/* Set one address. */
static int
config_set_addr(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	const char	*s;
	char		*cause;

	if (config_scalar(w, n, "an address", &s) != 0)
		return (-1);
	if (config_parse_addr(s, config_member(base, ck, struct addr),
	    &cause) != 0)
		return (config_fail_cause(w, n, cause));
	return (0);
}

/* Set listen: one address or a list of them. */
static int
config_set_listen(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy		*po = base;
	yaml_node_item_t	*items, one;
	yaml_node_t		*it;
	struct addr		*ads;
	const char		*s;
	char			*cause, path[CONFIG_PATH_MAX];
	size_t			 nitems, i, j;

	if (config_items(w, n, &items, &nitems, &one) != 0 ||
	    config_count(w, n, nitems, ck) != 0)
		return (-1);
	if (nitems == 0)
		return (config_fail(w, n, "at least one address is needed"));
	config_fmt(path, sizeof path, "%s", w->cw_path);
	ads = xcalloc(nitems, sizeof *ads);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		if (config_visit(w, it) != 0 ||
		    config_scalar(w, it, "an address", &s) != 0)
			goto fail;
		if (config_parse_addr(s, &ads[i], &cause) != 0) {
			config_fail_cause(w, it, cause);
			goto fail;
		}
		for (j = 0; j < i; j++) {
			if (config_addr_equal(&ads[i], &ads[j])) {
				config_fail(w, it, "'%s' is listed twice", s);
				goto fail;
			}
		}
	}
	free(po->po_listen);
	po->po_listen = ads;
	po->po_nlisten = nitems;
	return (0);
fail:
	free(ads);
	return (-1);
}

/* Set a CIDR list (trusted_proxies). */
static int
config_set_cidrs(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy		*po = base;
	yaml_node_item_t	*items, one;
	yaml_node_t		*it;
	struct cidr		*cis;
	struct cidr		 host;
	const char		*s;
	char			 path[CONFIG_PATH_MAX], net[64];
	size_t			 nitems, i;

	if (config_items(w, n, &items, &nitems, &one) != 0 ||
	    config_count(w, n, nitems, ck) != 0)
		return (-1);
	config_fmt(path, sizeof path, "%s", w->cw_path);
	cis = xcalloc(nitems, sizeof *cis);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		if (config_visit(w, it) != 0 ||
		    config_scalar(w, it, "a network", &s) != 0)
			goto fail;
		if (config_parse_cidr(s, &cis[i]) != 0) {
			config_fail(w, it, "'%s' is not a network (use e.g. "
			    "10.0.0.0/8, 192.0.2.1 or ::1/128)", s);
			goto fail;
		}
		/* Host bits set is almost always a typo: say so. */
		snprintf(net, sizeof net, "%.*s", (int)strcspn(s, "/"), s);
		if (config_parse_cidr(net, &host) == 0 &&
		    memcmp(host.ci_addr, cis[i].ci_addr, 16) != 0) {
			config_format_cidr(&cis[i], net, sizeof net);
			config_fail(w, it, "'%s' has host bits set (did you "
			    "mean %s?)", s, net);
			goto fail;
		}
	}
	free(po->po_trusted);
	po->po_trusted = cis;
	po->po_ntrusted = nitems;
	return (0);
fail:
	free(cis);
	return (-1);
}

/* Free a list of strings. */
void
config_free_strings(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Parse a list of strings, each checked by check (which may be NULL). */
static int
config_strings(struct config_walk *w, yaml_node_t *n,
    const struct config_key *ck, const char *what,
    int (*check)(const char *, char **), char ***out, size_t *nout)
{
	yaml_node_item_t	*items, one;
	yaml_node_t		*it;
	const char		*s;
	char			*cause, path[CONFIG_PATH_MAX], **v;
	size_t			 nitems, i;

	if (config_items(w, n, &items, &nitems, &one) != 0 ||
	    config_count(w, n, nitems, ck) != 0)
		return (-1);
	config_fmt(path, sizeof path, "%s", w->cw_path);
	v = xcalloc(nitems, sizeof *v);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		if (config_visit(w, it) != 0 ||
		    config_scalar(w, it, what, &s) != 0)
			goto fail;
		if (check != NULL && check(s, &cause) != 0) {
			config_fail_cause(w, it, cause);
			goto fail;
		}
		v[i] = xstrdup(s);
	}
	*out = v;
	*nout = nitems;
	return (0);
fail:
	config_free_strings(v, nitems);
	return (-1);
}

/* Set an action's remove: a list of path templates. */
static int
config_set_remove(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct action	*ac = config_member(base, ck, struct action);
	char		**v;
	size_t		  nv;

	if (config_strings(w, n, ck, "a path template", config_parse_template,
	    &v, &nv) != 0)
		return (-1);
	config_free_strings(ac->ac_remove, ac->ac_nremove);
	ac->ac_remove = v;
	ac->ac_nremove = nv;
	return (0);
}

/* Set a cache entry's keep: a list of glob patterns. */
static int
config_set_keep(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct cache_entry	*ce = base;
	char			**v;
	size_t			  nv;

	if (config_strings(w, n, ck, "a glob pattern", config_parse_glob, &v,
	    &nv) != 0)
		return (-1);
	config_free_strings(ce->ce_keep, ce->ce_nkeep);
	ce->ce_keep = v;
	ce->ce_nkeep = nv;
	return (0);
}

/* Set a cache entry's age_by: a non-empty list of atime, ctime, mtime. */
static int
config_set_age_by(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct cache_entry	*ce = base;
	yaml_node_item_t	*items, one;
	yaml_node_t		*it;
	const char		*s;
	char			 path[CONFIG_PATH_MAX];
	size_t			 nitems, i;
	unsigned		 bits = 0;
	int			 word;

	if (config_items(w, n, &items, &nitems, &one) != 0 ||
	    config_count(w, n, nitems, ck) != 0)
		return (-1);
	if (nitems == 0)
		return (config_fail(w, n, "at least one of atime, ctime, mtime "
		    "is needed"));
	config_fmt(path, sizeof path, "%s", w->cw_path);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		if (config_visit(w, it) != 0 ||
		    config_scalar(w, it, "a timestamp name", &s) != 0)
			return (-1);
		if ((word = config_word(w, it, config_words_age_by, s)) < 0)
			return (-1);
		bits |= 1U << word;
	}
	ce->ce_age_by = bits;
	return (0);
}

/* Free one key rule's insides. */
void
config_free_key_rule(struct key_rule *kr)
{
	rx_free(kr->kr_re);
	free(kr->kr_name);
	free(kr->kr_path);
}

/* Free one live rule's insides. */
void
config_free_live_rule(struct live_rule *lr)
{
	rx_free(lr->lr_re);
	free(lr->lr_text);
}

/* A pattern as errors quote it: its first 60 bytes, "..." if longer. */
static const char *
config_rx_quote(const char *s, char *buf, size_t len)
{
	config_fmt(buf, len, "%.60s%s", s, strlen(s) > 60 ? "..." : "");
	return (buf);
}

/*
 * Compile a regex.  The error keeps the scalar's position and adds the
 * offset within the pattern; a long pattern is quoted by its start only.
 */
static int
config_rx(struct config_walk *w, yaml_node_t *n, const char *s,
    struct rx **out)
{
	char	name[CONFIG_PATH_MAX + sizeof w->cw_err->file + 32];
	char	quote[64], *cause;

	config_fmt(name, sizeof name, "%s:%zu:%zu %s", w->cw_name,
	    n->start_mark.line + 1, n->start_mark.column + 1, w->cw_path);
	if ((*out = rx_compile(s, name, 0, &cause)) != NULL) {
		if (config_charge(w, n, rx_size(*out)) == 0)
			return (0);
		rx_free(*out);
		*out = NULL;
		return (-1);
	}
	config_fail(w, n, "'%s' is not a regular expression: %s",
	    config_rx_quote(s, quote, sizeof quote), cause);
	free(cause);
	return (-1);
}

/*
 * Set one source of a sessions.key entry; ck_min says which.  json comes
 * with a path that says which requests' bodies are read, in either order:
 * a path seen first becomes the json rule's filter.
 */
static int
config_set_key_source(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct key_rule	*kr = base;
	enum key_source	 src = (enum key_source)ck->ck_min;
	const char	*s;
	size_t		 i;

	if (kr->kr_name != NULL && !(src == KEY_PATH &&
	    kr->kr_source == KEY_JSON && kr->kr_path == NULL) &&
	    !(src == KEY_JSON && kr->kr_source == KEY_PATH))
		return (config_fail(w, n, "one source per entry (write "
		    "another '- %s: ...' item)", strrchr(ck->ck_path, '.') + 1));
	if (config_scalar(w, n, "a name", &s) != 0)
		return (-1);
	switch (src) {
	case KEY_COOKIE:
	case KEY_HEADER:
		if (!config_is_token(s))
			return (config_fail(w, n, "'%s' is not a valid name",
			    s));
		break;
	case KEY_QUERY:
		for (i = 0; s[i] != '\0'; i++) {
			if (strchr("&=#? ", s[i]) != NULL ||
			    (unsigned char)s[i] < ' ')
				return (config_fail(w, n, "'%s' is not a valid "
				    "query parameter name", s));
		}
		break;
	case KEY_PATH:
		/* The one group is checked in config_set_keys(). */
		if (config_rx(w, n, s, &kr->kr_re) != 0)
			return (-1);
		if (kr->kr_source == KEY_JSON) {
			kr->kr_path = xstrdup(s);
			return (0);
		}
		break;
	case KEY_JSON:
		for (i = 0; s[i] != '\0'; i++) {
			if ((unsigned char)s[i] < ' ' || s[i] == '"' ||
			    s[i] == '\\')
				return (config_fail(w, n, "'%s' is not a valid "
				    "JSON field name", s));
		}
		if (*s == '\0')
			return (config_fail(w, n, "the field name is empty"));
		if (kr->kr_source == KEY_PATH) {
			/* path came first: it is this rule's filter. */
			kr->kr_path = kr->kr_name;
			kr->kr_name = NULL;
		}
		break;
	}
	kr->kr_source = src;
	kr->kr_name = xstrdup(s);
	return (0);
}

/* The index of a key in config_keys[]; the key exists. */
static size_t
config_schema_index(const char *path)
{
	size_t	i;

	for (i = 0; i < config_nkeys; i++) {
		if (strcmp(config_keys[i].ck_path, path) == 0)
			return (i);
	}
	fatal("config: no key %s", path);
}

/* Set sessions.key: an ordered list of one-source mappings. */
static int
config_set_keys(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy		*po = base;
	yaml_node_item_t	*items;
	yaml_node_t		*it;
	struct key_rule		*krs;
	char			 path[CONFIG_PATH_MAX], tpath[64];
	char			 ipath[CONFIG_PATH_MAX], quote[64];
	size_t			 nitems, i, j;

	if (n->type != YAML_SEQUENCE_NODE)
		return (config_fail(w, n, "expected a list of sources such as "
		    "'- cookie: janitor_sid', found %s", config_node_kind(n)));
	items = n->data.sequence.items.start;
	nitems = (size_t)(n->data.sequence.items.top - items);
	if (nitems == 0)
		return (config_fail(w, n, "at least one source is needed"));
	if (config_count(w, n, nitems, ck) != 0)
		return (-1);
	config_fmt(path, sizeof path, "%s", w->cw_path);
	config_fmt(tpath, sizeof tpath, "%s[]", ck->ck_path);
	krs = xcalloc(nitems, sizeof *krs);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		config_fmt(ipath, sizeof ipath, "%s", w->cw_path);
		if (it->type != YAML_MAPPING_NODE) {
			config_fail(w, it, "expected one of {cookie: NAME}, "
			    "{query: NAME}, {header: NAME}, {path: REGEX}, "
			    "{json: NAME, path: REGEX}, found %s",
			    config_node_kind(it));
			goto fail;
		}
		config_fmt(w->cw_path, sizeof w->cw_path, "%s[%zu]", path, i);
		if (config_walk_map(w, it, tpath, ipath, &krs[i]) != 0)
			goto fail;
		config_fmt(w->cw_path, sizeof w->cw_path, "%s[%zu]", path, i);
		if (krs[i].kr_name == NULL) {
			config_fail(w, it, "needs one of cookie, query, header, "
			    "path, json");
			goto fail;
		}
		if (krs[i].kr_source == KEY_PATH &&
		    rx_groups(krs[i].kr_re) != 1) {
			/* Only now is it known not to be a json filter. */
			config_fmt(w->cw_path, sizeof w->cw_path,
			    "%s[%zu].path", path, i);
			config_fail_at(w, &w->cw_marks[config_schema_index(
			    "sessions.key[].path")], "'%s' must have exactly "
			    "one capturing group (...) around the key; it has %u",
			    config_rx_quote(krs[i].kr_name, quote, sizeof quote),
			    rx_groups(krs[i].kr_re));
			goto fail;
		}
		if (krs[i].kr_source == KEY_JSON && krs[i].kr_path == NULL) {
			config_fail(w, it, "json needs path: REGEX, the requests "
			    "whose body is read");
			goto fail;
		}
	}
	for (i = 0; i < po->po_sessions.nkeys; i++)
		config_free_key_rule(&po->po_sessions.keys[i]);
	free(po->po_sessions.keys);
	po->po_sessions.keys = krs;
	po->po_sessions.nkeys = nitems;
	return (0);
fail:
	for (j = 0; j < nitems; j++)
		config_free_key_rule(&krs[j]);
	free(krs);
	return (-1);
}

/* Set the path of a sessions.live entry. */
static int
config_set_live_path(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct live_rule	*lr = base;
	const char		*s;

	(void)ck;
	if (config_scalar(w, n, "a regular expression", &s) != 0)
		return (-1);
	if (config_rx(w, n, s, &lr->lr_re) != 0)
		return (-1);
	lr->lr_kind = LIVE_PATH;
	lr->lr_text = xstrdup(s);
	return (0);
}

/* Set sessions.live: websocket, sse or {path: REGEX} items. */
static int
config_set_live(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy		*po = base;
	yaml_node_item_t	*items, one;
	yaml_node_t		*it;
	struct live_rule	*lrs;
	const char		*s;
	char			 path[CONFIG_PATH_MAX], tpath[64];
	char			 ipath[CONFIG_PATH_MAX];
	size_t			 nitems, i, j;
	int			 word;

	if (config_items(w, n, &items, &nitems, &one) != 0 ||
	    config_count(w, n, nitems, ck) != 0)
		return (-1);
	config_fmt(path, sizeof path, "%s", w->cw_path);
	config_fmt(tpath, sizeof tpath, "%s[]", ck->ck_path);
	lrs = xcalloc(nitems, sizeof *lrs);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		config_fmt(ipath, sizeof ipath, "%s", w->cw_path);
		if (it->type == YAML_MAPPING_NODE) {
			if (config_walk_map(w, it, tpath, ipath,
			    &lrs[i]) != 0)
				goto fail;
			if (lrs[i].lr_text == NULL) {
				config_fmt(w->cw_path, sizeof w->cw_path,
				    "%s[%zu]", path, i);
				config_fail(w, it, "needs path: REGEX");
				goto fail;
			}
			continue;
		}
		if (config_visit(w, it) != 0 ||
		    config_scalar(w, it, "websocket, sse or {path: REGEX}",
		    &s) != 0)
			goto fail;
		if ((word = config_word(w, it, config_words_live, s)) < 0)
			goto fail;
		lrs[i].lr_kind = word == 0 ? LIVE_WEBSOCKET : LIVE_SSE;
	}
	for (i = 0; i < po->po_sessions.nlive; i++)
		config_free_live_rule(&po->po_sessions.live[i]);
	free(po->po_sessions.live);
	po->po_sessions.live = lrs;
	po->po_sessions.nlive = nitems;
	return (0);
fail:
	for (j = 0; j < nitems; j++)
		config_free_live_rule(&lrs[j]);
	free(lrs);
	return (-1);
}

/* Free one cache entry's insides. */
void
config_free_cache_entry(struct cache_entry *ce)
{
	free(ce->ce_path);
	config_free_strings(ce->ce_keep, ce->ce_nkeep);
}

/* The defaults of one cache entry. */
void
config_cache_defaults(struct cache_entry *ce)
{
	memset(ce, 0, sizeof *ce);
	ce->ce_every = 3600 * 1000;
	ce->ce_age = 3600 * 1000;
	ce->ce_age_by = AGE_BY_MTIME;
	ce->ce_on_start = CACHE_START_NONE;
}

/* Set cache: a list of swept directories, each a mapping with a path. */
static int
config_set_cache(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy		*po = base;
	yaml_node_item_t	*items;
	yaml_node_t		*it;
	struct cache_entry	*ces;
	char			 path[CONFIG_PATH_MAX], tpath[64];
	char			 ipath[CONFIG_PATH_MAX];
	size_t			 nitems = 0, i, j;

	if (config_is_null(n))
		items = NULL;
	else if (n->type != YAML_SEQUENCE_NODE)
		return (config_fail(w, n, "expected a list of directories "
		    "('- path: /tmp/x'), found %s", config_node_kind(n)));
	else {
		items = n->data.sequence.items.start;
		nitems = (size_t)(n->data.sequence.items.top - items);
	}
	if (config_count(w, n, nitems, ck) != 0)
		return (-1);
	config_fmt(path, sizeof path, "%s", w->cw_path);
	config_fmt(tpath, sizeof tpath, "%s[]", ck->ck_path);
	ces = xcalloc(nitems, sizeof *ces);
	for (i = 0; i < nitems; i++)
		config_cache_defaults(&ces[i]);
	for (i = 0; i < nitems; i++) {
		it = config_item(w, items, i, path);
		config_fmt(ipath, sizeof ipath, "%s", w->cw_path);
		if (it->type != YAML_MAPPING_NODE) {
			config_fail(w, it, "expected a mapping with a path, "
			    "found %s", config_node_kind(it));
			goto fail;
		}
		if (config_walk_map(w, it, tpath, ipath, &ces[i]) != 0)
			goto fail;
		config_fmt(w->cw_path, sizeof w->cw_path, "%s[%zu]", path, i);
		if (ces[i].ce_path == NULL) {
			config_fail(w, it, "path is missing");
			goto fail;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(ces[i].ce_path, ces[j].ce_path) == 0) {
				config_fail(w, it, "'%s' is already swept by "
				    "%s[%zu]", ces[i].ce_path, path, j);
				goto fail;
			}
		}
	}
	for (i = 0; i < po->po_ncache; i++)
		config_free_cache_entry(&po->po_cache[i]);
	free(po->po_cache);
	po->po_cache = ces;
	po->po_ncache = nitems;
	return (0);
fail:
	for (j = 0; j < nitems; j++)
		config_free_cache_entry(&ces[j]);
	free(ces);
	return (-1);
}

/* Read a small file whole, trimmed of surrounding white space. */
static int
config_read_secret(struct config_walk *w, yaml_node_t *n, const char *file,
    char **out)
{
	char		 buf[CONFIG_SECRET_MAX + 2], *p, *e;	/* one more: EOF */
	char		 why[64];
	struct stat	 st;
	ssize_t		 got;
	size_t		 len = 0;
	int		 fd;

	/* O_NONBLOCK: a FIFO must not hang a reload; it is refused below. */
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return (config_fail(w, n, "cannot read '%s': %s", file,
		    strerror(errno)));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return (config_fail(w, n, "'%s' is not a regular file", file));
	}
	if (!config_size_ok((uint64_t)st.st_size, CONFIG_SECRET_MAX, why,
	    sizeof why)) {
		close(fd);
		return (config_fail(w, n, "'%s' is %s", file, why));
	}
	for (;;) {
		got = read(fd, buf + len, sizeof buf - 1 - len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			close(fd);
			return (config_fail(w, n, "cannot read '%s': %s",
			    file, strerror(errno)));
		}
		if (got == 0)
			break;
		len += (size_t)got;
		if (len > CONFIG_SECRET_MAX) {
			/* It grew since fstat: say how big it is now. */
			if (fstat(fd, &st) == -1 || st.st_size < (off_t)len)
				st.st_size = (off_t)len;
			config_size_ok((uint64_t)st.st_size, CONFIG_SECRET_MAX,
			    why, sizeof why);
			close(fd);
			return (config_fail(w, n, "'%s' is %s", file, why));
		}
	}
	close(fd);
	buf[len] = '\0';
	if (strlen(buf) != len)
		return (config_fail(w, n, "'%s' contains a NUL byte", file));
	for (p = buf; isspace((unsigned char)*p); p++)
		;
	for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	if (*p == '\0')
		return (config_fail(w, n, "'%s' is empty", file));
	*out = xstrdup(p);
	explicit_bzero(buf, sizeof buf);
	return (0);
}

/* Read an optional file path value; *file NULL when unset or ''. */
static int
config_optional_file(struct config_walk *w, yaml_node_t *n, const char **file)
{
	char	*cause;

	*file = NULL;
	if (config_is_null(n) || (n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.length == 0))
		return (0);
	if (config_scalar(w, n, "an absolute path", file) != 0)
		return (-1);
	if (config_parse_path(*file, &cause) != 0)
		return (config_fail_cause(w, n, cause));
	return (0);
}

/* Set webhooks.secret_file: read whsec_+base64 (or raw bytes) now. */
static int
config_set_secret_file(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy	*po = base;
	const char	*file;
	char		*text, *b64;
	unsigned char	*key;
	size_t		 len, pad = 0;
	int		 got;

	(void)ck;
	if (config_optional_file(w, n, &file) != 0)
		return (-1);
	free(po->po_webhooks.secret_file);
	po->po_webhooks.secret_file = NULL;
	if (po->po_webhooks.secret != NULL)
		explicit_bzero(po->po_webhooks.secret,
		    po->po_webhooks.secret_len);
	free(po->po_webhooks.secret);
	po->po_webhooks.secret = NULL;
	po->po_webhooks.secret_len = 0;
	if (file == NULL)
		return (0);
	if (config_read_secret(w, n, file, &text) != 0)
		return (-1);

	if (strncmp(text, "whsec_", 6) != 0) {
		/* No prefix: the file holds the key bytes themselves. */
		len = strlen(text);
		key = (unsigned char *)text;
	} else {
		b64 = text + 6;
		len = strlen(b64);
		key = xmalloc(len / 4 * 3 + 3);
		got = len % 4 == 0 && len > 0 ? EVP_DecodeBlock(key,
		    (unsigned char *)b64, (int)len) : -1;
		if (got <= 0) {
			explicit_bzero(text, strlen(text));
			free(text);
			free(key);
			return (config_fail(w, n, "'%s': the part after whsec_ "
			    "is not base64", file));
		}
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		while (len > 0 && b64[len - 1] == '=') {
			pad++;
			len--;
		}
		len = (size_t)got - pad;
		explicit_bzero(text, strlen(text));
		free(text);
	}
	po->po_webhooks.secret_file = xstrdup(file);
	po->po_webhooks.secret = key;
	po->po_webhooks.secret_len = len;
	return (0);
}

/* Set admin.token_file: the bearer token is read and trimmed now. */
static int
config_set_token_file(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy	*po = base;
	const char	*file;
	char		*token, *p;

	(void)ck;
	if (config_optional_file(w, n, &file) != 0)
		return (-1);
	free(po->po_admin.token_file);
	po->po_admin.token_file = NULL;
	if (po->po_admin.token != NULL)
		explicit_bzero(po->po_admin.token, strlen(po->po_admin.token));
	free(po->po_admin.token);
	po->po_admin.token = NULL;
	if (file == NULL)
		return (0);
	if (config_read_secret(w, n, file, &token) != 0)
		return (-1);
	for (p = token; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			explicit_bzero(token, strlen(token));
			free(token);
			return (config_fail(w, n, "'%s': the token must be one "
			    "line without spaces", file));
		}
	}
	po->po_admin.token_file = xstrdup(file);
	po->po_admin.token = token;
	return (0);
}

/* The cache directory of the Gradio preset: $GRADIO_TEMP_DIR or /tmp/gradio. */
static int
config_gradio_cache(struct config_walk *w, yaml_node_t *n, char **out)
{
	const char	*dir = getenv("GRADIO_TEMP_DIR");
	char		*cause;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp/gradio";
	if (config_parse_path(dir, &cause) != 0) {
		config_fail(w, n, "$GRADIO_TEMP_DIR: %s", cause);
		free(cause);
		return (-1);
	}
	*out = xstrdup(dir);
	return (0);
}

/* Set preset: gradio fills in what SPEC.md lists; the file wins later. */
static int
config_set_preset(struct config_walk *w, yaml_node_t *n, void *base,
    const struct config_key *ck)
{
	struct policy		*po = base;
	struct key_rule		*kr;
	struct live_rule	*lr;
	struct cache_entry	*ce;
	const char		*s;
	char			*cache, *why;
	size_t			 i;

	if (config_scalar(w, n, "a preset name", &s) != 0)
		return (-1);
	if (config_word(w, n, ck->ck_words, s) < 0)
		return (-1);
	if (config_gradio_cache(w, n, &cache) != 0)
		return (-1);
	config_replace(&po->po_preset, s);

	if (config_parse_addr("127.0.0.1:7860", &po->po_upstream, &why) != 0)
		fatal("gradio preset: %s", why);
	po->po_sessions.cookie_issue = false;

	for (i = 0; i < po->po_sessions.nkeys; i++)
		config_free_key_rule(&po->po_sessions.keys[i]);
	free(po->po_sessions.keys);
	po->po_sessions.keys = kr = xcalloc(3, sizeof *kr);
	po->po_sessions.nkeys = 3;
	kr[0].kr_source = KEY_PATH;
	kr[0].kr_name = xstrdup(CONFIG_GRADIO_KEY_PATH);
	if ((kr[0].kr_re = rx_compile(kr[0].kr_name,
	    "preset gradio sessions.key[0].path", 0, &why)) == NULL)
		fatal("gradio preset: %s", why);
	kr[1].kr_source = KEY_QUERY;
	kr[1].kr_name = xstrdup("session_hash");
	kr[2].kr_source = KEY_JSON;
	kr[2].kr_name = xstrdup("session_hash");
	kr[2].kr_path = xstrdup(CONFIG_GRADIO_JOIN_PATH);
	if ((kr[2].kr_re = rx_compile(kr[2].kr_path,
	    "preset gradio sessions.key[2].path", 0, &why)) == NULL)
		fatal("gradio preset: %s", why);

	for (i = 0; i < po->po_sessions.nlive; i++)
		config_free_live_rule(&po->po_sessions.live[i]);
	free(po->po_sessions.live);
	po->po_sessions.live = lr = xcalloc(1, sizeof *lr);
	po->po_sessions.nlive = 1;
	lr->lr_kind = LIVE_PATH;
	lr->lr_text = xstrdup(CONFIG_GRADIO_LIVE_PATH);
	if ((lr->lr_re = rx_compile(lr->lr_text,
	    "preset gradio sessions.live[0].path", 0, &why)) == NULL)
		fatal("gradio preset: %s", why);

	po->po_expire_after_disconnect = 60 * 60 * 1000;

	for (i = 0; i < po->po_ncache; i++)
		config_free_cache_entry(&po->po_cache[i]);
	free(po->po_cache);
	po->po_cache = ce = xcalloc(1, sizeof *ce);
	po->po_ncache = 1;
	config_cache_defaults(ce);
	ce->ce_path = cache;
	ce->ce_every = 3600 * 1000;
	ce->ce_age = 3600 * 1000;
	ce->ce_age_by = AGE_BY_CTIME;
	return (0);
}

#define PO(m)		offsetof(struct policy, m)
#define CE(m)		offsetof(struct cache_entry, m)
#define MS_S		((int64_t)1000)
#define MS_D		((int64_t)24 * 3600 * 1000)
#define MS_MAX		(3650 * MS_D)

/* The schema, in the order of SPEC.md and conf/janitor.yaml. */
const struct config_key config_keys[] = {
	{ "preset", "enum", "", config_set_preset, 0, 0, 0,
	    config_words_preset },
	{ "listen", "address list", "127.0.0.1:8080", config_set_listen, 0,
	    0, 64, NULL },
	{ "upstream", "address", "127.0.0.1:7860", config_set_addr,
	    PO(po_upstream), 0, 0, NULL },
	{ "trusted_proxies", "network list",
	    "['127.0.0.1/32', '::1/128']",
	    config_set_cidrs, 0, 0, 1024, NULL },
	{ "state_dir", "path", "/var/lib/janitor", config_set_path,
	    PO(po_state_dir), 0, 0, NULL },

	{ "limits", "map", "", NULL, 0, 0, 0, NULL },
	{ "limits.max_connections", "integer", "10000", config_set_long,
	    PO(po_limits.max_connections), 1, 1000000, NULL },
	{ "limits.max_connections_per_client", "integer", "256",
	    config_set_long, PO(po_limits.max_connections_per_client), 0,
	    1000000, NULL },
	{ "limits.header_timeout", "duration", "10s", config_set_duration,
	    PO(po_limits.header_timeout), 1, MS_MAX, NULL },
	{ "limits.keepalive_timeout", "duration", "75s", config_set_duration,
	    PO(po_limits.keepalive_timeout), 1, MS_MAX, NULL },
	{ "limits.max_header_size", "size", "16k", config_set_size,
	    PO(po_limits.max_header_size), 1024, 1024 * 1024, NULL },
	{ "limits.max_body_size", "size", "0", config_set_size,
	    PO(po_limits.max_body_size), 0, INT64_MAX, NULL },
	{ "limits.upstream_connect_timeout", "duration", "5s",
	    config_set_duration, PO(po_limits.upstream_connect_timeout), 1,
	    MS_MAX, NULL },
	{ "limits.upstream_timeout", "duration", "60s", config_set_duration,
	    PO(po_limits.upstream_timeout), 1, MS_MAX, NULL },
	{ "limits.tunnel_timeout", "duration", "1h", config_set_duration,
	    PO(po_limits.tunnel_timeout), 1, MS_MAX, NULL },
	{ "limits.shutdown_timeout", "duration", "10s", config_set_duration,
	    PO(po_limits.shutdown_timeout), 0, MS_MAX, NULL },

	{ "sessions", "map", "", NULL, 0, 0, 0, NULL },
	{ "sessions.cookie", "map", "", NULL, 0, 0, 0, NULL },
	{ "sessions.cookie.name", "name", "janitor_sid", config_set_token,
	    PO(po_sessions.cookie_name), 0, 0, NULL },
	{ "sessions.cookie.issue", "boolean", "true", config_set_bool,
	    PO(po_sessions.cookie_issue), 0, 0, NULL },
	{ "sessions.cookie.secure", "enum", "auto", config_set_enum,
	    PO(po_sessions.cookie_secure), 0, 0, config_words_secure },
	{ "sessions.cookie.same_site", "enum", "lax", config_set_enum,
	    PO(po_sessions.cookie_same_site), 0, 0, config_words_same_site },
	{ "sessions.key", "source list", "[{cookie: janitor_sid}]",
	    config_set_keys, 0, 0, 16, NULL },
	{ "sessions.key[].cookie", "name", "", config_set_key_source, 0,
	    KEY_COOKIE, 0, NULL },
	{ "sessions.key[].query", "name", "", config_set_key_source, 0,
	    KEY_QUERY, 0, NULL },
	{ "sessions.key[].header", "name", "", config_set_key_source, 0,
	    KEY_HEADER, 0, NULL },
	{ "sessions.key[].path", "regex", "", config_set_key_source, 0,
	    KEY_PATH, 0, NULL },
	{ "sessions.key[].json", "name", "", config_set_key_source, 0,
	    KEY_JSON, 0, NULL },
	{ "sessions.json_max", "size", "64k", config_set_size,
	    PO(po_sessions.json_max), 16, 1024 * 1024, NULL },
	{ "sessions.forward_header", "name", "X-Janitor-Session",
	    config_set_token, PO(po_sessions.forward_header), 0, 0, NULL },
	{ "sessions.capacity", "integer", "10000", config_set_long,
	    PO(po_sessions.capacity), 1, 100000000, NULL },
	{ "sessions.provisional_capacity", "integer", "0", config_set_long,
	    PO(po_sessions.provisional_capacity), 0, 1000000000, NULL },
	{ "sessions.provisional_ttl", "duration", "2m", config_set_duration,
	    PO(po_sessions.provisional_ttl), MS_S, MS_D, NULL },
	{ "sessions.confirm", "enum", "return", config_set_enum,
	    PO(po_sessions.confirm), 0, 0, config_words_confirm },
	{ "sessions.new_per_client", "integer", "120", config_set_long,
	    PO(po_sessions.new_per_client), 0, 100000000, NULL },
	{ "sessions.live", "live list", "[websocket, sse]", config_set_live,
	    0, 0, 16, NULL },
	{ "sessions.live[].path", "regex", "", config_set_live_path, 0, 0, 0,
	    NULL },
	{ "sessions.keepalive", "map", "", NULL, 0, 0, 0, NULL },
	{ "sessions.keepalive.idle", "duration", "30s", config_set_duration,
	    PO(po_sessions.keepalive_idle), MS_S, 24 * 3600 * MS_S, NULL },
	{ "sessions.keepalive.interval", "duration", "10s",
	    config_set_duration, PO(po_sessions.keepalive_interval), MS_S,
	    24 * 3600 * MS_S, NULL },
	{ "sessions.keepalive.count", "integer", "3", config_set_int,
	    PO(po_sessions.keepalive_count), 1, 100, NULL },
	{ "sessions.websocket_ping", "duration", "0", config_set_duration,
	    PO(po_sessions.websocket_ping), 0, MS_MAX, NULL },

	{ "on_unload", "map", "", NULL, 0, 0, 0, NULL },
	{ "on_unload.grace", "duration", "0s", config_set_duration,
	    PO(po_unload_grace), 0, MS_MAX, NULL },
	{ "on_unload.webhook", "URL", "''", config_set_url,
	    PO(po_unload.ac_webhook), 0, 0, NULL },
	{ "on_unload.remove", "template list", "[]", config_set_remove,
	    PO(po_unload), 0, 64, NULL },

	{ "on_expire", "map", "", NULL, 0, 0, 0, NULL },
	{ "on_expire.after_disconnect", "duration", "60m",
	    config_set_duration, PO(po_expire_after_disconnect), 0, MS_MAX,
	    NULL },
	{ "on_expire.time_to_live", "duration", "0", config_set_duration,
	    PO(po_expire_ttl), 0, MS_MAX, NULL },
	{ "on_expire.webhook", "URL", "''", config_set_url,
	    PO(po_expire.ac_webhook), 0, 0, NULL },
	{ "on_expire.remove", "template list", "[]", config_set_remove,
	    PO(po_expire), 0, 64, NULL },

	{ "webhooks", "map", "", NULL, 0, 0, 0, NULL },
	{ "webhooks.secret_file", "path", "''", config_set_secret_file, 0, 0, 0,
	    NULL },
	{ "webhooks.timeout", "duration", "5s", config_set_duration,
	    PO(po_webhooks.timeout), 1, MS_MAX, NULL },
	{ "webhooks.max_attempts", "integer", "12", config_set_int,
	    PO(po_webhooks.max_attempts), 1, 1000, NULL },
	{ "webhooks.backoff", "map", "", NULL, 0, 0, 0, NULL },
	{ "webhooks.backoff.initial", "duration", "1s", config_set_duration,
	    PO(po_webhooks.backoff_initial), 1, MS_MAX, NULL },
	{ "webhooks.backoff.max", "duration", "10m", config_set_duration,
	    PO(po_webhooks.backoff_max), 1, MS_MAX, NULL },
	{ "webhooks.max_pending", "integer", "100000", config_set_long,
	    PO(po_webhooks.max_pending), 1, 100000000, NULL },

	{ "cache", "cache list", "[]", config_set_cache, 0, 0, 256, NULL },
	{ "cache[].path", "path", "", config_set_path, CE(ce_path), 0, 0,
	    NULL },
	{ "cache[].every", "duration", "1h", config_set_duration,
	    CE(ce_every), MS_S, MS_MAX, NULL },
	{ "cache[].age", "duration", "1h", config_set_duration, CE(ce_age), 0,
	    MS_MAX, NULL },
	{ "cache[].age_by", "timestamp list", "[mtime]", config_set_age_by, 0,
	    0, 3, NULL },
	{ "cache[].on_start", "enum", "none", config_set_enum,
	    CE(ce_on_start), 0, 0, config_words_on_start },
	{ "cache[].keep", "glob list", "[]", config_set_keep, 0, 0, 256,
	    NULL },
	{ "cache[].max_size", "size", "0", config_set_size, CE(ce_max_size),
	    0, INT64_MAX, NULL },

	{ "admin", "map", "", NULL, 0, 0, 0, NULL },
	{ "admin.listen", "address", "127.0.0.1:9090", config_set_addr,
	    PO(po_admin.listen), 0, 0, NULL },
	{ "admin.token_file", "path", "''", config_set_token_file, 0, 0, 0,
	    NULL },

	{ "log", "map", "", NULL, 0, 0, 0, NULL },
	{ "log.level", "enum", "info", config_set_enum, PO(po_log.level), 0, 0,
	    config_words_level },
	{ "log.format", "enum", "text", config_set_enum, PO(po_log.format), 0,
	    0, config_words_format },
};
const size_t config_nkeys = sizeof config_keys / sizeof config_keys[0];

