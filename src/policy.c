/*
 * policy.c -- the actions on unload and expire.
 *
 * session.c calls policy_event() for every event it generates and
 * policy_persist() for every change to a session's durable part, both from
 * the same loop callback; store.c commits the two together at the end of
 * the tick, so a state change and its consequences (outbox message,
 * pending removal) are durable together.
 *
 * A removal is recorded as pending before it is handed to fsutil's worker
 * and forgotten when the worker reports back, so a removal interrupted by a
 * crash runs again at the next start.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "session.h"
#include "store.h"
#include "webhook.h"

static struct metric	*policy_m_refused;
static int		 policy_attached;

/* A flood of expiries must not become a flood of log lines. */
static struct log_limit	 policy_log_events[2] = {
	LOG_LIMIT_INIT("session unloads", LOG_LEVEL_INFO),
	LOG_LIMIT_INIT("session expiries", LOG_LEVEL_INFO),
};

static void	policy_retry_cb(evutil_socket_t, short, void *);

/* Whether key is a valid session key. */
int
policy_key_valid(const char *key)
{
	size_t	n;

	for (n = 0; key[n] != '\0'; n++) {
		if (n >= SESSION_KEY_MAX)
			return (0);
		if (!((key[n] >= 'A' && key[n] <= 'Z') ||
		    (key[n] >= 'a' && key[n] <= 'z') ||
		    (key[n] >= '0' && key[n] <= '9') ||
		    key[n] == '_' || key[n] == '-'))
			return (0);
	}
	return (n > 0);
}

/* Replace every {session} in tmpl by key. */
int
policy_expand(const char *tmpl, const char *key, char *out, size_t len)
{
	static const char	 tag[] = "{session}";
	const char		*p, *q;
	size_t			 o = 0, n, klen;

	if (!policy_key_valid(key) || len == 0)
		return (-1);
	klen = strlen(key);
	for (p = tmpl; *p != '\0'; ) {
		if (strncmp(p, tag, sizeof tag - 1) == 0) {
			q = key;
			n = klen;
			p += sizeof tag - 1;
		} else {
			q = p;
			n = 1;
			p++;
		}
		if (o + n >= len)
			return (-1);
		memcpy(out + o, q, n);
		o += n;
	}
	out[o] = '\0';

	/* Absolute, and no "." or ".." component: never outside its root. */
	if (out[0] != '/' || strcmp(out, "/") == 0)
		return (-1);
	for (p = out; *p != '\0'; p = q) {
		while (*p == '/')
			p++;
		q = strchr(p, '/');
		if (q == NULL)
			q = p + strlen(p);
		if ((q - p == 1 && p[0] == '.') ||
		    (q - p == 2 && p[0] == '.' && p[1] == '.'))
			return (-1);
	}
	return (0);
}

/* fsutil's report on one removal; runs on the loop. */
static void
policy_removed_cb(const char *path, int error, void *arg)
{
	int64_t	id = (int64_t)(intptr_t)arg;

	/* fsutil counts removals (janitor_removals_total) itself. */
	store_removal_done(id);
	if (error != 0) {
		log_error("cannot remove %s: %s", path, strerror(error));
		return;
	}
	log_debug("removed %s", path);
}

/* A removal the worker could not take yet (it starts after us). */
struct policy_rm {
	int64_t			 pr_id;
	char			*pr_path;
	int64_t			 pr_not_before;
	struct policy_rm	*pr_next;
};

static struct policy_rm	*policy_deferred;
static struct event	*policy_retry_ev;

/* Hand a removal to the worker, or keep it for a little later. */
static void
policy_submit(int64_t id, const char *path, int64_t not_before)
{
	struct policy_rm	*pr;
	struct timeval		 tv = { 0, 100 * 1000 };

	if (fsutil_remove_async(path, not_before, policy_removed_cb,
	    (void *)(intptr_t)id) == 0)
		return;
	/*
	 * The worker is not running: at start-up it starts after the
	 * policy (sessions restored now may already expire), when stopping
	 * it is gone.  The removal stays pending in the store either way.
	 */
	pr = xcalloc(1, sizeof *pr);
	pr->pr_id = id;
	pr->pr_path = xstrdup(path);
	pr->pr_not_before = not_before;
	pr->pr_next = policy_deferred;
	policy_deferred = pr;
	if (policy_retry_ev == NULL &&
	    (policy_retry_ev = evtimer_new(daemon_base(), policy_retry_cb,
	    NULL)) == NULL)
		fatal_oom();
	if (!evtimer_pending(policy_retry_ev, NULL))
		evtimer_add(policy_retry_ev, &tv);
}

/* Try the deferred removals again. */
static void
policy_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct policy_rm	*pr, *next;

	(void)fd;
	(void)events;
	(void)arg;
	pr = policy_deferred;
	policy_deferred = NULL;
	for (; pr != NULL; pr = next) {
		next = pr->pr_next;
		policy_submit(pr->pr_id, pr->pr_path, pr->pr_not_before);
		free(pr->pr_path);
		free(pr);
	}
}

/*
 * Record a removal as pending and hand it to the worker: only what was
 * made since the session began is removed (not_before), so a key that
 * names a directory the app had before never gets it removed.
 */
static void
policy_remove(const char *path, int64_t not_before)
{
	policy_submit(store_removal_add(path, not_before), path, not_before);
}

/* The event sink. */
void
policy_event(const struct jevent *ev, void *arg)
{
	const struct policy	*po = daemon_policy();
	const struct action	*ac;
	char			 path[4096];
	size_t			 i, nremove = 0;

	(void)arg;
	ac = ev->je_type == JEVENT_UNLOAD ? &po->po_unload : &po->po_expire;
	if (!policy_key_valid(ev->je_session)) {
		/* session.c only accepts valid keys; refuse to act otherwise. */
		log_error("%s with an invalid session key ignored",
		    jevent_type_name(ev->je_type));
		metrics_inc(policy_m_refused);
		return;
	}
	for (i = 0; i < ac->ac_nremove; i++) {
		if (policy_expand(ac->ac_remove[i], ev->je_session, path,
		    sizeof path) != 0) {
			log_error("%s %s: template %s does not give a clean "
			    "path", jevent_type_name(ev->je_type),
			    ev->je_session, ac->ac_remove[i]);
			metrics_inc(policy_m_refused);
			continue;
		}
		policy_remove(path, ev->je_created_at);
		nremove++;
	}
	if (ac->ac_webhook != NULL && *ac->ac_webhook != '\0')
		webhook_enqueue(ev, ac->ac_webhook);
	/* The same words session.c logs when no sink is attached. */
	if (log_enabled(LOG_LEVEL_INFO) && log_limit(
	    &policy_log_events[ev->je_type == JEVENT_UNLOAD ? 0 : 1]))
		log_info("session %s: %s (%s): %zu removal%s, %s",
		    ev->je_session, jevent_type_name(ev->je_type),
		    jevent_reason_name(ev->je_reason), nremove,
		    nremove == 1 ? "" : "s", ac->ac_webhook != NULL ?
		    "webhook queued" : "no webhook");
}

/* session.c's persistence callback: queue the durable part for the store. */
static void
policy_persist(const struct session_rec *sr, int gone, void *arg)
{
	(void)arg;
	if (gone)
		store_session_del(sr->sr_key);
	else
		store_session_put(sr);
}

/* Hand one stored session back to the session table. */
static void
policy_restore_cb(const struct session_rec *sr, void *arg)
{
	size_t	*n = arg;

	if (!policy_key_valid(sr->sr_key)) {
		store_session_del(sr->sr_key);
		return;
	}
	session_restore(sr);
	(*n)++;
}

/* Run again a removal that was pending when the last run ended. */
static void
policy_resume_cb(int64_t id, const char *path, int64_t not_before, void *arg)
{
	size_t	*n = arg;

	policy_submit(id, path, not_before);
	(*n)++;
}

/* Metrics and pending removals. */
int
policy_setup(char **cause)
{
	size_t	n = 0;

	policy_m_refused = metrics_counter("janitor_removals_refused_total",
	    NULL, "Removals not attempted: invalid key or unclean path.");
	if (store_load_removals(policy_resume_cb, &n, cause) != 0)
		return (-1);
	if (n > 0)
		log_info("%zu pending removals resumed", n);
	return (0);
}

/* Set up, attach to the session table and restore stored sessions. */
int
policy_init(char **cause)
{
	size_t	n = 0;

	if (policy_setup(cause) != 0)
		return (-1);
	session_set_sink(policy_event, NULL);
	session_set_persist(policy_persist, NULL);
	policy_attached = 1;
	if (store_load_sessions(policy_restore_cb, &n, cause) != 0)
		return (-1);
	if (n > 0)
		log_info("%zu sessions restored from the state file", n);
	return (0);
}

/*
 * Free the removals not handed over (they stay pending in the store).  The
 * sink and persistence stay attached: the session
 * table may still persist its final state while it is freed, and the store
 * closes after it.
 */
void
policy_free(void)
{
	struct policy_rm	*pr, *next;

	for (pr = policy_deferred; pr != NULL; pr = next) {
		next = pr->pr_next;
		free(pr->pr_path);
		free(pr);
	}
	policy_deferred = NULL;
	if (policy_retry_ev != NULL)
		event_free(policy_retry_ev);
	policy_retry_ev = NULL;
	policy_attached = 0;
}
