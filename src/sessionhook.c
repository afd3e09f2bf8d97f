/*
 * sessionhook.c -- the session module's side of the proxy hooks: each
 * request is tied to its session (found by key, or given a fresh cookie),
 * the key is passed to the app in forward_header, and a WebSocket or SSE
 * stream that sessions.live selects is a live channel of the session
 * until the exchange ends.  Live client sockets get TCP keepalive so that
 * a browser that vanished without a FIN is noticed.
 *
 * A json key source makes the proxy read a matching request's body (up to
 * sessions.json_max) before the request is forwarded.
 *
 * A request on a live path (or a WebSocket upgrade, for the websocket
 * rule) is a live channel from the moment it reaches the app, not from
 * its response head: the app has started serving it then, and an app
 * such as Gradio runs its own unload for a stream cut before its head.
 * An answer that is not a stream ends such a channel at once.  Such a
 * request confirms its session, so it is held like any confirming one.
 *
 * A new session starts provisional: the request that made it goes on at
 * once, with the key, and costs no write.  For a key janitord issues the
 * provisional session is the signed cookie alone (key and time of issue):
 * nothing is kept until the client comes back with it, which confirms it.
 * A key the client chose makes a provisional session in memory
 * (session.c), confirmed by a second request or a live channel.  A request that
 * confirms a session, or any request of a confirmed session whose creation
 * is not committed yet, is held (proxy_xchg_hold) until the store says it
 * is (store_when_durable): so nothing the app can tie to a confirmed
 * session is forgotten by a kill -9.  Other requests cost one flag test.
 * The tag outlives the exchange when the client goes away while held: the
 * store's callback has it and frees it.
 *
 * A request that may not make a session (the client is over
 * sessions.new_per_client, or every session is live) goes on untracked:
 * no session, no cookie, no forward_header.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "clock.h"
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
	int			 st_early;	/* live from ph_forward on */
	int64_t			 st_rx_left;	/* regex CPU budget left (rx.h) */
};

static struct metric	*sessionhook_m_held;
static struct metric	*sessionhook_m_holding;
static struct metric	*sessionhook_m_per_client;
static struct metric	*sessionhook_m_provisional;

static struct log_limit	 sessionhook_log_per_client = LOG_LIMIT_INIT(
			    "sessions refused over sessions.new_per_client",
			    LOG_LEVEL_WARN);

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

/*
 * What the app gets of the issued cookie: only the key of the session the
 * request belongs to (key NULL: none), never a MAC or a forged value.
 */
static void
sessionhook_cookie_forward(struct proxy_xchg *x, const struct policy *po,
    const char *key)
{
	const char	*hdr = proxy_xchg_header(x, "Cookie");
	char		*cookie;

	if (hdr == NULL || strstr(hdr, po->po_sessions.cookie_name) == NULL)
		return;
	cookie = sessionkey_cookie_rewrite(hdr, po->po_sessions.cookie_name,
	    key);
	proxy_xchg_header_remove(x, "Cookie");
	if (cookie != NULL)
		proxy_xchg_header_add(x, "Cookie", cookie);
	free(cookie);
}

/* Whether the client may make another session; counted and said if not. */
static int
sessionhook_may_create(struct proxy_xchg *x, const struct policy *po)
{
	const char	*ip = proxy_xchg_client_ip(x);

	if (client_new_session(ip, po->po_sessions.new_per_client,
	    po->po_trusted, po->po_ntrusted))
		return (1);
	metrics_inc(sessionhook_m_per_client);
	if (log_limit(&sessionhook_log_per_client))
		log_warn("client %s: more than %ld new sessions a minute "
		    "(sessions.new_per_client): request relayed untracked", ip,
		    po->po_sessions.new_per_client);
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

/*
 * Whether the request is a live channel as soon as it reaches the app: its
 * path matches a path rule, or it is a WebSocket upgrade and websocket is
 * a rule.  An SSE stream is known only by its response head.
 */
static int
sessionhook_is_live_request(const struct policy *po, struct proxy_xchg *x)
{
	const char	*up;

	up = proxy_xchg_header(x, "Upgrade");
	if (up != NULL && strcasecmp(up, "websocket") == 0 &&
	    sessionhook_is_live(po, PROXY_CHANNEL_WEBSOCKET,
	    proxy_xchg_target(x)))
		return (1);
	/* The kind matters only to the websocket and sse rules. */
	return (sessionhook_is_live(po, PROXY_CHANNEL_NONE,
	    proxy_xchg_target(x)));
}

/*
 * Find the request's key by the policy's sources: 1 with sk filled, 0 for
 * none, -1 when a json source waits for the body (the proxy reads it and
 * calls ph_request again).  Without a body, json sources are skipped at
 * the cost of a flag test.
 */
static int
sessionhook_lookup(struct proxy_xchg *x, const struct policy *po,
    struct sessionkey *sk)
{
	const char		*body;
	enum sessionkey_body	 bs;
	size_t			 len = 0;
	int			 found;

	if ((body = proxy_xchg_body(x, &len)) != NULL)
		bs = SESSIONKEY_BODY_READ;
	else if (proxy_xchg_has_body(x))
		bs = SESSIONKEY_BODY_UNREAD;
	else
		bs = SESSIONKEY_BODY_NONE;
	found = sessionkey_lookup(po, proxy_xchg_target(x), sessionhook_header,
	    x, bs, body, len, sk);
	if (found != SESSIONKEY_NEED_BODY)
		return (found);
	if (proxy_xchg_read_body(x, po->po_sessions.json_max) == 0)
		return (-1);
	/* The body is not to be read: the other sources decide. */
	return (sessionkey_lookup(po, proxy_xchg_target(x), sessionhook_header,
	    x, SESSIONKEY_BODY_NONE, NULL, 0, sk));
}

/*
 * Find or make the request's session, whose key sessionhook_lookup()
 * found (or not): a reference, or NULL when the request goes untracked.
 * *issue is set when the key is a fresh one that the response must hand
 * out as a cookie.  A request that opens a live channel (early) confirms
 * its session, as a second request does.
 */
static struct session *
sessionhook_session(struct proxy_xchg *x, const struct policy *po,
    struct sessionkey *sk, int found, int early, int *issue)
{
	struct session	*s;
	int		 how, created;
	int64_t		 born = 0;

	*issue = 0;
	how = po->po_sessions.confirm == CONFIRM_FIRST_REQUEST || early ?
	    SESSION_NEW_CONFIRMED : SESSION_NEW_PROVISIONAL;
	if (!found) {
		/* Issuing a cookie that is never read back would be useless. */
		if (!po->po_sessions.cookie_issue || !sk->sk_cookie)
			return (NULL);
		sessionkey_generate(sk->sk_key);
		*issue = 1;
	} else if (sk->sk_signed) {
		/*
		 * A cookie we issued came back: the client is a browser, and
		 * its session began when the key was issued.
		 */
		how = SESSION_NEW_CONFIRMED;
		born = sk->sk_issued;
	}
	/*
	 * A new key counts against the client once: when it is issued (a
	 * fresh key is nobody's: no look-up), or when the client first uses
	 * one of its own choosing.  A cookie we issued coming back was
	 * counted when it was issued.
	 */
	if ((*issue || (!sk->sk_signed && session_find(sk->sk_key) == NULL)) &&
	    !sessionhook_may_create(x, po)) {
		*issue = 0;
		return (NULL);
	}
	if (*issue && how == SESSION_NEW_PROVISIONAL) {
		/*
		 * The signed cookie is all a provisional session of ours needs
		 * to be: its key and when it began.  Nothing is kept until it
		 * comes back, so a visitor who never does costs no memory.
		 */
		sk->sk_issued = clock_wall_ms();
		metrics_inc(sessionhook_m_provisional);
		return (NULL);
	}
	if ((s = session_request(sk->sk_key, proxy_xchg_client_ip(x), how,
	    born, &created)) == NULL) {
		*issue = 0;
		return (NULL);
	}
	if (*issue)
		sk->sk_issued = session_created(s);
	return (s);
}

/* Hold the request until the session's creation is committed. */
static void
sessionhook_hold(struct proxy_xchg *x, struct sessionhook_tag *st)
{
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

/*
 * A request head: find or make the session, forward its key.  When a json
 * source needs the body, the proxy reads it and calls again.
 */
static void *
sessionhook_request(struct proxy_xchg *x, void *arg)
{
	const struct policy	*po = proxy_xchg_policy(x);
	const char		*fh = po->po_sessions.forward_header;
	struct sessionhook_tag	*st;
	struct sessionkey	 sk;
	struct session		*s;
	char			 cookie[SESSIONKEY_COOKIE_MAX + 128];
	int			 issue, found, early;

	(void)arg;
	/* The client's own copy never reaches the app. */
	if (fh != NULL && *fh != '\0')
		proxy_xchg_header_remove(x, fh);
	rx_budget_start(RX_BUDGET_NS);
	if ((found = sessionhook_lookup(x, po, &sk)) == -1)
		return (NULL);
	early = sessionhook_is_live_request(po, x);
	s = sessionhook_session(x, po, &sk, found, early, &issue);
	if (sk.sk_cookie)
		sessionhook_cookie_forward(x, po, s != NULL && sk.sk_signed ?
		    sk.sk_key : NULL);
	if (s == NULL && !issue)
		return (NULL);
	if (issue) {
		sessionkey_set_cookie(po, sk.sk_key, sk.sk_issued,
		    proxy_xchg_https(x), cookie, sizeof cookie);
		proxy_xchg_response_header_add(x, "Set-Cookie", cookie);
	}
	if (fh != NULL && *fh != '\0')
		proxy_xchg_header_add(x, fh, sk.sk_key);
	if (s == NULL)
		return (NULL);	/* provisional in the cookie alone */
	st = xcalloc(1, sizeof *st);
	st->st_session = s;
	st->st_early = early;
	st->st_rx_left = rx_budget_left();
	if (!session_stored(s))
		sessionhook_hold(x, st);
	return (st);
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

/* Count the exchange as a live channel of its session. */
static void
sessionhook_open(struct proxy_xchg *x, struct sessionhook_tag *st,
    const char *why)
{
	/* Not counted when the session cannot be confirmed (all are live). */
	if (session_channel_open(st->st_session) != 0)
		return;
	st->st_live = 1;
	sessionhook_keepalive(proxy_xchg_client_fd(x), proxy_xchg_policy(x));
	log_debug("session %s: live channel opened (%s)",
	    session_key(st->st_session), why);
}

/* A live path's request reached the app: it is a live channel from now. */
static void
sessionhook_forward(struct proxy_xchg *x, void *tag, void *arg)
{
	struct sessionhook_tag	*st = tag;

	(void)arg;
	if (st->st_early && !st->st_live)
		sessionhook_open(x, st, "request forwarded");
}

/* A response head: a selected stream opens a channel, a non-stream ends one. */
static void
sessionhook_response(struct proxy_xchg *x, void *tag, int status,
    enum proxy_channel kind, void *arg)
{
	const struct policy	*po = proxy_xchg_policy(x);
	struct sessionhook_tag	*st = tag;
	int			 stream;

	(void)arg;
	stream = kind == PROXY_CHANNEL_WEBSOCKET ||
	    (kind == PROXY_CHANNEL_SSE && status >= 200 && status <= 299);
	if (st->st_live) {
		if (stream)
			return;
		/* The app did not keep it open: the channel ends now. */
		st->st_live = 0;
		log_debug("session %s: live channel closed (answered %d, not "
		    "a stream)", session_key(st->st_session), status);
		session_channel_close(st->st_session);
		return;
	}
	rx_budget_start(st->st_rx_left);
	if (!stream || !sessionhook_is_live(po, kind, proxy_xchg_target(x)))
		return;
	sessionhook_open(x, st,
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
		.ph_forward = sessionhook_forward,
		.ph_done = sessionhook_done,
		.ph_arg = NULL,
	};

	proxy_set_hooks(&hooks);
	sessionhook_m_held = metrics_counter("janitor_requests_held_total",
	    NULL, "Requests held until their new session was committed.");
	sessionhook_m_holding = metrics_gauge("janitor_requests_held", NULL,
	    "Requests held now, waiting for their session's commit.");
	sessionhook_m_provisional = metrics_counter(
	    "janitor_sessions_provisional_total", NULL,
	    "Sessions created provisional (in memory, or only in the cookie "
	    "issued, until confirmed).");
	sessionhook_m_per_client = metrics_counter(
	    "janitor_sessions_refused_total", "reason=\"per_client\"",
	    "Sessions not made or not confirmed, so requests went untracked, "
	    "by reason.");
}
