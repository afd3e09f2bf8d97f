/*
 * sessions.c -- the session table at scale: create N sessions (default
 * 1,000,000) through the same call the proxy hook makes, report the
 * resident memory per session and the cost of a request, then let them all
 * expire on the real event loop and report the longest stall of the loop
 * (measured by a heartbeat on an always-readable pipe) while a reload
 * reschedules them all and they expire, and how long the expiry took.
 *
 *   bench_sessions [N]
 */
#include <sys/resource.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "sessionkey.h"

static const char policy_text[] =
    "upstream: 127.0.0.1:7860\n"
    "state_dir: /tmp\n"
    "sessions:\n"
    "  capacity: 1000000\n"
    "on_unload:\n"
    "  grace: 0s\n"
    "on_expire:\n"
    "  after_disconnect: 3s\n";

static uint64_t		 nevents;
static int64_t		 last_beat_ns, max_gap_ns, first_event_ns, last_event_ns;
static int64_t		 last_beat_cpu, max_gap_cpu;
static struct event	*beat;
static size_t		 target_gone;

/* Nanoseconds on the monotonic clock. */
static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* Nanoseconds of CPU this thread used: preemption by other processes
 * does not count, only work done between two beats. */
static int64_t
cpu_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* Resident set size in kB, from /proc. */
static long
rss_kb(void)
{
	FILE	*f = fopen("/proc/self/statm", "r");
	long	 pages = 0, rss = 0;

	if (f == NULL)
		return (0);
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return (rss * (sysconf(_SC_PAGESIZE) / 1024));
}

/* The 1-minute load average, as text. */
static const char *
loadavg(void)
{
	static char	buf[32];
	FILE		*f = fopen("/proc/loadavg", "r");

	snprintf(buf, sizeof buf, "?");
	if (f != NULL) {
		if (fscanf(f, "%31s", buf) != 1)
			snprintf(buf, sizeof buf, "?");
		fclose(f);
	}
	return (buf);
}

/* Count events: the sink the actions layer would be. */
static void
sink(const struct jevent *je, void *arg)
{
	(void)je;
	(void)arg;
	if (nevents == 0)
		first_event_ns = now_ns();
	last_event_ns = now_ns();
	nevents++;
}

/*
 * The heartbeat: a pipe that always holds a byte is readable in every turn
 * of the loop, so the gap between two beats is the longest the loop went
 * without serving I/O.  (A timer would not do: libevent's coarse clock
 * ticks in 4 ms steps.)
 */
static void
beat_cb(evutil_socket_t fd, short ev, void *arg)
{
	int64_t		t = now_ns(), c = cpu_ns();

	(void)fd;
	(void)ev;
	(void)arg;
	if (last_beat_ns != 0 && t - last_beat_ns > max_gap_ns)
		max_gap_ns = t - last_beat_ns;
	last_beat_ns = t;
	if (last_beat_cpu != 0 && c - last_beat_cpu > max_gap_cpu) {
		max_gap_cpu = c - last_beat_cpu;
		if (getenv("BENCH_DEBUG") != NULL)
			fprintf(stderr, "gap %.2f ms at %zu sessions, %" PRIu64
			    " events\n", max_gap_cpu / 1e6, session_count(),
			    nevents);
	}
	last_beat_cpu = c;
	if (session_count() == target_gone && nevents > 0)
		event_base_loopbreak(daemon_base());
}

int
main(int argc, char **argv)
{
	struct config_error	 err;
	struct policy		*po;
	struct event_base	*base;
	struct session		*s;
	char			(*keys)[SESSION_KEY_MAX + 1];
	char			*cause = NULL;
	size_t			 n = 1000000, i;
	long			 rss0, rss1;
	int64_t			 t0, t1, t2;
	int			 created, pfd[2];

	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	log_setup(LOG_LEVEL_WARN, 0);
	po = config_load_buffer("bench", policy_text, sizeof policy_text - 1,
	    &err);
	if (po == NULL) {
		fprintf(stderr, "policy: %s\n", err.msg);
		return (1);
	}
	base = event_base_new();
	daemon_init(base, po);

	keys = malloc(n * sizeof *keys);
	for (i = 0; i < n; i++)
		sessionkey_generate(keys[i]);

	rss0 = rss_kb();
	if (session_init(&cause) != 0)
		return (1);
	session_set_sink(sink, NULL);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		s = session_request(keys[i], "203.0.113.7",
		    SESSION_NEW_CONFIRMED, 0, &created);
		session_unref(s);
	}
	t1 = now_ns();
	rss1 = rss_kb();
	/* A second request for each: a lookup and touch at full size. */
	for (i = 0; i < n; i++) {
		s = session_request(keys[(i * 7919) % n], "203.0.113.7",
		    SESSION_NEW_CONFIRMED, 0, &created);
		session_unref(s);
	}
	t2 = now_ns();
	printf("sessions:            %zu\n", session_count());
	printf("rss per session:     %.0f bytes (%ld kB for the table)\n",
	    (double)(rss1 - rss0) * 1024 / (double)n, rss1 - rss0);
	printf("create:              %.0f ns per new session\n",
	    (double)(t1 - t0) / (double)n);
	printf("request (existing):  %.0f ns per request\n",
	    (double)(t2 - t1) / (double)n);

	/*
	 * A reload shortens after_disconnect to 2 s: every session is filed
	 * anew (in slices), then all expire 2 s after their last request.
	 * The heartbeat watches the loop through both.
	 */
	po->po_expire_after_disconnect = 2000;
	session_reschedule_all();
	if (pipe(pfd) == -1 || write(pfd[1], "x", 1) != 1)
		return (1);
	beat = event_new(base, pfd[0], EV_READ | EV_PERSIST, beat_cb, NULL);
	event_add(beat, NULL);
	target_gone = 0;
	event_base_dispatch(base);
	printf("expired:             %" PRIu64 " events\n", nevents);
	printf("expiry took:         %.0f ms (first to last event)\n",
	    (double)(last_event_ns - first_event_ns) / 1e6);
	printf("longest loop stall:  %.2f ms of CPU between two turns of the "
	    "loop\n", (double)max_gap_cpu / 1e6);
	printf("longest wall gap:    %.2f ms (includes preemption by other "
	    "processes; load %s)\n", (double)max_gap_ns / 1e6, loadavg());

	event_free(beat);
	session_free();
	metrics_free();
	daemon_free();
	event_base_free(base);
	free(keys);
	return (nevents == n ? 0 : 1);
}
