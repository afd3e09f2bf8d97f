/*
 * wsframe.c -- WebSocket frame boundaries in a tunnel, for
 * sessions.websocket_ping (RFC 6455, section 5).
 *
 * Only headers are parsed: 2 bytes, then 2 or 8 bytes of extended length,
 * then a 4-byte mask key when the MASK bit is set.  The payload that
 * follows is moved on without being looked at, except for a client pong
 * whose length is that of our ping payload: that one is held until it is
 * complete (control frames are at most 125 bytes), unmasked and compared.
 * Control frames may appear between the fragments of a message, so every
 * frame boundary is a place where a ping may go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "sock.h"
#include "wsframe.h"

#define WSFRAME_OP_PONG		0xa
#define WSFRAME_OP_PING		0x9
#define WSFRAME_PREFIX		"janitor-ping-"
#define WSFRAME_PAYLOAD_LEN	(sizeof WSFRAME_PREFIX - 1 + 8)

struct wsframe {
	struct event		*wf_timer;
	int64_t			 wf_interval;
	struct evbuffer		*wf_to_client;
	struct sock		*wf_client;	/* to wake for a ping, or NULL */
	wsframe_dead_cb		 wf_dead;
	void			*wf_arg;
	uint64_t		 wf_app_left;	/* app payload still to pass */
	uint64_t		 wf_client_left;	/* client payload still to pass */
	int			 wf_pending;	/* a ping waits for a boundary */
	int			 wf_outstanding;	/* sent, not answered */
	uint32_t		 wf_seq;
	uint64_t		 wf_npings;
	uint64_t		 wf_npongs;
};

/* The header of the frame at the start of buf; its length, or 0 if partial. */
static size_t
wsframe_header(struct evbuffer *buf, uint64_t *payload, int *opcode,
    unsigned char mask[4])
{
	unsigned char	h[14];
	size_t		have = evbuffer_get_length(buf), need, i;
	uint64_t	len;

	if (have < 2)
		return (0);
	evbuffer_copyout(buf, h, have < sizeof h ? have : sizeof h);
	len = h[1] & 0x7f;
	need = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) +
	    ((h[1] & 0x80) ? 4 : 0);
	if (have < need)
		return (0);
	if (len == 126)
		len = (uint64_t)h[2] << 8 | h[3];
	else if (len == 127) {
		len = 0;
		for (i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
	}
	*payload = len;
	*opcode = h[0] & 0x0f;
	if (h[1] & 0x80)
		memcpy(mask, h + need - 4, 4);
	else
		memset(mask, 0, 4);
	return (need);
}

/* Write a ping to the client now. */
static void
wsframe_send_ping(struct wsframe *wf)
{
	unsigned char	frame[2 + WSFRAME_PAYLOAD_LEN + 1];

	frame[0] = 0x80 | WSFRAME_OP_PING;	/* FIN, ping */
	frame[1] = WSFRAME_PAYLOAD_LEN;		/* unmasked: server to client */
	snprintf((char *)frame + 2, sizeof frame - 2, WSFRAME_PREFIX "%08x",
	    wf->wf_seq++);
	evbuffer_add(wf->wf_to_client, frame, 2 + WSFRAME_PAYLOAD_LEN);
	wf->wf_pending = 0;
	wf->wf_outstanding = 1;
	wf->wf_npings++;
}

/* App to client: pass frames, put a due ping between two of them. */
static void
wsframe_from_app(struct wsframe *wf, struct evbuffer *in, struct evbuffer *out)
{
	unsigned char	mask[4];
	uint64_t	payload;
	size_t		n, hlen;
	int		opcode;

	for (;;) {
		if (wf->wf_app_left > 0) {
			n = evbuffer_get_length(in);
			if (n > wf->wf_app_left)
				n = (size_t)wf->wf_app_left;
			if (n == 0)
				return;
			evbuffer_remove_buffer(in, out, n);
			wf->wf_app_left -= n;
			if (wf->wf_app_left > 0)
				return;
		}
		/* A boundary. */
		if (wf->wf_pending && out == wf->wf_to_client)
			wsframe_send_ping(wf);
		if ((hlen = wsframe_header(in, &payload, &opcode, mask)) == 0)
			return;
		evbuffer_remove_buffer(in, out, hlen);
		wf->wf_app_left = payload;
	}
}

/* Whether the complete frame at the start of in is a pong to our ping. */
static int
wsframe_our_pong(struct evbuffer *in, size_t hlen, const unsigned char mask[4])
{
	unsigned char	buf[14 + WSFRAME_PAYLOAD_LEN];
	size_t		i;

	evbuffer_copyout(in, buf, hlen + WSFRAME_PAYLOAD_LEN);
	for (i = 0; i < WSFRAME_PAYLOAD_LEN; i++)
		buf[hlen + i] ^= mask[i & 3];
	return (memcmp(buf + hlen, WSFRAME_PREFIX,
	    sizeof WSFRAME_PREFIX - 1) == 0);
}

/* Client to app: pass frames, take out the pongs to our pings. */
static void
wsframe_from_client(struct wsframe *wf, struct evbuffer *in,
    struct evbuffer *out)
{
	unsigned char	mask[4];
	uint64_t	payload;
	size_t		n, hlen;
	int		opcode;

	for (;;) {
		if (wf->wf_client_left > 0) {
			n = evbuffer_get_length(in);
			if (n > wf->wf_client_left)
				n = (size_t)wf->wf_client_left;
			if (n == 0)
				return;
			evbuffer_remove_buffer(in, out, n);
			wf->wf_client_left -= n;
			if (wf->wf_client_left > 0)
				return;
		}
		if ((hlen = wsframe_header(in, &payload, &opcode, mask)) == 0)
			return;
		if (opcode == WSFRAME_OP_PONG &&
		    payload == WSFRAME_PAYLOAD_LEN) {
			/* Hold it until whole: it may be ours. */
			if (evbuffer_get_length(in) < hlen + payload)
				return;
			if (wsframe_our_pong(in, hlen, mask)) {
				evbuffer_drain(in, hlen + payload);
				wf->wf_outstanding = 0;
				wf->wf_npongs++;
				continue;
			}
		}
		evbuffer_remove_buffer(in, out, hlen);
		wf->wf_client_left = payload;
	}
}

/* Move what can be moved, in one direction. */
void
wsframe_relay(struct wsframe *wf, int from_client, struct evbuffer *in,
    struct evbuffer *out)
{
	if (from_client)
		wsframe_from_client(wf, in, out);
	else
		wsframe_from_app(wf, in, out);
}

/* One ping period. */
int
wsframe_tick(struct wsframe *wf)
{
	if (wf->wf_outstanding) {
		wf->wf_dead(wf->wf_arg, "websocket ping not answered");
		return (1);
	}
	if (wf->wf_app_left == 0) {
		wsframe_send_ping(wf);	/* between frames now */
		if (wf->wf_client != NULL)
			sock_enable(wf->wf_client, EV_WRITE);
	} else
		wf->wf_pending = 1;	/* at the end of this frame */
	return (0);
}

/* The ping timer. */
static void
wsframe_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct wsframe	*wf = arg;
	struct timeval	 tv;

	(void)fd;
	(void)events;
	if (wsframe_tick(wf))
		return;		/* wf may be gone: the channel was closed */
	tv.tv_sec = wf->wf_interval / 1000;
	tv.tv_usec = (wf->wf_interval % 1000) * 1000;
	evtimer_add(wf->wf_timer, &tv);
}

/* Start pinging a tunnel. */
struct wsframe *
wsframe_new(struct event_base *base, int64_t interval_ms,
    struct evbuffer *to_client, struct sock *client,
    wsframe_dead_cb dead, void *arg)
{
	struct wsframe	*wf;
	struct timeval	 tv;

	wf = xcalloc(1, sizeof *wf);
	wf->wf_interval = interval_ms > 0 ? interval_ms : 1000;
	wf->wf_to_client = to_client;
	wf->wf_client = client;
	wf->wf_dead = dead;
	wf->wf_arg = arg;
	if (base != NULL) {
		wf->wf_timer = evtimer_new(base, wsframe_timer_cb, wf);
		if (wf->wf_timer == NULL)
			fatal_oom();
		tv.tv_sec = wf->wf_interval / 1000;
		tv.tv_usec = (wf->wf_interval % 1000) * 1000;
		evtimer_add(wf->wf_timer, &tv);
	}
	return (wf);
}

/* Stop pinging. */
void
wsframe_free(struct wsframe *wf)
{
	if (wf == NULL)
		return;
	if (wf->wf_timer != NULL)
		event_free(wf->wf_timer);
	free(wf);
}

/* Pings sent. */
uint64_t
wsframe_pings(const struct wsframe *wf)
{
	return (wf->wf_npings);
}

/* Pongs taken out. */
uint64_t
wsframe_pongs(const struct wsframe *wf)
{
	return (wf->wf_npongs);
}
