/*
 * daemon.c -- the event base, the policy in force and its hand-over.
 */
#include <stdlib.h>

#include "config.h"
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

/* Re-read the policy file and hand the new policy over. */
int
daemon_reload(void)
{
	struct policy		*old = daemon_current, *new;
	struct config_error	 err;
	char			 buf[1024];
	size_t			 i;

	new = config_load(old->po_file, &err);
	if (new == NULL) {
		config_error_format(&err, buf, sizeof buf);
		log_error("reload failed, keeping the old policy: %s", buf);
		return (-1);
	}
	daemon_current = new;
	log_setup(new->po_log.level, new->po_log.format == LOG_FORMAT_JSON);
	for (i = 0; i < daemon_nhooks; i++) {
		if (daemon_hooks[i].dh_kind == HOOK_RELOAD)
			daemon_hooks[i].dh_cb.reload(old, new,
			    daemon_hooks[i].dh_arg);
	}
	log_info("reloaded %s", new->po_file);
	config_unref(old);
	return (0);
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
