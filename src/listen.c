/*
 * listen.c -- listening sockets.
 *
 * Each socket is wrapped in an evconnlistener.  When accept() fails for
 * lack of descriptors (EMFILE, ENFILE) accepting pauses for a second rather
 * than spinning on a socket that stays readable, as tmux does.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "daemon.h"
#include "listen.h"
#include "log.h"
#include "systemd.h"

#define LISTEN_BACKLOG		4096
#define LISTEN_PAUSE_MS		1000

struct listener {
	struct evconnlistener	*li_ev;
	struct event		*li_resume;
	char			*li_unlink;	/* unix socket path we made */
	char			 li_text[128];
	listen_accept_cb	 li_cb;
	void			*li_arg;
};

struct listen_set {
	struct listener		*ls_list;
	size_t			 ls_n;
	int			 ls_inherited;
};

/* Format an error message into *cause (allocated). */
static void __attribute__((format(printf, 2, 3)))
listen_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		fatal_oom();
	va_end(ap);
}

/* Hand a new connection to the owner. */
static void
listen_accept(struct evconnlistener *ev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct listener	*li = arg;

	(void)ev;
	li->li_cb(fd, sa, socklen, li->li_arg);
}

/* Accept again after a pause. */
static void
listen_resume(evutil_socket_t fd, short events, void *arg)
{
	struct listener	*li = arg;

	(void)fd;
	(void)events;
	evconnlistener_enable(li->li_ev);
}

/* accept() failed: pause on descriptor exhaustion, else just log. */
static void
listen_error(struct evconnlistener *ev, void *arg)
{
	struct listener	*li = arg;
	struct timeval	 tv = { LISTEN_PAUSE_MS / 1000, 0 };
	int		 e = errno;

	(void)ev;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		log_warn("%s: accept: %s; pausing for a second", li->li_text,
		    strerror(e));
		evconnlistener_disable(li->li_ev);
		evtimer_add(li->li_resume, &tv);
		return;
	}
	log_warn("%s: accept: %s", li->li_text, strerror(e));
}

/* Remove a unix socket left behind by a dead process; -1 if one is alive. */
static int
listen_stale_unix(const struct sockaddr_un *sun, socklen_t len, char **cause)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(sun->sun_path, &st) != 0)
		return (0);
	if (!S_ISSOCK(st.st_mode)) {
		listen_cause(cause, "%s exists and is not a socket",
		    sun->sun_path);
		return (-1);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (0);
	rc = connect(fd, (const struct sockaddr *)sun, len);
	close(fd);
	if (rc == 0) {
		listen_cause(cause, "%s: another process is listening there",
		    sun->sun_path);
		return (-1);
	}
	unlink(sun->sun_path);
	return (0);
}

/* Make one listening socket; -1 with *cause. */
static int
listen_socket(const struct addr *ad, char **cause)
{
	int	fd, one = 1;

	if (ad->ad_family == AF_UNIX && listen_stale_unix(
	    (const struct sockaddr_un *)&ad->ad_ss, ad->ad_len, cause) != 0)
		return (-1);
	fd = socket(ad->ad_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	if (ad->ad_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ad->ad_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)&ad->ad_ss, ad->ad_len) != 0)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	return (fd);
fail:
	listen_cause(cause, "listen on %s: %s", ad->ad_text, strerror(errno));
	if (fd != -1)
		close(fd);
	return (-1);
}

/* Wrap a listening fd. */
static int
listen_wrap(struct listener *li, int fd, listen_accept_cb cb, void *arg,
    char **cause)
{
	li->li_cb = cb;
	li->li_arg = arg;
	li->li_ev = evconnlistener_new(daemon_base(), listen_accept, li,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (li->li_ev == NULL) {
		listen_cause(cause, "%s: cannot watch the socket", li->li_text);
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(li->li_ev, listen_error);
	li->li_resume = evtimer_new(daemon_base(), listen_resume, li);
	return (0);
}

/* Listen on every address or the inherited socket. */
struct listen_set *
listen_open(const struct addr *ads, size_t n, const char *sdname,
    listen_accept_cb cb, void *arg, char **cause)
{
	struct listen_set	*ls;
	struct listener		*li;
	size_t			 i;
	int			 fd;

	ls = xcalloc(1, sizeof *ls);
	if (sdname != NULL && (fd = systemd_listen_take(sdname)) != -1) {
		ls->ls_list = xcalloc(1, sizeof *ls->ls_list);
		li = &ls->ls_list[0];
		snprintf(li->li_text, sizeof li->li_text, "systemd socket %s",
		    sdname);
		/* systemd hands sockets over blocking; accept() must not be. */
		evutil_make_socket_nonblocking(fd);
		ls->ls_inherited = 1;
		if (listen_wrap(li, fd, cb, arg, cause) != 0) {
			free(ls->ls_list);
			free(ls);
			return (NULL);
		}
		ls->ls_n = 1;
		log_info("listening on %s", li->li_text);
		return (ls);
	}
	ls->ls_list = xcalloc(n, sizeof *ls->ls_list);
	for (i = 0; i < n; i++) {
		li = &ls->ls_list[i];
		snprintf(li->li_text, sizeof li->li_text, "%s",
		    ads[i].ad_text);
		if ((fd = listen_socket(&ads[i], cause)) == -1)
			goto fail;
		if (ads[i].ad_family == AF_UNIX)
			li->li_unlink = xstrdup(((const struct sockaddr_un *)
			    &ads[i].ad_ss)->sun_path);
		if (listen_wrap(li, fd, cb, arg, cause) != 0)
			goto fail;
		ls->ls_n = i + 1;
		log_info("listening on %s", li->li_text);
	}
	return (ls);
fail:
	ls->ls_n = i + 1;
	listen_close(ls);
	return (NULL);
}

/* Close every listener. */
void
listen_close(struct listen_set *ls)
{
	struct listener	*li;
	size_t		 i;

	if (ls == NULL)
		return;
	for (i = 0; i < ls->ls_n; i++) {
		li = &ls->ls_list[i];
		if (li->li_ev != NULL)
			evconnlistener_free(li->li_ev);
		if (li->li_resume != NULL)
			event_free(li->li_resume);
		if (li->li_unlink != NULL) {
			unlink(li->li_unlink);
			free(li->li_unlink);
		}
	}
	free(ls->ls_list);
	free(ls);
}

/* Whether the set came from systemd. */
int
listen_inherited(const struct listen_set *ls)
{
	return (ls != NULL && ls->ls_inherited);
}

/* Whether two address lists are the same. */
int
listen_same(const struct addr *a, size_t na, const struct addr *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return (0);
	for (i = 0; i < na; i++) {
		if (a[i].ad_len != b[i].ad_len ||
		    memcmp(&a[i].ad_ss, &b[i].ad_ss, a[i].ad_len) != 0)
			return (0);
	}
	return (1);
}
