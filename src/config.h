/*
 * config.h -- the policy: a YAML file turned into a validated, immutable
 * struct policy.  Every other module reads its settings from here.
 *
 * A policy is built whole by config_load() and never changed afterwards;
 * a reload builds a new one and daemon_swap_policy() hands it over.  Users
 * that outlive a reload (a connection) hold a reference.
 */
#ifndef JANITOR_CONFIG_H
#define JANITOR_CONFIG_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Durations are kept in milliseconds; 0 means "off" where SPEC.md says so. */
typedef int64_t msec_t;

#define CONFIG_DEFAULT_FILE	"/etc/janitor/janitor.yaml"
#define SESSION_KEY_MAX		128

/*
 * What preset: gradio sets for the session key (the heartbeat route's last
 * segment, 4.25-4.44 and 5.x, under any root path) and for the live rule.
 * Rules with a path are matched against the request path without its
 * query string.
 */
#define CONFIG_GRADIO_KEY_PATH	"/heartbeat/([A-Za-z0-9_-]+)$"
#define CONFIG_GRADIO_LIVE_PATH	"/heartbeat/[A-Za-z0-9_-]+$"
/* queue/join carries session_hash only in its JSON body. */
#define CONFIG_GRADIO_JOIN_PATH	"/queue/join$"

/* A listen or upstream address: host:port, [v6]:port or unix:/path. */
struct addr {
	struct sockaddr_storage	 ad_ss;
	socklen_t		 ad_len;
	int			 ad_family;	/* AF_INET, AF_INET6, AF_UNIX */
	char			 ad_text[128];	/* as written, for logs */
};

/* One entry of a CIDR list such as trusted_proxies. */
struct cidr {
	int		ci_family;		/* AF_INET or AF_INET6 */
	uint8_t		ci_addr[16];		/* network, host bits zero */
	int		ci_bits;
};

/* Where a request's session key comes from (sessions.key). */
enum key_source {
	KEY_COOKIE,
	KEY_QUERY,
	KEY_HEADER,
	KEY_PATH,
	KEY_JSON,		/* a top-level string field of a JSON body */
};

struct rx;

struct key_rule {
	enum key_source	 kr_source;
	char		*kr_name;	/* cookie, query, header or JSON field name; regex text for KEY_PATH */
	struct rx	*kr_re;		/* KEY_PATH: the key's regex (one group); KEY_JSON: the paths whose body is read */
	char		*kr_path;	/* KEY_JSON: kr_re's text */
};

/* What counts as a live channel (sessions.live). */
enum live_kind {
	LIVE_WEBSOCKET,
	LIVE_SSE,
	LIVE_PATH,		/* a websocket or sse stream whose path matches */
};

struct live_rule {
	enum live_kind	 lr_kind;
	char		*lr_text;	/* regex text, LIVE_PATH only */
	struct rx	*lr_re;		/* compiled, LIVE_PATH only */
};

enum cookie_secure {
	COOKIE_SECURE_AUTO,
	COOKIE_SECURE_ALWAYS,
	COOKIE_SECURE_NEVER,
};

enum same_site {
	SAME_SITE_LAX,
	SAME_SITE_STRICT,
	SAME_SITE_NONE,
};

/* What on_unload and on_expire do. */
struct action {
	char		*ac_webhook;	/* URL or NULL */
	char	       **ac_remove;	/* absolute path templates with {session} */
	size_t		 ac_nremove;
};

#define AGE_BY_ATIME	0x1
#define AGE_BY_CTIME	0x2
#define AGE_BY_MTIME	0x4

enum cache_on_start {
	CACHE_START_NONE,
	CACHE_START_SWEEP,
	CACHE_START_WIPE,
};

/* One swept directory (cache: list). */
struct cache_entry {
	char			*ce_path;	/* absolute */
	msec_t			 ce_every;	/* > 0 (at least 1s) */
	msec_t			 ce_age;	/* 0 = no age rule */
	unsigned		 ce_age_by;	/* AGE_BY_* bits, never 0 */
	enum cache_on_start	 ce_on_start;
	char		       **ce_keep;	/* glob patterns */
	size_t			 ce_nkeep;
	uint64_t		 ce_max_size;	/* bytes, 0 = off */
};

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

struct policy {
	int			 po_refcnt;
	char			*po_file;	/* where it was loaded from */
	char			*po_preset;	/* "gradio" or NULL */

	struct addr		*po_listen;
	size_t			 po_nlisten;
	struct addr		 po_upstream;
	struct cidr		*po_trusted;
	size_t			 po_ntrusted;
	char			*po_state_dir;

	struct {
		long		 max_connections;
		msec_t		 header_timeout;
		msec_t		 keepalive_timeout;
		uint64_t	 max_header_size;
		uint64_t	 max_body_size;		/* 0 = unlimited */
		msec_t		 upstream_connect_timeout;
		msec_t		 upstream_timeout;
		msec_t		 tunnel_timeout;
		msec_t		 shutdown_timeout;
	} po_limits;

	struct {
		char			*cookie_name;
		bool			 cookie_issue;
		enum cookie_secure	 cookie_secure;
		enum same_site		 cookie_same_site;
		struct key_rule		*keys;
		size_t			 nkeys;
		char			*forward_header;
		long			 capacity;
		struct live_rule	*live;
		size_t			 nlive;
		msec_t			 keepalive_idle;
		msec_t			 keepalive_interval;
		int			 keepalive_count;
		msec_t			 websocket_ping;	/* 0 = off */
		uint64_t		 json_max;	/* largest JSON body read for a key */
	} po_sessions;

	struct action		 po_unload;
	msec_t			 po_unload_grace;

	struct action		 po_expire;
	msec_t			 po_expire_after_disconnect;
	msec_t			 po_expire_ttl;		/* 0 = off */

	struct {
		char		*secret_file;	/* NULL when unset */
		unsigned char	*secret;	/* decoded key bytes from secret_file */
		size_t		 secret_len;
		msec_t		 timeout;
		int		 max_attempts;
		msec_t		 backoff_initial;
		msec_t		 backoff_max;
	} po_webhooks;

	struct cache_entry	*po_cache;
	size_t			 po_ncache;

	struct {
		struct addr	 listen;
		char		*token_file;	/* NULL when unset */
		char		*token;		/* its contents, trimmed */
	} po_admin;

	struct {
		int		 level;		/* LOG_LEVEL_* from log.h */
		enum log_format	 format;
	} po_log;
};

/* Where and why loading failed: "file:line:column: message". */
struct config_error {
	char	file[256];
	int	line;		/* 1-based; 0 when not tied to a place */
	int	column;		/* 1-based */
	char	msg[512];
};

/*
 * Reading and checking a policy, with the files it names, takes at most
 * this long (ms); the time counts from the start of config_load().
 */
#define CONFIG_TIME_MAX		2000

/* Load and validate a policy file; NULL and *err filled on failure. */
struct policy	*config_load(const char *file, struct config_error *err);

/* Same from memory; name is used in messages.  For tests and fuzzing. */
struct policy	*config_load_buffer(const char *name, const char *buf,
		    size_t len, struct config_error *err);

/* Take and drop a reference; the last unref frees. */
struct policy	*config_ref(struct policy *);
void		 config_unref(struct policy *);

/* Print the one-screen summary that --check shows. */
void		 config_print_summary(const struct policy *, FILE *);

/* Format err as "file:line:column: message" into buf. */
void		 config_error_format(const struct config_error *, char *buf,
		    size_t len);

/* Parsers shared with the rest of the daemon; 0 on success, -1 otherwise. */
int		 config_parse_duration(const char *, msec_t *);
int		 config_parse_size(const char *, uint64_t *);
int		 config_parse_addr(const char *, struct addr *, char **cause);
int		 config_parse_cidr(const char *, struct cidr *);

/*
 * The first of the n networks that holds every address (0.0.0.0/0, ::/0),
 * or NULL: trusting it lets any client choose its address.
 */
const struct cidr *config_cidr_everyone(const struct cidr *, size_t n);

/* Whether sa lies inside one of the n networks (v4-mapped v6 counts as v4). */
bool		 config_cidr_match(const struct cidr *, size_t n,
		    const struct sockaddr *sa);

/*
 * Template rule (on_unload.remove, on_expire.remove): an absolute path
 * whose components are never empty, "." or ".."; "{session}" appears at
 * least once, only as a whole component and never as the first one; no
 * other "{" or "}".  0, or -1 with an allocated *cause.
 */
int		 config_parse_template(const char *, char **cause);

/* Check an fnmatch(3) pattern: non-empty, brackets closed, no trailing \. */
int		 config_parse_glob(const char *, char **cause);

/* Check an absolute path without empty, "." or ".." components. */
int		 config_parse_path(const char *, char **cause);

/* Whether an address is loopback (127/8, ::1) or a unix socket. */
bool		 config_addr_is_local(const struct addr *);

/* Whether two addresses are the same socket address. */
bool		 config_addr_equal(const struct addr *, const struct addr *);

/* Print back: "1h", "500ms", "off" for 0; "16k", "0"; "10.0.0.0/8". */
void		 config_format_duration(msec_t, char *, size_t);
void		 config_format_size(uint64_t, char *, size_t);
void		 config_format_cidr(const struct cidr *, char *, size_t);

/* Names for enum values, as the policy file spells them. */
const char	*config_log_level_name(int);

/*
 * The schema: one entry per key the parser accepts, in file order, with
 * its dotted path ("limits.header_timeout"; list items as "cache[].path"),
 * its type and default as docs/configuration.md shows them.  The parser
 * walks the file with this table and a unit test checks the docs against
 * it, so neither can drift.
 */
struct config_walk;
struct config_key;
struct yaml_node_s;
typedef int (*config_set_cb)(struct config_walk *, struct yaml_node_s *,
    void *base, const struct config_key *);

struct config_key {
	const char	*ck_path;
	const char	*ck_type;	/* "duration", "size", "map", ... */
	const char	*ck_default;	/* as written in a file; "" for none */
	config_set_cb	 ck_set;	/* NULL: a mapping walked by key */
	size_t		 ck_off;	/* member offset in the walk's base */
	int64_t		 ck_min;	/* numbers and durations */
	int64_t		 ck_max;
	const char	*const *ck_words;	/* enumerations */
};

extern const struct config_key	config_keys[];
extern const size_t		config_nkeys;

#endif
