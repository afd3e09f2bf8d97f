/*
 * admin.c -- the admin API: a small HTTP/1.1 server of its own on
 * admin.listen (loopback TCP or a unix socket, or a socket systemd hands
 * over as "admin"), the bearer token, the routes modules register, and
 * the replies.
 *
 * One request per connection: the reply carries "Connection: close".  The
 * admin API is polled by scrapers and operators, not browsers, so the
 * simplicity is worth more than keep-alive.  A request must arrive whole
 * within ADMIN_HEAD_TIMEOUT of the connection (a total deadline: a byte a
 * second does not extend it), and one address has at most
 * ADMIN_CONN_PER_CLIENT connections, so a trickle from one place cannot
 * take the slots /healthz needs.  A handler may answer later;
 * its request stays allocated until it does, and if the client has gone
 * away meanwhile the reply is dropped.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "systemd.h"

#define ADMIN_HEAD_MAX		16384
#define ADMIN_BODY_MAX		65536
#define ADMIN_CONN_MAX		64
#define ADMIN_CONN_PER_CLIENT	8
#define ADMIN_HEAD_TIMEOUT	10	/* seconds, the whole request */
#define ADMIN_WRITE_TIMEOUT	30	/* seconds */

struct admin_route {
	TAILQ_ENTRY(admin_route) ro_entry;
	char			*ro_method;
	char			*ro_path;
	int			 ro_prefix;
	admin_handler		 ro_fn;
	void			*ro_arg;
};
TAILQ_HEAD(admin_routes, admin_route);

struct admin_conn;

/* A decoded query parameter, kept until the reply. */
struct admin_param {
	char			*ap_name;
	char			*ap_value;
};

struct admin_req {
	TAILQ_ENTRY(admin_req)	 ar_entry;	/* pending (handed to a handler) */
	struct admin_conn	*ar_conn;	/* NULL once the client is gone */
	char			*ar_method;
	char			*ar_path;
	struct admin_param	*ar_params;
	size_t			 ar_nparams;
	char			*ar_extra;	/* header lines for the reply */
	admin_slice_fn		 ar_slice;	/* made in slices */
	void			(*ar_slice_free)(void *);
	void			*ar_slice_arg;
	struct event		*ar_slice_ev;
};
TAILQ_HEAD(admin_reqs, admin_req);

struct admin_conn {
	TAILQ_ENTRY(admin_conn)	 ac_entry;
	struct bufferevent	*ac_bev;
	struct admin_req	*ac_req;	/* the request being served */
	size_t			 ac_body;	/* body bytes still to discard */
	int			 ac_have_head;
	int			 ac_authorized;
	int			 ac_closing;	/* reply queued: close when sent */
	struct event		*ac_deadline;	/* the whole request's */
	char			 ac_peer[64];	/* address, or "uid N" (unix) */
};
TAILQ_HEAD(admin_conns, admin_conn);

static struct admin_routes	 admin_routes =
    TAILQ_HEAD_INITIALIZER(admin_routes);
static struct admin_conns	 admin_conns =
    TAILQ_HEAD_INITIALIZER(admin_conns);
static struct admin_reqs	 admin_pending =
    TAILQ_HEAD_INITIALIZER(admin_pending);
static size_t			 admin_nconns;
static struct evconnlistener	*admin_listener;
static struct event		*admin_resume_ev;
static char			*admin_unix_path;	/* to unlink at exit */
static char			 admin_listen_text[128];
static struct metric		*admin_requests_metric;
static struct log_limit		 admin_log_refused = LOG_LIMIT_INIT(
				    "admin connections refused", LOG_LEVEL_WARN);

static void	admin_conn_free(struct admin_conn *);
static int	admin_listen(const struct addr *, char **);
static int	admin_registered;
static void	admin_close_listener(void);

/* Format an error message into *cause. */
static void __attribute__((format(printf, 2, 3)))
admin_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		fatal_oom();
	va_end(ap);
}

/* The reason phrase for a status code. */
static const char *
admin_status_text(int status)
{
	switch (status) {
	case 200:
		return ("OK");
	case 201:
		return ("Created");
	case 202:
		return ("Accepted");
	case 204:
		return ("No Content");
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 408:
		return ("Request Timeout");
	case 409:
		return ("Conflict");
	case 413:
		return ("Payload Too Large");
	case 431:
		return ("Request Header Fields Too Large");
	case 500:
		return ("Internal Server Error");
	case 503:
		return ("Service Unavailable");
	}
	return ("Unknown");
}

/* Add a route at the head or the tail of the list. */
static void
admin_route_add(const char *method, const char *path, int prefix,
    admin_handler fn, void *arg, int head)
{
	struct admin_route	*ro;

	ro = xcalloc(1, sizeof *ro);
	ro->ro_method = xstrdup(method);
	ro->ro_path = xstrdup(path);
	ro->ro_prefix = prefix;
	ro->ro_fn = fn;
	ro->ro_arg = arg;
	if (head)
		TAILQ_INSERT_HEAD(&admin_routes, ro, ro_entry);
	else
		TAILQ_INSERT_TAIL(&admin_routes, ro, ro_entry);
}

/* Add a route; may be called before admin_init(). */
void
admin_route(const char *method, const char *path, int prefix,
    admin_handler fn, void *arg)
{
	admin_route_add(method, path, prefix, fn, arg, 0);
}

/* Free a request and what it owns. */
static void
admin_req_free(struct admin_req *ar)
{
	size_t	i;

	for (i = 0; i < ar->ar_nparams; i++) {
		free(ar->ar_params[i].ap_name);
		free(ar->ar_params[i].ap_value);
	}
	free(ar->ar_params);
	free(ar->ar_method);
	free(ar->ar_path);
	free(ar->ar_extra);
	if (ar->ar_slice_ev != NULL)
		event_free(ar->ar_slice_ev);
	free(ar);
}

/* The value of a hex digit, or -1. */
static int
admin_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Percent-decode (and '+' to space) n bytes of s into a new string. */
static char *
admin_decode(const char *s, size_t n)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	o = out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%' && i + 2 < n &&
		    (hi = admin_hex((unsigned char)s[i + 1])) >= 0 &&
		    (lo = admin_hex((unsigned char)s[i + 2])) >= 0) {
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return (out);
}

/* Split the query string into decoded name/value pairs. */
static void
admin_parse_query(struct admin_req *ar, const char *q)
{
	const char	*amp, *eq, *end;

	while (*q != '\0') {
		amp = strchr(q, '&');
		end = amp != NULL ? amp : q + strlen(q);
		if (end > q) {
			eq = memchr(q, '=', end - q);
			ar->ar_params = xrealloc(ar->ar_params,
			    (ar->ar_nparams + 1) * sizeof *ar->ar_params);
			if (eq != NULL) {
				ar->ar_params[ar->ar_nparams].ap_name =
				    admin_decode(q, eq - q);
				ar->ar_params[ar->ar_nparams].ap_value =
				    admin_decode(eq + 1, end - eq - 1);
			} else {
				ar->ar_params[ar->ar_nparams].ap_name =
				    admin_decode(q, end - q);
				ar->ar_params[ar->ar_nparams].ap_value =
				    xstrdup("");
			}
			ar->ar_nparams++;
		}
		if (amp == NULL)
			break;
		q = amp + 1;
	}
}

/* The value of query parameter name, or NULL. */
const char *
admin_query(struct admin_req *ar, const char *name)
{
	size_t	i;

	for (i = 0; i < ar->ar_nparams; i++) {
		if (strcmp(ar->ar_params[i].ap_name, name) == 0)
			return (ar->ar_params[i].ap_value);
	}
	return (NULL);
}

/* Queue a complete response on the connection and close once it is sent. */
static void
admin_send(struct admin_conn *ac, int status, const char *ctype,
    const char *extra, struct evbuffer *body)
{
	struct evbuffer	*out = bufferevent_get_output(ac->ac_bev);
	struct timeval	 wtv = { ADMIN_WRITE_TIMEOUT, 0 };

	/* A client that never reads does not hold the connection for ever. */
	bufferevent_set_timeouts(ac->ac_bev, NULL, &wtv);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "%s"
	    "\r\n", status, admin_status_text(status), ctype,
	    body != NULL ? evbuffer_get_length(body) : (size_t)0,
	    extra != NULL ? extra : "");
	if (body != NULL)
		evbuffer_add_buffer(out, body);
	ac->ac_closing = 1;
	evtimer_del(ac->ac_deadline);
	bufferevent_disable(ac->ac_bev, EV_READ);
	bufferevent_enable(ac->ac_bev, EV_WRITE);
}

/* Answer a request with a body buffer (drained); drop it if the client left. */
static void
admin_finish(struct admin_req *ar, int status, const char *ctype,
    const char *extra, struct evbuffer *body)
{
	struct admin_conn	*ac = ar->ar_conn;

	TAILQ_REMOVE(&admin_pending, ar, ar_entry);
	if (ac != NULL) {
		ac->ac_req = NULL;
		admin_send(ac, status, ctype, extra != NULL ? extra :
		    ar->ar_extra, body);
	}
	admin_req_free(ar);
}

/* Add a header line to the coming reply. */
void
admin_reply_header(struct admin_req *ar, const char *name, const char *value)
{
	char	*line;

	if (asprintf(&line, "%s%s: %s\r\n", ar->ar_extra != NULL ?
	    ar->ar_extra : "", name, value) == -1)
		fatal_oom();
	free(ar->ar_extra);
	ar->ar_extra = line;
}

/* Parse a number in [0, max] from a query parameter; 0, or -1. */
static int
admin_query_number(struct admin_req *ar, const char *name, uint64_t max,
    uint64_t *out)
{
	const char		*v = admin_query(ar, name);
	char			*end;
	unsigned long long	 n;

	if (v == NULL)
		return (0);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *v < '0' || *v > '9' ||
	    n > max)
		return (-1);
	*out = n;
	return (0);
}

/* The paging parameters of a list; -1 after answering 400. */
int
admin_paging(struct admin_req *ar, size_t *limit, uint64_t *after)
{
	uint64_t	n = ADMIN_LIST_DEFAULT;

	*after = 0;
	if (admin_query_number(ar, "limit", ADMIN_LIST_MAX, &n) != 0) {
		admin_reply_json(ar, 400, json_pack("{s:s}", "error",
		    "limit must be a whole number from 0 to 10000"));
		return (-1);
	}
	if (admin_query_number(ar, "after", INT64_MAX, after) != 0) {
		admin_reply_json(ar, 400, json_pack("{s:s}", "error",
		    "after must be a cursor from the Link header of the last "
		    "page"));
		return (-1);
	}
	*limit = (size_t)n;
	return (0);
}

/* Whether a slice that began at start has had its time. */
int
admin_slice_over(const struct timespec *start)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)(now.tv_sec - start->tv_sec) * 1000000000 +
	    (now.tv_nsec - start->tv_nsec) >= ADMIN_SLICE_NS);
}

/* One slice of a reply made in slices. */
static void
admin_slice_cb(evutil_socket_t fd, short events, void *arg)
{
	struct admin_req	*ar = arg;
	struct timeval		 tv = { 0, 0 };

	(void)fd;
	(void)events;
	if (ar->ar_conn == NULL) {
		/* The client left: stop making what nobody reads. */
		ar->ar_slice_free(ar->ar_slice_arg);
		TAILQ_REMOVE(&admin_pending, ar, ar_entry);
		admin_req_free(ar);
		return;
	}
	switch (ar->ar_slice(ar, ar->ar_slice_arg)) {
	case ADMIN_SLICE_DONE:
		/* fn has answered, which freed ar and its event. */
		return;
	case ADMIN_SLICE_WAIT:
		tv.tv_usec = ADMIN_SLICE_WAIT_MS * 1000;
		break;
	}
	evtimer_add(ar->ar_slice_ev, &tv);
}

/* Make a reply in slices. */
void
admin_slices(struct admin_req *ar, admin_slice_fn fn, void (*free_fn)(void *),
    void *arg)
{
	struct timeval	tv = { 0, 0 };

	ar->ar_slice = fn;
	ar->ar_slice_free = free_fn;
	ar->ar_slice_arg = arg;
	if ((ar->ar_slice_ev = evtimer_new(daemon_base(), admin_slice_cb,
	    ar)) == NULL)
		fatal_oom();
	evtimer_add(ar->ar_slice_ev, &tv);
}

/* Answer with a prepared buffer. */
void
admin_reply_buffer(struct admin_req *ar, int status, const char *ctype,
    struct evbuffer *body)
{
	admin_finish(ar, status, ctype, NULL, body);
}

/* Answer with plain text. */
void
admin_reply_text(struct admin_req *ar, int status, const char *ctype,
    const char *body)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatal_oom();
	evbuffer_add(buf, body, strlen(body));
	admin_finish(ar, status, ctype != NULL ? ctype :
	    "text/plain; charset=utf-8", NULL, buf);
	evbuffer_free(buf);
}

/* Answer with JSON; takes the reference. */
void
admin_reply_json(struct admin_req *ar, int status, json_t *json)
{
	struct evbuffer	*buf;
	char		*text;

	if ((buf = evbuffer_new()) == NULL)
		fatal_oom();
	text = json != NULL ? json_dumps(json, JSON_INDENT(1) |
	    JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;
	if (text == NULL) {
		evbuffer_add_printf(buf, "null\n");
	} else {
		evbuffer_add(buf, text, strlen(text));
		evbuffer_add(buf, "\n", 1);
		free(text);
	}
	json_decref(json);
	admin_finish(ar, status, "application/json", NULL, buf);
	evbuffer_free(buf);
}

/* Answer a request that never reached a handler, with a short text. */
static void
admin_error(struct admin_conn *ac, int status, const char *extra)
{
	struct evbuffer	*buf;

	if ((buf = evbuffer_new()) == NULL)
		fatal_oom();
	evbuffer_add_printf(buf, "%s\n", admin_status_text(status));
	admin_send(ac, status, "text/plain; charset=utf-8", extra, buf);
	evbuffer_free(buf);
}

/* GET /healthz. */
static void
admin_healthz(struct admin_req *ar, const char *tail, void *arg)
{
	(void)tail;
	(void)arg;
	admin_reply_text(ar, 200, NULL, "ok\n");
}

/* GET /metrics. */
static void
admin_metrics(struct admin_req *ar, const char *tail, void *arg)
{
	struct evbuffer	*buf;

	(void)tail;
	(void)arg;
	if ((buf = evbuffer_new()) == NULL)
		fatal_oom();
	metrics_render(buf);
	admin_reply_buffer(ar, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf);
	evbuffer_free(buf);
}

/* Whether the request carries the configured bearer token (or none is set). */
static int
admin_authorized(const char *authz)
{
	const struct policy	*po = daemon_policy();
	const char		*token, *given;
	size_t			 tlen, glen;

	if (po == NULL || po->po_admin.token == NULL ||
	    *po->po_admin.token == '\0')
		return (1);
	token = po->po_admin.token;
	if (authz == NULL || strncasecmp(authz, "Bearer ", 7) != 0)
		return (0);
	given = authz + 7;
	while (*given == ' ')
		given++;
	tlen = strlen(token);
	glen = strlen(given);
	while (glen > 0 && (given[glen - 1] == ' ' || given[glen - 1] == '\t'))
		glen--;
	if (glen != tlen)
		return (0);
	return (CRYPTO_memcmp(token, given, tlen) == 0);
}

/* Find the handler for method and path; set *tail; 404/405 otherwise. */
static struct admin_route *
admin_match(const char *method, const char *path, const char **tail,
    int *status)
{
	struct admin_route	*ro;
	size_t			 len;
	int			 path_known = 0;

	TAILQ_FOREACH(ro, &admin_routes, ro_entry) {
		len = strlen(ro->ro_path);
		if (ro->ro_prefix) {
			if (strncmp(path, ro->ro_path, len) != 0)
				continue;
		} else if (strcmp(path, ro->ro_path) != 0)
			continue;
		path_known = 1;
		if (strcmp(method, ro->ro_method) != 0)
			continue;
		*tail = ro->ro_prefix ? path + len : "";
		return (ro);
	}
	*status = path_known ? 405 : 404;
	return (NULL);
}

/* The Allow header for a path that exists under other methods. */
static void
admin_allow(const char *path, char *buf, size_t len)
{
	struct admin_route	*ro;
	size_t			 plen;

	size_t			 used;

	used = (size_t)snprintf(buf, len, "Allow:");
	TAILQ_FOREACH(ro, &admin_routes, ro_entry) {
		plen = strlen(ro->ro_path);
		if (ro->ro_prefix ? strncmp(path, ro->ro_path, plen) != 0 :
		    strcmp(path, ro->ro_path) != 0)
			continue;
		if (strstr(buf, ro->ro_method) != NULL || used >= len)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s %s",
		    used > 6 ? "," : "", ro->ro_method);
	}
	if (used < len)
		snprintf(buf + used, len - used, "\r\n");
}

/*
 * Parse a complete request head (NUL-terminated, without the blank line).
 * Returns 0 with the request set up, or an HTTP status to answer with.
 */
static int
admin_parse_head(struct admin_conn *ac, char *head, char **authz)
{
	char		*line, *save = NULL, *sp1, *sp2, *target, *q, *colon;
	char		*name, *value, *end;
	unsigned long	 cl;
	int		 first = 1;

	*authz = NULL;
	ac->ac_req = xcalloc(1, sizeof *ac->ac_req);
	for (line = strtok_r(head, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((end = strchr(line, '\r')) != NULL) {
			if (end[1] != '\0')
				return (400);
			*end = '\0';
		}
		if (first) {
			first = 0;
			if ((sp1 = strchr(line, ' ')) == NULL ||
			    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
				return (400);
			*sp1 = *sp2 = '\0';
			target = sp1 + 1;
			if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || *target != '/')
				return (400);
			ac->ac_req->ar_method = xstrdup(line);
			if ((q = strchr(target, '?')) != NULL) {
				*q++ = '\0';
				admin_parse_query(ac->ac_req, q);
			}
			ac->ac_req->ar_path = xstrdup(target);
			continue;
		}
		if (*line == ' ' || *line == '\t')
			return (400);	/* obsolete line folding */
		if ((colon = strchr(line, ':')) == NULL || colon == line)
			return (400);
		*colon = '\0';
		name = line;
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (strcasecmp(name, "Authorization") == 0)
			*authz = value;
		else if (strcasecmp(name, "Transfer-Encoding") == 0)
			return (400);	/* no admin route takes a body */
		else if (strcasecmp(name, "Content-Length") == 0) {
			errno = 0;
			cl = strtoul(value, &end, 10);
			if (errno != 0 || end == value || *value == '-')
				return (400);
			if (cl > ADMIN_BODY_MAX)
				return (413);
			ac->ac_body = cl;
		}
	}
	if (first)
		return (400);
	return (0);
}

/* Hand a parsed request to its handler, or answer the error. */
static void
admin_dispatch(struct admin_conn *ac)
{
	struct admin_req	*ar = ac->ac_req;
	struct admin_route	*ro;
	const char		*tail;
	char			 allow[128];
	int			 status = 0;

	metrics_inc(admin_requests_metric);
	if (!ac->ac_authorized) {
		log_warn("admin: %s %s refused: missing or wrong token",
		    ar->ar_method, ar->ar_path);
		admin_error(ac, 401,
		    "WWW-Authenticate: Bearer realm=\"janitor\"\r\n");
		return;
	}
	if ((ro = admin_match(ar->ar_method, ar->ar_path, &tail,
	    &status)) == NULL) {
		if (status == 405) {
			admin_allow(ar->ar_path, allow, sizeof allow);
			admin_error(ac, 405, allow);
		} else
			admin_error(ac, status, NULL);
		return;
	}
	log_debug("admin: %s %s", ar->ar_method, ar->ar_path);
	ar->ar_conn = ac;
	TAILQ_INSERT_TAIL(&admin_pending, ar, ar_entry);
	/* The handler may take its time: the client may wait as long. */
	evtimer_del(ac->ac_deadline);
	bufferevent_set_timeouts(ac->ac_bev, NULL, NULL);
	ro->ro_fn(ar, tail, ro->ro_arg);
}

/* Read the request head, then the body to discard, then dispatch. */
static void
admin_read_cb(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*ac = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p;
	char			*head, *authz;
	size_t			 len, n;
	int			 status;

	if (ac->ac_closing || (ac->ac_have_head && ac->ac_body == 0)) {
		/* Served or being served: ignore what else comes. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!ac->ac_have_head) {
		p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (p.pos < 0) {
			if (evbuffer_get_length(in) > ADMIN_HEAD_MAX)
				admin_error(ac, 431, NULL);
			return;
		}
		len = (size_t)p.pos;
		if (len > ADMIN_HEAD_MAX) {
			admin_error(ac, 431, NULL);
			return;
		}
		head = xmalloc(len + 5);
		evbuffer_remove(in, head, len + 4);
		head[len + 2] = '\0';	/* keep the last line's CRLF */
		ac->ac_have_head = 1;
		if ((status = admin_parse_head(ac, head, &authz)) != 0) {
			free(head);
			if (ac->ac_req != NULL) {
				admin_req_free(ac->ac_req);
				ac->ac_req = NULL;
			}
			admin_error(ac, status, NULL);
			return;
		}
		/* authz points into head: check it before freeing. */
		ac->ac_authorized = admin_authorized(authz);
		free(head);
		if (!ac->ac_authorized)
			ac->ac_body = 0;	/* refuse now, not after a body */
	}
	n = evbuffer_get_length(in);
	if (n > ac->ac_body)
		n = ac->ac_body;
	evbuffer_drain(in, n);
	ac->ac_body -= n;
	if (ac->ac_body == 0)
		admin_dispatch(ac);
}

/* Once the reply is written, close. */
static void
admin_write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*ac = arg;

	if (ac->ac_closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		admin_conn_free(ac);
}

/* EOF, error or timeout: the connection ends; a pending request is orphaned. */
static void
admin_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn	*ac = arg;

	(void)bev;
	(void)what;
	admin_conn_free(ac);
}

/* The request did not arrive whole in time: 408, and close. */
static void
admin_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct admin_conn	*ac = arg;

	(void)fd;
	(void)events;
	if (ac->ac_closing)
		return;
	if (ac->ac_req != NULL && ac->ac_req->ar_conn == NULL) {
		/* Parsed but its body never came: never dispatched. */
		admin_req_free(ac->ac_req);
		ac->ac_req = NULL;
	}
	admin_error(ac, 408, NULL);
}

/* Free a connection; a request still with its handler stays, detached. */
static void
admin_conn_free(struct admin_conn *ac)
{
	struct admin_req	*ar;

	if ((ar = ac->ac_req) != NULL) {
		if (ar->ar_conn == ac)
			ar->ar_conn = NULL;	/* the handler replies later */
		else
			admin_req_free(ar);	/* never dispatched */
	}
	TAILQ_REMOVE(&admin_conns, ac, ac_entry);
	admin_nconns--;
	event_free(ac->ac_deadline);
	bufferevent_free(ac->ac_bev);
	free(ac);
}

/* Who is at the other end: the address, or the user of a unix socket. */
static void
admin_peer(evutil_socket_t fd, struct sockaddr *sa, char *buf, size_t len)
{
	struct ucred	cred;
	socklen_t	clen = sizeof cred;

	if (sa->sa_family == AF_UNIX) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			snprintf(buf, len, "uid %u", (unsigned)cred.uid);
		else
			snprintf(buf, len, "unix");
		return;
	}
	if (evutil_inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
	    (void *)&((struct sockaddr_in *)sa)->sin_addr :
	    (void *)&((struct sockaddr_in6 *)sa)->sin6_addr, buf, len) == NULL)
		snprintf(buf, len, "?");
}

/* How many admin connections peer has open. */
static size_t
admin_peer_conns(const char *peer)
{
	struct admin_conn	*ac;
	size_t			 n = 0;

	TAILQ_FOREACH(ac, &admin_conns, ac_entry) {
		if (strcmp(ac->ac_peer, peer) == 0)
			n++;
	}
	return (n);
}

/* A new admin client. */
static void
admin_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin_conn	*ac;
	struct timeval		 dtv = { ADMIN_HEAD_TIMEOUT, 0 };
	struct timeval		 wtv = { ADMIN_WRITE_TIMEOUT, 0 };
	char			 peer[64];

	(void)l;
	(void)salen;
	(void)arg;
	admin_peer(fd, sa, peer, sizeof peer);
	if (admin_nconns >= ADMIN_CONN_MAX) {
		if (log_limit(&admin_log_refused))
			log_warn("admin: too many connections, refusing one "
			    "from %s", peer);
		evutil_closesocket(fd);
		return;
	}
	if (admin_peer_conns(peer) >= ADMIN_CONN_PER_CLIENT) {
		if (log_limit(&admin_log_refused))
			log_warn("admin: %s has %d connections open already, "
			    "refusing one", peer, ADMIN_CONN_PER_CLIENT);
		evutil_closesocket(fd);
		return;
	}
	ac = xcalloc(1, sizeof *ac);
	snprintf(ac->ac_peer, sizeof ac->ac_peer, "%s", peer);
	ac->ac_bev = bufferevent_socket_new(daemon_base(), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (ac->ac_bev == NULL) {
		evutil_closesocket(fd);
		free(ac);
		return;
	}
	TAILQ_INSERT_TAIL(&admin_conns, ac, ac_entry);
	admin_nconns++;
	bufferevent_setcb(ac->ac_bev, admin_read_cb, admin_write_cb,
	    admin_event_cb, ac);
	bufferevent_set_timeouts(ac->ac_bev, NULL, &wtv);
	/* The whole request within the deadline, however it trickles in. */
	if ((ac->ac_deadline = evtimer_new(daemon_base(), admin_deadline_cb,
	    ac)) == NULL)
		fatal_oom();
	evtimer_add(ac->ac_deadline, &dtv);
	bufferevent_setwatermark(ac->ac_bev, EV_READ, 0, ADMIN_HEAD_MAX * 2);
	bufferevent_enable(ac->ac_bev, EV_READ | EV_WRITE);
}

/* Re-enable accepting after a pause. */
static void
admin_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (admin_listener != NULL)
		evconnlistener_enable(admin_listener);
}

/* accept() failed: on EMFILE and friends, pause for a second, do not spin. */
static void
admin_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 1, 0 };
	int		err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	log_warn("admin: accept: %s", evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	if (admin_resume_ev == NULL)
		admin_resume_ev = evtimer_new(daemon_base(), admin_resume_cb,
		    NULL);
	evtimer_add(admin_resume_ev, &tv);
}

/* Bind a unix socket at path, replacing a stale socket; fd or -1. */
static int
admin_bind_unix(const struct addr *ad, char **cause)
{
	const struct sockaddr_un	*sun;
	struct stat			 st;
	int				 fd;

	sun = (const struct sockaddr_un *)&ad->ad_ss;
	if (lstat(sun->sun_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			admin_cause(cause, "admin: %s exists and is not "
			    "a socket", sun->sun_path);
			return (-1);
		}
		unlink(sun->sun_path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		admin_cause(cause, "admin: socket: %s", strerror(errno));
		return (-1);
	}
	if (bind(fd, (const struct sockaddr *)&ad->ad_ss, ad->ad_len) == -1 ||
	    chmod(sun->sun_path, 0660) == -1 || listen(fd, 128) == -1) {
		admin_cause(cause, "admin: %s: %s", sun->sun_path,
		    strerror(errno));
		close(fd);
		return (-1);
	}
	admin_unix_path = xstrdup(sun->sun_path);
	return (fd);
}

/* Open the listener on ad (or systemd's "admin" socket). */
static int
admin_listen(const struct addr *ad, char **cause)
{
	const unsigned	 flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
	int		 fd, one = 1;

	if ((fd = systemd_listen_take("admin")) != -1) {
		evutil_make_socket_nonblocking(fd);
		log_info("admin: listening on the socket systemd passed");
		snprintf(admin_listen_text, sizeof admin_listen_text,
		    "systemd");
	} else if (ad->ad_family == AF_UNIX) {
		if ((fd = admin_bind_unix(ad, cause)) == -1)
			return (-1);
	} else if (ad->ad_family == AF_INET || ad->ad_family == AF_INET6) {
		fd = socket(ad->ad_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			admin_cause(cause, "admin: socket: %s",
			    strerror(errno));
			return (-1);
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, (const struct sockaddr *)&ad->ad_ss,
		    ad->ad_len) == -1 || listen(fd, 128) == -1) {
			admin_cause(cause, "admin: %s: %s", ad->ad_text,
			    strerror(errno));
			close(fd);
			return (-1);
		}
	} else {
		log_info("admin: no admin.listen, admin API off");
		return (0);
	}
	admin_listener = evconnlistener_new(daemon_base(), admin_accept_cb,
	    NULL, flags, -1, fd);
	if (admin_listener == NULL) {
		admin_cause(cause, "admin: cannot listen on %s",
		    ad->ad_text);
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(admin_listener, admin_accept_error_cb);
	if (admin_listen_text[0] == '\0')
		snprintf(admin_listen_text, sizeof admin_listen_text, "%s",
		    ad->ad_text);
	log_info("admin: listening on %s", admin_listen_text);
	return (0);
}

/* Close the listener and remove a unix socket we created. */
static void
admin_close_listener(void)
{
	if (admin_listener != NULL)
		evconnlistener_free(admin_listener);
	admin_listener = NULL;
	if (admin_unix_path != NULL) {
		unlink(admin_unix_path);
		free(admin_unix_path);
		admin_unix_path = NULL;
	}
	admin_listen_text[0] = '\0';
}

/* After a reload, move the listener when admin.listen changed. */
static void
admin_reload(const struct policy *old, const struct policy *new, void *arg)
{
	char	*cause = NULL;

	(void)arg;
	if (strcmp(admin_listen_text, "systemd") == 0 ||
	    strcmp(old->po_admin.listen.ad_text,
	    new->po_admin.listen.ad_text) == 0)
		return;
	admin_close_listener();
	if (admin_listen(&new->po_admin.listen, &cause) != 0) {
		log_error("%s; admin API off until the next reload", cause);
		free(cause);
	}
}

/* Start listening as the current policy says. */
int
admin_init(char **cause)
{
	if (!admin_registered) {
		admin_registered = 1;
		/* Built-ins first: a module cannot shadow them. */
		admin_route_add("GET", "/metrics", 0, admin_metrics, NULL, 1);
		admin_route_add("GET", "/healthz", 0, admin_healthz, NULL, 1);
		daemon_on_reload(admin_reload, NULL);
	}
	admin_requests_metric = metrics_counter("janitor_admin_requests_total",
	    NULL, "Requests served by the admin API.");
	return (admin_listen(&daemon_policy()->po_admin.listen, cause));
}

/* Close the listener and every connection; pending requests are orphaned. */
void
admin_free(void)
{
	struct admin_conn	*ac;
	struct admin_route	*ro;
	struct admin_req	*ar, *arnext;

	admin_close_listener();
	if (admin_resume_ev != NULL)
		event_free(admin_resume_ev);
	admin_resume_ev = NULL;
	while ((ac = TAILQ_FIRST(&admin_conns)) != NULL)
		admin_conn_free(ac);
	/* Replies still being made in slices are dropped with their state. */
	for (ar = TAILQ_FIRST(&admin_pending); ar != NULL; ar = arnext) {
		arnext = TAILQ_NEXT(ar, ar_entry);
		if (ar->ar_slice == NULL)
			continue;
		ar->ar_slice_free(ar->ar_slice_arg);
		TAILQ_REMOVE(&admin_pending, ar, ar_entry);
		admin_req_free(ar);
	}
	while ((ro = TAILQ_FIRST(&admin_routes)) != NULL) {
		TAILQ_REMOVE(&admin_routes, ro, ro_entry);
		free(ro->ro_method);
		free(ro->ro_path);
		free(ro);
	}
	admin_registered = 0;
}
