/*
 * wsframe.h -- sessions.websocket_ping: janitord pings the browser on a
 * WebSocket tunnel and closes a channel whose pong does not come back.
 *
 * The tunnel's bytes go through here instead of being copied blindly.
 * Frame headers are parsed in both directions (payloads stream through
 * untouched) so that a ping is only ever written between two frames of the
 * app, and the client's pongs to our pings are taken out before they reach
 * the app.  Pongs to the app's own pings pass through.
 */
#ifndef JANITOR_WSFRAME_H
#define JANITOR_WSFRAME_H

#include <stdint.h>

struct sock;
struct evbuffer;
struct event_base;
struct wsframe;

/* The channel did not answer: close it (called from the ping timer). */
typedef void (*wsframe_dead_cb)(void *arg, const char *why);

/*
 * Start pinging every interval_ms on a tunnel whose client-bound output is
 * to_client; client, when not NULL, is the sock that owns it and has
 * writing turned on when a ping is queued from the timer.  base may be
 * NULL (tests drive wsframe_tick() themselves).
 */
struct wsframe	*wsframe_new(struct event_base *, int64_t interval_ms,
		    struct evbuffer *to_client, struct sock *client,
		    wsframe_dead_cb, void *arg);
void		 wsframe_free(struct wsframe *);

/*
 * Move what can be moved from in to out: from_client is 1 for the
 * client-to-app direction (our pongs are dropped), 0 for app-to-client
 * (a due ping is written at a frame boundary).  A frame header that has
 * not fully arrived stays in in.
 */
void		 wsframe_relay(struct wsframe *, int from_client,
		    struct evbuffer *in, struct evbuffer *out);

/*
 * One ping period: if the last ping is unanswered the channel is dead
 * (the callback runs and 1 is returned), else a ping is sent now or at
 * the next frame boundary.
 */
int		 wsframe_tick(struct wsframe *);

/* Pings sent and pongs taken out so far (tests). */
uint64_t	 wsframe_pings(const struct wsframe *);
uint64_t	 wsframe_pongs(const struct wsframe *);

#endif
