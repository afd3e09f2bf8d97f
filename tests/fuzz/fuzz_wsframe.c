/*
 * fuzz_wsframe.c -- arbitrary bytes as both directions of a WebSocket
 * tunnel with websocket_ping on, fed in pieces the input chooses, with
 * pings due at random: nothing is lost or duplicated except our pongs
 * (client side) and our pings (app side), and nothing crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "wsframe.h"

/* The channel was declared dead: fine, start over. */
static void
fuzz_dead(void *arg, const char *why)
{
	(void)why;
	*(int *)arg = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*in[2], *out[2];
	struct wsframe	*wf;
	size_t		 at = 0, n, fed[2] = { 0, 0 }, outlen[2];
	int		 dir, dead = 0;
	uint8_t		 ctl;

	in[0] = evbuffer_new();
	in[1] = evbuffer_new();
	out[0] = evbuffer_new();	/* to the client */
	out[1] = evbuffer_new();	/* to the app */
	wf = wsframe_new(NULL, 1000, out[0], NULL, fuzz_dead, &dead);
	while (at < size && !dead) {
		ctl = data[at++];
		dir = ctl & 1;
		n = (ctl >> 1) & 0x3f;
		if (n > size - at)
			n = size - at;
		evbuffer_add(in[dir], data + at, n);
		fed[dir] += n;
		at += n;
		wsframe_relay(wf, dir, in[dir], out[dir]);
		if (ctl & 0x80)
			wsframe_tick(wf);
	}
	outlen[0] = evbuffer_get_length(out[0]) + evbuffer_get_length(in[0]);
	outlen[1] = evbuffer_get_length(out[1]) + evbuffer_get_length(in[1]);
	/* App side: everything, plus 23 bytes per ping. */
	if (outlen[0] != fed[0] + 23 * wsframe_pings(wf))
		abort();
	/* Client side: everything, minus our pongs (at most 35 bytes each). */
	if (outlen[1] > fed[1] || fed[1] - outlen[1] > 35 * wsframe_pongs(wf))
		abort();
	wsframe_free(wf);
	evbuffer_free(in[0]);
	evbuffer_free(in[1]);
	evbuffer_free(out[0]);
	evbuffer_free(out[1]);
	return (0);
}
