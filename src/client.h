/*
 * client.h -- per-client accounting, as HAProxy's stick tables keep it:
 * open connections and new sessions a minute, per client address, so one
 * address cannot take every connection or flood the session table.
 *
 * A client is an IPv4 address, or an IPv6 /64 (one host usually has a
 * whole /64 to pick addresses from).  The table is bounded: an address
 * not seen for a while gives its entry to a new one.
 */
#ifndef JANITOR_CLIENT_H
#define JANITOR_CLIENT_H

#include <sys/socket.h>

#include <stddef.h>

struct client;

/*
 * A connection from sa opens: 0 with *cl set to pass to client_conn_close()
 * (NULL for an address that is not counted, such as a unix socket), or -1
 * when the client has max connections open already (max 0: no limit).
 */
int	client_conn_open(const struct sockaddr *sa, long max,
	    struct client **cl);

/* A connection counted by client_conn_open() closed. */
void	client_conn_close(struct client *);

/*
 * The client at ip (text, as X-Forwarded-For gave it) makes a new session:
 * 1 when that keeps it within per_minute (counted), 0 when it would not
 * (per_minute 0: no limit).  The rate is a sliding minute estimated from
 * this minute and the one before, as HAProxy's frequency counters do.  An
 * address among the trusted proxies is not limited: it is a proxy that
 * did not say whose request it carries, and it speaks for many clients.
 */
struct cidr;
int	client_new_session(const char *ip, long per_minute,
	    const struct cidr *trusted, size_t ntrusted);

/* How many addresses are tracked (tests). */
size_t	client_count(void);

/* Forget everything (at exit). */
void	client_free(void);

#endif
