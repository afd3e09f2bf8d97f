/*
 * client.c -- per-client accounting: a hash of client addresses (SipHash:
 * addresses are the client's choice, an IPv6 one especially), each with
 * its open connections and its new sessions in this minute and the last.
 *
 * Entries without an open connection sit on a list in order of last use;
 * when the table is full, the least recently used of them is reused, so
 * memory stays bounded whatever the number of addresses, and an address
 * with a connection open is never forgotten (its count must stay exact).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "siphash.h"

#define CLIENT_BUCKETS		65536		/* a power of two */
#define CLIENT_MAX		131072		/* entries, ~10 MB */
#define CLIENT_PERIOD_MS	60000

struct client {
	struct client		*cl_hnext;
	TAILQ_ENTRY(client)	 cl_idle;	/* no connection open */
	unsigned char		 cl_addr[16];
	uint32_t		 cl_conns;
	uint32_t		 cl_new_cur;	/* new sessions this period */
	uint32_t		 cl_new_prev;	/* ...and in the one before */
	int64_t			 cl_period;	/* the period of cl_new_cur */
};

static struct client		**client_buckets;
static size_t			  client_n;
static uint64_t			  client_sipkey[2];
static TAILQ_HEAD(, client)	  client_idle = TAILQ_HEAD_INITIALIZER(client_idle);

/* The 16-byte key of an address: IPv4 as v4-mapped, IPv6 as its /64. */
static int
client_key(const struct sockaddr *sa, unsigned char key[16])
{
	static const unsigned char	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0xff, 0xff };
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		memcpy(key, mapped, 12);
		memcpy(key + 12, &sin->sin_addr, 4);
		return (0);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(key, &sin6->sin6_addr, 16);
		if (memcmp(key, mapped, 12) != 0)
			memset(key + 8, 0, 8);
		return (0);
	}
	return (-1);
}

/* Find or make the entry of an address; NULL when the table is full. */
static struct client *
client_get(const unsigned char key[16])
{
	struct client	*cl, **pp, **b;

	if (client_buckets == NULL) {
		client_buckets = xcalloc(CLIENT_BUCKETS,
		    sizeof *client_buckets);
		siphash_key(client_sipkey);
	}
	b = &client_buckets[siphash(client_sipkey, key, 16) &
	    (CLIENT_BUCKETS - 1)];
	for (cl = *b; cl != NULL; cl = cl->cl_hnext) {
		if (memcmp(cl->cl_addr, key, 16) == 0) {
			if (cl->cl_conns == 0) {
				TAILQ_REMOVE(&client_idle, cl, cl_idle);
				TAILQ_INSERT_TAIL(&client_idle, cl, cl_idle);
			}
			return (cl);
		}
	}
	if (client_n >= CLIENT_MAX) {
		/* Reuse the entry idle the longest. */
		if ((cl = TAILQ_FIRST(&client_idle)) == NULL)
			return (NULL);
		TAILQ_REMOVE(&client_idle, cl, cl_idle);
		for (pp = &client_buckets[siphash(client_sipkey, cl->cl_addr,
		    16) & (CLIENT_BUCKETS - 1)]; *pp != NULL;
		    pp = &(*pp)->cl_hnext) {
			if (*pp == cl) {
				*pp = cl->cl_hnext;
				break;
			}
		}
		memset(cl, 0, sizeof *cl);
	} else {
		cl = xcalloc(1, sizeof *cl);
		client_n++;
	}
	memcpy(cl->cl_addr, key, 16);
	cl->cl_hnext = *b;
	*b = cl;
	TAILQ_INSERT_TAIL(&client_idle, cl, cl_idle);
	return (cl);
}

/* A connection from sa opens. */
int
client_conn_open(const struct sockaddr *sa, long max, struct client **out)
{
	unsigned char	 key[16];
	struct client	*cl;

	*out = NULL;
	if (client_key(sa, key) != 0 || (cl = client_get(key)) == NULL)
		return (0);
	if (max > 0 && cl->cl_conns >= (uint32_t)max)
		return (-1);
	if (cl->cl_conns++ == 0)
		TAILQ_REMOVE(&client_idle, cl, cl_idle);
	*out = cl;
	return (0);
}

/* A counted connection closed. */
void
client_conn_close(struct client *cl)
{
	if (cl == NULL || cl->cl_conns == 0)
		return;
	if (--cl->cl_conns == 0)
		TAILQ_INSERT_TAIL(&client_idle, cl, cl_idle);
}

/* The client at ip makes a new session: within per_minute? */
int
client_new_session(const char *ip, long per_minute, const struct cidr *trusted,
    size_t ntrusted)
{
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	 sin;
	unsigned char		 key[16];
	struct sockaddr		*sa;
	struct client		*cl;
	int64_t			 now, period, into;
	uint64_t		 est;

	if (per_minute <= 0 || ip == NULL)
		return (1);
	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sa = (struct sockaddr *)&sin6;
	} else
		return (1);
	/* A proxy that did not say who its client is speaks for many. */
	if (config_cidr_match(trusted, ntrusted, sa))
		return (1);
	client_key(sa, key);
	if ((cl = client_get(key)) == NULL)
		return (1);
	now = clock_mono_ms();
	period = now / CLIENT_PERIOD_MS;
	if (period != cl->cl_period) {
		cl->cl_new_prev = period == cl->cl_period + 1 ?
		    cl->cl_new_cur : 0;
		cl->cl_new_cur = 0;
		cl->cl_period = period;
	}
	/* The last minute: all of this period, and the rest of the last. */
	into = now % CLIENT_PERIOD_MS;
	est = cl->cl_new_cur + (uint64_t)cl->cl_new_prev *
	    (uint64_t)(CLIENT_PERIOD_MS - into) / CLIENT_PERIOD_MS;
	if (est >= (uint64_t)per_minute)
		return (0);
	cl->cl_new_cur++;
	return (1);
}

/* How many addresses are tracked. */
size_t
client_count(void)
{
	return (client_n);
}

/* Forget everything. */
void
client_free(void)
{
	struct client	*cl, *next;
	size_t		 i;

	if (client_buckets == NULL)
		return;
	for (i = 0; i < CLIENT_BUCKETS; i++) {
		for (cl = client_buckets[i]; cl != NULL; cl = next) {
			next = cl->cl_hnext;
			free(cl);
		}
	}
	free(client_buckets);
	client_buckets = NULL;
	client_n = 0;
	TAILQ_INIT(&client_idle);
}
