/*
 * config_job.c -- loading a policy in a thread of its own, bounded in
 * time even where a read blocks.
 *
 * config_load() bounds its own work (CONFIG_TIME_MAX, the size and count
 * limits), but a read(2) from a hung network or FUSE file system waits as
 * long as the server does.  So the load runs in a detached thread and the
 * waiter gives up after CONFIG_TIME_MAX: the event loop for a reload
 * (config_job_start), or the calling thread for --check and start-up
 * (config_load_timed).  A thread that is given up on finishes whenever its
 * read returns (or its own deadline stops its checking) and frees what it
 * built; while CONFIG_JOBS_STUCK of them are still running, no new one
 * starts.  A reload's thread runs at nice 10 (thread_background) so that
 * checking a big file takes CPU from nothing the loop needs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "config_job.h"
#include "log.h"
#include "thread.h"

/* Threads given up on that may still run; past this, loads are refused. */
#define CONFIG_JOBS_STUCK	4

struct config_job {
	pthread_mutex_t		 cj_lock;
	pthread_cond_t		 cj_cond;
	int			 cj_refs;	/* the thread's, the waiter's */
	int			 cj_done;
	int			 cj_abandoned;	/* the waiter gave up */
	int			 cj_background;	/* nice the thread: a loop runs */
	char			*cj_file;
	struct policy		*cj_po;
	struct config_error	 cj_err;

	/* A waiter on an event loop. */
	struct event		*cj_bell;	/* rung by the thread */
	struct event		*cj_timer;	/* CONFIG_TIME_MAX */
	config_job_cb		 cj_cb;
	void			*cj_arg;
};

static int	config_jobs_stuck;

/* Drop one reference; the last frees the job and an unclaimed policy. */
static void
config_job_drop(struct config_job *cj)
{
	int	left;

	pthread_mutex_lock(&cj->cj_lock);
	left = --cj->cj_refs;
	pthread_mutex_unlock(&cj->cj_lock);
	if (left > 0)
		return;
	config_unref(cj->cj_po);
	pthread_mutex_destroy(&cj->cj_lock);
	pthread_cond_destroy(&cj->cj_cond);
	free(cj->cj_file);
	free(cj);
}

/* The thread: load, hand the result over, ring the loop if one waits. */
static void *
config_job_main(void *arg)
{
	struct config_job	*cj = arg;
	struct config_error	 err;
	struct policy		*po;

	/* A reload must not take the CPU from the loop it runs beside. */
	if (cj->cj_background)
		thread_background();
	po = config_load(cj->cj_file, &err);
	pthread_mutex_lock(&cj->cj_lock);
	cj->cj_po = po;
	cj->cj_err = err;
	cj->cj_done = 1;
	if (cj->cj_abandoned)
		__atomic_sub_fetch(&config_jobs_stuck, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&cj->cj_cond);
	if (cj->cj_bell != NULL)
		event_active(cj->cj_bell, EV_READ, 1);
	pthread_mutex_unlock(&cj->cj_lock);
	config_job_drop(cj);
	return (NULL);
}

/* Fill err with an error about the whole file (no line). */
static void __attribute__((format(printf, 3, 4)))
config_job_error(const char *file, struct config_error *err,
    const char *fmt, ...)
{
	va_list	ap;

	memset(err, 0, sizeof *err);
	snprintf(err->file, sizeof err->file, "%s", file);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

/*
 * Fill err for a load that did not finish in time.  Whether a read hung
 * or the checking took the CPU, the waiter cannot tell: it says neither.
 */
static void
config_job_late(const char *file, struct config_error *err)
{
	config_job_error(file, err, "reading and checking did not finish "
	    "within %d ms", CONFIG_TIME_MAX);
}

/* Give up on a job that is still running; cj_lock is held. */
static void
config_job_abandon(struct config_job *cj)
{
	cj->cj_abandoned = 1;
	__atomic_add_fetch(&config_jobs_stuck, 1, __ATOMIC_RELAXED);
}

/* A new job holding both references; NULL when too many are stuck. */
static struct config_job *
config_job_alloc(const char *file, struct config_error *err)
{
	pthread_condattr_t	 ca;
	struct config_job	*cj;

	if (__atomic_load_n(&config_jobs_stuck, __ATOMIC_RELAXED) >=
	    CONFIG_JOBS_STUCK) {
		config_job_error(file, err, "%d earlier loads are still "
		    "running; not starting another", CONFIG_JOBS_STUCK);
		return (NULL);
	}
	cj = xcalloc(1, sizeof *cj);
	cj->cj_refs = 2;
	cj->cj_file = xstrdup(file);
	pthread_mutex_init(&cj->cj_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cj->cj_cond, &ca);
	pthread_condattr_destroy(&ca);
	return (cj);
}

/* Start the job's thread; -1 with err filled, the thread's reference gone. */
static int
config_job_run(struct config_job *cj, struct config_error *err)
{
	pthread_attr_t	attr;
	pthread_t	t;
	int		error;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	error = pthread_create(&t, &attr, config_job_main, cj);
	pthread_attr_destroy(&attr);
	if (error == 0)
		return (0);
	config_job_error(cj->cj_file, err, "cannot start the loading thread: "
	    "%s", strerror(error));
	config_job_drop(cj);
	return (-1);
}

/* Load file in a thread and wait at most CONFIG_TIME_MAX for it. */
struct policy *
config_load_timed(const char *file, struct config_error *err)
{
	struct config_job	*cj;
	struct policy		*po = NULL;
	struct timespec		 until;

	if ((cj = config_job_alloc(file, err)) == NULL)
		return (NULL);
	if (config_job_run(cj, err) != 0) {
		config_job_drop(cj);
		return (NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += CONFIG_TIME_MAX / 1000;
	until.tv_nsec += (CONFIG_TIME_MAX % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&cj->cj_lock);
	while (!cj->cj_done) {
		if (pthread_cond_timedwait(&cj->cj_cond, &cj->cj_lock,
		    &until) == ETIMEDOUT && !cj->cj_done)
			break;
	}
	if (cj->cj_done) {
		po = cj->cj_po;
		cj->cj_po = NULL;
		*err = cj->cj_err;
	} else {
		config_job_abandon(cj);
		config_job_late(file, err);
	}
	pthread_mutex_unlock(&cj->cj_lock);
	config_job_drop(cj);
	return (po);
}

/*
 * Stop the thread from ringing.  Unless it is done it is given up on; if
 * it is done and has rung, freeing the bell drops the pending call.
 */
static void
config_job_unhook(struct config_job *cj)
{
	pthread_mutex_lock(&cj->cj_lock);
	if (!cj->cj_done && !cj->cj_abandoned)
		config_job_abandon(cj);
	cj->cj_bell = NULL;
	pthread_mutex_unlock(&cj->cj_lock);
}

/* Free the loop waiter's events and drop its reference. */
static void
config_job_release(struct config_job *cj, struct event *bell,
    struct event *timer)
{
	event_free(bell);
	event_free(timer);
	config_job_drop(cj);
}

/* The thread finished: hand its result to the callback. */
static void
config_job_rung(evutil_socket_t fd, short events, void *arg)
{
	struct config_job	*cj = arg;
	struct event		*bell = cj->cj_bell, *timer = cj->cj_timer;
	config_job_cb		 cb = cj->cj_cb;
	void			*cbarg = cj->cj_arg;
	struct config_error	 err;
	struct policy		*po;

	(void)fd;
	(void)events;
	pthread_mutex_lock(&cj->cj_lock);
	po = cj->cj_po;
	cj->cj_po = NULL;
	err = cj->cj_err;
	cj->cj_bell = NULL;
	pthread_mutex_unlock(&cj->cj_lock);
	config_job_release(cj, bell, timer);
	/* Last: the callback may start the next job. */
	cb(po, &err, cbarg);
}

/* CONFIG_TIME_MAX passed: give up, unless the bell has already rung. */
static void
config_job_late_cb(evutil_socket_t fd, short events, void *arg)
{
	struct config_job	*cj = arg;
	struct event		*bell = cj->cj_bell, *timer = cj->cj_timer;
	config_job_cb		 cb = cj->cj_cb;
	void			*cbarg = cj->cj_arg;
	struct config_error	 err;

	(void)fd;
	(void)events;
	pthread_mutex_lock(&cj->cj_lock);
	if (cj->cj_done) {
		/* config_job_rung() runs next. */
		pthread_mutex_unlock(&cj->cj_lock);
		return;
	}
	config_job_abandon(cj);
	cj->cj_bell = NULL;
	pthread_mutex_unlock(&cj->cj_lock);
	config_job_late(cj->cj_file, &err);
	config_job_release(cj, bell, timer);
	cb(NULL, &err, cbarg);
}

/* Load file in a thread; cb runs once on base's loop. */
struct config_job *
config_job_start(struct event_base *base, const char *file, config_job_cb cb,
    void *arg, struct config_error *err)
{
	struct config_job	*cj;
	struct timeval		 tv = { CONFIG_TIME_MAX / 1000,
	    (CONFIG_TIME_MAX % 1000) * 1000 };

	if ((cj = config_job_alloc(file, err)) == NULL)
		return (NULL);
	/* The bell exists before the thread can ring it. */
	cj->cj_bell = event_new(base, -1, 0, config_job_rung, cj);
	cj->cj_timer = evtimer_new(base, config_job_late_cb, cj);
	if (cj->cj_bell == NULL || cj->cj_timer == NULL)
		fatal_oom();
	cj->cj_cb = cb;
	cj->cj_arg = arg;
	cj->cj_background = 1;
	evtimer_add(cj->cj_timer, &tv);
	if (config_job_run(cj, err) != 0) {
		/* Only the waiter's reference is left. */
		config_job_release(cj, cj->cj_bell, cj->cj_timer);
		return (NULL);
	}
	return (cj);
}

/* Forget a job at exit: cb never runs, the thread frees what it built. */
void
config_job_cancel(struct config_job *cj)
{
	struct event	*bell = cj->cj_bell, *timer = cj->cj_timer;

	config_job_unhook(cj);
	config_job_release(cj, bell, timer);
}
