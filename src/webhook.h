/*
 * webhook.h -- delivery of session events to the app per Standard Webhooks,
 * from the durable outbox in store.c.
 *
 * An event is queued with webhook_enqueue(); it is written to the outbox in
 * the same commit as the state change that caused it and only sent once
 * that commit is done.  Events of one session are delivered one after the
 * other in order; sessions are delivered concurrently, with at most
 * WEBHOOK_RECEIVER_CONNS connections per receiver.
 */
#ifndef JANITOR_WEBHOOK_H
#define JANITOR_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"

#define WEBHOOK_RECEIVER_CONNS	16
#define WEBHOOK_SIG_MAX		64	/* "v1," + base64 of 32 bytes + NUL */
#define WEBHOOK_MEM_MAX		50000	/* events kept in memory; more wait on disk */

/* Load undelivered events from the store, register metrics and routes. */
int		 webhook_init(char **cause);

/* Stop delivering (pending events stay in the outbox) and free. */
void		 webhook_free(void);

/* Queue a delivery of ev to url; durable with the current tick's commit. */
void		 webhook_enqueue(const struct jevent *ev, const char *url);

/* Events not yet delivered and not dead. */
size_t		 webhook_pending(void);

/* Keep at most n events in memory (tests; default WEBHOOK_MEM_MAX). */
void		 webhook_set_mem_max(size_t n);

/* The JSON body for ev, as SPEC.md shows it; free() the result. */
char		*webhook_body(const struct jevent *ev);

/* A fresh webhook-id: "msg_" and a ULID. */
void		 webhook_new_id(char *buf, size_t len);

/*
 * The webhook-signature value "v1,<base64>" of HMAC-SHA256 over
 * "id.timestamp.body" with key; 0 or -1.
 */
int		 webhook_sign(const unsigned char *key, size_t keylen,
		    const char *id, int64_t timestamp, const char *body,
		    size_t bodylen, char *out, size_t outlen);

/*
 * The delay before the next attempt after `failures` failed ones: doubling
 * from initial, capped at max, with jitter from rnd; always within
 * [initial, max].
 */
int64_t		 webhook_backoff(int failures, msec_t initial, msec_t max,
		    uint64_t rnd);

/* A Retry-After value (seconds or HTTP date) as a delay in ms, or -1. */
int64_t		 webhook_retry_after(const char *value, int64_t now_wall_ms);

/* Format wall ms as RFC 3339 UTC with milliseconds into buf. */
void		 webhook_time(int64_t ms, char *buf, size_t len);

#endif
