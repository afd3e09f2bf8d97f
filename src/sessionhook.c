/*
 * sessionhook.c -- the session module's side of the proxy hooks: each
 * request is tied to its session (found by key, or given a fresh cookie),
 * the key is passed to the app in forward_header, and a WebSocket or SSE
 * response that sessions.live selects is a live channel of the session
 * until the exchange ends.  Live client sockets get TCP keepalive so that
 * a browser that vanished without a FIN is noticed.
 *
 * A request for a session whose creation is not committed yet is held
 * (proxy_xchg_hold) until the store says it is (store_when_durable): so
 * neither the app nor the client hears of a session that a kill -9 could
 * still lose.  Other requests cost one flag test.  The tag outlives the
 * exchange when the client goes away while held: the store's callback has
 * it and frees it.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "rx.h"
#include "session.h"
#include "sessionhook.h"
#include "sessionkey.h"
#include "store.h"

/* What the proxy keeps with an exchange for us. */
struct sessionhook_tag {
	struct session		*st_session;
	struct proxy_xchg	*st_held;	/* held until durable, or NULL */
	int			 st_live;	/* counted as a live channel */
	int			 st_waiting;	/* the store has us as a waiter */
	int			 st_ended;	/* ph_done came while waiting */
	int			 st_holding;	/* counted in janitor_requests_held */
	int64_t			 st_rx_left;	/* regex CPU budget left (rx.h) */
};

static struct metric	*sessionhook_m_held;
static struct metric	*sessionhook_m_holding;

/* The proxy no longer holds the tag's request: count it out once. */
static void
sessionhook_unhold(struct sessionhook_tag *st)
{
	if (!st->st_holding)
		return;
	st->st_holding = 0;
	metrics_dec(sessionhook_m_holding);
}

/* Header lookup for sessionkey_find(). */
static const char *
sessionhook_header(void *arg, const char *name)
{
	return (proxy_xchg_header(arg, name));
}

/* Whether the policy reads its key from the cookie it issues. */
static int
sessionhook_cookie_is_key(const struct policy *po)
{
	size_t	i;

	for (i = 0; i < po->po_sessions.nkeys; i++) {
		if (po->po_sessions.keys[i].kr_source == KEY_COOKIE &&
		    strcmp(po->po_sessions.keys[i].kr_name,
		    po->po_sessions.cookie_name) == 0)
			return (1);
	}
	return (0);
}

/* The session is committed: let its held request go on. */
static void
sessionhook_durable(void *arg)
{
	struct sessionhook_tag	*st = arg;
	struct proxy_xchg	*x = st->st_held;

	st->st_waiting = 0;
	st->st_held = NULL;
	sessionhook_unhold(st);
	session_set_stored(st->st_session);
	if (st->st_ended) {
		session_unref(st->st_session);
		free(st);
		return;
	}
	/* This may end the exchange (and free st) before it returns. */
	if (x != NULL)
		proxy_xchg_resume(x);
}

/* A request head: find or make the session, forward its key. */
static void *
sessionhook_request(struct proxy_xchg *x, void *arg)
{
	const struct policy	*po = proxy_xchg_policy(x);
	const char		*fh = po->po_sessions.forward_header;
	struct sessionhook_tag	*st;
	char			 key[SESSION_KEY_MAX + 1], cookie[512];
	int			 created;

	(void)arg;
	/* The client's own copy never reaches the app. */
	if (fh != NULL && *fh != '\0')
		proxy_xchg_header_remove(x, fh);
	rx_budget_start(RX_BUDGET_NS);
	if (!sessionkey_find(po, proxy_xchg_target(x), sessionhook_header, x,
	    key)) {
		if (!po->po_sessions.cookie_issue ||
		    !sessionhook_cookie_is_key(po))
			return (NULL);
		sessionkey_generate(key);
		sessionkey_set_cookie(po, key, proxy_xchg_https(x), cookie,
		    sizeof cookie);
		proxy_xchg_response_header_add(x, "Set-Cookie", cookie);
	}
	if (fh != NULL && *fh != '\0')
		proxy_xchg_header_add(x, fh, key);
	st = xcalloc(1, sizeof *st);
	st->st_rx_left = rx_budget_left();
	st->st_session = session_request(key, proxy_xchg_client_ip(x),
	    &created);
	if (!session_stored(st->st_session)) {
		/* Runs at once when nothing is queued or there is no store. */
		st->st_waiting = 1;
		store_when_durable(sessionhook_durable, st);
		if (st->st_waiting) {
			st->st_held = x;
			st->st_holding = 1;
			metrics_inc(sessionhook_m_held);
			metrics_inc(sessionhook_m_holding);
			proxy_xchg_hold(x);
		}
	}
	return (st);
}

/* Whether a stream of this kind on target counts as a live channel. */
static int
sessionhook_is_live(const struct policy *po, enum proxy_channel kind,
    const char *target)
{
	const struct live_rule	*lr;
	size_t			 i;

	for (i = 0; i < po->po_sessions.nlive; i++) {
		lr = &po->po_sessions.live[i];
		switch (lr->lr_kind) {
		case LIVE_WEBSOCKET:
			if (kind == PROXY_CHANNEL_WEBSOCKET)
				return (1);
			break;
		case LIVE_SSE:
			if (kind == PROXY_CHANNEL_SSE)
				return (1);
			break;
		case LIVE_PATH:
			/* The path only, bounded without a copy. */
			if (rx_match(lr->lr_re, target, strcspn(target, "?#"),
			    NULL, NULL))
				return (1);
			break;
		}
	}
	return (0);
}

/* Set one socket option, logging a failure at debug level. */
static void
sessionhook_setsockopt(int fd, int level, int name, int value,
    const char *what)
{
	if (setsockopt(fd, level, name, &value, sizeof value) == -1)
		log_debug("setsockopt %s on fd %d: %s", what, fd,
		    strerror(errno));
}

/* TCP keepalive (and a user timeout to match) on a live client socket. */
void
sessionhook_keepalive(int fd, const struct policy *po)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof ss;
	msec_t			idle = po->po_sessions.keepalive_idle;
	msec_t			intvl = po->po_sessions.keepalive_interval;
	int			cnt = po->po_sessions.keepalive_count;

	if (fd < 0 || idle <= 0 || cnt <= 0)
		return;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return;		/* a unix socket has no keepalive */
	if (intvl <= 0)
		intvl = 1000;
	sessionhook_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, 1,
	    "SO_KEEPALIVE");
	sessionhook_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE,
	    (int)((idle + 999) / 1000), "TCP_KEEPIDLE");
	sessionhook_setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
	    (int)((intvl + 999) / 1000), "TCP_KEEPINTVL");
	sessionhook_setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt,
	    "TCP_KEEPCNT");
	/* Unacknowledged data to a vanished client gives up as soon. */
	sessionhook_setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
	    (int)(idle + intvl * cnt), "TCP_USER_TIMEOUT");
}

/* A response head: a selected WebSocket or SSE stream opens a channel. */
static void
sessionhook_response(struct proxy_xchg *x, void *tag, int status,
    enum proxy_channel kind, void *arg)
{
	const struct policy	*po = proxy_xchg_policy(x);
	struct sessionhook_tag	*st = tag;

	(void)arg;
	if (kind == PROXY_CHANNEL_NONE || st->st_live)
		return;
	if (kind == PROXY_CHANNEL_SSE && (status < 200 || status > 299))
		return;
	rx_budget_start(st->st_rx_left);
	if (!sessionhook_is_live(po, kind, proxy_xchg_target(x)))
		return;
	st->st_live = 1;
	session_channel_open(st->st_session);
	sessionhook_keepalive(proxy_xchg_client_fd(x), po);
	log_debug("session %s: live channel opened (%s)",
	    session_key(st->st_session),
	    kind == PROXY_CHANNEL_WEBSOCKET ? "websocket" : "sse");
}

/* The exchange ended: a live channel closes; the reference goes. */
static void
sessionhook_done(void *tag, enum proxy_channel kind, void *arg)
{
	struct sessionhook_tag	*st = tag;

	(void)kind;
	(void)arg;
	if (st->st_live) {
		log_debug("session %s: live channel closed",
		    session_key(st->st_session));
		session_channel_close(st->st_session);
	}
	if (st->st_waiting) {
		/* The client went away while held: the store frees st. */
		st->st_ended = 1;
		st->st_held = NULL;
		sessionhook_unhold(st);
		return;
	}
	session_unref(st->st_session);
	free(st);
}

/* Register the hooks with the proxy. */
void
sessionhook_init(void)
{
	static const struct proxy_hooks	hooks = {
		.ph_request = sessionhook_request,
		.ph_response = sessionhook_response,
		.ph_done = sessionhook_done,
		.ph_arg = NULL,
	};

	proxy_set_hooks(&hooks);
	sessionhook_m_held = metrics_counter("janitor_requests_held_total",
	    NULL, "Requests held until their new session was committed.");
	sessionhook_m_holding = metrics_gauge("janitor_requests_held", NULL,
	    "Requests held now, waiting for their session's commit.");
}
