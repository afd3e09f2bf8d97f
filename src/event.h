/*
 * event.h -- what the session state machine tells the layers above it.
 *
 * session.c produces these; the actions layer (webhooks, directory
 * removal, persistence) consumes them through one registered sink.  The
 * struct is self-contained so it can be queued, persisted and delivered
 * after the session itself is gone.
 */
#ifndef JANITOR_EVENT_H
#define JANITOR_EVENT_H

#include <stdint.h>

#include "config.h"

enum jevent_type {
	JEVENT_UNLOAD,		/* "session.unload" */
	JEVENT_EXPIRE,		/* "session.expire" */
};

enum jevent_reason {
	JREASON_DISCONNECT,		/* unload: the last live channel closed */
	JREASON_AFTER_DISCONNECT,	/* expire */
	JREASON_TIME_TO_LIVE,		/* expire */
	JREASON_CAPACITY,		/* expire */
	JREASON_ADMIN,			/* expire */
};

struct jevent {
	enum jevent_type	 je_type;
	enum jevent_reason	 je_reason;
	char			 je_session[SESSION_KEY_MAX + 1];
	int64_t			 je_at;		/* wall ms when it happened */
	int64_t			 je_created_at;	/* wall ms */
	int64_t			 je_last_seen;	/* wall ms */
	char			 je_client_ip[64];
	uint64_t		 je_requests;
};

/* The consumer of events; registered once by the layer above. */
typedef void (*jevent_sink)(const struct jevent *, void *arg);

/* "session.unload" or "session.expire". */
const char	*jevent_type_name(enum jevent_type);

/* "disconnect", "after_disconnect", "time_to_live", "capacity", "admin". */
const char	*jevent_reason_name(enum jevent_reason);

#endif
