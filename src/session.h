/*
 * session.h -- the session table and the state machine of SPEC.md
 * "Session life", with its timers.
 *
 *   first request with a new key -> provisional -> (its client returns)
 *   idle -> live (>= 1 channel) -> idle ...
 *   grace after the last channel closed: unload (once per occurrence)
 *   after_disconnect after unload (or after the last request, for a session
 *   never live), time_to_live after the last activity, capacity (least
 *   recently active first, never a live one), admin: expire (once), the
 *   session is gone.
 *
 * A session made by a request starts provisional (memory only, no events,
 * dropped after sessions.provisional_ttl) unless told otherwise, and is
 * confirmed when its client comes back with the key or opens a live
 * channel.
 *
 * Events go to one registered sink; the durable store follows the table
 * through the persist callback.  Time comes from clock_mono_ms(), so tests
 * drive the machine with the fake clock and session_run().
 */
#ifndef JANITOR_SESSION_H
#define JANITOR_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"

struct session;

/* A session as the durable store keeps it. */
struct session_rec {
	char		sr_key[SESSION_KEY_MAX + 1];
	int64_t		sr_created_at, sr_last_seen;	/* wall ms */
	char		sr_client_ip[64];
	uint64_t	sr_requests;
	int		sr_live;	/* had >= 1 live channel or unload pending */
	int		sr_ever_live;
	int		sr_unloaded;
};

/*
 * Told about every change worth keeping: creation, live/idle transitions,
 * unload, last_seen (at most once per 10 s per session) and expiry
 * (gone = 1, the last call for that session).
 */
typedef void (*session_persist_cb)(const struct session_rec *, int gone,
    void *arg);

/* The state as the admin API and the metrics name it. */
enum session_state {
	SESSION_IDLE,
	SESSION_LIVE,
	SESSION_UNLOADED,
	SESSION_PROVISIONAL,	/* not confirmed yet: memory only */
};

/* How session_request() makes a session it does not find. */
#define SESSION_NEW_PROVISIONAL	0
#define SESSION_NEW_CONFIRMED	1

/* Set up the table for the current policy; registers metrics and routes. */
int		 session_init(char **cause);

/* Forget every session without events (at exit; the store keeps them). */
void		 session_free(void);

/* Register the consumer of events; without one they are logged. */
void		 session_set_sink(jevent_sink, void *arg);

/* Register the durable store's callback. */
void		 session_set_persist(session_persist_cb, void *arg);

/*
 * Put back a session from the store, before listening.  One that was live
 * counts as disconnected now (grace applies); an unloaded one expires
 * after_disconnect after its unload.  Call in ascending last_seen order so
 * that capacity evicts the right ones.
 */
void		 session_restore(const struct session_rec *);

/*
 * A request for key arrived from client_ip: find or create the session,
 * count the request and mark activity.  A new session is made as how says
 * (SESSION_NEW_*), having begun at born (wall ms; 0 or later than now:
 * now); a provisional one found is confirmed.  Returns a reference the
 * caller drops with session_unref(), *created telling whether it is new;
 * or NULL when a confirmed session was needed and none can be made
 * because every session is live (the request goes untracked).
 */
struct session	*session_request(const char *key, const char *client_ip,
		    int how, int64_t born, int *created);

/* Take or drop a reference; a session that is gone is freed at the last. */
struct session	*session_ref(struct session *);
void		 session_unref(struct session *);

/*
 * A live channel of the session opened (confirming a provisional one) or
 * closed.  Open returns 0, or -1 when the channel is not counted: the
 * session is gone or cannot be confirmed; then do not close it either.
 */
int		 session_channel_open(struct session *);
void		 session_channel_close(struct session *);

/* Expire the session with key now (reason admin; a provisional one is
 * dropped); -1 when unknown. */
int		 session_expire_key(const char *key, enum jevent_reason);

/* Look a session up without touching it; NULL when unknown. */
struct session	*session_find(const char *key);

/*
 * Walk the confirmed sessions from the most recently active one (or the
 * provisional ones from the newest): session_newest() and then
 * session_older() until NULL.  Along a list session_order() descends
 * strictly; a session that is touched meanwhile moves to the front with a
 * higher order.  session_older() of a session that is gone is NULL.
 */
struct session	*session_newest(int provisional);
struct session	*session_older(struct session *);
uint64_t	 session_order(const struct session *);

/* Accessors. */
const char	*session_key(const struct session *);
enum session_state session_state(const struct session *);
const char	*session_state_name(enum session_state);
unsigned	 session_channels(const struct session *);
int64_t		 session_created(const struct session *);	/* wall ms */
int		 session_gone(const struct session *);
void		 session_get_rec(const struct session *, struct session_rec *);

/*
 * Whether a session made by session_request() is known to be committed to
 * the store (restored ones are); set by whoever waited for the commit.
 */
int		 session_stored(const struct session *);
void		 session_set_stored(struct session *);

/* How many confirmed sessions the table holds, and how many in a state. */
size_t		 session_count(void);
size_t		 session_count_state(enum session_state);

/*
 * Run every timer that is due by clock_mono_ms() and evict over capacity,
 * without a time budget (tests; the daemon runs them from its timer in
 * slices of a few milliseconds).
 */
void		 session_run(void);

/*
 * File every session anew after grace, after_disconnect or time_to_live
 * changed (a reload does it); the work is spread over timer slices.
 */
void		 session_reschedule_all(void);


#endif
