/*
 * sock.c -- one buffered, non-blocking stream socket on the event loop.
 *
 * Two events (read, write) and two evbuffers, with the rules of a libevent
 * socket bufferevent: the write event is in the loop only while writing is
 * on and there is output (or a connect is pending); adding output with
 * writing on puts it there.  A read is one readv() that takes all the
 * socket holds (see sock_readcb), into a reservation that starts at 1 KiB
 * and follows what the reads get, up to 64 KiB: a request head costs a
 * small buffer, a large body few system calls.
 *
 * A callback may free the sock.  Every handler holds a reference while it
 * runs callbacks; sock_free() on a sock in use only marks it and turns its
 * events off, and the last reference frees it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "sock.h"

/* Read sizes: a power of two less room for the evbuffer chain's header. */
#define SOCK_READ_MIN	(1024 - 128)
#define SOCK_READ_MAX	(65536 - 128)

struct sock {
	int			 s_fd;
	struct event		*s_rd;
	struct event		*s_wr;
	struct evbuffer		*s_in;
	struct evbuffer		*s_out;
	sock_data_cb		 s_readcb;
	sock_data_cb		 s_writecb;
	sock_event_cb		 s_eventcb;
	void			*s_arg;
	short			 s_enabled;
	int			 s_connecting;
	int			 s_refs;
	int			 s_dead;
	size_t			 s_lowmark;
	size_t			 s_rdsize;
	struct timeval		 s_ctimeout;
	int			 s_has_ctimeout;
};

static void	sock_readcb(evutil_socket_t, short, void *);
static void	sock_writecb(evutil_socket_t, short, void *);
static void	sock_connect_over(struct sock *);

/* Put the write event in the loop if it belongs there and is not. */
static void
sock_want_write(struct sock *s)
{
	if (s->s_dead || !(s->s_enabled & EV_WRITE))
		return;
	if (!s->s_connecting && evbuffer_get_length(s->s_out) == 0)
		return;
	if (event_pending(s->s_wr, EV_WRITE, NULL))
		return;
	event_add(s->s_wr, s->s_connecting && s->s_has_ctimeout ?
	    &s->s_ctimeout : NULL);
}

/* Output was added: start writing if writing is on. */
static void
sock_outcb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	(void)buf;
	if (info->n_added > 0)
		sock_want_write(arg);
}

/* Wrap a non-blocking socket. */
struct sock *
sock_new(struct event_base *base, int fd)
{
	struct sock	*s;

	s = xcalloc(1, sizeof *s);
	s->s_fd = fd;
	s->s_rd = event_new(base, fd, EV_READ | EV_PERSIST, sock_readcb, s);
	s->s_wr = event_new(base, fd, EV_WRITE | EV_PERSIST, sock_writecb, s);
	s->s_in = evbuffer_new();
	s->s_out = evbuffer_new();
	if (s->s_rd == NULL || s->s_wr == NULL || s->s_in == NULL ||
	    s->s_out == NULL)
		fatal_oom();
	evbuffer_add_cb(s->s_out, sock_outcb, s);
	s->s_enabled = EV_WRITE;
	s->s_rdsize = SOCK_READ_MIN;
	return (s);
}

/* Release what a sock holds and close its socket. */
static void
sock_destroy(struct sock *s)
{
	event_free(s->s_rd);
	event_free(s->s_wr);
	evbuffer_free(s->s_in);
	evbuffer_free(s->s_out);
	close(s->s_fd);
	free(s);
}

/* Free a sock now, or when the handler using it returns. */
void
sock_free(struct sock *s)
{
	if (s == NULL || s->s_dead)
		return;
	s->s_dead = 1;
	event_del(s->s_rd);
	event_del(s->s_wr);
	if (s->s_refs == 0)
		sock_destroy(s);
}

/* Drop a handler's reference, freeing a sock freed meanwhile. */
static void
sock_release(struct sock *s)
{
	if (--s->s_refs == 0 && s->s_dead)
		sock_destroy(s);
}

/* Tell the event callback, keeping errno for it. */
static void
sock_event(struct sock *s, short what, int error)
{
	if (s->s_eventcb != NULL) {
		errno = error;
		s->s_eventcb(s, what, s->s_arg);
	}
}

/*
 * The socket is readable: one readv() into the space reserved in the input
 * and, past it, a spill buffer, so that a single call takes everything
 * the socket holds (up to 64 KiB more) whatever the guess.  Spilled bytes
 * are copied in and make the next reservation larger; reads that use
 * little of it make it smaller again.
 */
static void
sock_readcb(evutil_socket_t fd, short events, void *arg)
{
	static char		 spill[SOCK_READ_MAX + 128];
	struct sock		*s = arg;
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[3];
	size_t			 room = 0, got;
	ssize_t			 n;
	int			 i, nv, error;

	(void)events;
	nv = evbuffer_reserve_space(s->s_in, (ev_ssize_t)s->s_rdsize, v, 2);
	if (nv < 0)
		fatal_oom();
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
		room += v[i].iov_len;
	}
	iov[nv].iov_base = spill;
	iov[nv].iov_len = sizeof spill;
	n = readv(fd, iov, nv + 1);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	s->s_refs++;
	if (n > 0) {
		got = (size_t)n;
		for (i = 0; i < nv; i++) {
			if (got < v[i].iov_len)
				v[i].iov_len = got;
			got -= v[i].iov_len;
		}
		evbuffer_commit_space(s->s_in, v, nv);
		if (got > 0 && evbuffer_add(s->s_in, spill, got) != 0)
			fatal_oom();
		if ((size_t)n > room) {
			if (s->s_rdsize < SOCK_READ_MAX)
				s->s_rdsize = (s->s_rdsize + 128) * 2 - 128;
		} else if ((size_t)n < s->s_rdsize / 4 &&
		    s->s_rdsize > SOCK_READ_MIN)
			s->s_rdsize = (s->s_rdsize + 128) / 2 - 128;
		if (s->s_readcb != NULL)
			s->s_readcb(s, s->s_arg);
	} else {
		error = n == 0 ? 0 : errno;
		if (s->s_connecting)
			sock_connect_over(s);	/* a failed connect, read first */
		sock_disable(s, EV_READ);
		sock_event(s, SOCK_READING | (n == 0 ? SOCK_EOF : SOCK_ERROR),
		    error);
	}
	sock_release(s);
}

/* A connect failed or timed out: nothing more comes from this socket. */
static void
sock_connect_over(struct sock *s)
{
	s->s_connecting = 0;
	s->s_enabled = 0;
	event_del(s->s_rd);
	event_del(s->s_wr);
}

/* The connect finished: 0 connected, else the error. */
static int
sock_connect_result(struct sock *s)
{
	int		error = 0;
	socklen_t	len = sizeof error;

	if (getsockopt(s->s_fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return (errno);
	return (error);
}

/* The socket is writable, or the connect timeout passed. */
static void
sock_writecb(evutil_socket_t fd, short events, void *arg)
{
	struct sock	*s = arg;
	int		 n, error, wrote = 0, connected = 0;

	s->s_refs++;
	if (events & EV_TIMEOUT) {
		/* Only a connect has a timeout; it is over for good. */
		sock_connect_over(s);
		sock_event(s, SOCK_WRITING | SOCK_TIMEOUT, ETIMEDOUT);
		goto out;
	}
	if (s->s_connecting) {
		if ((error = sock_connect_result(s)) == EINPROGRESS)
			goto out;
		if (error != 0) {
			sock_connect_over(s);
			sock_event(s, SOCK_ERROR, error);
			goto out;
		}
		s->s_connecting = 0;
		event_del(s->s_wr);
		sock_event(s, SOCK_CONNECTED, 0);
		if (s->s_dead || !(s->s_enabled & EV_WRITE))
			goto out;
		connected = 1;
	}
	if (evbuffer_get_length(s->s_out) > 0) {
		n = evbuffer_write(s->s_out, fd);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			sock_want_write(s);	/* deleted if just connected */
			goto out;
		}
		if (n <= 0) {
			error = n == 0 ? EPIPE : errno;
			sock_disable(s, EV_WRITE);
			sock_event(s, SOCK_WRITING | SOCK_ERROR, error);
			goto out;
		}
		wrote = 1;
	}
	if (evbuffer_get_length(s->s_out) == 0)
		event_del(s->s_wr);
	else
		sock_want_write(s);
	/* As a bufferevent: not for a connect alone, which was reported. */
	if ((wrote || !connected) &&
	    evbuffer_get_length(s->s_out) <= s->s_lowmark &&
	    s->s_writecb != NULL)
		s->s_writecb(s, s->s_arg);
out:
	sock_release(s);
}

/* Set the callbacks. */
void
sock_setcb(struct sock *s, sock_data_cb readcb, sock_data_cb writecb,
    sock_event_cb eventcb, void *arg)
{
	s->s_readcb = readcb;
	s->s_writecb = writecb;
	s->s_eventcb = eventcb;
	s->s_arg = arg;
}

/* Turn reading or writing on. */
void
sock_enable(struct sock *s, short what)
{
	if (s->s_dead)
		return;
	if ((what & EV_READ) && !(s->s_enabled & EV_READ)) {
		s->s_enabled |= EV_READ;
		event_add(s->s_rd, NULL);
	}
	if (what & EV_WRITE) {
		s->s_enabled |= EV_WRITE;
		sock_want_write(s);
	}
}

/* Turn reading or writing off. */
void
sock_disable(struct sock *s, short what)
{
	if ((what & EV_READ) && (s->s_enabled & EV_READ)) {
		s->s_enabled &= ~EV_READ;
		event_del(s->s_rd);
	}
	if ((what & EV_WRITE) && (s->s_enabled & EV_WRITE)) {
		s->s_enabled &= ~EV_WRITE;
		if (!s->s_connecting)
			event_del(s->s_wr);
	}
}

/* What is turned on. */
short
sock_enabled(const struct sock *s)
{
	return (s->s_enabled);
}

/* The bytes read and not yet taken. */
struct evbuffer *
sock_input(struct sock *s)
{
	return (s->s_in);
}

/* The bytes to write. */
struct evbuffer *
sock_output(struct sock *s)
{
	return (s->s_out);
}

/* The socket. */
int
sock_fd(const struct sock *s)
{
	return (s->s_fd);
}

/* Set the write callback's low mark. */
void
sock_set_lowmark(struct sock *s, size_t mark)
{
	s->s_lowmark = mark;
}

/*
 * Write now rather than a loop turn later.  What does not fit waits for the
 * write event; an error is left for that event to find and report, so that
 * it reaches the callback from the loop like every other.
 */
void
sock_push(struct sock *s)
{
	if (s->s_dead || evbuffer_get_length(s->s_out) == 0)
		return;
	if (!s->s_connecting && !event_pending(s->s_wr, EV_WRITE, NULL)) {
		evbuffer_write(s->s_out, s->s_fd);
		if (evbuffer_get_length(s->s_out) == 0)
			return;
	}
	sock_enable(s, EV_WRITE);
}

/* Start connecting. */
int
sock_connect(struct sock *s, const struct sockaddr *sa, socklen_t len,
    long timeout_ms)
{
	/* EAGAIN is no connect under way (a full unix backlog, no port). */
	if (connect(s->s_fd, sa, len) == -1 && errno != EINPROGRESS &&
	    errno != EINTR)
		return (-1);
	/* Even a connect that is done at once reports from the loop. */
	s->s_connecting = 1;
	if (timeout_ms > 0) {
		s->s_ctimeout.tv_sec = timeout_ms / 1000;
		s->s_ctimeout.tv_usec = (timeout_ms % 1000) * 1000;
		s->s_has_ctimeout = 1;
	}
	s->s_enabled |= EV_WRITE;
	event_add(s->s_wr, s->s_has_ctimeout ? &s->s_ctimeout : NULL);
	return (0);
}
