/*
 * daemon.h -- the running daemon's shared state: the event base, the policy
 * in force, and the hand-over when SIGHUP brings a new one.
 */
#ifndef JANITOR_DAEMON_H
#define JANITOR_DAEMON_H

struct event_base;
struct policy;

/* Called on the event loop after a new policy took over; old is still valid. */
typedef void (*daemon_reload_cb)(const struct policy *old,
    const struct policy *new, void *arg);

/* Called once when the daemon begins to stop (SIGTERM/SIGINT). */
typedef void (*daemon_stop_cb)(void *arg);

/* Set up with the first policy (takes the caller's reference). */
void			 daemon_init(struct event_base *, struct policy *);

/* Drop the policy and the hooks at exit. */
void			 daemon_free(void);

struct event_base	*daemon_base(void);

/* The policy in force, borrowed: take config_ref() to keep it past a reload. */
struct policy		*daemon_policy(void);

/* Register a hook run after each successful reload, in registration order. */
void			 daemon_on_reload(daemon_reload_cb, void *);

/* Register a hook run when stopping begins. */
void			 daemon_on_stop(daemon_stop_cb, void *);

/* Called on the loop when a reload ended; ok says whether it applied. */
typedef void (*daemon_reloaded_cb)(int ok);

/*
 * Re-read the policy file, in a thread (see daemon.c): a valid file then
 * replaces the policy on the loop and runs the reload hooks; an invalid
 * or slow one is logged with its position and changes nothing.  Called
 * while a reload runs, it asks for one more after it.  done (or NULL)
 * runs when the last of them ended.  Call from the event loop only.
 */
void			 daemon_reload(daemon_reloaded_cb done);

/* Whether a reload is in progress. */
int			 daemon_reloading(void);

/* Begin stopping: run the stop hooks once. */
void			 daemon_stop(void);

/* Whether stopping has begun. */
int			 daemon_stopping(void);

/* A predicate that says whether a module still has work in flight. */
typedef int (*daemon_busy_cb)(void *arg);

/* Register one; while any says busy, a stopping daemon waits (up to
 * limits.shutdown_timeout) before it leaves the event loop. */
void			 daemon_on_busy(daemon_busy_cb, void *);

/* Whether any registered module is still busy. */
int			 daemon_busy(void);

#endif
