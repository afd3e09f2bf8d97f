/*
 * test_session.c -- the state machine of "Session life" driven by the fake
 * clock: every transition, grace cancel, each expiry reason, capacity
 * order, exactly-once events, the store callbacks and restore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define T0	1000000LL		/* mono ms at the start */
#define W0	1764000000000LL		/* wall ms at the start */

struct seen {
	enum jevent_type	type;
	enum jevent_reason	reason;
	char			key[SESSION_KEY_MAX + 1];
	int64_t			at;
};

static struct policy	*po;
static struct seen	 events[4096];
static int		 nevents;
static int		 npersist, npersist_gone;
static struct session_rec last_rec;

static void
sink(const struct jevent *je, void *arg)
{
	(void)arg;
	ck_assert_int_lt(nevents, 4096);
	events[nevents].type = je->je_type;
	events[nevents].reason = je->je_reason;
	snprintf(events[nevents].key, sizeof events[nevents].key, "%s",
	    je->je_session);
	events[nevents].at = clock_mono_ms();
	nevents++;
}

static void
persist(const struct session_rec *sr, int gone, void *arg)
{
	(void)arg;
	npersist++;
	npersist_gone += gone;
	last_rec = *sr;
}

static void
setup(void)
{
	char	*cause = NULL;

	clock_fake_set(T0, W0);
	po = calloc(1, sizeof *po);
	po->po_refcnt = 1;
	po->po_unload_grace = 5 * SEC;
	po->po_expire_after_disconnect = 60 * MIN;
	po->po_expire_ttl = 0;
	po->po_sessions.capacity = 10000;
	po->po_sessions.provisional_ttl = 2 * MIN;
	daemon_init(NULL, po);
	ck_assert_int_eq(session_init(&cause), 0);
	session_set_sink(sink, NULL);
	session_set_persist(persist, NULL);
	nevents = npersist = npersist_gone = 0;
}

static void
teardown(void)
{
	session_free();
	metrics_free();
	daemon_init(NULL, NULL);
	daemon_free();
	free(po);
	clock_fake_off();
}

/* Move the fake clock and run what is due. */
static void
advance(int64_t ms)
{
	clock_fake_advance(ms);
	session_run();
}

/* A request for key; returns the referenced session. */
static struct session *
req(const char *key)
{
	int	created;

	return (session_request(key, "192.0.2.1", SESSION_NEW_CONFIRMED, 0,
	    &created));
}

/* A request whose reference is dropped at once. */
static void
req1(const char *key)
{
	session_unref(req(key));
}

START_TEST(test_create_idle)
{
	struct session	*s;
	int		 created;

	s = session_request("abc", "192.0.2.1", SESSION_NEW_CONFIRMED, 0,
	    &created);
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(session_state(s), SESSION_IDLE);
	ck_assert_str_eq(session_key(s), "abc");
	ck_assert_int_eq(session_count(), 1);
	ck_assert_int_eq(session_count_state(SESSION_IDLE), 1);
	ck_assert_int_eq(npersist, 1);
	ck_assert_str_eq(last_rec.sr_key, "abc");
	ck_assert_int_eq(last_rec.sr_created_at, W0);
	ck_assert_int_eq(last_rec.sr_requests, 1);
	ck_assert_str_eq(last_rec.sr_client_ip, "192.0.2.1");
	session_unref(s);
	s = session_request("abc", "192.0.2.9", SESSION_NEW_CONFIRMED, 0,
	    &created);
	ck_assert_int_eq(created, 0);
	ck_assert_ptr_eq(session_find("abc"), s);
	ck_assert_ptr_null(session_find("abd"));
	session_unref(s);
	ck_assert_int_eq(session_count(), 1);
}
END_TEST

START_TEST(test_never_live_expires_after_last_request)
{
	req1("plain");
	advance(30 * MIN);
	req1("plain");			/* activity moves the expiry */
	advance(59 * MIN);
	ck_assert_int_eq(nevents, 0);
	ck_assert_ptr_nonnull(session_find("plain"));
	advance(1 * MIN + 100);
	ck_assert_int_eq(nevents, 1);	/* no unload: never live */
	ck_assert_int_eq(events[0].type, JEVENT_EXPIRE);
	ck_assert_int_eq(events[0].reason, JREASON_AFTER_DISCONNECT);
	ck_assert_str_eq(events[0].key, "plain");
	ck_assert_ptr_null(session_find("plain"));
	ck_assert_int_eq(session_count(), 0);
	ck_assert_int_eq(npersist_gone, 1);
	advance(10 * MIN);
	ck_assert_int_eq(nevents, 1);
}
END_TEST

START_TEST(test_live_unload_expire)
{
	struct session	*s = req("tab");

	session_channel_open(s);
	ck_assert_int_eq(session_state(s), SESSION_LIVE);
	ck_assert_int_eq(session_count_state(SESSION_LIVE), 1);
	ck_assert_int_eq(last_rec.sr_live, 1);
	advance(3 * 60 * MIN);		/* live: nothing expires */
	ck_assert_int_eq(nevents, 0);
	session_channel_close(s);
	ck_assert_int_eq(session_state(s), SESSION_IDLE);
	ck_assert_int_eq(last_rec.sr_live, 1);	/* unload pending */
	advance(4900);
	ck_assert_int_eq(nevents, 0);
	advance(200);
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(events[0].type, JEVENT_UNLOAD);
	ck_assert_int_eq(events[0].reason, JREASON_DISCONNECT);
	ck_assert_int_eq(session_state(s), SESSION_UNLOADED);
	ck_assert_int_eq(session_count_state(SESSION_UNLOADED), 1);
	ck_assert_int_eq(last_rec.sr_unloaded, 1);
	ck_assert_int_eq(last_rec.sr_live, 0);
	advance(59 * MIN);
	ck_assert_int_eq(nevents, 1);
	advance(1 * MIN);
	ck_assert_int_eq(nevents, 2);
	ck_assert_int_eq(events[1].type, JEVENT_EXPIRE);
	ck_assert_int_eq(events[1].reason, JREASON_AFTER_DISCONNECT);
	ck_assert_int_eq(session_gone(s), 1);
	/* The exchange's reference outlives the table's; closing is a no-op. */
	session_channel_close(s);
	session_unref(s);
	advance(60 * MIN);
	ck_assert_int_eq(nevents, 2);
	ck_assert_int_eq(session_count(), 0);
	ck_assert_int_eq(session_count_state(SESSION_IDLE) +
	    session_count_state(SESSION_LIVE) +
	    session_count_state(SESSION_UNLOADED), 0);
}
END_TEST

START_TEST(test_grace_reconnect_cancels_unload)
{
	struct session	*s = req("reload");

	session_channel_open(s);
	advance(1 * SEC);
	session_channel_close(s);	/* the tab reloads */
	advance(3 * SEC);
	session_channel_open(s);	/* and reconnects within grace */
	advance(60 * SEC);
	ck_assert_int_eq(nevents, 0);
	ck_assert_int_eq(session_state(s), SESSION_LIVE);
	session_channel_close(s);	/* now it is closed for good */
	advance(4 * SEC);
	ck_assert_int_eq(nevents, 0);
	advance(1 * SEC + 100);
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(events[0].type, JEVENT_UNLOAD);
	/* Grace is measured from the second close. */
	ck_assert_int_ge(events[0].at, T0 + 64 * SEC + 5 * SEC);
	session_unref(s);
}
END_TEST

START_TEST(test_two_channels)
{
	struct session	*a = req("two"), *b = req("two");

	ck_assert_ptr_eq(a, b);
	session_channel_open(a);
	session_channel_open(b);
	ck_assert_int_eq(session_channels(a), 2);
	session_channel_close(a);
	advance(60 * SEC);
	ck_assert_int_eq(nevents, 0);
	ck_assert_int_eq(session_state(a), SESSION_LIVE);
	session_channel_close(b);
	advance(5 * SEC);
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(events[0].type, JEVENT_UNLOAD);
	/* Unloaded, then live again: a second occurrence unloads again. */
	session_channel_open(a);
	ck_assert_int_eq(session_state(a), SESSION_LIVE);
	session_channel_close(a);
	advance(5 * SEC);
	ck_assert_int_eq(nevents, 2);
	ck_assert_int_eq(events[1].type, JEVENT_UNLOAD);
	session_unref(a);
	session_unref(b);
}
END_TEST

START_TEST(test_grace_zero_after_disconnect_zero)
{
	struct session	*s = req("quick");

	po->po_unload_grace = 0;
	po->po_expire_after_disconnect = 0;
	session_channel_open(s);
	session_channel_close(s);
	advance(100);
	ck_assert_int_eq(nevents, 2);
	ck_assert_int_eq(events[0].type, JEVENT_UNLOAD);
	ck_assert_int_eq(events[1].type, JEVENT_EXPIRE);
	ck_assert_int_eq(events[1].reason, JREASON_AFTER_DISCONNECT);
	session_unref(s);
}
END_TEST

START_TEST(test_time_to_live)
{
	struct session	*s, *p;

	po->po_expire_ttl = 10 * MIN;
	s = req("ttl-live");
	p = req("ttl-plain");
	session_channel_open(s);
	advance(5 * MIN);
	req1("ttl-plain");		/* activity: p lives 10 min from here */
	advance(5 * MIN);
	/* Live, but its last activity is 10 minutes old: unload, expire. */
	ck_assert_int_eq(nevents, 2);
	ck_assert_int_eq(events[0].type, JEVENT_UNLOAD);
	ck_assert_str_eq(events[0].key, "ttl-live");
	ck_assert_int_eq(events[1].type, JEVENT_EXPIRE);
	ck_assert_int_eq(events[1].reason, JREASON_TIME_TO_LIVE);
	ck_assert_int_eq(session_gone(s), 1);
	ck_assert_int_eq(session_count_state(SESSION_LIVE), 0);
	session_channel_close(s);
	advance(5 * MIN);
	ck_assert_int_eq(nevents, 3);
	ck_assert_str_eq(events[2].key, "ttl-plain");
	ck_assert_int_eq(events[2].reason, JREASON_TIME_TO_LIVE);
	session_unref(s);
	session_unref(p);
}
END_TEST

START_TEST(test_capacity_order)
{
	po->po_sessions.capacity = 3;
	req1("a");
	advance(SEC);
	req1("b");
	advance(SEC);
	req1("c");
	advance(SEC);
	req1("a");			/* a is now the most recent */
	req1("d");			/* b goes: least recently active */
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(events[0].type, JEVENT_EXPIRE);
	ck_assert_int_eq(events[0].reason, JREASON_CAPACITY);
	ck_assert_str_eq(events[0].key, "b");
	req1("e");
	ck_assert_int_eq(nevents, 2);
	ck_assert_str_eq(events[1].key, "c");
	ck_assert_int_eq(session_count(), 3);
	ck_assert_ptr_nonnull(session_find("a"));
	ck_assert_ptr_nonnull(session_find("d"));
	ck_assert_ptr_nonnull(session_find("e"));
	/* A smaller capacity after a reload is enforced by the timer run. */
	po->po_sessions.capacity = 1;
	advance(100);
	ck_assert_int_eq(session_count(), 1);
	ck_assert_ptr_nonnull(session_find("e"));
	ck_assert_str_eq(events[2].key, "a");
	ck_assert_str_eq(events[3].key, "d");
}
END_TEST

START_TEST(test_capacity_never_live)
{
	struct session	*a, *c, *p;
	int		 created;

	po->po_sessions.capacity = 2;
	a = req("a");
	ck_assert_int_eq(session_channel_open(a), 0);
	advance(SEC);
	req1("b");
	advance(SEC);
	/* a is the least recently active, but live: b goes. */
	c = req("c");
	ck_assert_int_eq(nevents, 1);
	ck_assert_str_eq(events[0].key, "b");
	ck_assert_int_eq(events[0].reason, JREASON_CAPACITY);
	ck_assert_int_eq(session_channel_open(c), 0);
	/* Every session live: a new one is not made, nothing is evicted. */
	ck_assert_ptr_null(session_request("d", "192.0.2.1",
	    SESSION_NEW_CONFIRMED, 0, &created));
	ck_assert_ptr_null(session_find("d"));
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(metrics_value(metrics_counter(
	    "janitor_sessions_refused_total", "reason=\"capacity\"", NULL)), 1);
	/* A provisional one is made, but stays so: no channel either. */
	p = session_request("p", "192.0.2.1", SESSION_NEW_PROVISIONAL, 0,
	    &created);
	ck_assert_ptr_nonnull(p);
	session_unref(p);
	p = session_request("p", "192.0.2.1", SESSION_NEW_PROVISIONAL, 0,
	    &created);
	ck_assert_int_eq(session_state(p), SESSION_PROVISIONAL);
	ck_assert_int_eq(session_channel_open(p), -1);
	session_channel_close(p);	/* a channel not counted: nothing */
	ck_assert_int_eq(session_state(p), SESSION_PROVISIONAL);
	ck_assert_int_eq(nevents, 1);
	/* Once a goes idle, it is the one to make room. */
	session_channel_close(a);
	session_unref(a);
	advance(5 * SEC);		/* grace: unloaded */
	req1("p");
	ck_assert_int_eq(session_state(p), SESSION_IDLE);
	ck_assert_ptr_null(session_find("a"));
	ck_assert_ptr_nonnull(session_find("c"));
	session_unref(p);
	session_channel_close(c);
	session_unref(c);
}
END_TEST

/* A request that makes a provisional session; returns the reference. */
static struct session *
preq(const char *key)
{
	int	created;

	return (session_request(key, "192.0.2.1", SESSION_NEW_PROVISIONAL, 0,
	    &created));
}

START_TEST(test_provisional_confirmed)
{
	struct session	*s;

	s = preq("pv");
	ck_assert_int_eq(session_state(s), SESSION_PROVISIONAL);
	ck_assert_int_eq(session_count(), 0);
	ck_assert_int_eq(session_count_state(SESSION_PROVISIONAL), 1);
	ck_assert_int_eq(npersist, 0);	/* memory only */
	ck_assert_int_eq(session_stored(s), 1);	/* nothing to wait for */
	ck_assert_ptr_null(session_newest(0));
	ck_assert_ptr_eq(session_newest(1), s);
	session_unref(s);
	/* The client came back with the key: confirmed, and stored. */
	advance(10 * SEC);
	s = preq("pv");
	ck_assert_int_eq(session_state(s), SESSION_IDLE);
	ck_assert_int_eq(session_count(), 1);
	ck_assert_int_eq(session_count_state(SESSION_PROVISIONAL), 0);
	ck_assert_int_eq(npersist, 1);
	ck_assert_str_eq(last_rec.sr_key, "pv");
	ck_assert_int_eq(last_rec.sr_requests, 2);
	ck_assert_int_eq(last_rec.sr_created_at, W0);
	ck_assert_int_eq(session_stored(s), 0);	/* its commit is awaited */
	ck_assert_ptr_eq(session_newest(0), s);
	ck_assert_int_eq(metrics_value(metrics_counter(
	    "janitor_sessions_created_total", NULL, NULL)), 1);
	ck_assert_int_eq(metrics_value(metrics_counter(
	    "janitor_sessions_provisional_total", NULL, NULL)), 1);
	session_unref(s);
	/* From now on it lives as any other. */
	advance(60 * MIN + SEC);
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(events[0].reason, JREASON_AFTER_DISCONNECT);

	/* A live channel confirms too. */
	s = preq("ws");
	ck_assert_int_eq(session_channel_open(s), 0);
	ck_assert_int_eq(session_state(s), SESSION_LIVE);
	ck_assert_int_eq(session_count_state(SESSION_LIVE), 1);
	session_channel_close(s);
	session_unref(s);
}
END_TEST

START_TEST(test_provisional_dropped)
{
	struct session	*s;
	char		 key[16];
	int		 i;

	po->po_sessions.provisional_ttl = 2 * MIN;
	s = preq("gone");
	advance(2 * MIN - SEC);
	ck_assert_ptr_nonnull(session_find("gone"));
	advance(SEC + 200);
	/* Dropped without a word: no event, nothing stored. */
	ck_assert_ptr_null(session_find("gone"));
	ck_assert_int_eq(session_gone(s), 1);
	ck_assert_int_eq(nevents, 0);
	ck_assert_int_eq(npersist, 0);
	ck_assert_int_eq(metrics_value(metrics_counter(
	    "janitor_sessions_provisional_dropped_total", "reason=\"ttl\"",
	    NULL)), 1);
	session_unref(s);
	/* The same key again starts over. */
	session_unref(preq("gone"));
	ck_assert_int_eq(session_count_state(SESSION_PROVISIONAL), 1);
	session_expire_key("gone", JREASON_ADMIN);
	ck_assert_int_eq(session_count_state(SESSION_PROVISIONAL), 0);
	ck_assert_int_eq(nevents, 0);

	/* Over provisional_capacity the oldest goes first. */
	po->po_sessions.provisional_capacity = 3;
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof key, "f%d", i);
		session_unref(preq(key));
	}
	ck_assert_int_eq(session_count_state(SESSION_PROVISIONAL), 3);
	ck_assert_ptr_null(session_find("f0"));
	ck_assert_ptr_null(session_find("f1"));
	ck_assert_ptr_nonnull(session_find("f4"));
	/* Confirmed sessions are never touched by a flood of these. */
	po->po_sessions.capacity = 1;
	req1("real");
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof key, "g%d", i);
		session_unref(preq(key));
	}
	ck_assert_ptr_nonnull(session_find("real"));
	ck_assert_int_eq(nevents, 0);
}
END_TEST

START_TEST(test_born)
{
	struct session	*s;
	int		 created;

	/* A session made from a cookie issued earlier began then. */
	s = session_request("ck", "192.0.2.1", SESSION_NEW_CONFIRMED,
	    W0 - 3 * MIN, &created);
	ck_assert_int_eq(session_created(s), W0 - 3 * MIN);
	session_unref(s);
	/* Not later than now, whatever the cookie says. */
	s = session_request("fut", "192.0.2.1", SESSION_NEW_CONFIRMED,
	    W0 + MIN, &created);
	ck_assert_int_eq(session_created(s), W0);
	session_unref(s);
}
END_TEST

START_TEST(test_walk_order)
{
	struct session	*s;

	req1("one");
	session_unref(preq("p1"));
	req1("two");
	req1("three");
	req1("one");
	s = session_newest(0);
	ck_assert_str_eq(session_key(s), "one");
	ck_assert_uint_gt(session_order(s),
	    session_order(session_older(s)));
	s = session_older(s);
	ck_assert_str_eq(session_key(s), "three");
	s = session_older(s);
	ck_assert_str_eq(session_key(s), "two");
	ck_assert_ptr_null(session_older(s));
	ck_assert_str_eq(session_key(session_newest(1)), "p1");
}
END_TEST

START_TEST(test_admin_expire)
{
	struct session	*s = req("adm");

	ck_assert_int_eq(session_expire_key("nope", JREASON_ADMIN), -1);
	ck_assert_int_eq(session_expire_key("adm", JREASON_ADMIN), 0);
	ck_assert_int_eq(nevents, 1);
	ck_assert_int_eq(events[0].reason, JREASON_ADMIN);
	ck_assert_int_eq(session_expire_key("adm", JREASON_ADMIN), -1);
	ck_assert_int_eq(nevents, 1);
	/* The same key again is a new session. */
	req1("adm");
	ck_assert_int_eq(session_count(), 1);
	ck_assert_ptr_ne(session_find("adm"), s);
	session_unref(s);
}
END_TEST

START_TEST(test_lazy_last_seen)
{
	int	i;

	req1("busy");
	ck_assert_int_eq(npersist, 1);
	for (i = 0; i < 25; i++) {
		advance(SEC);
		req1("busy");
	}
	/* Created, then at most one last_seen write per 10 s. */
	ck_assert_int_ge(npersist, 3);
	ck_assert_int_le(npersist, 4);
	ck_assert_int_eq(last_rec.sr_requests, 21);
}
END_TEST

START_TEST(test_restore)
{
	struct session_rec	 live, unl, idle, old;
	struct session		*s;

	memset(&live, 0, sizeof live);
	snprintf(live.sr_key, sizeof live.sr_key, "was-live");
	live.sr_created_at = W0 - 10 * MIN;
	live.sr_last_seen = W0 - 1 * MIN;
	live.sr_live = live.sr_ever_live = 1;
	live.sr_requests = 7;
	unl = live;
	snprintf(unl.sr_key, sizeof unl.sr_key, "was-unloaded");
	unl.sr_live = 0;
	unl.sr_unloaded = 1;
	unl.sr_last_seen = W0 - 30 * MIN;
	idle = live;
	snprintf(idle.sr_key, sizeof idle.sr_key, "was-idle");
	idle.sr_live = idle.sr_ever_live = 0;
	idle.sr_last_seen = W0 - 50 * MIN;
	old = idle;
	snprintf(old.sr_key, sizeof old.sr_key, "long-gone");
	old.sr_last_seen = W0 - 600 * MIN;

	session_restore(&old);
	session_restore(&idle);
	session_restore(&unl);
	session_restore(&live);
	session_restore(&live);		/* duplicates are ignored */
	ck_assert_int_eq(session_count(), 4);
	ck_assert_int_eq(session_count_state(SESSION_UNLOADED), 1);
	ck_assert_int_eq(session_count_state(SESSION_IDLE), 3);
	s = session_find("was-live");
	ck_assert_int_eq(session_state(s), SESSION_IDLE);

	advance(100);
	ck_assert_int_eq(nevents, 1);	/* long-gone, at once */
	ck_assert_str_eq(events[0].key, "long-gone");
	advance(3 * SEC);		/* within grace: no unload yet */
	ck_assert_int_eq(nevents, 1);
	advance(2 * SEC);
	ck_assert_int_eq(nevents, 2);
	ck_assert_str_eq(events[1].key, "was-live");
	ck_assert_int_eq(events[1].type, JEVENT_UNLOAD);
	/* was-idle: 60 min after its last request, 50 min ago. */
	advance(10 * MIN - 5 * SEC - 200);
	ck_assert_int_eq(nevents, 2);
	advance(300);
	ck_assert_int_eq(nevents, 3);
	ck_assert_str_eq(events[2].key, "was-idle");
	/* was-unloaded: unloaded grace after 30 min ago, expires then + 60. */
	advance(20 * MIN);
	ck_assert_int_eq(nevents, 3);
	advance(5 * SEC + 100);
	ck_assert_int_eq(nevents, 4);
	ck_assert_str_eq(events[3].key, "was-unloaded");
	ck_assert_int_eq(events[3].type, JEVENT_EXPIRE);
}
END_TEST

START_TEST(test_restore_reconnect_in_grace)
{
	struct session_rec	 live;
	struct session		*s;

	memset(&live, 0, sizeof live);
	snprintf(live.sr_key, sizeof live.sr_key, "back");
	live.sr_live = live.sr_ever_live = 1;
	live.sr_last_seen = W0;
	session_restore(&live);
	advance(2 * SEC);
	s = req("back");
	session_channel_open(s);
	advance(60 * SEC);
	ck_assert_int_eq(nevents, 0);
	session_channel_close(s);
	session_unref(s);
	advance(6 * SEC);
	ck_assert_int_eq(nevents, 1);
}
END_TEST

START_TEST(test_restore_hostile_key)
{
	struct session_rec	sr;

	memset(&sr, 0, sizeof sr);
	snprintf(sr.sr_key, sizeof sr.sr_key, "../etc");
	session_restore(&sr);
	ck_assert_int_eq(session_count(), 0);
}
END_TEST

START_TEST(test_many_expire_once)
{
	char	key[32];
	int	i, n = 200000;

	log_setup(LOG_LEVEL_WARN, 0);	/* no sink: events are logged */
	session_set_sink(NULL, NULL);
	po->po_sessions.capacity = 0;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof key, "k%d", i);
		req1(key);
		if (i % 1000 == 0)
			clock_fake_advance(7);
	}
	ck_assert_int_eq(session_count(), n);
	session_set_sink(sink, NULL);
	nevents = 0;
	advance(59 * MIN);
	ck_assert_int_eq(session_count(), n);
	/* Few enough recorded: only count. */
	session_set_sink(NULL, NULL);
	advance(2 * MIN);
	ck_assert_int_eq(session_count(), 0);
	ck_assert_int_eq(npersist_gone, n);
	log_setup(LOG_LEVEL_INFO, 0);
}
END_TEST

START_TEST(test_reload_shorter_durations)
{
	char	key[16];
	int	i;

	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "r%d", i);
		req1(key);
	}
	advance(SEC);
	/* A reload shortens after_disconnect: filed anew, they expire early. */
	po->po_expire_after_disconnect = 2 * MIN;
	session_reschedule_all();
	req1("r5");			/* touched while the walk is pending */
	session_expire_key("r7", JREASON_ADMIN);
	advance(2 * MIN - SEC - 200);
	ck_assert_int_eq(session_count(), 99);
	advance(SEC + 400);
	ck_assert_int_eq(session_count(), 0);
	ck_assert_int_eq(nevents, 100);
}
END_TEST

START_TEST(test_metrics)
{
	struct session	*s = req("m");

	session_channel_open(s);
	ck_assert_int_eq(session_count_state(SESSION_LIVE), 1);
	session_channel_close(s);
	advance(5 * SEC);
	ck_assert_int_eq(metrics_value(metrics_counter("janitor_unloads_total",
	    NULL, NULL)), 1);
	ck_assert_int_eq(metrics_value(metrics_counter(
	    "janitor_sessions_created_total", NULL, NULL)), 1);
	session_expire_key("m", JREASON_ADMIN);
	ck_assert_int_eq(metrics_value(metrics_counter(
	    "janitor_expirations_total", "reason=\"admin\"", NULL)), 1);
	ck_assert_int_eq(metrics_value(metrics_gauge("janitor_sessions",
	    "state=\"unloaded\"", NULL)), 0);
	session_unref(s);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("session");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_create_idle);
	tcase_add_test(tc, test_never_live_expires_after_last_request);
	tcase_add_test(tc, test_live_unload_expire);
	tcase_add_test(tc, test_grace_reconnect_cancels_unload);
	tcase_add_test(tc, test_two_channels);
	tcase_add_test(tc, test_grace_zero_after_disconnect_zero);
	tcase_add_test(tc, test_time_to_live);
	tcase_add_test(tc, test_capacity_order);
	tcase_add_test(tc, test_capacity_never_live);
	tcase_add_test(tc, test_provisional_confirmed);
	tcase_add_test(tc, test_provisional_dropped);
	tcase_add_test(tc, test_born);
	tcase_add_test(tc, test_walk_order);
	tcase_add_test(tc, test_admin_expire);
	tcase_add_test(tc, test_lazy_last_seen);
	tcase_add_test(tc, test_restore);
	tcase_add_test(tc, test_restore_reconnect_in_grace);
	tcase_add_test(tc, test_restore_hostile_key);
	tcase_add_test(tc, test_many_expire_once);
	tcase_add_test(tc, test_reload_shorter_durations);
	tcase_add_test(tc, test_metrics);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
