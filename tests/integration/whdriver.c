/*
 * whdriver.c -- drives the real store, policy and webhook modules with a
 * real event loop and a real SQLite file, without the proxy or the session
 * table: it generates unload/expire events for N sessions at a given pace,
 * as the session table would, and lets them be delivered.  It can be
 * kill -9'd at any moment and started again on the same state directory:
 * the generation progress is stored in the same transaction as the events,
 * so each event is generated exactly once across restarts.
 *
 * usage: whdriver -d STATE_DIR -u URL [-e EXPIRE_URL] [-s SECRET_HEX]
 *            [-n SESSIONS] [-k EVENTS_PER_TICK] [-i TICK_MS] [-t TIMEOUT_MS]
 *            [-m MAX_ATTEMPTS] [-b INITIAL_MS] [-B MAX_MS] [-r TEMPLATE]
 *            [-M MEM_MAX] [-x] [-q]
 *
 * -x exits once every event has been generated and none is pending (dead
 * ones do not count).  Prints "generated N" and "pending N" when it stops.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "store.h"
#include "webhook.h"

#define PROGRESS_KEY	"drv-progress"

static long		 nsessions = 10;
static long		 per_tick = 1;
static long		 tick_ms = 1;
static int		 exit_when_done;
static int64_t		 generated;	/* events generated so far */
static struct event	*tick_ev;
static int64_t		 t_start;
static int64_t		 t_last;	/* previous tick */
static int64_t		 max_gap;	/* longest time between ticks */

/* Remember the stored progress counter. */
static void
load_progress(const struct session_rec *ss, void *arg)
{
	(void)arg;
	if (strcmp(ss->sr_key, PROGRESS_KEY) == 0)
		generated = (int64_t)ss->sr_requests;
}

/* Generate event number i: unload then expire of session i / 2. */
static void
generate(int64_t i)
{
	struct jevent		ev;
	struct session_rec	ss;

	memset(&ev, 0, sizeof ev);
	snprintf(ev.je_session, sizeof ev.je_session, "s%lld",
	    (long long)(i / 2));
	ev.je_type = i % 2 == 0 ? JEVENT_UNLOAD : JEVENT_EXPIRE;
	ev.je_reason = i % 2 == 0 ? JREASON_DISCONNECT :
	    JREASON_AFTER_DISCONNECT;
	ev.je_at = clock_wall_ms();
	ev.je_created_at = ev.je_at - 60000;
	ev.je_last_seen = ev.je_at - 1000;
	snprintf(ev.je_client_ip, sizeof ev.je_client_ip, "127.0.0.1");
	ev.je_requests = (uint64_t)i;

	/* The state change, as the session table would persist it. */
	memset(&ss, 0, sizeof ss);
	snprintf(ss.sr_key, sizeof ss.sr_key, "%s", ev.je_session);
	if (ev.je_type == JEVENT_UNLOAD) {
		ss.sr_created_at = ev.je_created_at;
		ss.sr_last_seen = ev.je_last_seen;
		ss.sr_ever_live = ss.sr_unloaded = 1;
		store_session_put(&ss);
	} else
		store_session_del(ss.sr_key);
	policy_event(&ev, NULL);

	memset(&ss, 0, sizeof ss);
	snprintf(ss.sr_key, sizeof ss.sr_key, "%s", PROGRESS_KEY);
	ss.sr_requests = (uint64_t)(i + 1);
	store_session_put(&ss);
}

/* One tick: generate a few events, or stop when all is done. */
static void
tick(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { tick_ms / 1000, (tick_ms % 1000) * 1000 };
	long		k;

	(void)fd;
	(void)events;
	(void)arg;
	if (t_last != 0 && clock_mono_ms() - t_last > max_gap)
		max_gap = clock_mono_ms() - t_last;
	t_last = clock_mono_ms();
	for (k = 0; k < per_tick && generated < 2 * nsessions; k++) {
		generate(generated++);
		if (generated == 2 * nsessions) {
			printf("generation done in %lld ms, longest gap "
			    "between ticks %lld ms\n",
			    (long long)(clock_mono_ms() - t_start),
			    (long long)max_gap);
			fflush(stdout);
		}
	}
	if (generated >= 2 * nsessions && webhook_pending() == 0) {
		printf("all delivered in %lld ms\n",
		    (long long)(clock_mono_ms() - t_start));
		fflush(stdout);
		if (exit_when_done) {
			event_base_loopexit(daemon_base(), NULL);
			return;
		}
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
	}
	evtimer_add(tick_ev, &tv);
}

/* SIGTERM/SIGINT: stop cleanly. */
static void
on_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	daemon_stop();
	event_base_loopexit(daemon_base(), NULL);
}

/* Decode a hex string into key bytes. */
static unsigned char *
hex_decode(const char *hex, size_t *len)
{
	unsigned char	*out;
	size_t		 i, n = strlen(hex) / 2;
	unsigned int	 b;

	out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			fatal("bad hex secret");
		out[i] = (unsigned char)b;
	}
	*len = n;
	return (out);
}

int
main(int argc, char **argv)
{
	struct policy		*po;
	struct event_base	*base;
	struct event		*sigterm, *sigint;
	char			*state = NULL, *cause = NULL;
	static char		*removes[1];
	int			 ch, quiet = 0, use_fsutil = 0;

	po = xcalloc(1, sizeof *po);
	po->po_refcnt = 1;
	po->po_file = xstrdup("whdriver");
	po->po_webhooks.timeout = 2000;
	po->po_webhooks.max_attempts = 12;
	po->po_webhooks.backoff_initial = 100;
	po->po_webhooks.backoff_max = 1000;
	po->po_limits.shutdown_timeout = 1000;
	while ((ch = getopt(argc, argv, "d:u:e:s:n:k:i:t:m:b:B:r:M:xq")) != -1) {
		switch (ch) {
		case 'd':
			state = optarg;
			break;
		case 'u':
			po->po_unload.ac_webhook = optarg;
			if (po->po_expire.ac_webhook == NULL)
				po->po_expire.ac_webhook = optarg;
			break;
		case 'e':
			po->po_expire.ac_webhook = optarg;
			break;
		case 's':
			po->po_webhooks.secret = hex_decode(optarg,
			    &po->po_webhooks.secret_len);
			break;
		case 'n':
			nsessions = atol(optarg);
			break;
		case 'k':
			per_tick = atol(optarg);
			break;
		case 'i':
			tick_ms = atol(optarg);
			break;
		case 't':
			po->po_webhooks.timeout = atol(optarg);
			break;
		case 'm':
			po->po_webhooks.max_attempts = atoi(optarg);
			break;
		case 'b':
			po->po_webhooks.backoff_initial = atol(optarg);
			break;
		case 'B':
			po->po_webhooks.backoff_max = atol(optarg);
			break;
		case 'r':
			removes[0] = optarg;
			po->po_expire.ac_remove = removes;
			po->po_expire.ac_nremove = 1;
			use_fsutil = 1;
			break;
		case 'M':
			webhook_set_mem_max((size_t)atol(optarg));
			break;
		case 'x':
			exit_when_done = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			fprintf(stderr, "usage: see whdriver.c\n");
			return (2);
		}
	}
	if (state == NULL) {
		fprintf(stderr, "whdriver: -d STATE_DIR is required\n");
		return (2);
	}
	log_setup(quiet ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, 0);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0 || (base = event_base_new()) == NULL)
		fatal("libevent");
	daemon_init(base, po);

	if (store_open(state, &cause) != 0) {
		log_error("%s", cause);
		return (1);
	}
	if (store_load_sessions(load_progress, NULL, &cause) != 0 ||
	    policy_setup(&cause) != 0 || webhook_init(&cause) != 0) {
		log_error("%s", cause);
		return (1);
	}
	if (use_fsutil && fsutil_start_thread(&cause) != 0) {
		log_error("%s", cause);
		return (1);
	}
	printf("resumed at %lld with %zu pending\n", (long long)generated,
	    webhook_pending());
	fflush(stdout);

	t_start = clock_mono_ms();
	tick_ev = evtimer_new(base, tick, NULL);
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	tick(-1, 0, NULL);
	event_base_dispatch(base);

	printf("generated %lld\npending %zu\n", (long long)generated,
	    webhook_pending());
	fflush(stdout);
	event_free(tick_ev);
	event_free(sigterm);
	event_free(sigint);
	if (use_fsutil)
		fsutil_stop_thread();
	webhook_free();
	policy_free();
	store_close();
	metrics_free();
	/* What config_unref() would free was not made by config.c. */
	free(po->po_webhooks.secret);
	po->po_webhooks.secret = NULL;
	po->po_unload.ac_webhook = po->po_expire.ac_webhook = NULL;
	po->po_expire.ac_remove = NULL;
	po->po_expire.ac_nremove = 0;
	free(po->po_file);
	po->po_file = NULL;
	daemon_free();
	event_base_free(base);
	libevent_global_shutdown();
	return (0);
}
