/*
 * event.c -- names of session events and their reasons, as they appear in
 * webhooks, logs and metrics.
 */
#include "event.h"

/* "session.unload" or "session.expire". */
const char *
jevent_type_name(enum jevent_type type)
{
	switch (type) {
	case JEVENT_UNLOAD:
		return ("session.unload");
	case JEVENT_EXPIRE:
		return ("session.expire");
	}
	return ("session.unknown");
}

/* The reason as SPEC.md spells it. */
const char *
jevent_reason_name(enum jevent_reason reason)
{
	switch (reason) {
	case JREASON_DISCONNECT:
		return ("disconnect");
	case JREASON_AFTER_DISCONNECT:
		return ("after_disconnect");
	case JREASON_TIME_TO_LIVE:
		return ("time_to_live");
	case JREASON_CAPACITY:
		return ("capacity");
	case JREASON_ADMIN:
		return ("admin");
	}
	return ("unknown");
}
