/*
 * config_job.h -- loading a policy off the event loop, in a thread, with
 * CONFIG_TIME_MAX as the bound even when a read blocks.
 */
#ifndef JANITOR_CONFIG_JOB_H
#define JANITOR_CONFIG_JOB_H

struct config_error;
struct config_job;
struct event_base;
struct policy;

/*
 * The result of a job, on the loop: a policy (the callback takes the
 * reference) or NULL and the error, which for a load that did not finish
 * in time has no line: "FILE: reading and checking did not finish within
 * 2000 ms".
 */
typedef void (*config_job_cb)(struct policy *, const struct config_error *,
    void *arg);

/*
 * Load file in a thread; cb runs exactly once on base's loop, when the
 * thread is done or CONFIG_TIME_MAX has passed.  NULL and *err filled when
 * no thread could start (cb never runs).  base must use locking
 * (evthread_use_pthreads() before event_base_new()).
 */
struct config_job	*config_job_start(struct event_base *,
			    const char *file, config_job_cb, void *arg,
			    struct config_error *err);

/* Forget a job that has not called back (at exit); cb never runs. */
void			 config_job_cancel(struct config_job *);

/*
 * Load file in a thread and wait for it at most CONFIG_TIME_MAX: for
 * --check and start-up, where no loop runs yet.
 */
struct policy		*config_load_timed(const char *file,
			    struct config_error *err);

#endif
