/*
 * sock.h -- one buffered, non-blocking stream socket on the event loop.
 *
 * The relay's two sides (client and app) are these.  They behave like
 * libevent's socket bufferevents, which the relay was first built on, with
 * two differences that matter to a proxy: a read takes what the socket has
 * in one system call (libevent 2.1 asks FIONREAD first and never reads more
 * than 4096 bytes at a time), and sock_push() writes at once instead of a
 * loop turn later.  See docs/relay.md.
 *
 * Callbacks are called only from the loop, never from a sock_* call.  A
 * callback may sock_free() its own sock; nothing touches it afterwards.
 */
#ifndef JANITOR_SOCK_H
#define JANITOR_SOCK_H

#include <sys/socket.h>

#include <stddef.h>

struct evbuffer;
struct event_base;
struct sock;

/* What an event callback is told (several may be set). */
#define SOCK_READING	0x01	/* while reading */
#define SOCK_WRITING	0x02	/* while writing or connecting */
#define SOCK_EOF	0x10	/* the peer closed */
#define SOCK_ERROR	0x20	/* errno says what */
#define SOCK_TIMEOUT	0x40	/* the connect timeout passed */
#define SOCK_CONNECTED	0x80	/* sock_connect() completed */

typedef void	(*sock_data_cb)(struct sock *, void *);
typedef void	(*sock_event_cb)(struct sock *, short, void *);

/* Wrap a connected or unconnected non-blocking socket; sock_free closes it. */
struct sock	*sock_new(struct event_base *, int fd);
void		 sock_free(struct sock *);

/*
 * Set the callbacks: read when bytes arrived, write when the output fell to
 * the low mark after a write, event on EOF, error, timeout or connect.
 */
void		 sock_setcb(struct sock *, sock_data_cb, sock_data_cb,
		    sock_event_cb, void *);

/* Turn reading or writing (EV_READ, EV_WRITE) on and off. */
void		 sock_enable(struct sock *, short);
void		 sock_disable(struct sock *, short);
short		 sock_enabled(const struct sock *);

struct evbuffer	*sock_input(struct sock *);
struct evbuffer	*sock_output(struct sock *);
int		 sock_fd(const struct sock *);

/* Call the write callback once the output is at most this many bytes. */
void		 sock_set_lowmark(struct sock *, size_t);

/* Write the output now as far as the socket takes it; wait for the rest. */
void		 sock_push(struct sock *);

/*
 * Start connecting; SOCK_CONNECTED or an error comes to the event callback.
 * timeout_ms > 0 bounds the connect.  Returns -1 with errno on failure now.
 */
int		 sock_connect(struct sock *, const struct sockaddr *, socklen_t,
		    long timeout_ms);

#endif
