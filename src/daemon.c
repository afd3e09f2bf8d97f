/*
 * daemon.c -- the event base, the policy in force and its hand-over.
 *
 * A reload reads and checks the file in a thread (config_job.c); only the
 * finished policy comes back to the loop, where it is swapped in and the
 * reload hooks run.  A SIGHUP that arrives while a load is running starts
 * no second thread: it is remembered, and when the running load has been
 * applied (or refused), one more load starts, which sees every change made
 * up to then.  Any number of SIGHUPs during one load make one more load.
 */
#include <stdlib.h>

#include "config.h"
#include "config_job.h"
#include "daemon.h"
#include "log.h"

enum daemon_hook_kind {
	HOOK_RELOAD,
	HOOK_STOP,
	HOOK_BUSY,
};

struct daemon_hook {
	union {
		daemon_reload_cb	 reload;
		daemon_stop_cb		 stop;
		daemon_busy_cb		 busy;
	}			 dh_cb;
	void			*dh_arg;
	enum daemon_hook_kind	 dh_kind;
};

static struct event_base	*daemon_evbase;
static struct policy		*daemon_current;
static struct daemon_hook	*daemon_hooks;
static size_t			 daemon_nhooks;
static int			 daemon_is_stopping;
static struct config_job	*daemon_job;	/* the load in flight */
static int			 daemon_again;	/* SIGHUP during it */
static daemon_reloaded_cb	 daemon_reloaded;

/* Set up with the first policy. */
void
daemon_init(struct event_base *base, struct policy *po)
{
	daemon_evbase = base;
	daemon_current = po;
}

/* Drop what daemon_init() and the hooks hold. */
void
daemon_free(void)
{
	if (daemon_job != NULL)
		config_job_cancel(daemon_job);
	daemon_job = NULL;
	if (daemon_current != NULL)
		config_unref(daemon_current);
	daemon_current = NULL;
	free(daemon_hooks);
	daemon_hooks = NULL;
	daemon_nhooks = 0;
}

/* The event base. */
struct event_base *
daemon_base(void)
{
	return (daemon_evbase);
}

/* The policy in force. */
struct policy *
daemon_policy(void)
{
	return (daemon_current);
}

/* Append one hook. */
static void
daemon_add_hook(struct daemon_hook *dh)
{
	daemon_hooks = xrealloc(daemon_hooks,
	    (daemon_nhooks + 1) * sizeof *daemon_hooks);
	daemon_hooks[daemon_nhooks++] = *dh;
}

/* Register a reload hook. */
void
daemon_on_reload(daemon_reload_cb cb, void *arg)
{
	struct daemon_hook	dh = { .dh_cb.reload = cb, .dh_arg = arg,
	    .dh_kind = HOOK_RELOAD };

	daemon_add_hook(&dh);
}

/* Register a stop hook. */
void
daemon_on_stop(daemon_stop_cb cb, void *arg)
{
	struct daemon_hook	dh = { .dh_cb.stop = cb, .dh_arg = arg,
	    .dh_kind = HOOK_STOP };

	daemon_add_hook(&dh);
}

/* Swap a new policy in and run the reload hooks in their order. */
static void
daemon_swap(struct policy *new)
{
	struct policy	*old = daemon_current;
	size_t		 i;

	daemon_current = new;
	log_setup(new->po_log.level, new->po_log.format == LOG_FORMAT_JSON);
	for (i = 0; i < daemon_nhooks; i++) {
		if (daemon_hooks[i].dh_kind == HOOK_RELOAD)
			daemon_hooks[i].dh_cb.reload(old, new,
			    daemon_hooks[i].dh_arg);
	}
	log_info("reloaded %s", new->po_file);
	config_unref(old);
}

static void	daemon_reload_done(struct policy *, const struct config_error *,
		    void *);

/* Start a load of the policy file in a thread. */
static void
daemon_reload_start(void)
{
	struct config_error	err;
	char			buf[1024];

	daemon_job = config_job_start(daemon_evbase, daemon_current->po_file,
	    daemon_reload_done, NULL, &err);
	if (daemon_job != NULL)
		return;
	config_error_format(&err, buf, sizeof buf);
	log_error("reload failed, keeping the old policy: %s", buf);
	if (daemon_reloaded != NULL)
		daemon_reloaded(0);
}

/* A load finished (or ran out of time): apply it, or log why not. */
static void
daemon_reload_done(struct policy *new, const struct config_error *err,
    void *arg)
{
	char	buf[1024];

	(void)arg;
	daemon_job = NULL;
	if (new == NULL) {
		config_error_format(err, buf, sizeof buf);
		log_error("reload failed, keeping the old policy: %s", buf);
	} else if (daemon_is_stopping) {
		/* The hooks' owners are shutting down. */
		config_unref(new);
	} else
		daemon_swap(new);
	if (daemon_again && !daemon_is_stopping) {
		daemon_again = 0;
		log_info("loading %s again for the SIGHUP that came during "
		    "the last load", daemon_current->po_file);
		daemon_reload_start();
		return;
	}
	if (daemon_reloaded != NULL)
		daemon_reloaded(new != NULL);
}

/* Begin re-reading the policy file, or remember to once more. */
void
daemon_reload(daemon_reloaded_cb done)
{
	daemon_reloaded = done;
	if (daemon_job != NULL) {
		daemon_again = 1;
		log_info("a load of %s is running; one more follows it",
		    daemon_current->po_file);
		return;
	}
	daemon_reload_start();
}

/* Whether a reload is in progress. */
int
daemon_reloading(void)
{
	return (daemon_job != NULL);
}

/* Begin stopping. */
void
daemon_stop(void)
{
	size_t	i;

	if (daemon_is_stopping)
		return;
	daemon_is_stopping = 1;
	for (i = 0; i < daemon_nhooks; i++) {
		if (daemon_hooks[i].dh_kind == HOOK_STOP)
			daemon_hooks[i].dh_cb.stop(daemon_hooks[i].dh_arg);
	}
}

/* Whether stopping has begun. */
int
daemon_stopping(void)
{
	return (daemon_is_stopping);
}

/* Register a busy predicate. */
void
daemon_on_busy(daemon_busy_cb cb, void *arg)
{
	struct daemon_hook	dh = { .dh_cb.busy = cb, .dh_arg = arg,
	    .dh_kind = HOOK_BUSY };

	daemon_add_hook(&dh);
}

/* Whether any module still has work in flight. */
int
daemon_busy(void)
{
	size_t	i;

	for (i = 0; i < daemon_nhooks; i++) {
		if (daemon_hooks[i].dh_kind == HOOK_BUSY &&
		    daemon_hooks[i].dh_cb.busy(daemon_hooks[i].dh_arg))
			return (1);
	}
	return (0);
}
