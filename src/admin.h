/*
 * admin.h -- the admin API on admin.listen (loopback TCP or a unix
 * socket), with the optional bearer token.
 *
 * Modules add their own routes; admin.c owns the listener, the token
 * check, the routing and the replies.  A handler may answer at once or
 * keep the request and answer later from the event loop (POST /sweep
 * answers when the sweep is done).
 */
#ifndef JANITOR_ADMIN_H
#define JANITOR_ADMIN_H

#include <jansson.h>

struct admin_req;
struct evbuffer;

/*
 * A route handler.  tail is what follows the route's prefix (for
 * "/sessions/" the key), "" for an exact route.  The handler must call
 * admin_reply_*() exactly once, now or later.
 */
typedef void (*admin_handler)(struct admin_req *, const char *tail,
    void *arg);

/* Start listening as the current policy says; 0 or -1 with *cause. */
int		 admin_init(char **cause);
void		 admin_free(void);

/*
 * Add a route: method ("GET", "POST", "DELETE"), path, and whether path is a
 * prefix ("/sessions/") or exact ("/sweep").
 */
void		 admin_route(const char *method, const char *path, int prefix,
		    admin_handler, void *arg);

/* The value of query parameter name, or NULL; valid until the reply. */
const char	*admin_query(struct admin_req *, const char *name);

/*
 * The paging parameters of a list: ?limit=N (default 100, at most 10,000)
 * and ?after=CURSOR (a number from the list's Link header; 0: from the
 * start).  0, or -1 when one is bad: then the request is answered 400.
 */
#define ADMIN_LIST_DEFAULT	100
#define ADMIN_LIST_MAX		10000
int		 admin_paging(struct admin_req *, size_t *limit,
		    uint64_t *after);

/*
 * A reply made in slices, so a long list never blocks the loop: fn is
 * called from the event loop again and again, other events running in
 * between, while it returns ADMIN_SLICE_AGAIN (at once) or
 * ADMIN_SLICE_WAIT (in ADMIN_SLICE_WAIT_MS); it returns ADMIN_SLICE_DONE
 * once it has answered.  When the client goes away first, free_fn(arg) is
 * called instead and the request is forgotten.  A slice should stop after
 * ADMIN_SLICE_NS.
 */
#define ADMIN_SLICE_NS		2000000
#define ADMIN_SLICE_WAIT_MS	10
#define ADMIN_SLICE_DONE	0
#define ADMIN_SLICE_AGAIN	1
#define ADMIN_SLICE_WAIT	2
typedef int (*admin_slice_fn)(struct admin_req *, void *arg);
void		 admin_slices(struct admin_req *, admin_slice_fn,
		    void (*free_fn)(void *), void *arg);

/* Whether time ADMIN_SLICE_NS has passed since start (CLOCK_MONOTONIC). */
struct timespec;
int		 admin_slice_over(const struct timespec *start);

/* Add a header line ("Link: <...>; rel=\"next\"") to the coming reply. */
void		 admin_reply_header(struct admin_req *, const char *name,
		    const char *value);

/* Answer with JSON (takes the reference), plain text, or a prepared buffer. */
void		 admin_reply_json(struct admin_req *, int status, json_t *);
void		 admin_reply_text(struct admin_req *, int status,
		    const char *ctype, const char *body);
void		 admin_reply_buffer(struct admin_req *, int status,
		    const char *ctype, struct evbuffer *);

#endif
