/*
 * proxy.c -- the relay, after OpenBSD relayd.
 *
 * A connection owns two sides (sock.c): the client's and, while an
 * exchange runs, one to the app (from upstream.c's pool or new).
 * Phases switch by swapping read callbacks:
 *
 *   client: head -> body (Content-Length or chunked, raw) -> idle
 *   upstream: head (1xx heads are passed on) -> body (raw) -> done
 *   after a 101 to an upgrade request: tunnel both ways
 *
 * then back to head for the next (keep-alive, possibly pipelined) request,
 * or to closing (write what is left, shut down, linger briefly so the last
 * response is not destroyed by a reset).  Reading one side stops while the
 * other side's output is above PROXY_HIGH and resumes from that side's
 * write callback (low watermark); EV_READ is disabled explicitly, since a
 * read high-watermark alone spins (libevent #891).
 *
 * Every way out goes through proxy_close(), which logs one debug line,
 * frees both sides and defers freeing the connection itself to the next
 * loop turn, so a callback that closes its own connection can still look
 * at c_closed afterwards.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "sock.h"
#include "sweep.h"
#include "upstream.h"
#include "wsframe.h"

/* Stop reading a side while its partner has this much unsent. */
#define PROXY_HIGH		(256 * 1024)
/* ...and resume once it is down to this. */
#define PROXY_LOW		(64 * 1024)
/* Pipelined bytes buffered while an exchange runs. */
#define PROXY_PIPELINE_MAX	(64 * 1024)
/* The largest response head accepted from the app. */
#define PROXY_RESP_HEAD_MAX	(64 * 1024)
/* How long a last response may take to leave, and to linger after. */
#define PROXY_CLOSE_MS		30000
#define PROXY_LINGER_MS		2000
/* How many iovecs are looked at per parse step. */
#define PROXY_IOV		16

enum proxy_phase {
	PROXY_HEAD,		/* waiting for or reading a request head */
	PROXY_XCHG,		/* an exchange runs */
	PROXY_TUNNEL,		/* after 101: bytes both ways */
	PROXY_CLOSING,		/* writing a last response, then closing */
};

/* Whether an exchange's request waits for proxy_xchg_resume(). */
#define PROXY_HOLD_NONE		0
#define PROXY_HOLD_ASKED	1	/* proxy_xchg_hold() inside ph_request */
#define PROXY_HOLD_PARKED	2	/* ph_request returned; nothing forwarded */

struct proxy_conn;

struct proxy_xchg {
	struct proxy_conn	*x_conn;
	struct http_head	*x_req;
	struct http_head	*x_resp;
	struct http_head	*x_addhdrs;	/* queued response headers */
	struct http_client	 x_client;
	void			*x_tag;
	enum proxy_channel	 x_kind;
	int			 x_status;	/* final status, 0 before */
	int			 x_upgrade;	/* a WebSocket upgrade request */
	int			 x_replay;	/* may be sent again once */
	int			 x_retried;
	int			 x_req_done;	/* request fully forwarded */
	int			 x_resp_sent;	/* response head went out */
	int			 x_got;		/* a response byte arrived */
	int			 x_upkeep;	/* upstream reusable afterwards */
	int			 x_held;	/* PROXY_HOLD_* */
	int			 x_forwarded;	/* ph_forward was called */
	int64_t			 x_bodywant;	/* proxy_xchg_read_body: bytes */
	const char		*x_body;	/* in the second ph_request */
};

struct proxy_conn {
	uint64_t		 c_id;
	struct policy		*c_po;
	struct sock		*c_cs;
	char			 c_peer[64];
	int64_t			 c_start;
	enum proxy_phase	 c_phase;
	struct http_parse	 c_req;
	struct proxy_xchg	 c_x;
	int			 c_xactive;
	struct sock		*c_us;
	struct http_parse	 c_resp;
	struct event		*c_timer;
	int64_t			 c_deadline;	/* c_timer's meaning, 0 = none */
	int64_t			 c_armed;	/* when c_timer fires, 0 = off */
	int			 c_started;	/* a byte of this head came */
	int			 c_keepalive;
	int			 c_cpaused;	/* client reading stopped */
	int			 c_upaused;	/* upstream reading stopped */
	int			 c_shut;	/* write side shut down */
	int			 c_eof;		/* the client half-closed */
	struct sock		*c_drain;	/* close when this has drained */
	struct wsframe		*c_ws;		/* websocket_ping, or NULL */
	enum proxy_channel	 c_kind;	/* what the gauge counts it as */
	unsigned		 c_nreq;
	int			 c_closed;
	size_t			 c_headmark;	/* client output before a response
						   head not sent yet, or SIZE_MAX */
	char			 c_why[128];	/* why it is closing (a copy: the
						   message may live on a stack) */
	TAILQ_ENTRY(proxy_conn)	 c_entry;
};
TAILQ_HEAD(proxy_conns, proxy_conn);

static struct proxy_conns	 proxy_live = TAILQ_HEAD_INITIALIZER(proxy_live);
static struct proxy_conns	 proxy_dead = TAILQ_HEAD_INITIALIZER(proxy_dead);
static long			 proxy_nconns;
static uint64_t			 proxy_next_id;
static struct listen_set	*proxy_listeners;
static struct proxy_hooks	 proxy_hooks;

static struct metric		*proxy_m_class[6];
static struct metric		*proxy_m_kind[3];
static struct metric		*proxy_m_uperr;
static struct metric		*proxy_m_forwarded;

static void	proxy_client_head(struct sock *, void *);
static void	proxy_ws_dead(void *, const char *);
static void	proxy_client_body(struct sock *, void *);
static void	proxy_client_idle(struct sock *, void *);
static void	proxy_client_write(struct sock *, void *);
static void	proxy_client_event(struct sock *, short, void *);
static void	proxy_linger_read(struct sock *, void *);
static void	proxy_up_head(struct sock *, void *);
static void	proxy_up_body(struct sock *, void *);
static void	proxy_up_write(struct sock *, void *);
static void	proxy_up_event(struct sock *, short, void *);
static void	proxy_tunnel_read(struct sock *, void *);
static void	proxy_close(struct proxy_conn *, const char *);
static void	proxy_error(struct proxy_conn *, int, const char *);
static void	proxy_forward(struct proxy_conn *);
static void	proxy_client_bodywait(struct sock *, void *);
static void	proxy_request_go(struct proxy_conn *);

/* Set the hooks the session module provides. */
void
proxy_set_hooks(const struct proxy_hooks *ph)
{
	if (ph == NULL)
		memset(&proxy_hooks, 0, sizeof proxy_hooks);
	else
		proxy_hooks = *ph;
}

/* The request method. */
const char *
proxy_xchg_method(struct proxy_xchg *x)
{
	return (http_head_method(x->x_req));
}

/* The raw request target. */
const char *
proxy_xchg_target(struct proxy_xchg *x)
{
	return (x->x_req->hd_target);
}

/* First value of a request header. */
const char *
proxy_xchg_header(struct proxy_xchg *x, const char *name)
{
	return (http_head_get(x->x_req, name));
}

/* Remove a request header before forwarding. */
void
proxy_xchg_header_remove(struct proxy_xchg *x, const char *name)
{
	http_head_remove(x->x_req, name);
}

/* Add a request header. */
void
proxy_xchg_header_add(struct proxy_xchg *x, const char *name,
    const char *value)
{
	http_head_add(x->x_req, name, value);
}

/* Queue a response header. */
void
proxy_xchg_response_header_add(struct proxy_xchg *x, const char *name,
    const char *value)
{
	if (x->x_addhdrs == NULL)
		x->x_addhdrs = http_head_new(0);
	http_head_add(x->x_addhdrs, name, value);
}

/* The client's address. */
const char *
proxy_xchg_client_ip(struct proxy_xchg *x)
{
	return (x->x_client.hc_ip);
}

/* Whether the request came over https. */
int
proxy_xchg_https(struct proxy_xchg *x)
{
	return (x->x_client.hc_https);
}

/* The client socket. */
int
proxy_xchg_client_fd(struct proxy_xchg *x)
{
	return (sock_fd(x->x_conn->c_cs));
}

/* The connection's policy. */
const struct policy *
proxy_xchg_policy(struct proxy_xchg *x)
{
	return (x->x_conn->c_po);
}

/*
 * Set the connection's one deadline, ms from now (0 = none).  The timer
 * is moved only when the deadline comes earlier than it is armed for; a
 * later one is picked up when it fires (proxy_timer re-arms for the rest),
 * so the deadlines pushed forward on every request or read cost no event
 * operations.
 */
static void
proxy_timer_set(struct proxy_conn *c, msec_t ms)
{
	struct timeval	tv;
	int64_t		when;

	if (ms <= 0) {
		c->c_deadline = 0;
		return;
	}
	when = clock_mono_ms() + ms;
	c->c_deadline = when;
	if (c->c_armed != 0 && c->c_armed <= when)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->c_timer, &tv);
	c->c_armed = when;
}

/* Move the connection to another bucket of the connections gauge. */
static void
proxy_kind_set(struct proxy_conn *c, enum proxy_channel kind)
{
	if (c->c_kind == kind)
		return;
	metrics_dec(proxy_m_kind[c->c_kind]);
	metrics_inc(proxy_m_kind[kind]);
	c->c_kind = kind;
}

/* The deadline while waiting on the app: upstream_timeout, or none. */
static void
proxy_up_timeouts(struct proxy_conn *c)
{
	struct policy	*po = c->c_po;

	if (c->c_phase != PROXY_XCHG || !c->c_x.x_req_done)
		return;
	if (c->c_x.x_kind == PROXY_CHANNEL_SSE)
		proxy_timer_set(c, po->po_limits.tunnel_timeout);
	else
		proxy_timer_set(c, po->po_limits.upstream_timeout);
}

/* Drop the upstream side without reusing it. */
static void
proxy_up_drop(struct proxy_conn *c)
{
	if (c->c_us != NULL)
		sock_free(c->c_us);
	c->c_us = NULL;
	c->c_upaused = 0;
}

/* Count a final status by class. */
static void
proxy_count_status(int status)
{
	if (status >= 100 && status < 600)
		metrics_inc(proxy_m_class[status / 100]);
}

/* The exchange is over: tell the session module and forget it. */
static void
proxy_xchg_end(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;

	if (!c->c_xactive)
		return;
	c->c_xactive = 0;
	if (x->x_tag != NULL && proxy_hooks.ph_done != NULL)
		proxy_hooks.ph_done(x->x_tag, x->x_kind, proxy_hooks.ph_arg);
	proxy_count_status(x->x_status);
	http_head_free(x->x_req);
	http_head_free(x->x_resp);
	http_head_free(x->x_addhdrs);
	memset(x, 0, sizeof *x);
}

/* Free a closed connection, a loop turn after it closed. */
static void
proxy_free_conn(evutil_socket_t fd, short events, void *arg)
{
	struct proxy_conn	*c = arg;

	(void)fd;
	(void)events;
	TAILQ_REMOVE(&proxy_dead, c, c_entry);
	free(c);
}

/* The one exit of a connection. */
static void
proxy_close(struct proxy_conn *c, const char *msg)
{
	if (c->c_closed)
		return;
	c->c_closed = 1;
	proxy_xchg_end(c);
	log_debug("conn %" PRIu64 " %s: closed after %u request(s), %" PRId64
	    " ms: %s", c->c_id, c->c_peer, c->c_nreq,
	    clock_mono_ms() - c->c_start, msg);
	sock_free(c->c_cs);
	c->c_cs = NULL;
	proxy_up_drop(c);
	event_free(c->c_timer);
	wsframe_free(c->c_ws);
	c->c_ws = NULL;
	http_parse_clear(&c->c_req);
	http_parse_clear(&c->c_resp);
	metrics_dec(proxy_m_kind[c->c_kind]);
	config_unref(c->c_po);
	TAILQ_REMOVE(&proxy_live, c, c_entry);
	proxy_nconns--;
	TAILQ_INSERT_TAIL(&proxy_dead, c, c_entry);
	event_base_once(daemon_base(), -1, EV_TIMEOUT, proxy_free_conn, c,
	    NULL);
}

/* Write what is left, shut down, linger, close. */
static void
proxy_closing(struct proxy_conn *c, const char *why)
{
	c->c_phase = PROXY_CLOSING;
	snprintf(c->c_why, sizeof c->c_why, "%s", why);
	proxy_up_drop(c);
	sock_setcb(c->c_cs, proxy_linger_read, proxy_client_write,
	    proxy_client_event, c);
	sock_set_lowmark(c->c_cs, 0);
	sock_enable(c->c_cs, EV_READ | EV_WRITE);
	c->c_cpaused = 0;
	proxy_timer_set(c, PROXY_CLOSE_MS);
	if (evbuffer_get_length(sock_output(c->c_cs)) == 0)
		proxy_client_write(c->c_cs, c);
}

/* Log the request line of the current exchange, for error messages. */
static void
proxy_request_line(struct proxy_conn *c, char *buf, size_t len)
{
	struct http_head	*hd = c->c_x.x_req;

	if (!c->c_xactive || hd == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%s %.200s", http_head_method(hd), hd->hd_target);
}

/* Answer with an error (or just close if a response already started). */
static void
proxy_error(struct proxy_conn *c, int status, const char *msg)
{
	struct proxy_xchg	*x = &c->c_x;
	char			 line[256];

	proxy_request_line(c, line, sizeof line);
	log_msg(status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
	    "conn %" PRIu64 " %s: %d %s: %s (%s)", c->c_id, c->c_peer, status,
	    http_reason(status), msg, line);
	if (c->c_xactive && x->x_resp_sent) {
		proxy_close(c, msg);
		return;
	}
	proxy_up_drop(c);
	http_error_write(sock_output(c->c_cs), status, msg);
	if (c->c_xactive)
		x->x_status = status;
	else
		proxy_count_status(status);
	proxy_xchg_end(c);
	c->c_keepalive = 0;
	proxy_closing(c, msg);
}

/* The upstream failed: 502/504, or a plain close once a response began. */
static void
proxy_up_fail(struct proxy_conn *c, int status, const char *msg)
{
	metrics_inc(proxy_m_uperr);
	proxy_error(c, status, msg);
}

/* Get an upstream connection for the current exchange. */
static int
proxy_up_connect(struct proxy_conn *c, int fresh)
{
	struct policy	*po = c->c_po;
	char		*cause = NULL;
	int		 reused;

	c->c_us = upstream_get(&po->po_upstream,
	    po->po_limits.upstream_connect_timeout, fresh, &reused, &cause);
	if (c->c_us == NULL) {
		log_debug("conn %" PRIu64 ": upstream %s: %s", c->c_id,
		    po->po_upstream.ad_text, cause);
		return (-1);
	}
	c->c_upaused = 0;
	sock_setcb(c->c_us, proxy_up_head, proxy_up_write,
	    proxy_up_event, c);
	sock_set_lowmark(c->c_us, PROXY_LOW);
	if (!(sock_enabled(c->c_us) & EV_READ))
		sock_enable(c->c_us, EV_READ);
	return (reused);
}

/* Whether a method may be sent twice. */
static int
proxy_idempotent(unsigned method)
{
	switch (method) {
	case HTTP_GET:
	case HTTP_HEAD:
	case HTTP_OPTIONS:
	case HTTP_TRACE:
	case HTTP_PUT:
	case HTTP_DELETE:
		return (1);
	}
	return (0);
}

/* The request went to the app in full: count it (and log it at debug). */
static void
proxy_forwarded(struct proxy_conn *c)
{
	struct http_head	*hd = c->c_x.x_req;

	metrics_inc(proxy_m_forwarded);
	log_debug("conn %" PRIu64 ": request %u forwarded: %s %.200s, "
	    "body %" PRIu64 " bytes", c->c_id, c->c_nreq,
	    http_head_method(hd), hd->hd_target, c->c_req.hp_bodylen);
}

/* A request head is complete: check it, rewrite it, send it upstream. */
static void
proxy_request(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;
	struct policy		*po = c->c_po;
	struct http_head	*hd;
	const char		*cause;

	hd = http_parse_take(&c->c_req);
	proxy_timer_set(c, 0);
	memset(x, 0, sizeof *x);
	x->x_conn = c;
	x->x_req = hd;
	c->c_xactive = 1;
	c->c_phase = PROXY_XCHG;
	c->c_nreq++;
	sweep_traffic();
	c->c_keepalive = hd->hd_keepalive && !daemon_stopping();
	if (http_head_validate(hd, &cause) != 0) {
		proxy_error(c, 400, cause);
		return;
	}
	if (po->po_limits.max_body_size > 0 &&
	    hd->hd_length > (int64_t)po->po_limits.max_body_size) {
		proxy_error(c, 413, "request body too large");
		return;
	}
	x->x_upgrade = hd->hd_upgrade && hd->hd_method == HTTP_GET &&
	    http_head_has_token(hd, "Upgrade", "websocket");
	x->x_req_done = !http_parse_has_body(&c->c_req);
	http_head_strip_hop(hd, x->x_upgrade);
	http_head_forwarded(hd, c->c_peer, po->po_trusted, po->po_ntrusted,
	    &x->x_client);
	if (x->x_client.hc_badxff[0] != '\0')
		log_error("conn %" PRIu64 " %s: X-Forwarded-For entry \"%s\" "
		    "from a trusted proxy is not an IP address; client taken "
		    "to be %s", c->c_id, c->c_peer, x->x_client.hc_badxff,
		    x->x_client.hc_ip);
	if (proxy_hooks.ph_request != NULL)
		x->x_tag = proxy_hooks.ph_request(x, proxy_hooks.ph_arg);
	if (x->x_bodywant > 0) {
		/* The hook wants the body first: wait for all of it. */
		sock_setcb(c->c_cs, proxy_client_bodywait,
		    proxy_client_write, proxy_client_event, c);
		proxy_timer_set(c, po->po_limits.header_timeout);
		proxy_client_bodywait(c->c_cs, c);
		return;
	}
	proxy_request_go(c);
}

/* After ph_request: park a held request, or forward it. */
static void
proxy_request_go(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;
	struct policy		*po = c->c_po;

	if (x->x_held == PROXY_HOLD_ASKED) {
		/* Park: client bytes wait (bounded) until proxy_xchg_resume(). */
		x->x_held = PROXY_HOLD_PARKED;
		sock_setcb(c->c_cs, proxy_client_idle,
		    proxy_client_write, proxy_client_event, c);
		proxy_timer_set(c, po->po_limits.upstream_timeout);
		return;
	}
	proxy_forward(c);
}

/* The request head is on an established connection: tell the hook, once. */
static void
proxy_xchg_forwarded(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;

	if (x->x_forwarded)
		return;
	x->x_forwarded = 1;
	if (x->x_tag != NULL && proxy_hooks.ph_forward != NULL)
		proxy_hooks.ph_forward(x, x->x_tag, proxy_hooks.ph_arg);
}

/* Send the request head upstream, then its body if it has one. */
static void
proxy_forward(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;
	struct http_head	*hd = x->x_req;
	struct evbuffer		*out;
	int			 reused;

	if ((reused = proxy_up_connect(c, 0)) == -1) {
		proxy_up_fail(c, 502, "upstream unreachable");
		return;
	}
	http_parse_init(&c->c_resp, HTTP_RESPONSE, PROXY_RESP_HEAD_MAX);
	c->c_resp.hp_skipbody = hd->hd_method == HTTP_HEAD;
	out = sock_output(c->c_us);
	http_head_write(hd, out);
	/* A new connection tells at SOCK_CONNECTED (proxy_up_event). */
	if (reused)
		proxy_xchg_forwarded(c);
	/* A pooled connection may have died meanwhile: it may go again. */
	x->x_replay = reused && x->x_req_done &&
	    proxy_idempotent(hd->hd_method);
	if (!x->x_req_done) {
		sock_setcb(c->c_cs, proxy_client_body,
		    proxy_client_write, proxy_client_event, c);
		proxy_client_body(c->c_cs, c);
		return;
	}
	sock_push(c->c_us);
	proxy_forwarded(c);
	sock_setcb(c->c_cs, proxy_client_idle, proxy_client_write,
	    proxy_client_event, c);
	proxy_up_timeouts(c);
	proxy_client_idle(c->c_cs, c);
}

/* Inside ph_request: forward the request only at proxy_xchg_resume(). */
void
proxy_xchg_hold(struct proxy_xchg *x)
{
	x->x_held = PROXY_HOLD_ASKED;
}

/* Inside ph_request: read the body before anything is forwarded. */
int
proxy_xchg_read_body(struct proxy_xchg *x, size_t max)
{
	struct http_head	*hd = x->x_req;

	/* A client waiting for 100 Continue would wait for nothing. */
	if (hd->hd_chunked || hd->hd_length <= 0 ||
	    (uint64_t)hd->hd_length > max ||
	    http_head_get(hd, "Expect") != NULL)
		return (-1);
	x->x_bodywant = hd->hd_length;
	return (0);
}

/* Whether a body follows the head. */
int
proxy_xchg_has_body(struct proxy_xchg *x)
{
	return (!x->x_req_done);
}

/* The body read for the second ph_request. */
const char *
proxy_xchg_body(struct proxy_xchg *x, size_t *len)
{
	*len = x->x_body != NULL ? (size_t)x->x_bodywant : 0;
	return (x->x_body);
}

/* Client bytes while the hook waits for the whole body. */
static void
proxy_client_bodywait(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;
	struct proxy_xchg	*x = &c->c_x;
	struct evbuffer		*in = sock_input(s);
	size_t			 want = (size_t)x->x_bodywant;

	if (evbuffer_get_length(in) < want)
		return;
	proxy_timer_set(c, 0);
	/* Not drained: proxy_forward() relays these very bytes. */
	x->x_body = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
	x->x_tag = proxy_hooks.ph_request(x, proxy_hooks.ph_arg);
	x->x_body = NULL;
	x->x_bodywant = 0;
	sock_setcb(s, proxy_client_idle, proxy_client_write,
	    proxy_client_event, c);
	proxy_request_go(c);
}

/* Forward a held request now. */
void
proxy_xchg_resume(struct proxy_xchg *x)
{
	struct proxy_conn	*c = x->x_conn;
	int			 parked = x->x_held == PROXY_HOLD_PARKED;

	x->x_held = PROXY_HOLD_NONE;
	/* Not parked yet: still inside ph_request, which goes on itself. */
	if (!parked || c->c_closed)
		return;
	proxy_timer_set(c, 0);
	if (c->c_cpaused) {
		c->c_cpaused = 0;
		sock_enable(c->c_cs, EV_READ);
	}
	proxy_forward(c);
}

/* Client bytes while waiting for a request head. */
static void
proxy_client_head(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;
	struct evbuffer		*in = sock_input(s);
	size_t			 len, want;
	unsigned char		*p;
	ssize_t			 n;

	while (!c->c_closed && c->c_phase == PROXY_HEAD &&
	    (len = evbuffer_get_length(in)) > 0) {
		if (!c->c_started) {
			c->c_started = 1;
			proxy_timer_set(c, c->c_po->po_limits.header_timeout);
		}
		want = c->c_req.hp_maxhead + 1;
		if (want > len)
			want = len;
		p = evbuffer_pullup(in, want);
		n = http_parse_head(&c->c_req, (const char *)p, want);
		if (n < 0) {
			proxy_error(c, c->c_req.hp_status, c->c_req.hp_error);
			return;
		}
		evbuffer_drain(in, n);
		if (c->c_req.hp_state == HTTP_PARSE_HEAD)
			return;
		c->c_started = 0;
		proxy_request(c);
	}
}

/*
 * Feed a side's input through a body parser and move what belongs to the
 * message to out: raw, but for a chunked body's trailer section, which is
 * rebuilt without the fields that may not pass (http_parse_trailers()).
 * Returns the bytes taken from in, or -1.
 */
static ssize_t
proxy_body_move(struct proxy_conn *c, struct http_parse *hp,
    struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec	 iov[PROXY_IOV];
	int			 i, n;
	ssize_t			 r, total = 0, raw = 0;

	n = evbuffer_peek(in, -1, NULL, iov, PROXY_IOV);
	if (n > PROXY_IOV)
		n = PROXY_IOV;
	for (i = 0; i < n; i++) {
		/* An empty chain (sock.c's unused read space): no data. */
		if (iov[i].iov_len == 0)
			continue;
		r = http_parse_body(hp, iov[i].iov_base, iov[i].iov_len);
		if (r < 0)
			return (-1);
		/* Raw bytes come first; the trailer section only after. */
		if (raw == total)
			raw += hp->hp_raw;
		total += r;
		if ((size_t)r < iov[i].iov_len || hp->hp_state != HTTP_PARSE_BODY)
			break;
	}
	evbuffer_remove_buffer(in, out, raw);
	evbuffer_drain(in, total - raw);
	if (hp->hp_state == HTTP_PARSE_DONE)
		http_parse_trailers(hp, out,
		    c->c_po->po_sessions.forward_header);
	return (total);
}

/* Client bytes of a request body: forward them raw. */
static void
proxy_client_body(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;
	struct proxy_xchg	*x = &c->c_x;
	struct evbuffer		*in = sock_input(s);
	struct evbuffer		*out;
	uint64_t		 max = c->c_po->po_limits.max_body_size;
	ssize_t			 n;

	if (c->c_us == NULL)
		return;
	out = sock_output(c->c_us);
	/* Nothing goes out before all that came is checked (sock_push). */
	while (evbuffer_get_length(in) > 0 &&
	    c->c_req.hp_state == HTTP_PARSE_BODY) {
		n = proxy_body_move(c, &c->c_req, in, out);
		if (n < 0) {
			proxy_error(c, c->c_req.hp_status, c->c_req.hp_error);
			return;
		}
		if (max > 0 && c->c_req.hp_bodylen > max) {
			proxy_error(c, 413, "request body too large");
			return;
		}
		if (n == 0)
			break;
	}
	sock_push(c->c_us);
	if (c->c_req.hp_state == HTTP_PARSE_DONE) {
		x->x_req_done = 1;
		proxy_forwarded(c);
		sock_setcb(s, proxy_client_idle, proxy_client_write,
		    proxy_client_event, c);
		proxy_up_timeouts(c);
		proxy_client_idle(s, c);
		return;
	}
	if (evbuffer_get_length(out) >= PROXY_HIGH) {
		sock_disable(s, EV_READ);
		c->c_cpaused = 1;
	}
}

/* Client bytes while the response runs: pipelined requests wait. */
static void
proxy_client_idle(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;

	if (evbuffer_get_length(sock_input(s)) >
	    PROXY_PIPELINE_MAX) {
		sock_disable(s, EV_READ);
		c->c_cpaused = 1;
	}
}

/* Client bytes after the last response: thrown away while lingering. */
static void
proxy_linger_read(struct sock *s, void *arg)
{
	struct evbuffer	*in = sock_input(s);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The client's output drained below the low mark. */
static void
proxy_client_write(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;

	if (c->c_upaused && c->c_us != NULL) {
		c->c_upaused = 0;
		sock_enable(c->c_us, EV_READ);
	}
	if (evbuffer_get_length(sock_output(s)) != 0)
		return;
	if (c->c_phase != PROXY_CLOSING)
		sock_disable(s, EV_WRITE);
	if (c->c_drain == s) {
		proxy_close(c, "tunnel closed");
		return;
	}
	if (c->c_phase == PROXY_CLOSING && c->c_eof) {
		proxy_close(c, c->c_why[0] != '\0' ? c->c_why : "done");
		return;
	}
	if (c->c_phase == PROXY_CLOSING && !c->c_shut) {
		c->c_shut = 1;
		shutdown(sock_fd(s), SHUT_WR);
		proxy_timer_set(c, PROXY_LINGER_MS);
	}
}

/* The client closed, failed, or timed out. */
static void
proxy_client_event(struct sock *s, short what, void *arg)
{
	struct proxy_conn	*c = arg;
	const char		*msg;

	(void)s;
	msg = (what & SOCK_EOF) ? "client closed" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
	switch (c->c_phase) {
	case PROXY_CLOSING:
		if ((what & SOCK_EOF) && evbuffer_get_length(
		    sock_output(c->c_cs)) > 0) {
			/* Half-closed: the last response still goes out. */
			c->c_eof = 1;
			sock_disable(c->c_cs, EV_READ);
			return;
		}
		proxy_close(c, c->c_why[0] != '\0' ? c->c_why : msg);
		return;
	case PROXY_TUNNEL:
		if (c->c_us != NULL &&
		    evbuffer_get_length(sock_output(c->c_us)) > 0) {
			/* Let what the client said reach the app first. */
			sock_disable(c->c_cs, EV_READ);
			c->c_drain = c->c_us;
			sock_set_lowmark(c->c_us, 0);
			proxy_timer_set(c, PROXY_LINGER_MS);
			return;
		}
		proxy_close(c, msg);
		return;
	case PROXY_HEAD:
		proxy_close(c, msg);
		return;
	case PROXY_XCHG:
		proxy_close(c, (what & SOCK_EOF) ?
		    "client went away during an exchange" : msg);
		return;
	}
}

/* The exchange's response is complete. */
static void
proxy_resp_done(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;
	struct sock		*us = c->c_us;

	sock_push(c->c_cs);
	if (!x->x_req_done)
		c->c_keepalive = 0;
	c->c_us = NULL;
	c->c_upaused = 0;
	if (x->x_req_done && x->x_upkeep &&
	    c->c_resp.hp_state == HTTP_PARSE_DONE &&
	    evbuffer_get_length(sock_input(us)) == 0 &&
	    evbuffer_get_length(sock_output(us)) == 0)
		upstream_put(us, &c->c_po->po_upstream);
	else
		sock_free(us);
	http_parse_clear(&c->c_resp);
	proxy_xchg_end(c);
	proxy_kind_set(c, PROXY_CHANNEL_NONE);
	if (!c->c_keepalive || daemon_stopping()) {
		proxy_closing(c, "done");
		return;
	}
	c->c_phase = PROXY_HEAD;
	c->c_started = 0;
	http_parse_next(&c->c_req);
	sock_setcb(c->c_cs, proxy_client_head, proxy_client_write,
	    proxy_client_event, c);
	if (c->c_cpaused) {
		c->c_cpaused = 0;
		sock_enable(c->c_cs, EV_READ);
	}
	proxy_timer_set(c, c->c_po->po_limits.keepalive_timeout);
	if (evbuffer_get_length(sock_input(c->c_cs)) > 0)
		proxy_client_head(c->c_cs, c);
}

/* Put the queued response headers into the head. */
static void
proxy_add_queued(struct proxy_xchg *x, struct http_head *hd)
{
	size_t	i;

	if (x->x_addhdrs == NULL)
		return;
	for (i = 0; i < x->x_addhdrs->hd_nhdrs; i++)
		http_head_add(hd, x->x_addhdrs->hd_hdrs[i].hh_name,
		    x->x_addhdrs->hd_hdrs[i].hh_value);
}

/* A 101 to an upgrade request: from now on, bytes both ways. */
static void
proxy_tunnel(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;
	struct http_head	*hd = x->x_resp;

	x->x_kind = PROXY_CHANNEL_WEBSOCKET;
	x->x_status = 101;
	if (x->x_tag != NULL && proxy_hooks.ph_response != NULL)
		proxy_hooks.ph_response(x, x->x_tag, 101, x->x_kind,
		    proxy_hooks.ph_arg);
	http_head_strip_hop(hd, 1);
	proxy_add_queued(x, hd);
	http_head_write(hd, sock_output(c->c_cs));
	sock_push(c->c_cs);
	x->x_resp_sent = 1;
	c->c_phase = PROXY_TUNNEL;
	proxy_kind_set(c, PROXY_CHANNEL_WEBSOCKET);
	if (c->c_po->po_sessions.websocket_ping > 0)
		c->c_ws = wsframe_new(daemon_base(),
		    c->c_po->po_sessions.websocket_ping,
		    sock_output(c->c_cs), c->c_cs,
		    proxy_ws_dead, c);
	sock_setcb(c->c_cs, proxy_tunnel_read, proxy_client_write,
	    proxy_client_event, c);
	sock_setcb(c->c_us, proxy_tunnel_read, proxy_up_write,
	    proxy_up_event, c);
	sock_enable(c->c_cs, EV_READ);
	sock_enable(c->c_us, EV_READ);
	c->c_cpaused = c->c_upaused = 0;
	proxy_timer_set(c, c->c_po->po_limits.tunnel_timeout);
	if (evbuffer_get_length(sock_input(c->c_us)) > 0)
		proxy_tunnel_read(c->c_us, c);
	if (!c->c_closed &&
	    evbuffer_get_length(sock_input(c->c_cs)) > 0)
		proxy_tunnel_read(c->c_cs, c);
}

/*
 * A response head arrived.  Returns 0 for an interim (1xx) head, 1 once
 * the final head is handled, -1 if the connection closed.
 */
static int
proxy_response(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;
	struct http_head	*hd;
	const char		*ct, *cause;
	char			 msg[160];
	int			 skip;

	hd = http_parse_take(&c->c_resp);
	if (http_head_validate(hd, &cause) != 0) {
		http_head_free(hd);
		snprintf(msg, sizeof msg, "malformed response head from "
		    "upstream: %s", cause);
		proxy_up_fail(c, 502, msg);
		return (-1);
	}
	if (hd->hd_status / 100 == 1 && hd->hd_status != 101) {
		/* 100 Continue and friends pass through as they are. */
		http_head_strip_hop(hd, 0);
		http_head_write(hd, sock_output(c->c_cs));
		http_head_free(hd);
		skip = c->c_resp.hp_skipbody;
		http_parse_next(&c->c_resp);
		c->c_resp.hp_skipbody = skip;
		return (0);
	}
	x->x_resp = hd;
	if (hd->hd_status == 101) {
		if (!x->x_upgrade) {
			proxy_up_fail(c, 502, "unexpected 101 from upstream");
			return (-1);
		}
		proxy_tunnel(c);
		return (c->c_closed ? -1 : 1);
	}
	ct = http_head_get(hd, "Content-Type");
	if (ct != NULL && strncasecmp(ct, "text/event-stream", 17) == 0)
		x->x_kind = PROXY_CHANNEL_SSE;
	x->x_status = hd->hd_status;
	x->x_upkeep = hd->hd_keepalive;
	if (c->c_resp.hp_state == HTTP_PARSE_BODY &&
	    http_parse_until_eof(&c->c_resp)) {
		x->x_upkeep = 0;
		c->c_keepalive = 0;
	}
	http_head_strip_hop(hd, 0);
	if (!c->c_keepalive || daemon_stopping())
		http_head_add(hd, "Connection", "close");
	else if (x->x_req->hd_minor == 0)
		http_head_add(hd, "Connection", "keep-alive");
	if (x->x_tag != NULL && proxy_hooks.ph_response != NULL)
		proxy_hooks.ph_response(x, x->x_tag, hd->hd_status, x->x_kind,
		    proxy_hooks.ph_arg);
	proxy_add_queued(x, hd);
	http_head_write(hd, sock_output(c->c_cs));
	x->x_resp_sent = 1;
	if (x->x_kind == PROXY_CHANNEL_SSE) {
		proxy_kind_set(c, PROXY_CHANNEL_SSE);
	}
	if (c->c_resp.hp_state == HTTP_PARSE_DONE) {
		proxy_resp_done(c);
		return (c->c_closed ? -1 : 1);
	}
	proxy_up_timeouts(c);
	sock_setcb(c->c_us, proxy_up_body, proxy_up_write,
	    proxy_up_event, c);
	return (1);
}

/* Upstream bytes while waiting for the response head (see below). */
static void
proxy_up_head1(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;
	struct proxy_xchg	*x = &c->c_x;
	struct evbuffer		*in = sock_input(s);
	size_t			 len, want, mark = SIZE_MAX;
	unsigned char		*p;
	char			 msg[160];
	ssize_t			 n;
	int			 rc;

	if (evbuffer_get_length(in) > 0 && !x->x_got) {
		x->x_got = 1;
		x->x_replay = 0;
	}
	while ((len = evbuffer_get_length(in)) > 0) {
		want = c->c_resp.hp_maxhead + 1;
		if (want > len)
			want = len;
		p = evbuffer_pullup(in, want);
		n = http_parse_head(&c->c_resp, (const char *)p, want);
		if (n < 0) {
			snprintf(msg, sizeof msg, "malformed response head "
			    "from upstream: %s", c->c_resp.hp_error);
			proxy_up_fail(c, 502, msg);
			return;
		}
		evbuffer_drain(in, n);
		if (c->c_resp.hp_state == HTTP_PARSE_HEAD)
			return;
		mark = evbuffer_get_length(sock_output(c->c_cs));
		rc = proxy_response(c);
		if (rc == -1 || c->c_closed)
			return;
		if (rc == 1)
			break;
	}
	if (c->c_phase == PROXY_XCHG && c->c_us == s &&
	    evbuffer_get_length(in) > 0) {
		/* The head is not sent yet: bad framing after it is a 502. */
		c->c_headmark = mark;
		proxy_up_body(s, c);
		c->c_headmark = SIZE_MAX;
	}
}

/* Upstream bytes while waiting for the response head; send what came. */
static void
proxy_up_head(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;

	proxy_up_head1(s, arg);
	if (!c->c_closed)
		sock_push(c->c_cs);
}

/* Drop what was added to a buffer after its first keep bytes. */
static void
proxy_output_cut(struct evbuffer *out, size_t keep)
{
	struct evbuffer	*tmp;

	if (keep == 0) {
		evbuffer_drain(out, evbuffer_get_length(out));
		return;
	}
	if ((tmp = evbuffer_new()) == NULL)
		fatal_oom();
	evbuffer_remove_buffer(out, tmp, keep);
	evbuffer_drain(out, evbuffer_get_length(out));
	evbuffer_add_buffer(out, tmp);
	evbuffer_free(tmp);
}

/*
 * A response body with bad framing: the upstream connection is discarded;
 * the client gets a 502 if nothing of the response left yet, else its
 * connection closes (the response it has is cut short, never complete).
 */
static void
proxy_up_badbody(struct proxy_conn *c)
{
	char	msg[160];

	snprintf(msg, sizeof msg, "malformed response body from upstream: %s",
	    c->c_resp.hp_error);
	if (c->c_headmark != SIZE_MAX) {
		proxy_output_cut(sock_output(c->c_cs), c->c_headmark);
		c->c_headmark = SIZE_MAX;
		c->c_x.x_resp_sent = 0;
		proxy_up_fail(c, 502, msg);
		return;
	}
	metrics_inc(proxy_m_uperr);
	log_warn("conn %" PRIu64 " %s: %s", c->c_id, c->c_peer, msg);
	proxy_close(c, msg);
}

/* Upstream bytes of a response body: forward them raw. */
static void
proxy_up_body(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;
	struct evbuffer		*in = sock_input(s);
	struct evbuffer		*out = sock_output(c->c_cs);
	ssize_t			 n;

	sweep_traffic();
	proxy_up_timeouts(c);
	while (evbuffer_get_length(in) > 0 &&
	    c->c_resp.hp_state == HTTP_PARSE_BODY) {
		n = proxy_body_move(c, &c->c_resp, in, out);
		if (n < 0) {
			proxy_up_badbody(c);
			return;
		}
		if (n == 0)
			break;
	}
	sock_push(c->c_cs);
	if (c->c_resp.hp_state == HTTP_PARSE_DONE) {
		proxy_resp_done(c);
		return;
	}
	if (evbuffer_get_length(out) >= PROXY_HIGH) {
		sock_disable(s, EV_READ);
		c->c_upaused = 1;
	}
}

/* The upstream's output drained below the low mark. */
static void
proxy_up_write(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;

	if (c->c_cpaused && (c->c_phase == PROXY_TUNNEL ||
	    (c->c_phase == PROXY_XCHG && !c->c_x.x_req_done))) {
		c->c_cpaused = 0;
		sock_enable(c->c_cs, EV_READ);
	}
	if (evbuffer_get_length(sock_output(s)) == 0)
		sock_disable(s, EV_WRITE);
	if (c->c_drain == s &&
	    evbuffer_get_length(sock_output(s)) == 0)
		proxy_close(c, "tunnel closed");
}

/* Send the request again on a fresh connection (once). */
static int
proxy_retry(struct proxy_conn *c)
{
	struct proxy_xchg	*x = &c->c_x;

	proxy_up_drop(c);
	x->x_retried = 1;
	log_debug("conn %" PRIu64 ": pooled upstream connection was dead, "
	    "retrying", c->c_id);
	if (proxy_up_connect(c, 1) == -1)
		return (-1);
	x->x_replay = 0;
	http_head_write(x->x_req, sock_output(c->c_us));
	sock_push(c->c_us);
	proxy_up_timeouts(c);
	return (0);
}

/* The upstream connected, closed, failed or timed out. */
static void
proxy_up_event(struct sock *s, short what, void *arg)
{
	struct proxy_conn	*c = arg;
	struct proxy_xchg	*x = &c->c_x;
	const char		*msg;
	char			 buf[128];

	if (what & SOCK_CONNECTED) {
		if (c->c_phase == PROXY_XCHG && c->c_xactive)
			proxy_xchg_forwarded(c);
		return;
	}
	if (c->c_phase == PROXY_TUNNEL) {
		if (evbuffer_get_length(sock_output(c->c_cs)) > 0) {
			/* Let the app's last words reach the client. */
			sock_disable(s, EV_READ);
			c->c_drain = c->c_cs;
			sock_set_lowmark(c->c_cs, 0);
			proxy_timer_set(c, PROXY_LINGER_MS);
			return;
		}
		proxy_close(c, "tunnel closed by upstream");
		return;
	}
	if (what & SOCK_TIMEOUT) {
		/* A sock times out only connecting (504 is proxy_timer's). */
		proxy_up_fail(c, 502, "upstream connect timeout");
		return;
	}
	if ((what & SOCK_EOF) &&
	    c->c_resp.hp_state == HTTP_PARSE_BODY) {
		http_parse_eof(&c->c_resp);
		if (c->c_resp.hp_state == HTTP_PARSE_DONE) {
			x->x_upkeep = 0;
			proxy_resp_done(c);
			return;
		}
	}
	if (!x->x_got && x->x_replay && !x->x_retried) {
		if (proxy_retry(c) == 0)
			return;
		proxy_up_fail(c, 502, "upstream unreachable");
		return;
	}
	if (what & SOCK_EOF)
		msg = x->x_got ? "upstream closed mid-response" :
		    "upstream closed before answering";
	else {
		snprintf(buf, sizeof buf, "upstream unreachable: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		msg = buf;
	}
	proxy_up_fail(c, 502, msg);
}

/* websocket_ping: the client stopped answering. */
static void
proxy_ws_dead(void *arg, const char *why)
{
	proxy_close(arg, why);
}

/* Tunnel bytes: copy them to the other side. */
static void
proxy_tunnel_read(struct sock *s, void *arg)
{
	struct proxy_conn	*c = arg;
	struct sock		*other;
	struct evbuffer		*out;

	other = s == c->c_cs ? c->c_us : c->c_cs;
	if (other == NULL)
		return;
	sweep_traffic();
	out = sock_output(other);
	if (c->c_ws != NULL)
		wsframe_relay(c->c_ws, s == c->c_cs,
		    sock_input(s), out);
	else
		evbuffer_add_buffer(out, sock_input(s));
	sock_push(other);
	proxy_timer_set(c, c->c_po->po_limits.tunnel_timeout);
	if (evbuffer_get_length(out) >= PROXY_HIGH) {
		sock_disable(s, EV_READ);
		if (s == c->c_cs)
			c->c_cpaused = 1;
		else
			c->c_upaused = 1;
	}
}

/* The connection's timer: head, keep-alive, app, stream or closing. */
static void
proxy_timer(evutil_socket_t fd, short events, void *arg)
{
	struct proxy_conn	*c = arg;
	struct timeval		 tv;
	int64_t			 now, left;

	(void)fd;
	(void)events;
	c->c_armed = 0;
	if (c->c_deadline == 0)
		return;
	now = clock_mono_ms();
	if (now < c->c_deadline) {
		left = c->c_deadline - now;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		evtimer_add(c->c_timer, &tv);
		c->c_armed = c->c_deadline;
		return;
	}
	c->c_deadline = 0;
	if (c->c_drain != NULL) {
		proxy_close(c, "tunnel closed");
		return;
	}
	switch (c->c_phase) {
	case PROXY_HEAD:
		if (c->c_started || c->c_nreq == 0)
			proxy_error(c, 408, "request head timeout");
		else
			proxy_close(c, "keep-alive timeout");
		return;
	case PROXY_XCHG:
		if (c->c_x.x_bodywant > 0)
			proxy_error(c, 408, "request body timeout");
		else if (c->c_x.x_held == PROXY_HOLD_PARKED)
			proxy_error(c, 503, "request held too long "
			    "(session state not stored)");
		else if (c->c_x.x_kind == PROXY_CHANNEL_SSE)
			proxy_close(c, "stream idle for tunnel_timeout");
		else
			proxy_up_fail(c, 504, "upstream timeout");
		return;
	case PROXY_TUNNEL:
		proxy_close(c, "tunnel idle for tunnel_timeout");
		return;
	case PROXY_CLOSING:
		proxy_close(c, c->c_why[0] != '\0' ? c->c_why : "closing");
		return;
	}
}

/* A new client connection. */
static void
proxy_accept(int fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct policy		*po = daemon_policy();
	struct proxy_conn	*c;
	int			 one = 1;

	(void)socklen;
	(void)arg;
	if (daemon_stopping()) {
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->c_id = ++proxy_next_id;
	c->c_po = config_ref(po);
	c->c_start = clock_mono_ms();
	switch (sa->sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    c->c_peer, sizeof c->c_peer);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    c->c_peer, sizeof c->c_peer);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		break;
	default:
		/* A unix-socket peer is a local process. */
		snprintf(c->c_peer, sizeof c->c_peer, "127.0.0.1");
		break;
	}
	c->c_cs = sock_new(daemon_base(), fd);
	c->c_headmark = SIZE_MAX;
	c->c_timer = evtimer_new(daemon_base(), proxy_timer, c);
	http_parse_init(&c->c_req, HTTP_REQUEST,
	    po->po_limits.max_header_size);
	TAILQ_INSERT_TAIL(&proxy_live, c, c_entry);
	proxy_nconns++;
	c->c_kind = PROXY_CHANNEL_NONE;
	metrics_inc(proxy_m_kind[PROXY_CHANNEL_NONE]);
	sock_setcb(c->c_cs, proxy_client_head, proxy_client_write,
	    proxy_client_event, c);
	sock_set_lowmark(c->c_cs, PROXY_LOW);
	/* Writing is on by default; sock_push() turns it on when needed. */
	sock_disable(c->c_cs, EV_WRITE);
	sock_enable(c->c_cs, EV_READ);
	if (po->po_limits.max_connections > 0 &&
	    proxy_nconns > po->po_limits.max_connections) {
		proxy_error(c, 503, "too many connections");
		return;
	}
	proxy_timer_set(c, po->po_limits.header_timeout);
}

/* Open the listeners the policy names. */
static struct listen_set *
proxy_listen(const struct policy *po, char **cause)
{
	return (listen_open(po->po_listen, po->po_nlisten, "proxy",
	    proxy_accept, NULL, cause));
}

/* Say at start and reload what --check warns about: trusting everyone. */
static void
proxy_warn_trust(const struct policy *po)
{
	const struct cidr	*ci;
	char			 a[64];

	if ((ci = config_cidr_everyone(po->po_trusted, po->po_ntrusted)) ==
	    NULL)
		return;
	config_format_cidr(ci, a, sizeof a);
	log_warn("trusted_proxies holds %s: any client can set "
	    "X-Forwarded-For and choose its address", a);
}

/* A new policy: re-open listeners if listen: changed; flush the pool. */
static void
proxy_reload(const struct policy *old, const struct policy *new, void *arg)
{
	char	*cause = NULL;

	(void)arg;
	if (proxy_listeners != NULL && !listen_inherited(proxy_listeners) &&
	    !listen_same(old->po_listen, old->po_nlisten, new->po_listen,
	    new->po_nlisten)) {
		listen_close(proxy_listeners);
		proxy_listeners = proxy_listen(new, &cause);
		if (proxy_listeners == NULL) {
			log_error("reload: %s; keeping the old addresses",
			    cause);
			free(cause);
			cause = NULL;
			proxy_listeners = proxy_listen(old, &cause);
			if (proxy_listeners == NULL) {
				log_error("reload: %s", cause);
				free(cause);
			}
		}
	}
	if (old->po_upstream.ad_len != new->po_upstream.ad_len ||
	    memcmp(&old->po_upstream.ad_ss, &new->po_upstream.ad_ss,
	    old->po_upstream.ad_len) != 0)
		upstream_flush();
	proxy_warn_trust(new);
}

/* Stopping: accept no more, close idle connections. */
static void
proxy_stop(void *arg)
{
	struct proxy_conn	*c, *next;

	(void)arg;
	listen_close(proxy_listeners);
	proxy_listeners = NULL;
	upstream_flush();
	for (c = TAILQ_FIRST(&proxy_live); c != NULL; c = next) {
		next = TAILQ_NEXT(c, c_entry);
		if (c->c_phase == PROXY_HEAD && !c->c_started &&
		    evbuffer_get_length(sock_input(c->c_cs)) == 0)
			proxy_close(c, "stopping");
	}
}

/* Whether connections are still open. */
static int
proxy_busy(void *arg)
{
	(void)arg;
	return (proxy_nconns > 0);
}

/* Register the metrics. */
static void
proxy_metrics(void)
{
	static const char	*classes[] = { NULL, "1xx", "2xx", "3xx",
	    "4xx", "5xx" };
	static const char	*kinds[] = { "http", "websocket", "sse" };
	char			 labels[64];
	int			 i;

	for (i = 1; i < 6; i++) {
		snprintf(labels, sizeof labels, "class=\"%s\"", classes[i]);
		proxy_m_class[i] = metrics_counter("janitor_http_requests_total",
		    labels, "Proxied requests by status class.");
	}
	proxy_m_class[0] = proxy_m_class[5];
	for (i = 0; i < 3; i++) {
		snprintf(labels, sizeof labels, "kind=\"%s\"", kinds[i]);
		proxy_m_kind[i] = metrics_gauge("janitor_connections", labels,
		    "Open client connections by kind.");
	}
	proxy_m_uperr = metrics_counter("janitor_upstream_errors_total", NULL,
	    "Exchanges that failed because of the upstream.");
	proxy_m_forwarded = metrics_counter("janitor_upstream_requests_total",
	    NULL, "Requests forwarded to the upstream in full.");
}

/* Start relaying. */
int
proxy_init(char **cause)
{
	struct policy	*po = daemon_policy();

	proxy_metrics();
	proxy_warn_trust(po);
	proxy_listeners = proxy_listen(po, cause);
	if (proxy_listeners == NULL)
		return (-1);
	daemon_on_reload(proxy_reload, NULL);
	daemon_on_stop(proxy_stop, NULL);
	daemon_on_busy(proxy_busy, NULL);
	return (0);
}

/* Close everything. */
void
proxy_free(void)
{
	struct proxy_conn	*c;

	listen_close(proxy_listeners);
	proxy_listeners = NULL;
	while ((c = TAILQ_FIRST(&proxy_live)) != NULL)
		proxy_close(c, "exiting");
	while ((c = TAILQ_FIRST(&proxy_dead)) != NULL) {
		TAILQ_REMOVE(&proxy_dead, c, c_entry);
		free(c);
	}
	upstream_free();
}
