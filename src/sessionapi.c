/*
 * sessionapi.c -- the session routes of the admin API:
 *
 *   GET    /sessions[?state=idle|live|unloaded][&limit=N]
 *   GET    /sessions/{key}
 *   DELETE /sessions/{key}	(expire now, reason admin: 202)
 *
 * The list runs from the most recently active session and stops at limit
 * (default 1000), so a table of a million sessions is never dumped whole
 * by accident.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin.h"
#include "session.h"
#include "sessionapi.h"
#include "sessionkey.h"

#define SESSIONAPI_LIMIT	1000

struct sessionapi_list {
	json_t		*sl_array;
	int		 sl_state;	/* -1: any */
	unsigned long	 sl_left;
};

/* Wall milliseconds as "2026-11-23T09:12:01.000Z". */
static json_t *
sessionapi_time(int64_t ms)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);
	char		buf[96];

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return (json_string(buf));
}

/* One session as a JSON object. */
static json_t *
sessionapi_json(const struct session *s)
{
	struct session_rec	sr;

	session_get_rec(s, &sr);
	return (json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:s}",
	    "key", sr.sr_key,
	    "state", session_state_name(session_state(s)),
	    "created_at", sessionapi_time(sr.sr_created_at),
	    "last_seen", sessionapi_time(sr.sr_last_seen),
	    "channels", (json_int_t)session_channels(s),
	    "requests", (json_int_t)sr.sr_requests,
	    "client_ip", sr.sr_client_ip));
}

/* Add one session to the list when it matches. */
static int
sessionapi_add(struct session *s, void *arg)
{
	struct sessionapi_list	*sl = arg;

	if (sl->sl_left == 0)
		return (0);
	if (sl->sl_state >= 0 && (int)session_state(s) != sl->sl_state)
		return (1);
	json_array_append_new(sl->sl_array, sessionapi_json(s));
	sl->sl_left--;
	return (1);
}

/* Answer an error as {"error": text}. */
static void
sessionapi_error(struct admin_req *ar, int status, const char *text)
{
	admin_reply_json(ar, status, json_pack("{s:s}", "error", text));
}

/* GET /sessions. */
static void
sessionapi_list(struct admin_req *ar, const char *tail, void *arg)
{
	struct sessionapi_list	 sl;
	const char		*state, *limit;
	char			*end;
	int			 i;

	(void)tail;
	(void)arg;
	sl.sl_state = -1;
	sl.sl_left = SESSIONAPI_LIMIT;
	if ((state = admin_query(ar, "state")) != NULL) {
		for (i = SESSION_IDLE; i <= SESSION_UNLOADED; i++) {
			if (strcmp(state, session_state_name(i)) == 0)
				sl.sl_state = i;
		}
		if (sl.sl_state < 0) {
			sessionapi_error(ar, 400,
			    "state must be idle, live or unloaded");
			return;
		}
	}
	if ((limit = admin_query(ar, "limit")) != NULL) {
		errno = 0;
		sl.sl_left = strtoul(limit, &end, 10);
		if (errno != 0 || end == limit || *end != '\0' ||
		    *limit == '-') {
			sessionapi_error(ar, 400,
			    "limit must be a non-negative integer");
			return;
		}
	}
	sl.sl_array = json_array();
	session_walk(sessionapi_add, &sl);
	admin_reply_json(ar, 200, sl.sl_array);
}

/* GET /sessions/{key}. */
static void
sessionapi_get(struct admin_req *ar, const char *key, void *arg)
{
	struct session	*s;

	(void)arg;
	if (!sessionkey_valid(key, strlen(key)) ||
	    (s = session_find(key)) == NULL) {
		sessionapi_error(ar, 404, "no such session");
		return;
	}
	admin_reply_json(ar, 200, sessionapi_json(s));
}

/* DELETE /sessions/{key}: expire now with reason admin. */
static void
sessionapi_delete(struct admin_req *ar, const char *key, void *arg)
{
	(void)arg;
	if (!sessionkey_valid(key, strlen(key)) ||
	    session_expire_key(key, JREASON_ADMIN) != 0) {
		sessionapi_error(ar, 404, "no such session");
		return;
	}
	admin_reply_json(ar, 202, json_pack("{s:s, s:s}", "session", key,
	    "result", "expired"));
}

/* Register the routes. */
void
sessionapi_init(void)
{
	admin_route("GET", "/sessions", 0, sessionapi_list, NULL);
	admin_route("GET", "/sessions/", 1, sessionapi_get, NULL);
	admin_route("DELETE", "/sessions/", 1, sessionapi_delete, NULL);
}
