/*
 * webhook.c -- delivering the outbox: Standard Webhooks over libevent's
 * HTTP client, per-session order, retries with backoff, the dead list.
 *
 * Every undelivered event is a struct whmsg, queued on its session
 * (struct whsess) in creation order.  Only a session's head is ever in
 * flight, so an expire never overtakes its unload.  A session whose head
 * is due goes on its receiver's ready list; a receiver (host:port) has at
 * most WEBHOOK_RECEIVER_CONNS keep-alive connections, each carrying one
 * request at a time, so one slow receiver cannot take more than that and
 * never stalls the loop.  Every attempt has a total deadline of
 * webhooks.timeout of its own, on top of libevent's idle timeouts, so a
 * receiver that trickles bytes is cut off too.
 *
 * Outcomes go to the store (delivered: deleted; failed: attempts and next
 * time; out of attempts: kept as dead) and are committed with the tick.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "admin.h"
#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "webhook.h"

#ifndef JANITOR_VERSION
#define JANITOR_VERSION "unknown"
#endif

#define WEBHOOK_BUCKETS		4096
#define WEBHOOK_MAX_REPLY	(64 * 1024)

struct whsess;
struct whrecv;

/* One undelivered event. */
struct whmsg {
	int64_t			 wm_seq;
	char			 wm_id[STORE_MSG_ID_MAX];
	char			*wm_type;
	char			*wm_url;
	char			*wm_body;
	int64_t			 wm_created_at;	/* wall ms */
	int			 wm_attempts;
	int64_t			 wm_next_at;	/* mono ms */
	int			 wm_committed;
	int64_t			 wm_gen;	/* store batch it is in */
	struct whsess		*wm_sess;
	TAILQ_ENTRY(whmsg)	 wm_sentry;	/* session's queue */
	TAILQ_ENTRY(whmsg)	 wm_gentry;	/* all pending, by seq */
};
TAILQ_HEAD(whmsg_list, whmsg);

enum whsess_state {
	WS_IDLE,	/* head not committed yet, or nothing queued */
	WS_WAITING,	/* head's next attempt is in the future */
	WS_READY,	/* on a receiver's ready list */
	WS_INFLIGHT,
	WS_HELD,	/* head delivered; the next waits for that to commit */
};

/* One session's queue of events. */
struct whsess {
	char			 ws_key[SESSION_KEY_MAX + 1];
	struct whmsg_list	 ws_msgs;
	enum whsess_state	 ws_state;
	struct event		*ws_timer;
	struct whrecv		*ws_recv;	/* while READY */
	TAILQ_ENTRY(whsess)	 ws_rentry;
	struct whsess		*ws_hnext;
	TAILQ_ENTRY(whsess)	 ws_hentry;	/* on the held list */
	int64_t			 ws_hold_gen;	/* held until this commits */
};

/* One keep-alive connection to a receiver, one request at a time. */
struct whconn {
	struct whrecv			*wc_recv;
	struct evhttp_connection	*wc_evcon;
	struct evhttp_request		*wc_req;	/* in flight */
	struct whsess			*wc_sess;	/* in flight */
	struct event			*wc_timer;	/* deadline */
	enum evhttp_request_error	 wc_error;
	int				 wc_failed;	/* error seen */
	int				 wc_start_failed;
};

/* A receiver: host and port, with its connections and ready sessions. */
struct whrecv {
	char			*wr_host;
	int			 wr_port;
	struct whconn		 wr_conns[WEBHOOK_RECEIVER_CONNS];
	int			 wr_nbusy;
	TAILQ_HEAD(, whsess)	 wr_ready;
	struct whrecv		*wr_next;
};

static struct whmsg_list	 webhook_all = TAILQ_HEAD_INITIALIZER(webhook_all);
static size_t			 webhook_npending;	/* in memory */

/*
 * At most webhook_mem_max events are kept in memory.  Beyond, new events
 * are only in the outbox ("spilled": seqs spill_from..spill_last, all of
 * them newer than anything in memory) and are read back in order as the
 * queue drains, so a long outage costs disk, not memory.
 */
static size_t			 webhook_mem_max = WEBHOOK_MEM_MAX;
static int64_t			 webhook_spill_from;	/* 0: none */
static int64_t			 webhook_spill_last;
static size_t			 webhook_nspilled;
static struct whsess		*webhook_buckets[WEBHOOK_BUCKETS];
static struct whrecv		*webhook_recvs;
static struct evdns_base	*webhook_dns;	/* for names, made on demand */
static TAILQ_HEAD(, whsess)	 webhook_held = TAILQ_HEAD_INITIALIZER(webhook_held);
static int			 webhook_stopping;
static int			 webhook_ready;
static int			 webhook_freed;	/* after webhook_free() */

static struct metric		*webhook_m_success;
static struct metric		*webhook_m_retry;
static struct metric		*webhook_m_dead;
static struct metric		*webhook_m_dropped;

static struct log_limit		 webhook_log_dropped = LOG_LIMIT_INIT(
				    "webhook events dropped (outbox full)",
				    LOG_LEVEL_ERROR);

static void	webhook_kick(struct whsess *);
static void	webhook_refill(void);
static void	webhook_load_cb(const struct store_msg *, void *);
static void	webhook_kick_all(void);
static void	webhook_dispatch(struct whrecv *);

/* Format wall ms as RFC 3339 UTC with milliseconds. */
void
webhook_time(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The JSON body for an event. */
char *
webhook_body(const struct jevent *ev)
{
	char	 at[40], created[40], seen[40], *s;
	json_t	*o;

	webhook_time(ev->je_at, at, sizeof at);
	webhook_time(ev->je_created_at, created, sizeof created);
	webhook_time(ev->je_last_seen, seen, sizeof seen);
	o = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:I}}",
	    "type", jevent_type_name(ev->je_type),
	    "timestamp", at,
	    "data",
	    "session", ev->je_session,
	    "reason", jevent_reason_name(ev->je_reason),
	    "created_at", created,
	    "last_seen", seen,
	    "client_ip", ev->je_client_ip,
	    "requests", (json_int_t)ev->je_requests);
	if (o == NULL)
		fatal("webhook: cannot build the JSON body");
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		fatal_oom();
	return (s);
}

/* A fresh webhook-id: "msg_" and a ULID (48-bit time, 80 random bits). */
void
webhook_new_id(char *buf, size_t len)
{
	static const char	 b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char		 r[10];
	char			 u[27];
	uint64_t		 t = (uint64_t)clock_wall_ms();
	int			 i, bit;

	if (RAND_bytes(r, sizeof r) != 1)
		fatal("webhook: no random bytes");
	for (i = 9; i >= 0; i--) {
		u[i] = b32[t & 31];
		t >>= 5;
	}
	/* 80 random bits as 16 base32 digits. */
	for (i = 0; i < 16; i++) {
		int	v = 0, b;

		for (b = 0; b < 5; b++) {
			bit = i * 5 + b;
			v = (v << 1) | ((r[bit / 8] >> (7 - bit % 8)) & 1);
		}
		u[10 + i] = b32[v];
	}
	u[26] = '\0';
	snprintf(buf, len, "msg_%s", u);
}

/* The webhook-signature value over "id.timestamp.body". */
int
webhook_sign(const unsigned char *key, size_t keylen, const char *id,
    int64_t timestamp, const char *body, size_t bodylen, char *out,
    size_t outlen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		 prefix[128];
	unsigned char	*data;
	size_t		 plen;
	int		 n;

	n = snprintf(prefix, sizeof prefix, "%s.%lld.", id,
	    (long long)timestamp);
	if (n < 0 || (size_t)n >= sizeof prefix)
		return (-1);
	plen = (size_t)n;
	data = xmalloc(plen + bodylen + 1);
	memcpy(data, prefix, plen);
	memcpy(data + plen, body, bodylen);
	if (HMAC(EVP_sha256(), key, (int)keylen, data, plen + bodylen, mac,
	    &maclen) == NULL) {
		free(data);
		return (-1);
	}
	free(data);
	if (outlen < 4 + 4 * ((maclen + 2) / 3) + 1)
		return (-1);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
	return (0);
}

/* The delay before the next attempt, within [initial, max]. */
int64_t
webhook_backoff(int failures, msec_t initial, msec_t max, uint64_t rnd)
{
	int64_t	d, lo;
	int	i;

	if (initial < 1)
		initial = 1;
	if (max < initial)
		max = initial;
	d = initial;
	for (i = 1; i < failures && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	/* Jitter: anywhere in the upper half of the step, not below initial. */
	lo = d / 2;
	if (lo < initial)
		lo = initial;
	return (lo + (int64_t)(rnd % (uint64_t)(d - lo + 1)));
}

/* A Retry-After value as a delay in ms, or -1 when it is not one. */
int64_t
webhook_retry_after(const char *value, int64_t now_wall_ms)
{
	struct tm	 tm;
	char		*end;
	long long	 secs;
	const char	*p;
	time_t		 t;

	if (value == NULL)
		return (-1);
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value >= '0' && *value <= '9') {
		errno = 0;
		secs = strtoll(value, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno != 0 || *end != '\0' || secs > 86400LL * 365)
			return (-1);
		return (secs * 1000);
	}
	memset(&tm, 0, sizeof tm);
	p = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (p == NULL || *p != '\0')
		return (-1);
	t = timegm(&tm);
	if (t == (time_t)-1)
		return (-1);
	if ((int64_t)t * 1000 <= now_wall_ms)
		return (0);
	return ((int64_t)t * 1000 - now_wall_ms);
}

/* FNV-1a over a session key. */
static unsigned
webhook_hash(const char *key)
{
	unsigned	h = 2166136261u;

	while (*key != '\0')
		h = (h ^ (unsigned char)*key++) * 16777619u;
	return (h % WEBHOOK_BUCKETS);
}

/* A session's retry timer fired: its head is due. */
static void
webhook_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct whsess	*ws = arg;

	(void)fd;
	(void)events;
	if (ws->ws_state == WS_WAITING)
		ws->ws_state = WS_IDLE;
	webhook_kick(ws);
}

/* Find or make the queue of a session. */
static struct whsess *
webhook_sess_get(const char *key)
{
	struct whsess	*ws;
	unsigned	 h = webhook_hash(key);

	for (ws = webhook_buckets[h]; ws != NULL; ws = ws->ws_hnext) {
		if (strcmp(ws->ws_key, key) == 0)
			return (ws);
	}
	ws = xcalloc(1, sizeof *ws);
	snprintf(ws->ws_key, sizeof ws->ws_key, "%s", key);
	TAILQ_INIT(&ws->ws_msgs);
	ws->ws_state = WS_IDLE;
	ws->ws_timer = evtimer_new(daemon_base(), webhook_timer_cb, ws);
	if (ws->ws_timer == NULL)
		fatal_oom();
	ws->ws_hnext = webhook_buckets[h];
	webhook_buckets[h] = ws;
	return (ws);
}

/* Forget a session whose queue is empty. */
static void
webhook_sess_free(struct whsess *ws)
{
	struct whsess	**pp;

	for (pp = &webhook_buckets[webhook_hash(ws->ws_key)]; *pp != NULL;
	    pp = &(*pp)->ws_hnext) {
		if (*pp == ws) {
			*pp = ws->ws_hnext;
			break;
		}
	}
	event_free(ws->ws_timer);
	free(ws);
}

/* Find or make the receiver for host:port. */
static struct whrecv *
webhook_recv_get(const char *host, int port)
{
	struct whrecv	*wr;
	int		 i;

	for (wr = webhook_recvs; wr != NULL; wr = wr->wr_next) {
		if (wr->wr_port == port && strcasecmp(wr->wr_host, host) == 0)
			return (wr);
	}
	wr = xcalloc(1, sizeof *wr);
	wr->wr_host = xstrdup(host);
	wr->wr_port = port;
	TAILQ_INIT(&wr->wr_ready);
	for (i = 0; i < WEBHOOK_RECEIVER_CONNS; i++)
		wr->wr_conns[i].wc_recv = wr;
	wr->wr_next = webhook_recvs;
	webhook_recvs = wr;
	return (wr);
}

/* Add a message to its session and the global list. */
static struct whmsg *
webhook_msg_new(const struct store_msg *sm, int committed, int64_t next_mono)
{
	struct whmsg	*wm, *pos;

	wm = xcalloc(1, sizeof *wm);
	wm->wm_seq = sm->sm_seq;
	snprintf(wm->wm_id, sizeof wm->wm_id, "%s", sm->sm_id);
	wm->wm_type = xstrdup(sm->sm_type);
	wm->wm_url = xstrdup(sm->sm_url);
	wm->wm_body = xstrdup(sm->sm_body);
	wm->wm_created_at = sm->sm_created_at;
	wm->wm_attempts = sm->sm_attempts;
	wm->wm_next_at = next_mono;
	wm->wm_committed = committed;
	wm->wm_sess = webhook_sess_get(sm->sm_session);
	if (!committed) {
		TAILQ_INSERT_TAIL(&wm->wm_sess->ws_msgs, wm, wm_sentry);
		TAILQ_INSERT_TAIL(&webhook_all, wm, wm_gentry);
	} else {
		/*
		 * Loaded from the store: older than anything queued since
		 * the start (by restored sessions), so it goes before it.
		 */
		pos = TAILQ_LAST(&wm->wm_sess->ws_msgs, whmsg_list);
		while (pos != NULL && !pos->wm_committed)
			pos = TAILQ_PREV(pos, whmsg_list, wm_sentry);
		if (pos == NULL)
			TAILQ_INSERT_HEAD(&wm->wm_sess->ws_msgs, wm, wm_sentry);
		else
			TAILQ_INSERT_AFTER(&wm->wm_sess->ws_msgs, pos, wm,
			    wm_sentry);
		pos = TAILQ_LAST(&webhook_all, whmsg_list);
		while (pos != NULL && !pos->wm_committed)
			pos = TAILQ_PREV(pos, whmsg_list, wm_gentry);
		if (pos == NULL)
			TAILQ_INSERT_HEAD(&webhook_all, wm, wm_gentry);
		else
			TAILQ_INSERT_AFTER(&webhook_all, pos, wm, wm_gentry);
	}
	webhook_npending++;
	return (wm);
}

/* Unlink and free a message that is done or dead. */
static void
webhook_msg_free(struct whmsg *wm)
{
	TAILQ_REMOVE(&wm->wm_sess->ws_msgs, wm, wm_sentry);
	TAILQ_REMOVE(&webhook_all, wm, wm_gentry);
	/* The outbox drained: the state file may give its space back. */
	if (--webhook_npending == 0 && webhook_nspilled == 0 &&
	    !webhook_freed && !webhook_stopping)
		store_compact();
	free(wm->wm_type);
	free(wm->wm_url);
	free(wm->wm_body);
	free(wm);
}

/* Queue a delivery of ev to url. */
void
webhook_enqueue(const struct jevent *ev, const char *url)
{
	struct store_msg	 sm;
	char			*body;
	long			 max;

	memset(&sm, 0, sizeof sm);
	webhook_new_id(sm.sm_id, sizeof sm.sm_id);
	snprintf(sm.sm_session, sizeof sm.sm_session, "%s", ev->je_session);
	body = webhook_body(ev);
	sm.sm_type = jevent_type_name(ev->je_type);
	sm.sm_url = url;
	sm.sm_body = body;
	sm.sm_created_at = clock_wall_ms();
	sm.sm_next_at = sm.sm_created_at;
	store_msg_add(&sm);
	max = daemon_policy()->po_webhooks.max_pending;
	if (max > 0 && (long)webhook_pending() >= max) {
		/* Recorded, not delivered: listed by GET /webhooks/dead. */
		metrics_inc(webhook_m_dropped);
		store_msg_dead(sm.sm_seq, 0, "dropped: webhooks.max_pending "
		    "events were waiting");
		if (log_limit(&webhook_log_dropped))
			log_error("webhook %s (%s %s) dropped: %zu events wait "
			    "already (webhooks.max_pending); kept as dead, see "
			    "GET /webhooks/dead", sm.sm_id, sm.sm_type,
			    sm.sm_session, webhook_pending());
		free(body);
		return;
	}
	if (webhook_spill_from != 0 || (webhook_ready &&
	    webhook_npending >= webhook_mem_max)) {
		if (webhook_spill_from == 0) {
			webhook_spill_from = sm.sm_seq;
			log_warn("webhook queue over %zu events: newer ones wait "
			    "in the state file only", webhook_mem_max);
		}
		webhook_spill_last = sm.sm_seq;
		webhook_nspilled++;
	} else if (!webhook_freed)
		webhook_msg_new(&sm, 0, clock_mono_ms())->wm_gen = store_gen();
	free(body);
	log_debug("webhook %s queued: %s %s to %s", sm.sm_id, sm.sm_type,
	    sm.sm_session, url);
}

/* Kick every session whose head is idle; collected first, as a kick may
 * free messages and sessions. */
static void
webhook_kick_all(void)
{
	struct whsess	**v;
	struct whmsg	 *wm;
	size_t		  n = 0, i;

	if (webhook_npending == 0)
		return;
	v = xcalloc(webhook_npending, sizeof *v);
	TAILQ_FOREACH(wm, &webhook_all, wm_gentry) {
		if (wm->wm_sess->ws_state == WS_IDLE &&
		    TAILQ_FIRST(&wm->wm_sess->ws_msgs) == wm)
			v[n++] = wm->wm_sess;
	}
	for (i = 0; i < n; i++)
		webhook_kick(v[i]);
	free(v);
}

/* After a commit, what was queued before it may be sent. */
static void
webhook_committed(void *arg)
{
	struct whsess	**v = NULL, *ws;
	struct whmsg	 *wm;
	size_t		  n = 0, alloc = 0, i;
	int64_t		  c = store_committed_gen();

	(void)arg;
	/* Sessions whose last delivery is now durable go on. */
	while ((ws = TAILQ_FIRST(&webhook_held)) != NULL &&
	    ws->ws_hold_gen <= c) {
		TAILQ_REMOVE(&webhook_held, ws, ws_hentry);
		ws->ws_state = WS_IDLE;
		webhook_kick(ws);
	}
	/*
	 * Uncommitted messages are a suffix of the list, in generation
	 * order; the newest may be in a batch still being written.
	 */
	wm = TAILQ_LAST(&webhook_all, whmsg_list);
	while (wm != NULL && !wm->wm_committed) {
		if (wm->wm_gen <= c) {
			wm->wm_committed = 1;
			if (wm->wm_sess->ws_state == WS_IDLE &&
			    TAILQ_FIRST(&wm->wm_sess->ws_msgs) == wm) {
				if (n == alloc) {
					alloc = alloc == 0 ? 16 : alloc * 2;
					v = xrealloc(v, alloc * sizeof *v);
				}
				v[n++] = wm->wm_sess;
			}
		}
		wm = TAILQ_PREV(wm, whmsg_list, wm_gentry);
	}
	/* Oldest first; a kick may free messages, so it comes after. */
	for (i = n; i > 0; i--)
		webhook_kick(v[i - 1]);
	free(v);
	webhook_refill();
}

/* Parse a message's URL into receiver and path; NULL when unusable. */
static struct whrecv *
webhook_msg_recv(const struct whmsg *wm, char *path, size_t len)
{
	struct evhttp_uri	*u;
	struct whrecv		*wr = NULL;
	const char		*scheme, *host, *p, *q;
	int			 port;

	if ((u = evhttp_uri_parse(wm->wm_url)) == NULL)
		return (NULL);
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme == NULL || strcasecmp(scheme, "http") != 0 ||
	    host == NULL || *host == '\0')
		goto out;
	port = evhttp_uri_get_port(u);
	if (port == -1)
		port = 80;
	p = evhttp_uri_get_path(u);
	q = evhttp_uri_get_query(u);
	snprintf(path, len, "%s%s%s", p != NULL && *p != '\0' ? p : "/",
	    q != NULL ? "?" : "", q != NULL ? q : "");
	wr = webhook_recv_get(host, port);
out:
	evhttp_uri_free(u);
	return (wr);
}

/* Record an attempt's failure: retry later or give up. */
static void
webhook_failed(struct whsess *ws, const char *error, int64_t retry_after)
{
	struct policy	*po = daemon_policy();
	struct whmsg	*wm = TAILQ_FIRST(&ws->ws_msgs);
	uint64_t	 rnd;
	int64_t		 delay;

	wm->wm_attempts++;
	if (wm->wm_attempts >= po->po_webhooks.max_attempts) {
		log_warn("webhook %s (%s %s) is dead after %d attempts: %s",
		    wm->wm_id, wm->wm_type, ws->ws_key, wm->wm_attempts, error);
		metrics_inc(webhook_m_dead);
		store_msg_dead(wm->wm_seq, wm->wm_attempts, error);
		webhook_msg_free(wm);
		return;
	}
	if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
		rnd = (uint64_t)random();
	delay = webhook_backoff(wm->wm_attempts, po->po_webhooks.backoff_initial,
	    po->po_webhooks.backoff_max, rnd);
	if (retry_after > delay)
		delay = retry_after;
	if (delay > po->po_webhooks.backoff_max)
		delay = po->po_webhooks.backoff_max;
	wm->wm_next_at = clock_mono_ms() + delay;
	log_info("webhook %s (%s %s) attempt %d failed: %s; next in %lld ms",
	    wm->wm_id, wm->wm_type, ws->ws_key, wm->wm_attempts, error,
	    (long long)delay);
	metrics_inc(webhook_m_retry);
	store_msg_retry(wm->wm_seq, wm->wm_attempts, clock_wall_ms() + delay,
	    error);
}

/* An attempt ended: record it, free the connection slot, go on. */
static void
webhook_finish(struct whconn *wc, int code, const char *retry_after_hdr)
{
	struct whrecv	*wr = wc->wc_recv;
	struct whsess	*ws = wc->wc_sess;
	struct whmsg	*wm = TAILQ_FIRST(&ws->ws_msgs);
	char		 err[128];

	evtimer_del(wc->wc_timer);
	wc->wc_req = NULL;
	wc->wc_sess = NULL;
	wr->wr_nbusy--;
	ws->ws_state = WS_IDLE;

	if (code >= 200 && code <= 299) {
		log_debug("webhook %s (%s %s) delivered: %d", wm->wm_id,
		    wm->wm_type, ws->ws_key, code);
		metrics_inc(webhook_m_success);
		store_msg_done(wm->wm_seq);
		webhook_msg_free(wm);
		/*
		 * The session's next event goes out only once this delivery
		 * is committed, so no crash can make a receiver see an
		 * expire and then its unload again.
		 */
		if (!TAILQ_EMPTY(&ws->ws_msgs)) {
			ws->ws_state = WS_HELD;
			ws->ws_hold_gen = store_gen();
			TAILQ_INSERT_TAIL(&webhook_held, ws, ws_hentry);
		}
	} else {
		if (code > 0)
			snprintf(err, sizeof err, "HTTP %d", code);
		else if (wc->wc_start_failed)
			snprintf(err, sizeof err, "cannot send the request");
		else if (wc->wc_failed && wc->wc_error == EVREQ_HTTP_TIMEOUT)
			snprintf(err, sizeof err, "timed out");
		else if (wc->wc_failed && wc->wc_error == EVREQ_HTTP_EOF)
			snprintf(err, sizeof err, "connection closed");
		else if (wc->wc_failed &&
		    wc->wc_error == EVREQ_HTTP_DATA_TOO_LONG)
			snprintf(err, sizeof err, "reply too long");
		else if (code < 0)
			snprintf(err, sizeof err, "no answer within timeout");
		else
			snprintf(err, sizeof err, "connection failed");
		webhook_failed(ws, err, webhook_retry_after(retry_after_hdr,
		    clock_wall_ms()));
	}
	wc->wc_failed = 0;
	wc->wc_start_failed = 0;
	webhook_kick(ws);
	webhook_dispatch(wr);
}

/* libevent's request callback: the answer, or NULL on failure. */
static void
webhook_req_cb(struct evhttp_request *req, void *arg)
{
	struct whconn	*wc = arg;
	const char	*ra = NULL;
	int		 code = 0;

	if (wc->wc_sess == NULL)
		return;
	if (req != NULL) {
		code = evhttp_request_get_response_code(req);
		ra = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Retry-After");
	}
	webhook_finish(wc, code, ra);
}

/* libevent's error callback: remember why the request failed. */
static void
webhook_req_error_cb(enum evhttp_request_error error, void *arg)
{
	struct whconn	*wc = arg;

	wc->wc_failed = 1;
	wc->wc_error = error;
}

/* The deadline of an attempt passed (or it could not start). */
static void
webhook_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct whconn	*wc = arg;

	(void)fd;
	(void)events;
	if (wc->wc_sess == NULL)
		return;
	if (wc->wc_req != NULL) {
		/* The callback is not run for a cancelled request. */
		evhttp_cancel_request(wc->wc_req);
		wc->wc_req = NULL;
	}
	webhook_finish(wc, wc->wc_start_failed ? 0 : -1, NULL);
}

/*
 * The resolver for host: none for an address, else libevent's asynchronous
 * one (it reads /etc/hosts and resolv.conf), so a slow or dead DNS server
 * never blocks the loop.
 */
static struct evdns_base *
webhook_resolver(const char *host)
{
	unsigned char	buf[16];

	if (evutil_inet_pton(AF_INET, host, buf) == 1 ||
	    evutil_inet_pton(AF_INET6, host, buf) == 1)
		return (NULL);
	if (webhook_dns == NULL) {
		webhook_dns = evdns_base_new(daemon_base(),
		    EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (webhook_dns == NULL) {
			/* No resolv.conf: names from /etc/hosts only. */
			webhook_dns = evdns_base_new(daemon_base(), 0);
			if (webhook_dns != NULL)
				evdns_base_load_hosts(webhook_dns, NULL);
		}
	}
	return (webhook_dns);
}

/* Send a session's head message on a free connection of its receiver. */
static void
webhook_start(struct whrecv *wr, struct whsess *ws)
{
	struct policy		*po = daemon_policy();
	struct whmsg		*wm = TAILQ_FIRST(&ws->ws_msgs);
	struct whconn		*wc = NULL;
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	struct timeval		 tv;
	char			 path[2048], ts[32], sig[WEBHOOK_SIG_MAX];
	char			 host[300];
	int64_t			 now = clock_wall_ms() / 1000;
	int			 i;

	for (i = 0; i < WEBHOOK_RECEIVER_CONNS; i++) {
		if (wr->wr_conns[i].wc_sess == NULL) {
			wc = &wr->wr_conns[i];
			break;
		}
	}
	if (wc == NULL)
		fatal("webhook: no free connection for %s:%d", wr->wr_host,
		    wr->wr_port);
	wr->wr_nbusy++;
	wc->wc_sess = ws;
	ws->ws_state = WS_INFLIGHT;
	tv.tv_sec = po->po_webhooks.timeout / 1000;
	tv.tv_usec = (po->po_webhooks.timeout % 1000) * 1000;
	if (wc->wc_timer == NULL) {
		wc->wc_timer = evtimer_new(daemon_base(), webhook_deadline_cb,
		    wc);
		if (wc->wc_timer == NULL)
			fatal_oom();
	}
	if (wc->wc_evcon == NULL) {
		wc->wc_evcon = evhttp_connection_base_new(daemon_base(),
		    webhook_resolver(wr->wr_host), wr->wr_host,
		    (unsigned short)wr->wr_port);
		if (wc->wc_evcon == NULL)
			goto fail;
		evhttp_connection_set_max_body_size(wc->wc_evcon,
		    WEBHOOK_MAX_REPLY);
		evhttp_connection_set_max_headers_size(wc->wc_evcon,
		    WEBHOOK_MAX_REPLY);
	}
	evhttp_connection_set_timeout_tv(wc->wc_evcon, &tv);

	if (webhook_msg_recv(wm, path, sizeof path) == NULL)
		goto fail;
	if ((req = evhttp_request_new(webhook_req_cb, wc)) == NULL)
		goto fail;
	evhttp_request_set_error_cb(req, webhook_req_error_cb);
	h = evhttp_request_get_output_headers(req);
	if (wr->wr_port == 80)
		snprintf(host, sizeof host, "%s", wr->wr_host);
	else
		snprintf(host, sizeof host, "%s:%d", wr->wr_host, wr->wr_port);
	snprintf(ts, sizeof ts, "%lld", (long long)now);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "janitord/" JANITOR_VERSION);
	evhttp_add_header(h, "webhook-id", wm->wm_id);
	evhttp_add_header(h, "webhook-timestamp", ts);
	if (po->po_webhooks.secret != NULL && po->po_webhooks.secret_len > 0) {
		if (webhook_sign(po->po_webhooks.secret,
		    po->po_webhooks.secret_len, wm->wm_id, now, wm->wm_body,
		    strlen(wm->wm_body), sig, sizeof sig) != 0) {
			evhttp_request_free(req);
			goto fail;
		}
		evhttp_add_header(h, "webhook-signature", sig);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), wm->wm_body,
	    strlen(wm->wm_body));
	if (evhttp_make_request(wc->wc_evcon, req, EVHTTP_REQ_POST,
	    path) != 0) {
		/* libevent has freed req. */
		goto fail;
	}
	wc->wc_req = req;
	evtimer_add(wc->wc_timer, &tv);
	log_debug("webhook %s (%s %s) attempt %d to %s", wm->wm_id,
	    wm->wm_type, ws->ws_key, wm->wm_attempts + 1, wm->wm_url);
	return;

fail:
	/* Report the failure from the loop, not from inside the dispatch. */
	wc->wc_start_failed = 1;
	wc->wc_req = NULL;
	event_active(wc->wc_timer, EV_TIMEOUT, 0);
}

/* Start deliveries on a receiver while it has free connections. */
static void
webhook_dispatch(struct whrecv *wr)
{
	struct whsess	*ws;

	while (!webhook_stopping && wr->wr_nbusy < WEBHOOK_RECEIVER_CONNS &&
	    (ws = TAILQ_FIRST(&wr->wr_ready)) != NULL) {
		TAILQ_REMOVE(&wr->wr_ready, ws, ws_rentry);
		ws->ws_recv = NULL;
		if (TAILQ_EMPTY(&ws->ws_msgs)) {
			ws->ws_state = WS_IDLE;
			webhook_kick(ws);
			continue;
		}
		webhook_start(wr, ws);
	}
}

/* Move a session on: free it, wait for its head, or make it ready. */
static void
webhook_kick(struct whsess *ws)
{
	struct whmsg	*wm;
	struct whrecv	*wr;
	struct timeval	 tv;
	char		 path[2048];
	int64_t		 now, wait;

	if (ws->ws_state != WS_IDLE)
		return;
	if ((wm = TAILQ_FIRST(&ws->ws_msgs)) == NULL) {
		webhook_sess_free(ws);
		return;
	}
	if (!wm->wm_committed || !webhook_ready)
		return;
	now = clock_mono_ms();
	if (wm->wm_next_at > now) {
		wait = wm->wm_next_at - now;
		tv.tv_sec = wait / 1000;
		tv.tv_usec = (wait % 1000) * 1000;
		ws->ws_state = WS_WAITING;
		evtimer_add(ws->ws_timer, &tv);
		return;
	}
	if ((wr = webhook_msg_recv(wm, path, sizeof path)) == NULL) {
		/* Not an http:// URL: retrying cannot help. */
		log_error("webhook %s: cannot deliver to %s (only http:// "
		    "URLs are supported)", wm->wm_id, wm->wm_url);
		metrics_inc(webhook_m_dead);
		store_msg_dead(wm->wm_seq, wm->wm_attempts, "unusable URL");
		webhook_msg_free(wm);
		webhook_kick(ws);
		return;
	}
	ws->ws_state = WS_READY;
	ws->ws_recv = wr;
	TAILQ_INSERT_TAIL(&wr->wr_ready, ws, ws_rentry);
	webhook_dispatch(wr);
}

/* Resume one undelivered message read from the store. */
static void
webhook_load_cb(const struct store_msg *sm, void *arg)
{
	int64_t	now_wall = clock_wall_ms(), now = clock_mono_ms();
	int64_t	next = now;

	(void)arg;
	if (sm->sm_next_at > now_wall)
		next = now + (sm->sm_next_at - now_wall);
	webhook_msg_new(sm, 1, next);
}

/* Read spilled events back while there is room; after a commit only. */
static void
webhook_refill(void)
{
	struct whmsg	*last = TAILQ_LAST(&webhook_all, whmsg_list);
	char		*cause = NULL;
	size_t		 before = webhook_npending, got;

	if (webhook_spill_from == 0 || webhook_npending > webhook_mem_max / 2)
		return;
	/* Appending keeps the order only while nothing in memory is newer. */
	if (last != NULL && !last->wm_committed)
		return;
	if (store_load_msgs_from(webhook_spill_from,
	    (int64_t)(webhook_mem_max - webhook_npending), webhook_load_cb,
	    NULL, &cause) != 0) {
		log_error("webhook: %s", cause);
		free(cause);
		return;
	}
	got = webhook_npending - before;
	if (got > 0) {
		last = TAILQ_LAST(&webhook_all, whmsg_list);
		webhook_spill_from = last->wm_seq + 1;
		webhook_nspilled -= got < webhook_nspilled ? got :
		    webhook_nspilled;
	}
	if (webhook_spill_from > webhook_spill_last) {
		webhook_spill_from = webhook_spill_last = 0;
		webhook_nspilled = 0;
		log_info("webhook queue back under %zu events", webhook_mem_max);
	}
	if (got > 0)
		webhook_kick_all();
}

/* Events waiting for delivery (in memory and spilled). */
size_t
webhook_pending(void)
{
	return (webhook_npending + webhook_nspilled);
}

/* Keep at most n events in memory (tests; the default is WEBHOOK_MEM_MAX). */
void
webhook_set_mem_max(size_t n)
{
	webhook_mem_max = n > 1 ? n : 2;
}

/* Gauge: undelivered events. */
static int64_t
webhook_depth_fn(void *arg)
{
	(void)arg;
	return ((int64_t)webhook_pending());
}

/* Gauge: age of the oldest undelivered event in seconds. */
static int64_t
webhook_oldest_fn(void *arg)
{
	struct whmsg	*wm = TAILQ_FIRST(&webhook_all);
	int64_t		 age;

	(void)arg;
	if (wm == NULL)
		return (0);
	age = clock_wall_ms() - wm->wm_created_at;
	return (age > 0 ? age / 1000 : 0);
}

/* Gauge: events kept as dead. */
static int64_t
webhook_dead_fn(void *arg)
{
	(void)arg;
	return (store_dead_count());
}

/* A page of the dead list being made. */
struct webhook_dead_page {
	struct evbuffer	*wd_buf;
	size_t		 wd_left;	/* still to list */
	int64_t		 wd_after;	/* the last seq listed */
	size_t		 wd_n;
	int		 wd_more;	/* the limit stopped it: a next page */
	int		 wd_cut;	/* the slice's time stopped it */
	int64_t		 wd_gen;	/* committed, the newest deaths show */
	int64_t		 wd_wait_until;	/* mono ms: list anyway then */
	struct timespec	 wd_start;	/* this slice's */
};

/* Free a page's state. */
static void
webhook_dead_free(void *arg)
{
	struct webhook_dead_page	*wd = arg;

	evbuffer_free(wd->wd_buf);
	free(wd);
}

/* Append one dead message; 0 when the slice or the page is over. */
static int
webhook_dead_row(const struct store_dead *d, void *arg)
{
	struct webhook_dead_page	*wd = arg;
	json_t				*o, *payload;
	char				 created[40], dead_at[40], *text;

	if (wd->wd_left == 0) {
		wd->wd_more = 1;
		return (0);
	}
	webhook_time(d->sd_created_at, created, sizeof created);
	webhook_time(d->sd_dead_at, dead_at, sizeof dead_at);
	payload = json_loads(d->sd_body, 0, NULL);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:o}",
	    "seq", (json_int_t)d->sd_seq, "id", d->sd_id,
	    "session", d->sd_session, "type", d->sd_type, "url", d->sd_url,
	    "created_at", created, "attempts", d->sd_attempts,
	    "dead_at", dead_at, "last_error", d->sd_error,
	    "payload", payload != NULL ? payload : json_null());
	if (o == NULL)
		fatal_oom();
	text = json_dumps(o, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(o);
	if (text == NULL)
		fatal_oom();
	evbuffer_add_printf(wd->wd_buf, "%s%s", wd->wd_n++ == 0 ? "" : ",\n",
	    text);
	free(text);
	wd->wd_after = d->sd_seq;
	wd->wd_left--;
	if (wd->wd_n % 16 == 0 && admin_slice_over(&wd->wd_start)) {
		wd->wd_cut = 1;
		return (0);
	}
	return (1);
}

/* One slice of GET /webhooks/dead; ADMIN_SLICE_DONE once answered. */
static int
webhook_dead_slice(struct admin_req *req, void *arg)
{
	struct webhook_dead_page	*wd = arg;
	char				*cause = NULL, link[96];
	int				 n, want;

	/* An event that just died is listed: its mark is committed first. */
	if (store_committed_gen() < wd->wd_gen &&
	    clock_mono_ms() < wd->wd_wait_until)
		return (ADMIN_SLICE_WAIT);
	clock_gettime(CLOCK_MONOTONIC, &wd->wd_start);
	wd->wd_cut = 0;
	/* One row more than asked tells whether there is a next page. */
	want = wd->wd_left < 511 ? (int)wd->wd_left + 1 : 512;
	if ((n = store_dead_read(wd->wd_after, want, webhook_dead_row, wd,
	    &cause)) == -1) {
		log_error("webhook: %s", cause);
		free(cause);
		admin_reply_text(req, 500, "text/plain",
		    "cannot read the state file\n");
		webhook_dead_free(wd);
		return (ADMIN_SLICE_DONE);
	}
	if (!wd->wd_more && (wd->wd_cut || n == want))
		return (ADMIN_SLICE_AGAIN);
	evbuffer_add_printf(wd->wd_buf, "]\n");
	if (wd->wd_more && wd->wd_n > 0) {
		snprintf(link, sizeof link, "</webhooks/dead?limit=%zu&after="
		    "%lld>; rel=\"next\"", wd->wd_n, (long long)wd->wd_after);
		admin_reply_header(req, "Link", link);
	}
	admin_reply_buffer(req, 200, "application/json", wd->wd_buf);
	webhook_dead_free(wd);
	return (ADMIN_SLICE_DONE);
}

/* GET /webhooks/dead[?limit=N][&after=SEQ], oldest first. */
static void
webhook_admin_dead(struct admin_req *req, const char *tail, void *arg)
{
	struct webhook_dead_page	*wd;
	size_t				 limit;
	uint64_t			 after;

	(void)tail;
	(void)arg;
	if (admin_paging(req, &limit, &after) != 0)
		return;
	wd = xcalloc(1, sizeof *wd);
	if ((wd->wd_buf = evbuffer_new()) == NULL)
		fatal_oom();
	evbuffer_add_printf(wd->wd_buf, "[");
	wd->wd_left = limit;
	wd->wd_after = (int64_t)after;
	wd->wd_gen = store_queued_gen();
	/* A stuck disk delays the newest deaths, never the answer. */
	wd->wd_wait_until = clock_mono_ms() + 1000;
	admin_slices(req, webhook_dead_slice, webhook_dead_free, wd);
}

/* Stopping: start nothing new; pending events stay in the outbox. */
static void
webhook_stop_cb(void *arg)
{
	(void)arg;
	webhook_stopping = 1;
}

/*
 * More is stored than memory takes: everything after the last loaded event
 * waits in the outbox, including events queued since the start (restored
 * sessions), which are dropped from memory to keep the order.
 */
static void
webhook_spill_at_start(void)
{
	struct whmsg	*wm, *last = NULL;
	struct whsess	*ws;
	int64_t		 n, nevict = 0;

	TAILQ_FOREACH(wm, &webhook_all, wm_gentry) {
		if (!wm->wm_committed)
			break;
		last = wm;
	}
	if (last == NULL || (n = store_count_msgs_from(last->wm_seq + 1)) <= 0)
		return;		/* nothing stored beyond what was loaded */
	while ((wm = TAILQ_LAST(&webhook_all, whmsg_list)) != NULL &&
	    !wm->wm_committed) {
		ws = wm->wm_sess;
		webhook_msg_free(wm);
		if (TAILQ_EMPTY(&ws->ws_msgs))
			webhook_sess_free(ws);
		nevict++;
	}
	webhook_spill_from = last->wm_seq + 1;
	webhook_spill_last = store_last_seq();
	webhook_nspilled = (size_t)(n + nevict);
	log_warn("webhook queue over %zu events: %zu wait in the state file "
	    "only", webhook_mem_max, webhook_nspilled);
}

/* Load undelivered events, register metrics, route and hooks. */
int
webhook_init(char **cause)
{
	webhook_m_success = metrics_counter("janitor_webhook_deliveries_total",
	    "result=\"success\"", "Webhook delivery attempts by result.");
	webhook_m_retry = metrics_counter("janitor_webhook_deliveries_total",
	    "result=\"retry\"", "Webhook delivery attempts by result.");
	webhook_m_dead = metrics_counter("janitor_webhook_deliveries_total",
	    "result=\"dead\"", "Webhook delivery attempts by result.");
	webhook_m_dropped = metrics_counter("janitor_webhook_dropped_total",
	    NULL, "Webhook events not queued for delivery because "
	    "webhooks.max_pending were waiting (kept as dead).");
	metrics_gauge_func("janitor_webhook_queue_depth", NULL,
	    "Webhook events not yet delivered.", webhook_depth_fn, NULL);
	metrics_gauge_func("janitor_webhook_oldest_pending_seconds", NULL,
	    "Age of the oldest undelivered webhook event.", webhook_oldest_fn,
	    NULL);
	metrics_gauge_func("janitor_webhook_dead", NULL,
	    "Webhook events kept as dead (see GET /webhooks/dead).",
	    webhook_dead_fn, NULL);
	webhook_freed = 0;
	admin_route("GET", "/webhooks/dead", 0, webhook_admin_dead, NULL);
	store_on_commit(webhook_committed, NULL);
	daemon_on_stop(webhook_stop_cb, NULL);

	if (store_load_msgs_from(0, (int64_t)webhook_mem_max, webhook_load_cb,
	    NULL, cause) != 0)
		return (-1);
	if (webhook_npending >= webhook_mem_max)
		webhook_spill_at_start();
	if (webhook_pending() > 0)
		log_info("%zu undelivered webhook events resumed",
		    webhook_pending());
	webhook_ready = 1;
	webhook_kick_all();
	return (0);
}

/* Cancel what is in flight and free everything; the outbox keeps it all. */
void
webhook_free(void)
{
	struct whrecv	*wr, *wrnext;
	struct whmsg	*wm;
	struct whsess	*ws;
	struct whconn	*wc;
	int		 i;

	webhook_stopping = 1;
	for (wr = webhook_recvs; wr != NULL; wr = wrnext) {
		wrnext = wr->wr_next;
		for (i = 0; i < WEBHOOK_RECEIVER_CONNS; i++) {
			wc = &wr->wr_conns[i];
			if (wc->wc_req != NULL)
				evhttp_cancel_request(wc->wc_req);
			if (wc->wc_evcon != NULL)
				evhttp_connection_free(wc->wc_evcon);
			if (wc->wc_timer != NULL)
				event_free(wc->wc_timer);
		}
		free(wr->wr_host);
		free(wr);
	}
	webhook_recvs = NULL;
	if (webhook_dns != NULL)
		evdns_base_free(webhook_dns, 0);
	webhook_dns = NULL;
	while ((wm = TAILQ_FIRST(&webhook_all)) != NULL) {
		ws = wm->wm_sess;
		webhook_msg_free(wm);
		if (TAILQ_EMPTY(&ws->ws_msgs))
			webhook_sess_free(ws);
	}
	TAILQ_INIT(&webhook_held);
	webhook_spill_from = webhook_spill_last = 0;
	webhook_nspilled = 0;
	webhook_ready = 0;
	webhook_stopping = 0;
	webhook_freed = 1;
}
