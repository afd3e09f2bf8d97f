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

/*
 * Re-read the policy file.  A valid file replaces the policy and runs the
 * reload hooks; an invalid one is logged with its position and changes
 * nothing.  Returns 0 or -1.  Call from the event loop only.
 */
int			 daemon_reload(void);

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
