/*
 * sessionapi.h -- the session routes of the admin API.
 */
#ifndef JANITOR_SESSIONAPI_H
#define JANITOR_SESSIONAPI_H

/* Register GET /sessions, GET and DELETE /sessions/{key}. */
void	sessionapi_init(void);

#endif
