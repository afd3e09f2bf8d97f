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

/* Answer with JSON (takes the reference), plain text, or a prepared buffer. */
void		 admin_reply_json(struct admin_req *, int status, json_t *);
void		 admin_reply_text(struct admin_req *, int status,
		    const char *ctype, const char *body);
void		 admin_reply_buffer(struct admin_req *, int status,
		    const char *ctype, struct evbuffer *);

#endif
