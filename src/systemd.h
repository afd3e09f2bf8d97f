/*
 * systemd.h -- the two halves of systemd's side-channel, spoken directly:
 * sd_notify datagrams ($NOTIFY_SOCKET) and socket activation ($LISTEN_FDS).
 * Both are a few lines of protocol; doing them here spares a libsystemd
 * dependency and works the same under any supervisor that speaks them.
 */
#ifndef JANITOR_SYSTEMD_H
#define JANITOR_SYSTEMD_H

struct event_base;

/* Send one notify message ("READY=1", "STATUS=..."); no-op without systemd. */
int	systemd_notify(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Send READY=1 with a STATUS= line. */
void	systemd_ready(const char *status);

/* Send RELOADING=1 with MONOTONIC_USEC= as systemd's reload protocol wants. */
void	systemd_reloading(void);

/* Start sending WATCHDOG=1 at half of $WATCHDOG_USEC, when it is set for us. */
void	systemd_watchdog_start(struct event_base *);
void	systemd_watchdog_stop(void);

/*
 * Read $LISTEN_PID/$LISTEN_FDS/$LISTEN_FDNAMES once, mark the fds
 * close-on-exec and forget the variables.  Returns the number of fds.
 */
int	systemd_listen_init(void);

/*
 * Take the next inherited fd whose name is name (FileDescriptorName=), or
 * any unnamed one when name is NULL; -1 when there is none left.
 */
int	systemd_listen_take(const char *name);

/* Close the inherited fds nobody took, with a warning each. */
void	systemd_listen_close_unused(void);

#endif
