/*
 * session.c -- the session table, the state machine of "Session life" and
 * its timers.
 *
 * The table is a chained hash keyed with SipHash (keys come from clients),
 * sized from sessions.capacity so that it does not rehash under load.
 *
 * A session made by a request is provisional until its client proves to
 * be a browser: it comes back with the key, or opens a live channel.  A
 * provisional session lives in memory only, in its own list in order of
 * creation, which is also the order in which provisional_ttl and
 * provisional_capacity drop them (no event, no removal, nothing stored),
 * so both cost O(1) and a flood of requests that never return never
 * touches the disk.  Confirmed sessions are on the list in order of last
 * activity (the admin API's order) and, while not live, on a second one in
 * the same order that gives capacity its victim in O(1): a live session is
 * never evicted.
 *
 * Timers live in one hashed timing wheel: 65536 slots of 100 ms, about 1.8
 * hours a turn.  A session sits in at most one slot, filed under the
 * earliest moment something might happen to it.  Activity that only moves
 * that moment later (a request) does not touch the wheel: when the slot
 * comes round the session is looked at again and filed anew.  So a request
 * costs O(1) whatever the number of sessions, and an idle session costs
 * one small allocation and a bucket pointer.
 *
 * The wheel is run in slices of at most two milliseconds of real time;
 * when a slice runs out, the rest is picked up from a zero timeout, so a
 * million sessions expiring at once never stall the loop.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "session.h"
#include "sessionapi.h"
#include "sessionhook.h"
#include "sessionkey.h"
#include "siphash.h"

#define SESSION_TICK_MS		100
#define SESSION_SLOTS		65536		/* a power of two */
#define SESSION_SLICE_NS	1000000		/* real time per slice */
#define SESSION_PERSIST_MS	10000		/* lazy last_seen */
#define SESSION_NEVER		INT64_MAX
#define SESSION_NO_MARK		INT64_MIN

#define SF_EVER_LIVE		0x01
#define SF_UNLOAD_PENDING	0x02
#define SF_UNLOADED		0x04
#define SF_GONE			0x08
#define SF_WHEEL		0x10
#define SF_UNSTORED		0x20	/* created; its first commit pending */
#define SF_PROVISIONAL		0x40	/* in memory only, until confirmed */

struct session {
	struct session		*s_hnext;	/* hash chain */
	uint64_t		 s_hash;	/* of its key */
	TAILQ_ENTRY(session)	 s_lru;		/* by last activity (confirmed)
						   or creation (provisional) */
	TAILQ_ENTRY(session)	 s_evict;	/* confirmed, not live */
	LIST_ENTRY(session)	 s_wheel;	/* timer slot */
	int64_t			 s_deadline;	/* mono ms filed under */
	int64_t			 s_created;	/* wall ms */
	int64_t			 s_seen;	/* wall ms of last activity */
	int64_t			 s_active;	/* mono ms of last activity */
	int64_t			 s_mark;	/* mono ms of last close or unload */
	int64_t			 s_persisted;	/* mono ms of last persist */
	uint64_t		 s_order;	/* place on its list, ascending */
	uint64_t		 s_requests;
	uint32_t		 s_channels;
	uint32_t		 s_refs;
	uint8_t			 s_flags;
	uint8_t			 s_keylen;
	char			 s_ip[46];
	char			 s_key[];	/* s_keylen + 1 bytes */
};

TAILQ_HEAD(session_lru, session);
LIST_HEAD(session_slot, session);

static struct session		**session_buckets;
static size_t			  session_nbuckets;	/* a power of two */
static size_t			  session_nsessions;	/* confirmed */
static size_t			  session_nprov;	/* provisional */
static size_t			  session_nstate[4];
static uint64_t			  session_sipkey[2];
static uint64_t			  session_next_order = 1;
static struct session_lru	  session_lru = TAILQ_HEAD_INITIALIZER(session_lru);
static struct session_lru	  session_prov = TAILQ_HEAD_INITIALIZER(session_prov);
static TAILQ_HEAD(, session)	  session_evict = TAILQ_HEAD_INITIALIZER(session_evict);

static struct session_slot	 *session_slots;
static int64_t			  session_cursor;	/* next tick to run */
static size_t			  session_nwheel;
static struct event		 *session_timer;
static int64_t			  session_armed = -1;	/* tick armed for */
static int			  session_running;	/* inside a slice */
static int			  session_frozen;	/* the daemon is stopping */
static struct session		 *session_resched;	/* next to file anew */

static jevent_sink		  session_sink;
static void			 *session_sink_arg;
static session_persist_cb	  session_persist_fn;
static void			 *session_persist_arg;

static struct metric		 *session_m_created;
static struct metric		 *session_m_provisional;
static struct metric		 *session_m_dropped_ttl;
static struct metric		 *session_m_dropped_cap;
static struct metric		 *session_m_refused;
static struct metric		 *session_m_unloads;
static struct metric		 *session_m_expired[JREASON_ADMIN + 1];

static struct log_limit		  session_log_refused = LOG_LIMIT_INIT(
				    "sessions not tracked (every session is live)",
				    LOG_LEVEL_WARN);

static void	session_schedule(struct session *);
static void	session_arm(void);
static void	session_arm_at(int64_t);
static void	session_arm_provisional(void);
static int64_t	session_tick_of(int64_t);

/* How long a provisional session is kept. */
static int64_t
session_prov_ttl(void)
{
	msec_t	ttl = daemon_policy()->po_sessions.provisional_ttl;

	return (ttl > 0 ? ttl : 2 * 60 * 1000);
}

/* Real elapsed nanoseconds since *start (the loop-stall budget, not policy). */
static int64_t
session_elapsed_ns(const struct timespec *start)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)(now.tv_sec - start->tv_sec) * 1000000000 +
	    (now.tv_nsec - start->tv_nsec));
}

/* The state a session shows. */
enum session_state
session_state(const struct session *s)
{
	if (s->s_flags & SF_PROVISIONAL)
		return (SESSION_PROVISIONAL);
	if (s->s_channels > 0)
		return (SESSION_LIVE);
	if (s->s_flags & SF_UNLOADED)
		return (SESSION_UNLOADED);
	return (SESSION_IDLE);
}

/* "idle", "live", "unloaded" or "provisional". */
const char *
session_state_name(enum session_state st)
{
	switch (st) {
	case SESSION_LIVE:
		return ("live");
	case SESSION_UNLOADED:
		return ("unloaded");
	case SESSION_PROVISIONAL:
		return ("provisional");
	default:
		return ("idle");
	}
}

/* Move a session from one state count to its current one. */
static void
session_recount(struct session *s, enum session_state old)
{
	enum session_state	now = session_state(s);

	if (now != old && !(s->s_flags & SF_GONE)) {
		session_nstate[old]--;
		session_nstate[now]++;
	}
}

/* The session's key. */
const char *
session_key(const struct session *s)
{
	return (s->s_key);
}

/* How many live channels the session has. */
unsigned
session_channels(const struct session *s)
{
	return (s->s_channels);
}

/* Whether the session has expired (only references keep it). */
int
session_gone(const struct session *s)
{
	return ((s->s_flags & SF_GONE) != 0);
}

/* The session's place in the order of its list. */
uint64_t
session_order(const struct session *s)
{
	return (s->s_order);
}

/* The most recent session of a list: confirmed or provisional ones. */
struct session *
session_newest(int provisional)
{
	return (TAILQ_LAST(provisional ? &session_prov : &session_lru,
	    session_lru));
}

/* The one before s on its list, or NULL. */
struct session *
session_older(struct session *s)
{
	if (s->s_flags & SF_GONE)
		return (NULL);
	return (TAILQ_PREV(s, session_lru, s_lru));
}

/* Wall ms when the session began. */
int64_t
session_created(const struct session *s)
{
	return (s->s_created);
}

/* Whether the session's creation is known to be committed. */
int
session_stored(const struct session *s)
{
	return ((s->s_flags & SF_UNSTORED) == 0);
}

/* The store committed the session's creation. */
void
session_set_stored(struct session *s)
{
	s->s_flags &= ~SF_UNSTORED;
}

/* Fill a store record from the session. */
void
session_get_rec(const struct session *s, struct session_rec *sr)
{
	memset(sr, 0, sizeof *sr);
	memcpy(sr->sr_key, s->s_key, s->s_keylen + 1);
	sr->sr_created_at = s->s_created;
	sr->sr_last_seen = s->s_seen;
	snprintf(sr->sr_client_ip, sizeof sr->sr_client_ip, "%s", s->s_ip);
	sr->sr_requests = s->s_requests;
	sr->sr_live = s->s_channels > 0 || (s->s_flags & SF_UNLOAD_PENDING);
	sr->sr_ever_live = (s->s_flags & SF_EVER_LIVE) != 0;
	sr->sr_unloaded = (s->s_flags & SF_UNLOADED) != 0;
}

/* Tell the store. */
static void
session_persist(struct session *s, int gone)
{
	struct session_rec	sr;

	s->s_persisted = clock_mono_ms();
	if (session_persist_fn == NULL)
		return;
	session_get_rec(s, &sr);
	session_persist_fn(&sr, gone, session_persist_arg);
}

/* Hand one event to the sink, or log it when there is none. */
static void
session_emit(struct session *s, enum jevent_type type,
    enum jevent_reason reason)
{
	struct jevent	je;

	memset(&je, 0, sizeof je);
	je.je_type = type;
	je.je_reason = reason;
	memcpy(je.je_session, s->s_key, s->s_keylen + 1);
	je.je_at = clock_wall_ms();
	je.je_created_at = s->s_created;
	je.je_last_seen = s->s_seen;
	snprintf(je.je_client_ip, sizeof je.je_client_ip, "%s", s->s_ip);
	je.je_requests = s->s_requests;
	if (type == JEVENT_UNLOAD)
		metrics_inc(session_m_unloads);
	else
		metrics_inc(session_m_expired[reason]);
	if (session_sink != NULL)
		session_sink(&je, session_sink_arg);
	else
		log_info("session %s: %s (%s)", s->s_key,
		    jevent_type_name(type), jevent_reason_name(reason));
}

/* The hash of a key. */
static uint64_t
session_hash(const char *key, size_t len)
{
	return (siphash(session_sipkey, key, len));
}

/* The bucket of a hash. */
static struct session **
session_bucket(uint64_t h)
{
	return (&session_buckets[h & (session_nbuckets - 1)]);
}

/* Find a session by key and its hash, or NULL. */
static struct session *
session_lookup(const char *key, size_t len, uint64_t h)
{
	struct session	*s;

	if (session_buckets == NULL)
		return (NULL);
	for (s = *session_bucket(h); s != NULL; s = s->s_hnext) {
		if (s->s_hash == h && s->s_keylen == len &&
		    memcmp(s->s_key, key, len) == 0)
			return (s);
	}
	return (NULL);
}

/* Find a session by key, or NULL. */
struct session *
session_find(const char *key)
{
	size_t	len = strlen(key);

	return (session_lookup(key, len, session_hash(key, len)));
}

/* Double the buckets (only when capacity is unlimited or above the size). */
static void
session_grow(void)
{
	struct session	**old = session_buckets, *s, *next, **b;
	size_t		  n = session_nbuckets, i;

	session_nbuckets *= 2;
	session_buckets = xcalloc(session_nbuckets, sizeof *session_buckets);
	for (i = 0; i < n; i++) {
		for (s = old[i]; s != NULL; s = next) {
			next = s->s_hnext;
			b = session_bucket(s->s_hash);
			s->s_hnext = *b;
			*b = s;
		}
	}
	free(old);
}

/* Unlink a session from its bucket. */
static void
session_unhash(struct session *s)
{
	struct session	**p;

	for (p = session_bucket(s->s_hash); *p != NULL; p = &(*p)->s_hnext) {
		if (*p == s) {
			*p = s->s_hnext;
			return;
		}
	}
}

/* Take a reference. */
struct session *
session_ref(struct session *s)
{
	s->s_refs++;
	return (s);
}

/* Drop a reference; free at the last. */
void
session_unref(struct session *s)
{
	if (--s->s_refs == 0)
		free(s);
}

/* The tick a deadline falls in (rounded up: a slot is run when all of it is due). */
static int64_t
session_tick_of(int64_t ms)
{
	return (ms / SESSION_TICK_MS + (ms % SESSION_TICK_MS != 0));
}

/* Take a session out of the wheel. */
static void
session_wheel_remove(struct session *s)
{
	if (s->s_flags & SF_WHEEL) {
		LIST_REMOVE(s, s_wheel);
		s->s_flags &= ~SF_WHEEL;
		session_nwheel--;
	}
}

/* File a session in the wheel under deadline. */
static void
session_wheel_insert(struct session *s, int64_t deadline)
{
	int64_t	t;

	if (session_nwheel == 0 && session_armed < 0)
		session_cursor = clock_mono_ms() / SESSION_TICK_MS;
	t = session_tick_of(deadline);
	if (t < session_cursor)
		t = session_cursor;
	s->s_deadline = deadline;
	s->s_flags |= SF_WHEEL;
	LIST_INSERT_HEAD(&session_slots[t & (SESSION_SLOTS - 1)], s, s_wheel);
	session_nwheel++;
	if (!session_running && (session_armed < 0 || t < session_armed))
		session_arm_at(t);
}

/* The earliest moment something may happen to the session, or NEVER. */
static int64_t
session_next(const struct session *s)
{
	const struct policy	*po = daemon_policy();
	int64_t			 d = SESSION_NEVER, e, from;

	if (po->po_expire_ttl > 0)
		d = s->s_active + po->po_expire_ttl;
	if (s->s_channels > 0)
		return (d);
	if (s->s_flags & SF_UNLOAD_PENDING)
		e = s->s_mark + po->po_unload_grace;
	else {
		from = s->s_mark > s->s_active ? s->s_mark : s->s_active;
		e = from + po->po_expire_after_disconnect;
	}
	return (e < d ? e : d);
}

/* Keep the session's slot no later than its next deadline. */
static void
session_schedule(struct session *s)
{
	int64_t	d;

	if (s->s_flags & SF_GONE)
		return;
	d = session_next(s);
	if (d == SESSION_NEVER) {
		session_wheel_remove(s);
		return;
	}
	/* Filed earlier than needed: it is looked at again then. */
	if ((s->s_flags & SF_WHEEL) && s->s_deadline <= d)
		return;
	session_wheel_remove(s);
	session_wheel_insert(s, d);
}

/* Whether s is on the list capacity evicts from: confirmed, not live. */
static int
session_evictable(const struct session *s)
{
	return ((s->s_flags & (SF_GONE | SF_PROVISIONAL)) == 0 &&
	    s->s_channels == 0);
}

/*
 * Mark activity now: last seen, and the end of the activity lists.  A
 * provisional session stays where it is: its lifetime runs from its birth.
 */
static void
session_touch(struct session *s, int64_t now)
{
	s->s_seen = clock_wall_ms();
	if (s->s_flags & (SF_GONE | SF_PROVISIONAL))
		return;
	s->s_active = now;
	if (session_resched == s)
		session_resched = TAILQ_NEXT(s, s_lru);
	TAILQ_REMOVE(&session_lru, s, s_lru);
	TAILQ_INSERT_TAIL(&session_lru, s, s_lru);
	s->s_order = session_next_order++;
	if (session_evictable(s)) {
		TAILQ_REMOVE(&session_evict, s, s_evict);
		TAILQ_INSERT_TAIL(&session_evict, s, s_evict);
	}
}

/* Fire unload: the last channel closed grace ago (or the session ends). */
static void
session_unload(struct session *s, int64_t now)
{
	enum session_state	old = session_state(s);

	s->s_flags &= ~SF_UNLOAD_PENDING;
	s->s_flags |= SF_UNLOADED;
	s->s_mark = now;
	session_recount(s, old);
	session_emit(s, JEVENT_UNLOAD, JREASON_DISCONNECT);
	session_persist(s, 0);
}

/* Fire expire and forget the session; references may keep it a while. */
static void
session_expire(struct session *s, enum jevent_reason reason)
{
	if (s->s_flags & SF_GONE)
		return;
	/* Unload always precedes expire for a session that was ever live. */
	if ((s->s_flags & SF_EVER_LIVE) && !(s->s_flags & SF_UNLOADED))
		session_unload(s, clock_mono_ms());
	session_emit(s, JEVENT_EXPIRE, reason);
	session_nstate[session_state(s)]--;
	session_nsessions--;
	session_wheel_remove(s);
	session_unhash(s);
	if (session_resched == s)
		session_resched = TAILQ_NEXT(s, s_lru);
	TAILQ_REMOVE(&session_lru, s, s_lru);
	if (session_evictable(s))
		TAILQ_REMOVE(&session_evict, s, s_evict);
	s->s_flags |= SF_GONE;
	session_persist(s, 1);
	session_unref(s);		/* the table's reference */
}

/* Forget a provisional session: no event, no removal, nothing stored. */
static void
session_drop(struct session *s, struct metric *why)
{
	if ((s->s_flags & SF_GONE) || !(s->s_flags & SF_PROVISIONAL))
		return;
	metrics_inc(why);
	session_nstate[SESSION_PROVISIONAL]--;
	session_nprov--;
	session_unhash(s);
	TAILQ_REMOVE(&session_prov, s, s_lru);
	s->s_flags |= SF_GONE;
	session_unref(s);		/* the table's reference */
}

/* Expire (or, when provisional, drop) the session with key now; -1 when unknown. */
int
session_expire_key(const char *key, enum jevent_reason reason)
{
	struct session	*s;

	if ((s = session_find(key)) == NULL)
		return (-1);
	if (s->s_flags & SF_PROVISIONAL)
		session_drop(s, session_m_dropped_cap);
	else
		session_expire(s, reason);
	return (0);
}

/* Act on whatever is due for the session at now, then file it again. */
static void
session_fire(struct session *s, int64_t now)
{
	const struct policy	*po = daemon_policy();
	int64_t			 from;

	for (;;) {
		if (s->s_flags & SF_GONE)
			return;
		if (po->po_expire_ttl > 0 &&
		    now >= s->s_active + po->po_expire_ttl) {
			session_expire(s, JREASON_TIME_TO_LIVE);
			return;
		}
		if (s->s_channels > 0)
			break;
		if (s->s_flags & SF_UNLOAD_PENDING) {
			if (now < s->s_mark + po->po_unload_grace)
				break;
			session_unload(s, now);
			continue;
		}
		from = s->s_mark > s->s_active ? s->s_mark : s->s_active;
		if (now >= from + po->po_expire_after_disconnect) {
			session_expire(s, JREASON_AFTER_DISCONNECT);
			return;
		}
		break;
	}
	session_schedule(s);
}

/* Whether the confirmed sessions are over capacity (with extra more). */
static int
session_over_capacity(size_t extra)
{
	long	cap = daemon_policy()->po_sessions.capacity;

	return (cap > 0 && session_nsessions + extra > (size_t)cap);
}

/* How many provisional sessions may be kept. */
static size_t
session_prov_capacity(void)
{
	const struct policy	*po = daemon_policy();

	if (po->po_sessions.provisional_capacity > 0)
		return ((size_t)po->po_sessions.provisional_capacity);
	return ((size_t)po->po_sessions.capacity * 10);
}

/*
 * Evict until one more confirmed session fits: the least recently active
 * one that is not live goes first.  0, or -1 when every session is live.
 */
static int
session_make_room(void)
{
	struct session	*victim;

	while (session_over_capacity(1)) {
		if ((victim = TAILQ_FIRST(&session_evict)) == NULL)
			return (-1);
		session_expire(victim, JREASON_CAPACITY);
	}
	return (0);
}

/* Count and say (rate-limited) that a session could not be confirmed. */
static void
session_refused(const char *key)
{
	metrics_inc(session_m_refused);
	if (log_limit(&session_log_refused))
		log_warn("session %s not tracked: all %zu sessions are live "
		    "(sessions.capacity)", key, session_nsessions);
}

/* Remember the client address (cut to fit; no snprintf on this path). */
static void
session_set_ip(struct session *s, const char *ip)
{
	size_t	n = ip != NULL ? strnlen(ip, sizeof s->s_ip - 1) : 0;

	memcpy(s->s_ip, ip != NULL ? ip : "", n);
	s->s_ip[n] = '\0';
}

/* Make a session and put it in the table (no events, no persist). */
static struct session *
session_create(const char *key, size_t len, uint64_t h, const char *ip,
    int64_t now, int provisional)
{
	struct session	*s, **b;

	s = xcalloc(1, sizeof *s + len + 1);
	memcpy(s->s_key, key, len + 1);
	s->s_keylen = (uint8_t)len;
	session_set_ip(s, ip);
	s->s_created = clock_wall_ms();
	s->s_seen = s->s_created;
	s->s_active = now;
	s->s_mark = SESSION_NO_MARK;
	s->s_refs = 1;			/* the table's */
	s->s_order = session_next_order++;
	s->s_hash = h;
	if (session_nsessions + session_nprov >= session_nbuckets * 2)
		session_grow();
	b = session_bucket(h);
	s->s_hnext = *b;
	*b = s;
	if (provisional) {
		s->s_flags |= SF_PROVISIONAL;
		TAILQ_INSERT_TAIL(&session_prov, s, s_lru);
		session_nprov++;
		session_nstate[SESSION_PROVISIONAL]++;
	} else {
		TAILQ_INSERT_TAIL(&session_lru, s, s_lru);
		TAILQ_INSERT_TAIL(&session_evict, s, s_evict);
		session_nsessions++;
		session_nstate[SESSION_IDLE]++;
	}
	return (s);
}

/*
 * Confirm a provisional session: it joins the confirmed ones (evicting
 * one that is not live when full) and is handed to the store, which the
 * caller waits for (SF_UNSTORED).  0, or -1 when every session is live:
 * then it stays provisional.
 */
static int
session_confirm(struct session *s, int64_t now)
{
	if (session_make_room() != 0) {
		session_refused(s->s_key);
		return (-1);
	}
	TAILQ_REMOVE(&session_prov, s, s_lru);
	session_nprov--;
	session_nstate[SESSION_PROVISIONAL]--;
	s->s_flags &= ~SF_PROVISIONAL;
	s->s_flags |= SF_UNSTORED;
	s->s_active = now;
	s->s_order = session_next_order++;
	TAILQ_INSERT_TAIL(&session_lru, s, s_lru);
	if (s->s_channels == 0)
		TAILQ_INSERT_TAIL(&session_evict, s, s_evict);
	session_nsessions++;
	session_nstate[session_state(s)]++;
	metrics_inc(session_m_created);
	session_persist(s, 0);
	return (0);
}

/* A request for key arrived: find or create, count, touch. */
struct session *
session_request(const char *key, const char *ip, int how, int64_t born,
    int *created)
{
	struct session	*s;
	int64_t		 now = clock_mono_ms();
	size_t		 len = strlen(key);
	uint64_t	 h = session_hash(key, len);

	*created = 0;
	if ((s = session_lookup(key, len, h)) == NULL) {
		if (how == SESSION_NEW_PROVISIONAL) {
			while (session_nprov >= session_prov_capacity() &&
			    !TAILQ_EMPTY(&session_prov))
				session_drop(TAILQ_FIRST(&session_prov),
				    session_m_dropped_cap);
			s = session_create(key, len, h, ip, now, 1);
			metrics_inc(session_m_provisional);
		} else {
			if (session_make_room() != 0) {
				session_refused(key);
				return (NULL);
			}
			s = session_create(key, len, h, ip, now, 0);
			metrics_inc(session_m_created);
			s->s_flags |= SF_UNSTORED;
		}
		if (born > 0 && born < s->s_created)
			s->s_created = born;
		*created = 1;
		s->s_requests++;
		if (!(s->s_flags & SF_PROVISIONAL))
			session_persist(s, 0);
	} else {
		if (ip != NULL && *ip != '\0' && strcmp(s->s_ip, ip) != 0)
			session_set_ip(s, ip);
		s->s_requests++;
		if (s->s_flags & SF_PROVISIONAL) {
			/* The client came back with the key: a browser. */
			s->s_seen = clock_wall_ms();
			session_confirm(s, now);
		} else {
			session_touch(s, now);
			if (now - s->s_persisted >= SESSION_PERSIST_MS)
				session_persist(s, 0);
		}
	}
	if (s->s_flags & SF_PROVISIONAL)
		session_arm_provisional();
	else
		session_schedule(s);
	return (session_ref(s));
}

/*
 * A live channel opened: the session is live; a pending unload is off.  A
 * provisional session is confirmed by it.  0, or -1 when the channel is
 * not counted (the session is gone, or cannot be confirmed).
 */
int
session_channel_open(struct session *s)
{
	enum session_state	old = session_state(s);
	int64_t			now = clock_mono_ms();

	if (s->s_flags & SF_GONE)
		return (-1);
	if ((s->s_flags & SF_PROVISIONAL) && session_confirm(s, now) != 0)
		return (-1);
	if (old == SESSION_PROVISIONAL)
		old = session_state(s);
	if (s->s_channels++ == 0)
		TAILQ_REMOVE(&session_evict, s, s_evict);
	s->s_flags |= SF_EVER_LIVE;
	s->s_flags &= ~(SF_UNLOAD_PENDING | SF_UNLOADED);
	session_touch(s, now);
	session_recount(s, old);
	if (old != SESSION_LIVE)
		session_persist(s, 0);
	session_schedule(s);
	return (0);
}

/* A live channel closed: at the last, unload is due after grace. */
void
session_channel_close(struct session *s)
{
	int64_t	now = clock_mono_ms();

	if ((s->s_flags & (SF_GONE | SF_PROVISIONAL)) || s->s_channels == 0)
		return;
	session_touch(s, now);
	if (--s->s_channels > 0)
		return;
	TAILQ_INSERT_TAIL(&session_evict, s, s_evict);
	s->s_flags |= SF_UNLOAD_PENDING;
	s->s_mark = now;
	session_nstate[SESSION_LIVE]--;
	session_nstate[SESSION_IDLE]++;
	session_persist(s, 0);
	session_schedule(s);
}

/* Put back a session from the store. */
void
session_restore(const struct session_rec *sr)
{
	const struct policy	*po = daemon_policy();
	struct session		*s;
	int64_t			 now = clock_mono_ms(), wall = clock_wall_ms();
	size_t			 len;

	if (!sessionkey_valid(sr->sr_key, strnlen(sr->sr_key,
	    sizeof sr->sr_key)) || session_find(sr->sr_key) != NULL)
		return;
	/* Restored sessions are never live: there is always a victim. */
	(void)session_make_room();
	len = strlen(sr->sr_key);
	s = session_create(sr->sr_key, len, session_hash(sr->sr_key, len),
	    sr->sr_client_ip, now, 0);
	s->s_created = sr->sr_created_at;
	s->s_seen = sr->sr_last_seen;
	s->s_active = now - (wall - sr->sr_last_seen);
	if (s->s_active > now)
		s->s_active = now;
	s->s_requests = sr->sr_requests;
	s->s_persisted = now;
	if (sr->sr_ever_live)
		s->s_flags |= SF_EVER_LIVE;
	if (sr->sr_live) {
		/* It was live when we stopped: disconnected now, grace applies. */
		s->s_flags |= SF_EVER_LIVE | SF_UNLOAD_PENDING;
		s->s_mark = now;
	} else if (sr->sr_unloaded) {
		/* Unload came about grace after the last activity. */
		s->s_flags |= SF_EVER_LIVE | SF_UNLOADED;
		s->s_mark = s->s_active + po->po_unload_grace;
		session_nstate[SESSION_IDLE]--;
		session_nstate[SESSION_UNLOADED]++;
	}
	session_schedule(s);
}

static int	session_run_wheel(int64_t, int64_t, int64_t,
		    const struct timespec *);

/* Put the sessions of a later turn back into their slot. */
static void
session_keep_back(struct session_slot *slot, struct session_slot *keep)
{
	struct session	*s;

	while ((s = LIST_FIRST(keep)) != NULL) {
		LIST_REMOVE(s, s_wheel);
		LIST_INSERT_HEAD(slot, s, s_wheel);
	}
}

/* Run what is due, for at most budget_ns of real time (0: no limit). */
static int
session_run_slice(int64_t budget_ns)
{
	struct timespec		 start;
	int64_t			 now = clock_mono_ms(), now_tick;
	int			 n;

	clock_gettime(CLOCK_MONOTONIC, &start);
	now_tick = now / SESSION_TICK_MS;
	session_running = 1;
	n = session_run_wheel(now, now_tick, budget_ns, &start);
	session_running = 0;
	return (n);
}

/* The body of session_run_slice(); 1 when it ran out of time. */
static int
session_run_wheel(int64_t now, int64_t now_tick, int64_t budget_ns,
    const struct timespec *startp)
{
	struct timespec		 start = *startp;
	struct session_slot	*slot, keep;
	struct session		*s;
	unsigned		 n = 0, visited = 0;

	/* After a reload, file every session anew, a slice at a time. */
	while ((s = session_resched) != NULL) {
		session_resched = TAILQ_NEXT(s, s_lru);
		session_wheel_remove(s);
		session_schedule(s);
		if (budget_ns > 0 && (++n & 15) == 0 &&
		    session_elapsed_ns(&start) > budget_ns)
			return (1);
	}

	while (session_over_capacity(0) && !TAILQ_EMPTY(&session_evict)) {
		session_expire(TAILQ_FIRST(&session_evict), JREASON_CAPACITY);
		if (budget_ns > 0 && (++n & 15) == 0 &&
		    session_elapsed_ns(&start) > budget_ns)
			return (1);
	}

	/* Provisional sessions, oldest first: past their time, or too many. */
	while ((s = TAILQ_FIRST(&session_prov)) != NULL) {
		if (now >= s->s_active + session_prov_ttl())
			session_drop(s, session_m_dropped_ttl);
		else if (session_nprov > session_prov_capacity())
			session_drop(s, session_m_dropped_cap);
		else
			break;
		if (budget_ns > 0 && (++n & 15) == 0 &&
		    session_elapsed_ns(&start) > budget_ns)
			return (1);
	}

	while (session_cursor <= now_tick) {
		slot = &session_slots[session_cursor & (SESSION_SLOTS - 1)];
		/*
		 * Pop from the slot; what belongs to a later turn of the wheel
		 * waits in keep, so nothing is looked at twice, and running
		 * out of time only puts keep back, never the whole slot.
		 */
		LIST_INIT(&keep);
		while ((s = LIST_FIRST(slot)) != NULL) {
			LIST_REMOVE(s, s_wheel);
			if (s->s_deadline > now) {
				LIST_INSERT_HEAD(&keep, s, s_wheel);
			} else {
				s->s_flags &= ~SF_WHEEL;
				session_nwheel--;
				session_ref(s);
				session_fire(s, now);
				session_unref(s);
			}
			if (budget_ns > 0 && (++n & 15) == 0 &&
			    session_elapsed_ns(&start) > budget_ns) {
				session_keep_back(slot, &keep);
				return (1);
			}
		}
		session_keep_back(slot, &keep);
		session_cursor++;
		if (++visited >= SESSION_SLOTS) {
			/* Every slot seen once: all that is due is done. */
			session_cursor = now_tick + 1;
			break;
		}
	}
	return (0);
}

/* Run every timer that is due, without a budget. */
void
session_run(void)
{
	while (session_run_slice(0) != 0)
		;
}

/* The wheel's timer: one slice, then again at once or at the next slot. */
static void
session_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 0, 0 };

	(void)fd;
	(void)events;
	(void)arg;
	session_armed = -1;
	if (session_frozen)
		return;
	if (session_run_slice(SESSION_SLICE_NS)) {
		session_armed = session_cursor;
		evtimer_add(session_timer, &tv);
		return;
	}
	session_arm();
}

/* Arm the timer for the first slot that holds anything. */
static void
session_arm(void)
{
	struct session	*p;
	int64_t		 t, pt;
	size_t		 i;

	if (session_timer == NULL)
		return;
	t = -1;
	if ((session_over_capacity(0) && !TAILQ_EMPTY(&session_evict)) ||
	    session_resched != NULL ||
	    session_nprov > session_prov_capacity())
		t = session_cursor;
	else if (session_nwheel > 0) {
		for (i = 0; i < SESSION_SLOTS; i++) {
			if (!LIST_EMPTY(&session_slots[(session_cursor + i) &
			    (SESSION_SLOTS - 1)])) {
				t = session_cursor + (int64_t)i;
				break;
			}
		}
	}
	if ((p = TAILQ_FIRST(&session_prov)) != NULL) {
		pt = session_tick_of(p->s_active + session_prov_ttl());
		if (pt < session_cursor)
			pt = session_cursor;
		if (t < 0 || pt < t)
			t = pt;
	}
	if (t < 0) {
		evtimer_del(session_timer);
		session_armed = -1;
		return;
	}
	session_arm_at(t);
}

/* The oldest provisional session's time must be on the timer. */
static void
session_arm_provisional(void)
{
	struct session	*p = TAILQ_FIRST(&session_prov);
	int64_t		 t;

	if (p == NULL || session_running)
		return;
	if (session_nwheel == 0 && session_armed < 0)
		session_cursor = clock_mono_ms() / SESSION_TICK_MS;
	t = session_tick_of(p->s_active + session_prov_ttl());
	if (t < session_cursor)
		t = session_cursor;
	if (session_armed < 0 || t < session_armed)
		session_arm_at(t);
}

/* Arm the timer for tick t. */
static void
session_arm_at(int64_t t)
{
	struct timeval	tv;
	int64_t		delay;

	if (session_timer == NULL || session_frozen)
		return;
	delay = t * SESSION_TICK_MS - clock_mono_ms();
	if (delay < 0)
		delay = 0;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(session_timer, &tv);
	session_armed = t;
}

/* Register the consumer of events. */
void
session_set_sink(jevent_sink fn, void *arg)
{
	session_sink = fn;
	session_sink_arg = arg;
}

/* Register the durable store's callback. */
void
session_set_persist(session_persist_cb fn, void *arg)
{
	session_persist_fn = fn;
	session_persist_arg = arg;
}

/* How many sessions the table holds. */
size_t
session_count(void)
{
	return (session_nsessions);
}

/* How many sessions are in one state. */
size_t
session_count_state(enum session_state st)
{
	return (session_nstate[st]);
}

/* The gauge of sessions in one state. */
static int64_t
session_gauge(void *arg)
{
	return ((int64_t)session_nstate[(enum session_state)(intptr_t)arg]);
}

/* After a reload, durations may be shorter: file every session anew. */
static void
session_reload(const struct policy *old, const struct policy *new, void *arg)
{
	(void)arg;
	if (old->po_unload_grace != new->po_unload_grace ||
	    old->po_expire_after_disconnect !=
	    new->po_expire_after_disconnect ||
	    old->po_expire_ttl != new->po_expire_ttl)
		session_reschedule_all();
	else
		session_arm();
}

/* File every session anew (durations changed), spread over slices. */
void
session_reschedule_all(void)
{
	session_resched = TAILQ_FIRST(&session_lru);
	if (!session_running)
		session_arm();
}

/*
 * The daemon is stopping: fire nothing more.  Channels that the shutdown
 * closes stay "unload pending" in the store, so the next start applies
 * grace to them, as SPEC.md asks for sessions live at the stop.
 */
static void
session_stop(void *arg)
{
	(void)arg;
	session_frozen = 1;
	if (session_timer != NULL)
		evtimer_del(session_timer);
	session_armed = -1;
}

/* Set up the table for the current policy. */
int
session_init(char **cause)
{
	static const char	*reasons[] = { "disconnect", "after_disconnect",
	    "time_to_live", "capacity", "admin" };
	long			 cap = daemon_policy()->po_sessions.capacity;
	char			 labels[64];
	size_t			 i;

	(void)cause;
	siphash_key(session_sipkey);

	/* Sized for both capacities up front: no rehash stall under load. */
	session_nbuckets = 1024;
	while (session_nbuckets < (size_t)cap + session_prov_capacity() &&
	    session_nbuckets < (1 << 22))
		session_nbuckets *= 2;
	session_buckets = xcalloc(session_nbuckets, sizeof *session_buckets);
	session_slots = xcalloc(SESSION_SLOTS, sizeof *session_slots);
	session_cursor = clock_mono_ms() / SESSION_TICK_MS;
	session_nwheel = 0;
	session_armed = -1;
	if (daemon_base() != NULL)
		session_timer = evtimer_new(daemon_base(), session_timer_cb,
		    NULL);

	session_m_created = metrics_counter("janitor_sessions_created_total",
	    NULL, "Sessions confirmed (created durable, or promoted).");
	session_m_provisional = metrics_counter(
	    "janitor_sessions_provisional_total", NULL,
	    "Sessions created provisional (in memory, or only in the cookie "
	    "issued, until confirmed).");
	session_m_dropped_ttl = metrics_counter(
	    "janitor_sessions_provisional_dropped_total", "reason=\"ttl\"",
	    "Provisional sessions dropped unconfirmed, by reason.");
	session_m_dropped_cap = metrics_counter(
	    "janitor_sessions_provisional_dropped_total",
	    "reason=\"capacity\"",
	    "Provisional sessions dropped unconfirmed, by reason.");
	session_m_refused = metrics_counter("janitor_sessions_refused_total",
	    "reason=\"capacity\"",
	    "Sessions not made or not confirmed, so requests went untracked, "
	    "by reason.");
	session_m_unloads = metrics_counter("janitor_unloads_total", NULL,
	    "Sessions unloaded: the last live channel closed.");
	for (i = JREASON_AFTER_DISCONNECT; i <= JREASON_ADMIN; i++) {
		snprintf(labels, sizeof labels, "reason=\"%s\"", reasons[i]);
		session_m_expired[i] = metrics_counter(
		    "janitor_expirations_total", labels,
		    "Sessions expired, by reason.");
	}
	metrics_gauge_func("janitor_sessions", "state=\"idle\"",
	    "Sessions tracked, by state.", session_gauge,
	    (void *)(intptr_t)SESSION_IDLE);
	metrics_gauge_func("janitor_sessions", "state=\"live\"",
	    "Sessions tracked, by state.", session_gauge,
	    (void *)(intptr_t)SESSION_LIVE);
	metrics_gauge_func("janitor_sessions", "state=\"unloaded\"",
	    "Sessions tracked, by state.", session_gauge,
	    (void *)(intptr_t)SESSION_UNLOADED);
	metrics_gauge_func("janitor_sessions", "state=\"provisional\"",
	    "Sessions tracked, by state.", session_gauge,
	    (void *)(intptr_t)SESSION_PROVISIONAL);
	session_frozen = 0;
	daemon_on_reload(session_reload, NULL);
	daemon_on_stop(session_stop, NULL);
	sessionapi_init();
	sessionhook_init();
	return (0);
}

/* Forget every session without events. */
void
session_free(void)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&session_lru)) != NULL) {
		TAILQ_REMOVE(&session_lru, s, s_lru);
		s->s_flags |= SF_GONE;
		session_unref(s);
	}
	while ((s = TAILQ_FIRST(&session_prov)) != NULL) {
		TAILQ_REMOVE(&session_prov, s, s_lru);
		s->s_flags |= SF_GONE;
		session_unref(s);
	}
	TAILQ_INIT(&session_evict);
	free(session_buckets);
	session_buckets = NULL;
	session_nbuckets = 0;
	free(session_slots);
	session_slots = NULL;
	session_nsessions = session_nwheel = session_nprov = 0;
	session_resched = NULL;
	memset(session_nstate, 0, sizeof session_nstate);
	if (session_timer != NULL)
		event_free(session_timer);
	session_timer = NULL;
	session_armed = -1;
	session_sink = NULL;
	session_persist_fn = NULL;
	proxy_set_hooks(NULL);
}
