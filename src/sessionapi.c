/*
 * sessionapi.c -- the session routes of the admin API:
 *
 *   GET    /sessions[?state=idle|live|unloaded|provisional][&limit=N]
 *          [&after=CURSOR]
 *   GET    /sessions/{key}
 *   DELETE /sessions/{key}	(expire now, reason admin: 202)
 *
 * The list runs from the most recently active session and stops at limit
 * (default 100, at most 10,000); a Link header names the next page.  It
 * is made in slices of at most ADMIN_SLICE_NS, so a list of 10,000 in a
 * table of millions never stalls the relay.  Between slices sessions may
 * be touched (they move to the front, out of this walk) or expire: the
 * walk goes on from the first session older than the last one listed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "admin.h"
#include "log.h"
#include "session.h"
#include "sessionapi.h"
#include "sessionkey.h"

struct sessionapi_list {
	int		 sl_state;	/* -1: any confirmed one */
	size_t		 sl_left;
	uint64_t	 sl_below;	/* list orders below this only */
	struct session	*sl_next;	/* where to go on, referenced */
	uint64_t	 sl_next_order;	/* ...if it has not moved */
	size_t		 sl_n;
	struct evbuffer	*sl_buf;
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

/* Answer an error as {"error": text}. */
static void
sessionapi_error(struct admin_req *ar, int status, const char *text)
{
	admin_reply_json(ar, status, json_pack("{s:s}", "error", text));
}

/* Free a list's state. */
static void
sessionapi_list_free(void *arg)
{
	struct sessionapi_list	*sl = arg;

	if (sl->sl_next != NULL)
		session_unref(sl->sl_next);
	evbuffer_free(sl->sl_buf);
	free(sl);
}

/* Append one session to the list being made. */
static void
sessionapi_emit(struct sessionapi_list *sl, const struct session *s)
{
	json_t	*o = sessionapi_json(s);
	char	*text;

	text = json_dumps(o, JSON_INDENT(1) | JSON_ENSURE_ASCII);
	json_decref(o);
	if (text == NULL)
		fatal_oom();
	evbuffer_add_printf(sl->sl_buf, "%s%s", sl->sl_n++ == 0 ? "" : ",\n",
	    text);
	free(text);
}

/* Answer with what was listed, and a Link to the next page if any. */
static void
sessionapi_finish(struct admin_req *ar, struct sessionapi_list *sl,
    int more)
{
	char	link[160];

	evbuffer_add_printf(sl->sl_buf, "]\n");
	if (more && sl->sl_n > 0) {
		snprintf(link, sizeof link, "</sessions?limit=%zu&after=%" PRIu64
		    "%s%s>; rel=\"next\"", sl->sl_n, sl->sl_below,
		    sl->sl_state >= 0 ? "&state=" : "", sl->sl_state >= 0 ?
		    session_state_name(sl->sl_state) : "");
		admin_reply_header(ar, "Link", link);
	}
	admin_reply_buffer(ar, 200, "application/json", sl->sl_buf);
	sessionapi_list_free(sl);
}

/* One slice of GET /sessions; 0 once answered. */
static int
sessionapi_slice(struct admin_req *ar, void *arg)
{
	struct sessionapi_list	*sl = arg;
	struct session		*s;
	struct timespec		 start;
	unsigned		 n = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Go on where the last slice stopped, if that session stayed put. */
	s = sl->sl_next;
	if (s == NULL || session_gone(s) ||
	    session_order(s) != sl->sl_next_order)
		s = session_newest(sl->sl_state == SESSION_PROVISIONAL);
	if (sl->sl_next != NULL)
		session_unref(sl->sl_next);
	sl->sl_next = NULL;

	while (s != NULL) {
		if (session_order(s) >= sl->sl_below) {
			/* Listed already, or touched since: not on this walk. */
		} else if (sl->sl_state < 0 ||
		    (int)session_state(s) == sl->sl_state) {
			if (sl->sl_left == 0) {
				sessionapi_finish(ar, sl, 1);
				return (ADMIN_SLICE_DONE);
			}
			sessionapi_emit(sl, s);
			sl->sl_left--;
			sl->sl_below = session_order(s);
		}
		s = session_older(s);
		if (s != NULL && (++n & 15) == 0 && admin_slice_over(&start)) {
			sl->sl_next = session_ref(s);
			sl->sl_next_order = session_order(s);
			return (ADMIN_SLICE_AGAIN);
		}
	}
	sessionapi_finish(ar, sl, 0);
	return (ADMIN_SLICE_DONE);
}

/* GET /sessions. */
static void
sessionapi_list(struct admin_req *ar, const char *tail, void *arg)
{
	struct sessionapi_list	*sl;
	const char		*state;
	size_t			 limit;
	uint64_t		 after;
	int			 i, want = -1;

	(void)tail;
	(void)arg;
	if ((state = admin_query(ar, "state")) != NULL) {
		for (i = SESSION_IDLE; i <= SESSION_PROVISIONAL; i++) {
			if (strcmp(state, session_state_name(i)) == 0)
				want = i;
		}
		if (want < 0) {
			sessionapi_error(ar, 400, "state must be idle, live, "
			    "unloaded or provisional");
			return;
		}
	}
	if (admin_paging(ar, &limit, &after) != 0)
		return;
	sl = xcalloc(1, sizeof *sl);
	sl->sl_state = want;
	sl->sl_left = limit;
	sl->sl_below = after > 0 ? after : UINT64_MAX;
	if ((sl->sl_buf = evbuffer_new()) == NULL)
		fatal_oom();
	evbuffer_add_printf(sl->sl_buf, "[");
	admin_slices(ar, sessionapi_slice, sessionapi_list_free, sl);
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
	struct session	*s;
	int		 provisional;

	(void)arg;
	if (!sessionkey_valid(key, strlen(key)) ||
	    (s = session_find(key)) == NULL) {
		sessionapi_error(ar, 404, "no such session");
		return;
	}
	provisional = session_state(s) == SESSION_PROVISIONAL;
	session_expire_key(key, JREASON_ADMIN);
	admin_reply_json(ar, 202, json_pack("{s:s, s:s}", "session", key,
	    "result", provisional ? "dropped" : "expired"));
}

/* Register the routes. */
void
sessionapi_init(void)
{
	admin_route("GET", "/sessions", 0, sessionapi_list, NULL);
	admin_route("GET", "/sessions/", 1, sessionapi_get, NULL);
	admin_route("DELETE", "/sessions/", 1, sessionapi_delete, NULL);
}
