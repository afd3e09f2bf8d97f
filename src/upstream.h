/*
 * upstream.h -- connections to the app: new ones (non-blocking connect with
 * a timeout) and a keep-alive pool of idle ones, reused across clients.
 */
#ifndef JANITOR_UPSTREAM_H
#define JANITOR_UPSTREAM_H

#include <stddef.h>

#include "config.h"

struct sock;

/*
 * A connection to addr: the most recently parked idle one (*reused = 1)
 * unless fresh is set, else a new one whose connect is under way (the
 * caller sees SOCK_CONNECTED, or an error or a write timeout after
 * connect_timeout).  NULL with *cause when a socket cannot even be made.
 */
struct sock	*upstream_get(const struct addr *, msec_t connect_timeout,
			    int fresh, int *reused, char **cause);

/* Park a connection whose last response ended cleanly. */
void			 upstream_put(struct sock *, const struct addr *);

/* Close every idle connection (the upstream changed, or at exit). */
void			 upstream_flush(void);

/* Close the pool and its timer (at exit). */
void			 upstream_free(void);

/* How many idle connections are parked. */
size_t			 upstream_idle(void);

/* How many connections were ever opened (tests read it from the log). */
unsigned long long	 upstream_opened(void);

#endif
