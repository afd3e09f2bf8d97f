/*
 * fuzz_http.c -- arbitrary bytes into the request-head path the relay
 * runs on client input: parse (in two pieces, at a split the input picks),
 * validate, rewrite hop-by-hop and X-Forwarded-* headers, serialise, then
 * measure the body and the next pipelined request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "http.h"

/* Run one request (head and body) through; returns bytes consumed or -1. */
static ssize_t
fuzz_one(struct http_parse *hp, const char *data, size_t len, size_t split,
    const struct cidr *nets, size_t nnets)
{
	struct http_head	*hd;
	struct http_client	 hc;
	struct evbuffer		*out;
	const char		*cause;
	ssize_t			 n, m, used = 0;

	if (split > len)
		split = len;
	n = http_parse_head(hp, data, split);
	if (n < 0)
		return (-1);
	used = n;
	if (hp->hp_state == HTTP_PARSE_HEAD) {
		m = http_parse_head(hp, data + used, len - used);
		if (m < 0)
			return (-1);
		used += m;
	}
	if (hp->hp_state != HTTP_PARSE_BODY && hp->hp_state != HTTP_PARSE_DONE)
		return (-1);
	hd = http_parse_take(hp);
	if (http_head_validate(hd, &cause) == 0) {
		http_head_strip_hop(hd, hd->hd_upgrade);
		http_head_forwarded(hd, "127.0.0.1", nets, nnets, &hc);
		(void)http_head_get(hd, "Cookie");
		http_head_add(hd, "X-Janitor-Session", "abc");
		out = evbuffer_new();
		http_head_write(hd, out);
		evbuffer_free(out);
	}
	http_head_free(hd);
	if (hp->hp_state == HTTP_PARSE_BODY) {
		m = http_parse_body(hp, data + used, len - used);
		if (m < 0)
			return (-1);
		used += m;
	}
	return (used);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cidr	 nets[2];
	static int		 init;
	struct http_parse	 hp;
	size_t			 off = 0, split;
	ssize_t			 n;
	int			 i;

	if (!init) {
		config_parse_cidr("127.0.0.0/8", &nets[0]);
		config_parse_cidr("::1/128", &nets[1]);
		init = 1;
	}
	if (size < 1)
		return (0);
	split = data[0];
	data++;
	size--;
	http_parse_init(&hp, HTTP_REQUEST, 4096);
	for (i = 0; i < 4 && off < size; i++) {
		n = fuzz_one(&hp, (const char *)data + off, size - off, split,
		    nets, 2);
		if (n <= 0 || hp.hp_state != HTTP_PARSE_DONE)
			break;
		off += n;
		http_parse_next(&hp);
	}
	http_parse_clear(&hp);
	return (0);
}
