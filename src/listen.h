/*
 * listen.h -- the sockets janitord accepts on: TCP (v4/v6) and unix
 * sockets from a list of addresses, or one handed over by systemd.
 */
#ifndef JANITOR_LISTEN_H
#define JANITOR_LISTEN_H

#include <sys/socket.h>
#include <stddef.h>

#include "config.h"

/* A new connection: fd is non-blocking and close-on-exec. */
typedef void (*listen_accept_cb)(int fd, struct sockaddr *, int socklen,
    void *arg);

struct listen_set;

/*
 * Listen on every address, or on the inherited socket named sdname when
 * systemd passed one.  NULL with *cause (allocated) when any fails.
 */
struct listen_set	*listen_open(const struct addr *, size_t n,
			    const char *sdname, listen_accept_cb, void *arg,
			    char **cause);

/* Stop accepting and close (unlinking unix sockets we created). */
void			 listen_close(struct listen_set *);

/* Whether the set came from systemd (then listen: changes are ignored). */
int			 listen_inherited(const struct listen_set *);

/* Whether two address lists are the same. */
int			 listen_same(const struct addr *, size_t,
			    const struct addr *, size_t);

#endif
