/*
 * proxy.h -- the relay: client connections, the upstream side, WebSocket
 * and SSE streams, limits and errors; and the hooks through which the
 * session module sees each exchange (see PROXY_HOOKS in docs/architecture.md).
 */
#ifndef JANITOR_PROXY_H
#define JANITOR_PROXY_H

struct policy;

struct proxy_xchg;		/* one request/response exchange on a client connection */

enum proxy_channel {
	PROXY_CHANNEL_NONE,	/* a plain request/response */
	PROXY_CHANNEL_WEBSOCKET,/* after 101 Switching Protocols: a tunnel */
	PROXY_CHANNEL_SSE,	/* a response with Content-Type text/event-stream */
};

struct proxy_hooks {
	/*
	 * The request head is parsed and validated, before it is forwarded.
	 * May read and edit request headers and queue response headers.
	 * Returns a tag kept with the exchange (e.g. a session reference) or NULL.
	 */
	void	*(*ph_request)(struct proxy_xchg *, void *arg);
	/*
	 * The request reaches the app now: its head went out on an
	 * established connection to it (after any hold; for a new
	 * connection, once the connect completed).  Once per exchange, only
	 * for a non-NULL tag.  From here on the app may be serving it.
	 */
	void	 (*ph_forward)(struct proxy_xchg *, void *tag, void *arg);
	/*
	 * The app's response head arrived, before it is sent to the client.
	 * kind is WEBSOCKET for a 101 to an upgrade request, SSE for a
	 * text/event-stream response, else NONE.  May queue response headers.
	 */
	void	 (*ph_response)(struct proxy_xchg *, void *tag, int status,
		    enum proxy_channel kind, void *arg);
	/*
	 * The exchange ended (response complete, tunnel or stream closed, or
	 * failed, or the client went away). Called exactly once for every
	 * ph_request that returned non-NULL; kind as given to ph_response
	 * (NONE if no response came). The xchg is no longer accessible.
	 */
	void	 (*ph_done)(void *tag, enum proxy_channel kind, void *arg);
	void	 *ph_arg;
};

void		 proxy_set_hooks(const struct proxy_hooks *);

/* Accessors, valid only inside ph_request, ph_forward and ph_response. */
const char	*proxy_xchg_method(struct proxy_xchg *);
const char	*proxy_xchg_target(struct proxy_xchg *);	/* raw "/path?query" */
/* First value of a request header (case-insensitive name), or NULL. */
const char	*proxy_xchg_header(struct proxy_xchg *, const char *name);
/* Remove every copy of a request header before forwarding. */
void		 proxy_xchg_header_remove(struct proxy_xchg *, const char *name);
/* Add a request header to what is forwarded to the app. */
void		 proxy_xchg_header_add(struct proxy_xchg *, const char *name,
		    const char *value);
/* Add a header to the response head sent to the client (e.g. Set-Cookie). */
void		 proxy_xchg_response_header_add(struct proxy_xchg *,
		    const char *name, const char *value);
/* The client's address as text, after trusted_proxies / X-Forwarded-For. */
const char	*proxy_xchg_client_ip(struct proxy_xchg *);
/* Whether the request came over https (trusted X-Forwarded-Proto). */
int		 proxy_xchg_https(struct proxy_xchg *);
/* The client socket, for TCP keepalive options on live channels. */
int		 proxy_xchg_client_fd(struct proxy_xchg *);
/* The policy this connection runs under (refcounted by the proxy). */
const struct policy *proxy_xchg_policy(struct proxy_xchg *);

/*
 * Inside ph_request only: do not forward this request to the app yet.  The
 * exchange waits (client bytes stay buffered, at most upstream_timeout,
 * then 503) until proxy_xchg_resume().  ph_done still comes exactly once,
 * also when the client goes away while the request is held; after it the
 * xchg must not be resumed.
 */
void		 proxy_xchg_hold(struct proxy_xchg *);
/* Forward a held request now (from any loop callback, until ph_done). */
void		 proxy_xchg_resume(struct proxy_xchg *);

/*
 * Inside ph_request only, which must then return NULL: read the request's
 * whole body before anything is forwarded, and call ph_request again once
 * it is here; proxy_xchg_body() gives it then.  Only a Content-Length body
 * of 1 to max bytes without Expect is read; otherwise -1 and nothing
 * changes.  The bytes stay in the client's input and are relayed as they
 * came; a body slower than header_timeout is answered 408.
 */
int		 proxy_xchg_read_body(struct proxy_xchg *, size_t max);
/* Whether the request has a body (Content-Length > 0 or chunked). */
int		 proxy_xchg_has_body(struct proxy_xchg *);
/* In that second ph_request: the body and its length; NULL before. */
const char	*proxy_xchg_body(struct proxy_xchg *, size_t *len);

/*
 * Listen as the policy in force says (or on systemd's "proxy" socket) and
 * start relaying; registers the reload, stop and busy hooks.  0, or -1
 * with *cause.
 */
int		 proxy_init(char **cause);

/* Close every connection and listener (at exit). */
void		 proxy_free(void);

#endif
