/*
 * store.h -- durable state in SQLite (WAL) under state_dir: the sessions'
 * durable part, the webhook outbox and the pending directory removals.
 *
 * Writes made from the event loop are queued and committed by a writer
 * thread, a tick's writes always in the same transaction, so a state change
 * and the event it caused are durable together or not at all.  The loop
 * never waits for the disk except in store_flush() and store_close().
 */
#ifndef JANITOR_STORE_H
#define JANITOR_STORE_H

#include <stdint.h>

#include "config.h"
#include "session.h"

#define STORE_FILE		"janitor.db"
#define STORE_MSG_ID_MAX	40

/* A session's durable part is session.h's struct session_rec. */

/* One webhook in the outbox. */
struct store_msg {
	int64_t		sm_seq;			/* order of creation */
	char		sm_id[STORE_MSG_ID_MAX];	/* webhook-id */
	char		sm_session[SESSION_KEY_MAX + 1];
	const char	*sm_type;		/* "session.unload", ... */
	const char	*sm_url;
	const char	*sm_body;
	int64_t		sm_created_at;		/* wall ms */
	int		sm_attempts;
	int64_t		sm_next_at;		/* wall ms of the next attempt */
};

typedef void (*store_session_cb)(const struct session_rec *, void *);
typedef void (*store_msg_cb)(const struct store_msg *, void *);
typedef void (*store_removal_cb)(int64_t id, const char *path,
    int64_t not_before, void *);
typedef void (*store_commit_cb)(void *);

/* Open (creating if needed) state_dir/janitor.db; 0 or -1 with *cause. */
int		 store_open(const char *state_dir, char **cause);

/* Commit what is queued and close the database. */
void		 store_close(void);

/*
 * Whether dir is a writable directory; a missing one is made when create
 * is set, else its nearest existing parent must be writable.  0 or -1 and
 * *cause.
 */
int		 store_check_dir(const char *dir, int create, char **cause);

/* Queue a session's state, or its removal, for the next commit. */
void		 store_session_put(const struct session_rec *);
void		 store_session_del(const char *key);

/* Queue a new outbox message; sets and returns m->sm_seq. */
int64_t		 store_msg_add(struct store_msg *m);

/* Queue: delivered (deleted), failed (retry later), or out of attempts. */
void		 store_msg_done(int64_t seq);
void		 store_msg_retry(int64_t seq, int attempts, int64_t next_at,
		    const char *error);
void		 store_msg_dead(int64_t seq, int attempts, const char *error);

/*
 * Queue a pending removal (returns its id) and its completion.  not_before
 * is the wall ms its session began (0: no such rule): see fsutil.h.
 */
int64_t		 store_removal_add(const char *path, int64_t not_before);
void		 store_removal_done(int64_t id);

/* Read back what was stored, in creation order; 0 or -1 with *cause. */
int		 store_load_sessions(store_session_cb, void *, char **cause);
int		 store_load_msgs(store_msg_cb, void *, char **cause);

/* The same from seq on, at most limit of them; and how many there are. */
int		 store_load_msgs_from(int64_t from, int64_t limit,
		    store_msg_cb, void *, char **cause);
int64_t		 store_count_msgs_from(int64_t from);

/* The newest outbox seq handed out so far. */
int64_t		 store_last_seq(void);
int		 store_load_removals(store_removal_cb, void *, char **cause);

/* One dead message, as store_dead_read() hands it over. */
struct store_dead {
	int64_t		 sd_seq;
	const char	*sd_id, *sd_session, *sd_type, *sd_url, *sd_body;
	const char	*sd_error;
	int64_t		 sd_created_at, sd_dead_at;	/* wall ms */
	int		 sd_attempts;
};
typedef int (*store_dead_cb)(const struct store_dead *, void *);

/*
 * Hand the dead messages with seq above after to cb in order, at most max,
 * until cb returns 0; what is committed only, read on a connection of its
 * own that never waits for the writer.  Returns how many, or -1 with
 * *cause.
 */
int		 store_dead_read(int64_t after, int max, store_dead_cb,
		    void *, char **cause);

/*
 * Give the free pages of the file back to the file system (incremental
 * vacuum, a batch at a time on the writer thread, then a WAL truncate):
 * when the outbox has drained.
 */
void		 store_compact(void);

/* How many messages are dead. */
int64_t		 store_dead_count(void);

/*
 * Register a hook called on the loop after every successful commit.  Writes
 * queued while store_gen() returned G are durable once store_committed_gen()
 * is G or more.
 */
void		 store_on_commit(store_commit_cb, void *);
int64_t		 store_gen(void);
int64_t		 store_committed_gen(void);

/* The generation whose commit makes all that is queued now durable. */
int64_t		 store_queued_gen(void);

/*
 * Call cb(arg) on the loop once everything queued until now is committed
 * (e.g. to answer a new session's first request only once the session is
 * durable).  Runs before returning when nothing is pending.
 */
void		 store_when_durable(store_commit_cb cb, void *arg);

/* Commit what is queued now; 0 or -1 (the queue is kept and retried). */
int		 store_flush(void);

#endif
