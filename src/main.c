/*
 * main.c -- command line, start-up, signals and the event loop.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "admin.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "config_job.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "proxy.h"
#include "rx.h"
#include "session.h"
#include "sessionkey.h"
#include "store.h"
#include "sweep.h"
#include "systemd.h"
#include "webhook.h"

#ifndef JANITOR_VERSION
#define JANITOR_VERSION "unknown"
#endif

static struct event	*main_stop_timer;
static struct event	*main_status_timer;
static int64_t		 main_stop_deadline;

/* Print the usage text. */
static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: janitord [-c FILE] [--check]\n"
	    "       janitord --version | --help\n"
	    "\n"
	    "  -c, --config FILE  policy file (default %s)\n"
	    "      --check        validate FILE, print the effective policy, exit\n"
	    "      --version      print the version and exit\n"
	    "      --help         print this text and exit\n"
	    "\n"
	    "Signals: SIGHUP reloads the policy; SIGTERM and SIGINT stop gracefully.\n",
	    CONFIG_DEFAULT_FILE);
}

/* Format the STATUS= line systemctl status shows. */
static void
main_status_text(char *buf, size_t len)
{
	snprintf(buf, len, "sessions: %zu live, %zu idle, %zu unloaded, %zu "
	    "provisional; webhook queue: %zu",
	    session_count_state(SESSION_LIVE), session_count_state(SESSION_IDLE),
	    session_count_state(SESSION_UNLOADED),
	    session_count_state(SESSION_PROVISIONAL), webhook_pending());
}

/* Refresh the STATUS= line every few seconds. */
static void
main_status(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 5, 0 };
	char		buf[256];

	(void)fd;
	(void)events;
	(void)arg;
	main_status_text(buf, sizeof buf);
	systemd_notify("STATUS=%s", buf);
	evtimer_add(main_status_timer, &tv);
}

/* Leave the loop once nothing is busy or the shutdown timeout has passed. */
static void
main_stop_poll(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 0, 50 * 1000 };

	(void)fd;
	(void)events;
	(void)arg;
	if (!daemon_busy() || clock_mono_ms() >= main_stop_deadline) {
		if (daemon_busy())
			log_warn("shutdown timeout passed with work in flight");
		event_base_loopexit(daemon_base(), NULL);
		return;
	}
	evtimer_add(main_stop_timer, &tv);
}

/* A reload ended: systemd hears that the service is ready again. */
static void
main_reloaded(int ok)
{
	(void)ok;
	if (!daemon_stopping())
		systemd_notify("READY=1");
}

/* SIGHUP reloads, SIGTERM/SIGINT stop; runs on the loop, not in the handler. */
static void
main_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	(void)arg;
	if (sig == SIGHUP) {
		if (daemon_stopping())
			return;
		log_info("SIGHUP: reloading");
		if (!daemon_reloading())
			systemd_reloading();
		daemon_reload(main_reloaded);
		return;
	}
	if (daemon_stopping())
		return;
	log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	main_stop_deadline = clock_mono_ms() +
	    daemon_policy()->po_limits.shutdown_timeout;
	systemd_notify("STOPPING=1");
	daemon_stop();
	main_stop_timer = evtimer_new(daemon_base(), main_stop_poll, NULL);
	main_stop_poll(-1, 0, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "check",	no_argument,		NULL, 'C' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	const char			*file = CONFIG_DEFAULT_FILE;
	struct policy			*po;
	struct config_error		 err;
	struct event_base		*base;
	struct event			*sigs[3];
	const int			 signums[3] = { SIGHUP, SIGTERM, SIGINT };
	char				 buf[1024], *cause = NULL;
	int				 ch, check = 0;
	size_t				 i;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'V':
			printf("janitord %s\n", JANITOR_VERSION);
			return (0);
		case 'h':
			main_usage(stdout);
			return (0);
		default:
			main_usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return (2);
	}

	if ((po = config_load_timed(file, &err)) == NULL) {
		config_error_format(&err, buf, sizeof buf);
		fprintf(stderr, "%s\n", buf);
		return (1);
	}
	if (check) {
		config_print_summary(po, stdout);
		config_unref(po);
		return (0);
	}

	log_setup(po->po_log.level, po->po_log.format == LOG_FORMAT_JSON);
	log_route_libevent();
	systemd_listen_init();
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0)
		fatal("libevent: no pthreads support");
	if ((base = event_base_new()) == NULL)
		fatal("libevent: cannot create the event base");
	daemon_init(base, po);
	rx_init();
	log_limit_attach(base);
	/*
	 * Watch signals before the modules start, so a SIGTERM during start-up
	 * waits for the loop instead of killing a half-started daemon.
	 */
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signums[i], main_signal, NULL);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0)
			fatal("cannot watch signal %d", signums[i]);
	}

	if (store_open(po->po_state_dir, &cause) != 0)
		fatal("%s", cause);
	if (sessionkey_secret_init(po->po_state_dir, &cause) != 0)
		fatal("%s", cause);
	if (session_init(&cause) != 0)
		fatal("%s", cause);
	if (policy_init(&cause) != 0)
		fatal("%s", cause);
	if (webhook_init(&cause) != 0)
		fatal("%s", cause);
	if (admin_init(&cause) != 0)
		fatal("%s", cause);
	if (fsutil_start_thread(&cause) != 0)
		fatal("%s", cause);
	if (sweep_start_thread(&cause) != 0)
		fatal("%s", cause);
	if (proxy_init(&cause) != 0)
		fatal("%s", cause);

	/* Every module has taken the inherited sockets it wants by now. */
	systemd_listen_close_unused();
	systemd_watchdog_start(base);
	main_status_text(buf, sizeof buf);
	systemd_ready(buf);
	if (getenv("NOTIFY_SOCKET") != NULL) {
		main_status_timer = evtimer_new(base, main_status, NULL);
		main_status(-1, 0, NULL);
	}
	log_info("janitord %s started with %s", JANITOR_VERSION, po->po_file);
	event_base_dispatch(base);
	log_info("janitord stopped");
	systemd_watchdog_stop();

	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	if (main_stop_timer != NULL)
		event_free(main_stop_timer);
	if (main_status_timer != NULL)
		event_free(main_status_timer);
	proxy_free();
	sweep_stop_thread();
	fsutil_stop_thread();
	admin_free();
	webhook_free();
	policy_free();
	session_free();
	client_free();
	store_close();
	log_limit_detach();
	metrics_free();
	daemon_free();
	rx_thread_free();
	event_base_free(base);
	libevent_global_shutdown();
	return (0);
}
