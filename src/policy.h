/*
 * policy.h -- what happens on unload and expire: the consumer of session
 * events.  For each event it removes the action's directories (through
 * fsutil, off the loop) and queues its webhook (through webhook and the
 * store), and it carries the session table's durable part to the store.
 */
#ifndef JANITOR_POLICY_H
#define JANITOR_POLICY_H

#include <stddef.h>

#include "event.h"

/*
 * Register metrics, resume removals left pending by the last run, attach
 * to the session table (event sink, persistence) and restore the stored
 * sessions into it.  0 or -1 with *cause.
 */
int	policy_init(char **cause);

/* Everything policy_init() does except attaching to the session table. */
int	policy_setup(char **cause);

void	policy_free(void);

/* The event sink: run the action the current policy sets for ev. */
void	policy_event(const struct jevent *ev, void *arg);

/* Whether key is a valid session key: ^[A-Za-z0-9_-]{1,128}$. */
int	policy_key_valid(const char *key);

/*
 * Replace every {session} in tmpl by key into out; 0, or -1 when the key is
 * invalid, the result does not fit or is not a clean absolute path.
 */
int	policy_expand(const char *tmpl, const char *key, char *out,
	    size_t len);

#endif
