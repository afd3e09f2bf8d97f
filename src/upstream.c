/*
 * upstream.c -- connections to the app and the keep-alive pool.
 *
 * A parked connection belongs to the pool: its callbacks only watch for the
 * app closing it (or sending bytes nobody asked for, which also ends it)
 * and a sweep once a second closes those idle for too long.  Handing one
 * out resets the callbacks; the new owner sets its own.  No per-connection
 * timer is touched on the way in or out.  The pool is LIFO, so the freshest connection, the
 * least likely to have been closed by the app meanwhile, is reused first.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "sock.h"
#include "upstream.h"

/* Idle connections are closed after this; apps often use 5 s or more. */
#define UPSTREAM_IDLE_MS	4000
/* At most this many idle connections are kept. */
#define UPSTREAM_IDLE_MAX	256

struct upstream_idle {
	TAILQ_ENTRY(upstream_idle)	 ui_entry;
	struct sock		*ui_sock;
	struct addr			 ui_addr;
	int64_t				 ui_since;
};
TAILQ_HEAD(upstream_idle_list, upstream_idle);

static struct upstream_idle_list upstream_pool =
    TAILQ_HEAD_INITIALIZER(upstream_pool);
static size_t			 upstream_npool;
static unsigned long long	 upstream_nopened;
static struct event		*upstream_sweep_ev;

/* Whether two addresses are the same. */
static int
upstream_same(const struct addr *a, const struct addr *b)
{
	return (a->ad_len == b->ad_len &&
	    memcmp(&a->ad_ss, &b->ad_ss, a->ad_len) == 0);
}

/* Forget one idle connection. */
static void
upstream_drop(struct upstream_idle *ui)
{
	TAILQ_REMOVE(&upstream_pool, ui, ui_entry);
	upstream_npool--;
	sock_free(ui->ui_sock);
	free(ui);
}

/* An idle connection got bytes or EOF: it cannot be reused. */
static void
upstream_idle_read(struct sock *s, void *arg)
{
	(void)s;
	upstream_drop(arg);
}

/* An idle connection closed, failed or timed out. */
static void
upstream_idle_event(struct sock *s, short what, void *arg)
{
	(void)s;
	(void)what;
	upstream_drop(arg);
}

/* Close the connections idle for too long; again in a second if any left. */
static void
upstream_sweep(evutil_socket_t fd, short events, void *arg)
{
	struct upstream_idle	*ui;
	struct timeval		 tv = { 1, 0 };
	int64_t			 old = clock_mono_ms() - UPSTREAM_IDLE_MS;

	(void)fd;
	(void)events;
	(void)arg;
	/* Oldest first: stop at the first one still fresh. */
	while ((ui = TAILQ_FIRST(&upstream_pool)) != NULL &&
	    ui->ui_since <= old)
		upstream_drop(ui);
	if (!TAILQ_EMPTY(&upstream_pool))
		evtimer_add(upstream_sweep_ev, &tv);
}

/* Take a parked connection or make a new one. */
struct sock *
upstream_get(const struct addr *ad, msec_t connect_timeout, int fresh,
    int *reused, char **cause)
{
	struct upstream_idle	*ui;
	struct sock		*s;
	int			 fd, one = 1;

	if (!fresh) {
		TAILQ_FOREACH_REVERSE(ui, &upstream_pool, upstream_idle_list,
		    ui_entry) {
			if (!upstream_same(&ui->ui_addr, ad))
				continue;
			s = ui->ui_sock;
			TAILQ_REMOVE(&upstream_pool, ui, ui_entry);
			upstream_npool--;
			free(ui);
			sock_setcb(s, NULL, NULL, NULL, NULL);
			*reused = 1;
			return (s);
		}
	}
	*reused = 0;
	fd = socket(ad->ad_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		*cause = strerror(errno);
		return (NULL);
	}
	if (ad->ad_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	s = sock_new(daemon_base(), fd);
	if (sock_connect(s, (struct sockaddr *)&ad->ad_ss, ad->ad_len,
	    connect_timeout) != 0) {
		*cause = strerror(errno);
		sock_free(s);
		return (NULL);
	}
	upstream_nopened++;
	log_debug("upstream: connection %llu to %s", upstream_nopened,
	    ad->ad_text);
	return (s);
}

/* Park a connection. */
void
upstream_put(struct sock *s, const struct addr *ad)
{
	struct upstream_idle	*ui;
	struct timeval		 tv = { 1, 0 };

	if (upstream_npool >= UPSTREAM_IDLE_MAX ||
	    evbuffer_get_length(sock_input(s)) != 0) {
		sock_free(s);
		return;
	}
	ui = xcalloc(1, sizeof *ui);
	ui->ui_sock = s;
	ui->ui_addr = *ad;
	ui->ui_since = clock_mono_ms();
	sock_setcb(s, upstream_idle_read, NULL, upstream_idle_event,
	    ui);
	/* Usually already so: the owner's writes drained, reading is on. */
	if (sock_enabled(s) != EV_READ) {
		sock_disable(s, EV_WRITE);
		sock_enable(s, EV_READ);
	}
	TAILQ_INSERT_TAIL(&upstream_pool, ui, ui_entry);
	upstream_npool++;
	if (upstream_sweep_ev == NULL)
		upstream_sweep_ev = evtimer_new(daemon_base(), upstream_sweep,
		    NULL);
	if (!evtimer_pending(upstream_sweep_ev, NULL))
		evtimer_add(upstream_sweep_ev, &tv);
}

/* Close every idle connection. */
void
upstream_flush(void)
{
	while (!TAILQ_EMPTY(&upstream_pool))
		upstream_drop(TAILQ_FIRST(&upstream_pool));
}

/* Close the pool and its timer (at exit). */
void
upstream_free(void)
{
	upstream_flush();
	if (upstream_sweep_ev != NULL)
		event_free(upstream_sweep_ev);
	upstream_sweep_ev = NULL;
}

/* How many idle connections are parked. */
size_t
upstream_idle(void)
{
	return (upstream_npool);
}

/* How many connections were ever opened. */
unsigned long long
upstream_opened(void)
{
	return (upstream_nopened);
}
