/*
 * sessionhook.h -- the session module's side of the proxy hooks.
 */
#ifndef JANITOR_SESSIONHOOK_H
#define JANITOR_SESSIONHOOK_H

struct policy;

/* Register the hooks with the proxy (once, at start). */
void	sessionhook_init(void);

/* Set TCP keepalive from sessions.keepalive on a client socket. */
void	sessionhook_keepalive(int fd, const struct policy *);

#endif
