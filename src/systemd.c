/*
 * systemd.c -- sd_notify and socket activation without libsystemd.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "systemd.h"

#define SYSTEMD_LISTEN_FDS_START	3
#define SYSTEMD_LISTEN_MAX		64

struct systemd_fd {
	int	 sf_fd;
	char	*sf_name;	/* "" when unnamed */
	int	 sf_taken;
};

static struct systemd_fd	 systemd_fds[SYSTEMD_LISTEN_MAX];
static int			 systemd_nfds;
static struct event		*systemd_watchdog_ev;

/* Send one notify datagram to $NOTIFY_SOCKET. */
int
systemd_notify(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	const char		*path;
	char			 msg[1024];
	va_list			 ap;
	socklen_t		 len;
	int			 fd, n;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return (0);
	if (path[0] != '/' && path[0] != '@')
		return (-1);
	if (strlen(path) >= sizeof sun.sun_path)
		return (-1);

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof msg)
		return (-1);

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len) == -1) {
		log_debug("sd_notify: %s", strerror(errno));
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/* Tell systemd the service is up. */
void
systemd_ready(const char *status)
{
	systemd_notify("READY=1\nSTATUS=%s", status);
}

/* Tell systemd a reload began, with the monotonic time it wants. */
void
systemd_reloading(void)
{
	systemd_notify("RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)clock_mono_ms() * 1000);
}

/* Ping the watchdog. */
static void
systemd_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	systemd_notify("WATCHDOG=1");
}

/* Start the watchdog pings when systemd asked for them. */
void
systemd_watchdog_start(struct event_base *base)
{
	const char	*s, *pid;
	struct timeval	 tv;
	long long	 usec;
	char		*end;

	if ((s = getenv("WATCHDOG_USEC")) == NULL)
		return;
	pid = getenv("WATCHDOG_PID");
	if (pid != NULL && strtoll(pid, NULL, 10) != (long long)getpid())
		return;
	errno = 0;
	usec = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || usec <= 0) {
		log_warn("WATCHDOG_USEC=%s is not a number of microseconds", s);
		return;
	}
	usec /= 2;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	systemd_watchdog_ev = event_new(base, -1, EV_PERSIST,
	    systemd_watchdog_cb, NULL);
	if (systemd_watchdog_ev == NULL)
		fatal_oom();
	event_add(systemd_watchdog_ev, &tv);
	systemd_notify("WATCHDOG=1");
	log_info("watchdog: pinging every %lld ms", usec / 1000);
}

/* Stop the watchdog pings. */
void
systemd_watchdog_stop(void)
{
	if (systemd_watchdog_ev != NULL)
		event_free(systemd_watchdog_ev);
	systemd_watchdog_ev = NULL;
}

/* Read the socket-activation variables once. */
int
systemd_listen_init(void)
{
	const char	*spid, *sfds, *snames;
	char		*names = NULL, *name, *save = NULL, *end;
	long		 pid, n;
	int		 i;

	spid = getenv("LISTEN_PID");
	sfds = getenv("LISTEN_FDS");
	snames = getenv("LISTEN_FDNAMES");
	if (spid == NULL || sfds == NULL)
		return (0);
	errno = 0;
	pid = strtol(spid, &end, 10);
	if (errno != 0 || *end != '\0' || pid != (long)getpid())
		return (0);	/* meant for another process */
	n = strtol(sfds, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > SYSTEMD_LISTEN_MAX) {
		log_warn("LISTEN_FDS=%s ignored", sfds);
		return (0);
	}
	if (snames != NULL)
		names = xstrdup(snames);
	name = names != NULL ? strtok_r(names, ":", &save) : NULL;
	for (i = 0; i < n; i++) {
		systemd_fds[i].sf_fd = SYSTEMD_LISTEN_FDS_START + i;
		systemd_fds[i].sf_name = xstrdup(name != NULL ? name : "");
		systemd_fds[i].sf_taken = 0;
		fcntl(systemd_fds[i].sf_fd, F_SETFD, FD_CLOEXEC);
		if (name != NULL)
			name = strtok_r(NULL, ":", &save);
	}
	free(names);
	systemd_nfds = (int)n;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	log_info("socket activation: %d inherited fd(s)", systemd_nfds);
	return (systemd_nfds);
}

/* Take the next inherited fd with the given name. */
int
systemd_listen_take(const char *name)
{
	int	i;

	for (i = 0; i < systemd_nfds; i++) {
		if (systemd_fds[i].sf_taken)
			continue;
		if (name == NULL ? systemd_fds[i].sf_name[0] != '\0' :
		    strcmp(systemd_fds[i].sf_name, name) != 0)
			continue;
		systemd_fds[i].sf_taken = 1;
		return (systemd_fds[i].sf_fd);
	}
	return (-1);
}

/* Close what was handed over but not used. */
void
systemd_listen_close_unused(void)
{
	int	i;

	for (i = 0; i < systemd_nfds; i++) {
		if (!systemd_fds[i].sf_taken) {
			log_warn("socket activation: fd %d (%s) not used, "
			    "closed", systemd_fds[i].sf_fd,
			    systemd_fds[i].sf_name[0] != '\0' ?
			    systemd_fds[i].sf_name : "unnamed");
			close(systemd_fds[i].sf_fd);
		}
		free(systemd_fds[i].sf_name);
	}
	systemd_nfds = 0;
}
