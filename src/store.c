/*
 * store.c -- durable state in SQLite (WAL): sessions, the webhook outbox and
 * pending removals.
 *
 * Callers on the event loop only queue writes into the batch being filled.
 * The first write queued in a tick activates one event, which runs after
 * the callbacks already active in this loop pass and hands the batch to the
 * writer thread, which commits it in a single transaction.  So per-request
 * cost stays flat (a session touched a hundred times is written once), a
 * session's state change and the webhook it caused are committed together
 * (a tick's writes are never split across batches), and the loop never
 * waits for the disk: synchronous=FULL, so a commit survives power loss,
 * not only kill -9.  While the writer is busy the next batch fills; when
 * it is done it rings a doorbell (an eventfd) and the loop runs the commit
 * hooks and hands over the next batch.  A failed commit is rolled back, its
 * batch merged in front of the one filling, and tried again a second later.
 *
 * The connection is used by one thread at a time: by the writer while it
 * holds a batch, otherwise by the loop (start-up reads, the dead list,
 * store_flush() and store_close(), which first wait for the writer).
 */
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "clock.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define STORE_SCHEMA_VERSION	2
#define STORE_WAL_LIMIT		(4 * 1024 * 1024)	/* bytes kept after a checkpoint */
#define STORE_VACUUM_PAGES	2048	/* given back per batch (8 MiB) */
#define STORE_VACUUM_MIN	64	/* free pages worth giving back (256 KiB) */
#define STORE_WAL_SHRINK	(1024 * 1024)	/* a WAL worth truncating */
#define STORE_SESSION_BUCKETS	4096
#define STORE_RETRY_MS		1000

enum store_op_kind {
	OP_MSG_ADD,
	OP_MSG_DONE,
	OP_MSG_RETRY,
	OP_MSG_DEAD,
	OP_RM_ADD,
	OP_RM_DONE,
};

/* One queued write other than a session's. */
struct store_op {
	enum store_op_kind	 so_kind;
	int64_t			 so_seq;	/* outbox seq or removal id */
	int			 so_attempts;
	int64_t			 so_at;		/* next_at, dead_at or not_before */
	char			*so_text;	/* error or removal path */
	struct store_msg	 so_msg;	/* OP_MSG_ADD, strings owned */
};

/* A session's latest queued state; later writes in a tick replace it. */
struct store_pending {
	struct session_rec	 sp_rec;
	int			 sp_gone;
	struct store_pending	*sp_hnext;	/* hash chain */
	struct store_pending	*sp_next;	/* list of all pending */
};

struct store_hook {
	store_commit_cb		 sh_cb;
	void			*sh_arg;
};

enum store_stmt {
	ST_SESS_PUT,
	ST_SESS_DEL,
	ST_MSG_ADD,
	ST_MSG_DONE,
	ST_MSG_RETRY,
	ST_MSG_DEAD,
	ST_RM_ADD,
	ST_RM_DONE,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT,
};

static const char *store_sql[ST_COUNT] = {
	[ST_SESS_PUT] = "INSERT OR REPLACE INTO sessions (key, created_at, "
	    "last_seen, client_ip, requests, live, ever_live, unloaded) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_SESS_DEL] = "DELETE FROM sessions WHERE key = ?",
	[ST_MSG_ADD] = "INSERT INTO outbox (seq, msg_id, session, type, url, "
	    "body, created_at, attempts, next_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[ST_MSG_DONE] = "DELETE FROM outbox WHERE seq = ?",
	[ST_MSG_RETRY] = "UPDATE outbox SET attempts = ?, next_at = ?, "
	    "last_error = ? WHERE seq = ?",
	[ST_MSG_DEAD] = "UPDATE outbox SET attempts = ?, dead = 1, "
	    "dead_at = ?, last_error = ? WHERE seq = ?",
	[ST_RM_ADD] = "INSERT INTO removals (id, path, not_before) "
	    "VALUES (?, ?, ?)",
	[ST_RM_DONE] = "DELETE FROM removals WHERE id = ?",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
};

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS sessions ("
    " key TEXT PRIMARY KEY, created_at INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL, client_ip TEXT NOT NULL,"
    " requests INTEGER NOT NULL, live INTEGER NOT NULL,"
    " ever_live INTEGER NOT NULL, unloaded INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS outbox ("
    " seq INTEGER PRIMARY KEY, msg_id TEXT NOT NULL, session TEXT NOT NULL,"
    " type TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL DEFAULT 0, dead INTEGER NOT NULL DEFAULT 0,"
    " dead_at INTEGER, last_error TEXT"
    ");"
    "CREATE TABLE IF NOT EXISTS removals ("
    " id INTEGER PRIMARY KEY, path TEXT NOT NULL,"
    " not_before INTEGER NOT NULL DEFAULT 0"
    ");";

/* Writes queued in the ticks of one batch, committed together. */
struct store_batch {
	struct store_op		*sb_ops;
	size_t			 sb_nops, sb_alloc;
	struct store_pending	*sb_buckets[STORE_SESSION_BUCKETS];
	struct store_pending	*sb_list;
	int64_t			 sb_gen;
	int			 sb_compact;	/* give free pages back after */
	int			 sb_more;	/* ...and some were left */
};

static sqlite3			*store_db;
static sqlite3			*store_rd;		/* the loop's reads */
static sqlite3_stmt		*store_rd_dead;
static char			*store_path;
static sqlite3_stmt		*store_stmts[ST_COUNT];
static struct event		*store_ev;		/* hand over this tick */
static struct event		*store_retry_ev;	/* commit failed */
static struct event		*store_bell_ev;		/* writer is done */
static int			 store_efd = -1;
static int			 store_scheduled;
static int64_t			 store_next_seq = 1;
static int64_t			 store_next_rm = 1;
static int64_t			 store_ndead;
static int64_t			 store_committed;	/* last committed gen */

static struct store_batch	*store_fill;		/* loop fills it */
static struct store_batch	*store_writing;		/* writer has it */

/* The writer thread and what it shares with the loop, under store_mtx. */
static pthread_t		 store_thread;
static int			 store_thread_up;
static pthread_mutex_t		 store_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 store_cond = PTHREAD_COND_INITIALIZER;
static int			 store_work;		/* store_writing to do */
static int			 store_done;		/* store_writing done */
static int			 store_result;
static char			 store_errbuf[512];
static int			 store_quit;

static struct store_hook	*store_hooks;
static size_t			 store_nhooks;

/* Callers waiting for a generation to be committed, oldest first. */
struct store_waiter {
	int64_t			 sw_gen;
	store_commit_cb		 sw_cb;
	void			*sw_arg;
	struct store_waiter	*sw_next;
};
static struct store_waiter	*store_waiters, **store_waiters_tail =
				    &store_waiters;

static struct metric		*store_m_commits;
static struct metric		*store_m_errors;

static void	store_tick_cb(evutil_socket_t, short, void *);
static void	store_bell_cb(evutil_socket_t, short, void *);
static void	*store_writer(void *);
static struct store_batch *store_batch_new(int64_t);

/* Print into a fresh string; out of memory is fatal. */
static void __attribute__((format(printf, 2, 3)))
store_asprintf(char **out, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(out, fmt, ap) == -1)
		fatal_oom();
	va_end(ap);
}

/* Set *cause (when cause is not NULL) to a formatted message. */
static void __attribute__((format(printf, 2, 3)))
store_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal_oom();
	va_end(ap);
	if (cause != NULL)
		*cause = s;
	else
		free(s);
}

/* Make dir and its missing parents with mode 0700. */
static int
store_mkdirs(const char *dir)
{
	char	 buf[PATH_MAX], *p;

	if (strlen(dir) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(buf, dir);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return (-1);
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return (-1);
	return (0);
}

/* Whether dir exists (or, with create, is made) and is writable. */
int
store_check_dir(const char *dir, int create, char **cause)
{
	struct stat	 st;
	char		 parent[PATH_MAX], *p;

	if (dir == NULL || *dir == '\0') {
		store_cause(cause, "state_dir is not set");
		return (-1);
	}
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT && !create) {
			/* It would be made: the nearest existing parent counts. */
			snprintf(parent, sizeof parent, "%s", dir);
			while ((p = strrchr(parent, '/')) != NULL) {
				if (p == parent)
					p[1] = '\0';
				else
					*p = '\0';
				if (stat(parent, &st) == 0)
					break;
				if (p == parent)
					break;
			}
			if (!S_ISDIR(st.st_mode) ||
			    access(parent, W_OK | X_OK) != 0) {
				store_cause(cause, "state_dir %s cannot be "
				    "created in %s: %s", dir, parent,
				    S_ISDIR(st.st_mode) ? strerror(errno) :
				    "not a directory");
				return (-1);
			}
			return (0);
		}
		if (errno != ENOENT || store_mkdirs(dir) != 0 ||
		    stat(dir, &st) != 0) {
			store_cause(cause, "state_dir %s: %s", dir,
			    strerror(errno));
			return (-1);
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		store_cause(cause, "state_dir %s: not a directory", dir);
		return (-1);
	}
	if (access(dir, W_OK | X_OK) != 0) {
		store_cause(cause, "state_dir %s is not writable: %s", dir,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Run SQL that returns no rows; 0 or -1 with *cause. */
static int
store_exec(const char *sql, char **cause)
{
	char	*msg = NULL;

	if (sqlite3_exec(store_db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_cause(cause, "state file %s: %s", store_path,
		    msg != NULL ? msg : sqlite3_errmsg(store_db));
		sqlite3_free(msg);
		return (-1);
	}
	return (0);
}

/* Run a query returning one text value into buf; 0 or -1 with *cause. */
static int
store_query_text(const char *sql, char *buf, size_t len, char **cause)
{
	sqlite3_stmt		*st;
	const unsigned char	*t;
	int			 rc;

	if (sqlite3_prepare_v2(store_db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		goto fail;
	}
	t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
	sqlite3_finalize(st);
	return (0);

fail:
	store_cause(cause, "state file %s: %s", store_path,
	    sqlite3_errmsg(store_db));
	return (-1);
}

/* Run a query returning one integer; 0 or -1 with *cause. */
static int
store_query_int(const char *sql, int64_t *v, char **cause)
{
	char	buf[64];

	if (store_query_text(sql, buf, sizeof buf, cause) != 0)
		return (-1);
	*v = strtoll(buf, NULL, 10);
	return (0);
}

/*
 * Make the file give pages back on request (auto_vacuum=INCREMENTAL): set
 * before the first table is made, or once with a VACUUM for a file made by
 * an older janitord.  0 or -1 with *cause.
 */
static int
store_incremental(char **cause)
{
	int64_t	v;

	if (store_query_int("PRAGMA auto_vacuum", &v, cause) != 0)
		return (-1);
	if (v == 2)
		return (0);
	if (store_exec("PRAGMA auto_vacuum=INCREMENTAL", cause) != 0 ||
	    store_query_int("PRAGMA auto_vacuum", &v, cause) != 0)
		return (-1);
	if (v == 2)
		return (0);
	log_info("state file %s: converting to incremental vacuum (once)",
	    store_path);
	return (store_exec("VACUUM", cause));
}

/* Bring a file of an older schema version up to date. */
static int
store_migrate(int64_t version, char **cause)
{
	sqlite3_stmt	*st;

	(void)version;
	/* Version 2: a removal remembers when its session began. */
	if (sqlite3_prepare_v2(store_db, "SELECT not_before FROM removals",
	    -1, &st, NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return (0);
	}
	return (store_exec("ALTER TABLE removals ADD COLUMN not_before "
	    "INTEGER NOT NULL DEFAULT 0", cause));
}

/*
 * A second connection, read-only, for the admin API's reads on the loop:
 * in WAL mode it reads the last commit while the writer writes, so a read
 * never waits for the disk or for the writer.
 */
static int
store_open_reader(char **cause)
{
	if (sqlite3_open_v2(store_path, &store_rd, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(store_rd, "SELECT seq, msg_id, session, type, "
	    "url, body, created_at, attempts, dead_at, last_error FROM outbox "
	    "WHERE dead = 1 AND seq > ? ORDER BY seq LIMIT ?", -1,
	    SQLITE_PREPARE_PERSISTENT, &store_rd_dead, NULL) != SQLITE_OK) {
		store_cause(cause, "state file %s: %s", store_path,
		    store_rd != NULL ? sqlite3_errmsg(store_rd) : "no memory");
		return (-1);
	}
	/* A checkpoint may hold the file a moment: never long. */
	sqlite3_busy_timeout(store_rd, 2);
	return (0);
}

/* Close the read-only connection. */
static void
store_close_reader(void)
{
	sqlite3_finalize(store_rd_dead);
	store_rd_dead = NULL;
	if (store_rd != NULL)
		sqlite3_close(store_rd);
	store_rd = NULL;
}

/* Open (creating if needed) state_dir/janitor.db and check it. */
int
store_open(const char *state_dir, char **cause)
{
	char	 buf[256], *sql;
	int64_t	 v;
	int	 i;

	if (store_check_dir(state_dir, 1, cause) != 0)
		return (-1);
	store_asprintf(&store_path, "%s/%s", state_dir, STORE_FILE);
	if (sqlite3_open_v2(store_path, &store_db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		store_cause(cause, "state file %s: %s", store_path,
		    store_db != NULL ? sqlite3_errmsg(store_db) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(store_db, 2000);
	sqlite3_extended_result_codes(store_db, 1);

	/*
	 * A file that is not a database fails on the first statement.  That
	 * is auto_vacuum: it must be set before anything is written.
	 */
	if (store_incremental(NULL) != 0 ||
	    store_query_text("PRAGMA journal_mode=WAL", buf, sizeof buf,
	    NULL) != 0) {
		store_cause(cause, "state file %s: %s; move it away to start "
		    "with empty state", store_path, sqlite3_errmsg(store_db));
		goto fail;
	}
	if (strcmp(buf, "wal") != 0) {
		store_cause(cause, "state file %s: cannot use WAL mode "
		    "(journal_mode is %s)", store_path, buf);
		goto fail;
	}
	if (store_exec("PRAGMA synchronous=FULL", cause) != 0)
		goto fail;
	/* A WAL grown by a burst is cut back at the next checkpoint. */
	store_asprintf(&sql, "PRAGMA journal_size_limit=%d", STORE_WAL_LIMIT);
	i = store_exec(sql, cause);
	free(sql);
	if (i != 0)
		goto fail;
	if (store_query_text("PRAGMA quick_check", buf, sizeof buf,
	    cause) != 0)
		goto fail;
	if (strcmp(buf, "ok") != 0) {
		store_cause(cause, "state file %s is corrupt (%s); move it "
		    "away to start with empty state", store_path, buf);
		goto fail;
	}
	if (store_query_int("PRAGMA user_version", &v, cause) != 0)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		store_cause(cause, "state file %s has schema version %lld, "
		    "newer than this janitord (%d)", store_path, (long long)v,
		    STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (store_exec(store_schema, cause) != 0 ||
	    store_migrate(v, cause) != 0)
		goto fail;
	store_asprintf(&sql, "PRAGMA user_version=%d", STORE_SCHEMA_VERSION);
	i = store_exec(sql, cause);
	free(sql);
	if (i != 0)
		goto fail;

	/* Touch the file for writing now, so read-only state fails early. */
	if (store_exec("BEGIN IMMEDIATE; COMMIT", cause) != 0)
		goto fail;

	for (i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(store_db, store_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &store_stmts[i], NULL) !=
		    SQLITE_OK) {
			store_cause(cause, "state file %s: %s", store_path,
			    sqlite3_errmsg(store_db));
			goto fail;
		}
	}
	if (store_query_int("SELECT COALESCE(MAX(seq), 0) FROM outbox", &v,
	    cause) != 0)
		goto fail;
	store_next_seq = v + 1;
	if (store_query_int("SELECT COALESCE(MAX(id), 0) FROM removals", &v,
	    cause) != 0)
		goto fail;
	store_next_rm = v + 1;
	if (store_query_int("SELECT COUNT(*) FROM outbox WHERE dead = 1",
	    &store_ndead, cause) != 0)
		goto fail;
	if (store_open_reader(cause) != 0)
		goto fail;

	if ((store_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		store_cause(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	store_ev = event_new(daemon_base(), -1, 0, store_tick_cb, NULL);
	store_retry_ev = evtimer_new(daemon_base(), store_tick_cb, NULL);
	store_bell_ev = event_new(daemon_base(), store_efd, EV_READ | EV_PERSIST,
	    store_bell_cb, NULL);
	if (store_ev == NULL || store_retry_ev == NULL || store_bell_ev == NULL)
		fatal_oom();
	event_add(store_bell_ev, NULL);
	store_fill = store_batch_new(1);
	store_committed = 0;
	store_quit = store_work = store_done = 0;
	if ((errno = pthread_create(&store_thread, NULL, store_writer,
	    NULL)) != 0)
		log_warn("state file writer thread: %s; writing from the loop",
		    strerror(errno));
	else
		store_thread_up = 1;
	store_m_commits = metrics_counter("janitor_store_commits_total", NULL,
	    "Transactions committed to the state file.");
	store_m_errors = metrics_counter("janitor_store_errors_total", NULL,
	    "Commits to the state file that failed and were retried.");
	log_info("state file %s opened", store_path);
	return (0);

fail:
	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(store_stmts[i]);
		store_stmts[i] = NULL;
	}
	store_close_reader();
	if (store_efd != -1)
		close(store_efd);
	store_efd = -1;
	sqlite3_close(store_db);
	store_db = NULL;
	free(store_path);
	store_path = NULL;
	return (-1);
}

/* Make sure the batch is handed over after the callbacks of this pass. */
static void
store_schedule(void)
{
	if (store_scheduled || store_ev == NULL)
		return;
	store_scheduled = 1;
	if (!evtimer_pending(store_retry_ev, NULL))
		event_active(store_ev, EV_TIMEOUT, 0);
}

/* A new empty batch. */
static struct store_batch *
store_batch_new(int64_t gen)
{
	struct store_batch	*sb;

	sb = xcalloc(1, sizeof *sb);
	sb->sb_gen = gen;
	return (sb);
}

/* Whether a batch holds no write. */
static int
store_batch_empty(const struct store_batch *sb)
{
	return (sb->sb_nops == 0 && sb->sb_list == NULL && !sb->sb_compact);
}

/* Free what an op owns. */
static void
store_op_clear(struct store_op *op)
{
	free(op->so_text);
	if (op->so_kind == OP_MSG_ADD) {
		free((char *)op->so_msg.sm_type);
		free((char *)op->so_msg.sm_url);
		free((char *)op->so_msg.sm_body);
	}
}

/* Free a batch and everything in it. */
static void
store_batch_free(struct store_batch *sb)
{
	struct store_pending	*sp, *next;
	size_t			 i;

	if (sb == NULL)
		return;
	for (i = 0; i < sb->sb_nops; i++)
		store_op_clear(&sb->sb_ops[i]);
	free(sb->sb_ops);
	for (sp = sb->sb_list; sp != NULL; sp = next) {
		next = sp->sp_next;
		free(sp);
	}
	free(sb);
}

/* Append an op to the filling batch and schedule the hand-over. */
static struct store_op *
store_op_new(enum store_op_kind kind, int64_t seq)
{
	struct store_batch	*sb = store_fill;
	struct store_op		*op;

	if (sb->sb_nops == sb->sb_alloc) {
		sb->sb_alloc = sb->sb_alloc == 0 ? 64 : sb->sb_alloc * 2;
		sb->sb_ops = xrealloc(sb->sb_ops,
		    sb->sb_alloc * sizeof *sb->sb_ops);
	}
	op = &sb->sb_ops[sb->sb_nops++];
	memset(op, 0, sizeof *op);
	op->so_kind = kind;
	op->so_seq = seq;
	store_schedule();
	return (op);
}

/* FNV-1a over a session key. */
static unsigned
store_hash(const char *key)
{
	unsigned	h = 2166136261u;

	while (*key != '\0')
		h = (h ^ (unsigned char)*key++) * 16777619u;
	return (h % STORE_SESSION_BUCKETS);
}

/* Find or add the pending entry of a session key in a batch. */
static struct store_pending *
store_pending_get(struct store_batch *sb, const char *key)
{
	struct store_pending	*sp;
	unsigned		 h = store_hash(key);

	for (sp = sb->sb_buckets[h]; sp != NULL; sp = sp->sp_hnext) {
		if (strcmp(sp->sp_rec.sr_key, key) == 0)
			return (sp);
	}
	sp = xcalloc(1, sizeof *sp);
	snprintf(sp->sp_rec.sr_key, sizeof sp->sp_rec.sr_key, "%s", key);
	sp->sp_hnext = sb->sb_buckets[h];
	sb->sb_buckets[h] = sp;
	sp->sp_next = sb->sb_list;
	sb->sb_list = sp;
	store_schedule();
	return (sp);
}

/*
 * Put a failed batch back in front of the filling one: its ops first, and
 * a session's newer state from the filling batch wins.  Returns the result,
 * which takes the filling batch's generation.
 */
static struct store_batch *
store_batch_merge(struct store_batch *old, struct store_batch *new)
{
	struct store_pending	*sp, *next, *o;
	size_t			 i;

	for (i = 0; i < new->sb_nops; i++) {
		if (old->sb_nops == old->sb_alloc) {
			old->sb_alloc = old->sb_alloc == 0 ? 64 :
			    old->sb_alloc * 2;
			old->sb_ops = xrealloc(old->sb_ops,
			    old->sb_alloc * sizeof *old->sb_ops);
		}
		old->sb_ops[old->sb_nops++] = new->sb_ops[i];
	}
	for (sp = new->sb_list; sp != NULL; sp = next) {
		next = sp->sp_next;
		o = store_pending_get(old, sp->sp_rec.sr_key);
		o->sp_rec = sp->sp_rec;
		o->sp_gone = sp->sp_gone;
		free(sp);
	}
	old->sb_gen = new->sb_gen;
	old->sb_compact |= new->sb_compact;
	free(new->sb_ops);
	free(new);
	return (old);
}

/* Queue a session's state. */
void
store_session_put(const struct session_rec *rec)
{
	struct store_pending	*sp;

	if (store_db == NULL)
		return;
	sp = store_pending_get(store_fill, rec->sr_key);
	sp->sp_rec = *rec;
	sp->sp_gone = 0;
}

/* Queue a session's removal. */
void
store_session_del(const char *key)
{
	if (store_db == NULL)
		return;
	store_pending_get(store_fill, key)->sp_gone = 1;
}

/* Queue a new outbox message. */
int64_t
store_msg_add(struct store_msg *m)
{
	struct store_op	*op;

	m->sm_seq = store_next_seq++;
	if (store_db == NULL)
		return (m->sm_seq);
	op = store_op_new(OP_MSG_ADD, m->sm_seq);
	op->so_msg = *m;
	op->so_msg.sm_type = xstrdup(m->sm_type);
	op->so_msg.sm_url = xstrdup(m->sm_url);
	op->so_msg.sm_body = xstrdup(m->sm_body);
	return (m->sm_seq);
}

/* Queue: delivered. */
void
store_msg_done(int64_t seq)
{
	if (store_db != NULL)
		store_op_new(OP_MSG_DONE, seq);
}

/* Queue: failed, next attempt at next_at. */
void
store_msg_retry(int64_t seq, int attempts, int64_t next_at,
    const char *error)
{
	struct store_op	*op;

	if (store_db == NULL)
		return;
	op = store_op_new(OP_MSG_RETRY, seq);
	op->so_attempts = attempts;
	op->so_at = next_at;
	op->so_text = xstrdup(error != NULL ? error : "");
}

/* Queue: out of attempts, kept as dead. */
void
store_msg_dead(int64_t seq, int attempts, const char *error)
{
	struct store_op	*op;

	store_ndead++;
	if (store_db == NULL)
		return;
	op = store_op_new(OP_MSG_DEAD, seq);
	op->so_attempts = attempts;
	op->so_at = clock_wall_ms();
	op->so_text = xstrdup(error != NULL ? error : "");
}

/* Queue a pending removal. */
int64_t
store_removal_add(const char *path, int64_t not_before)
{
	struct store_op	*op;
	int64_t		 id = store_next_rm++;

	if (store_db == NULL)
		return (id);
	op = store_op_new(OP_RM_ADD, id);
	op->so_text = xstrdup(path);
	op->so_at = not_before;
	return (id);
}

/* Give free pages back to the file system after the next commit. */
void
store_compact(void)
{
	if (store_db == NULL || store_fill->sb_compact)
		return;
	store_fill->sb_compact = 1;
	store_schedule();
}

/* Queue a removal's completion. */
void
store_removal_done(int64_t id)
{
	if (store_db != NULL)
		store_op_new(OP_RM_DONE, id);
}

/* Bind, step and reset one statement; 0 or -1. */
static int
store_step(sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1);
}

/* Write one queued op inside the open transaction. */
static int
store_write_op(const struct store_op *op)
{
	sqlite3_stmt	*st;

	switch (op->so_kind) {
	case OP_MSG_ADD:
		st = store_stmts[ST_MSG_ADD];
		sqlite3_bind_int64(st, 1, op->so_msg.sm_seq);
		sqlite3_bind_text(st, 2, op->so_msg.sm_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, op->so_msg.sm_session, -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 4, op->so_msg.sm_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, op->so_msg.sm_url, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, op->so_msg.sm_body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, op->so_msg.sm_created_at);
		sqlite3_bind_int(st, 8, op->so_msg.sm_attempts);
		sqlite3_bind_int64(st, 9, op->so_msg.sm_next_at);
		break;
	case OP_MSG_DONE:
		st = store_stmts[ST_MSG_DONE];
		sqlite3_bind_int64(st, 1, op->so_seq);
		break;
	case OP_MSG_RETRY:
		st = store_stmts[ST_MSG_RETRY];
		sqlite3_bind_int(st, 1, op->so_attempts);
		sqlite3_bind_int64(st, 2, op->so_at);
		sqlite3_bind_text(st, 3, op->so_text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, op->so_seq);
		break;
	case OP_MSG_DEAD:
		st = store_stmts[ST_MSG_DEAD];
		sqlite3_bind_int(st, 1, op->so_attempts);
		sqlite3_bind_int64(st, 2, op->so_at);
		sqlite3_bind_text(st, 3, op->so_text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, op->so_seq);
		break;
	case OP_RM_ADD:
		st = store_stmts[ST_RM_ADD];
		sqlite3_bind_int64(st, 1, op->so_seq);
		sqlite3_bind_text(st, 2, op->so_text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, op->so_at);
		break;
	case OP_RM_DONE:
		st = store_stmts[ST_RM_DONE];
		sqlite3_bind_int64(st, 1, op->so_seq);
		break;
	default:
		return (-1);
	}
	return (store_step(st));
}

/* Write one session's queued state inside the open transaction. */
static int
store_write_session(const struct store_pending *sp)
{
	const struct session_rec	*r = &sp->sp_rec;
	sqlite3_stmt			*st;

	if (sp->sp_gone) {
		st = store_stmts[ST_SESS_DEL];
		sqlite3_bind_text(st, 1, r->sr_key, -1, SQLITE_STATIC);
		return (store_step(st));
	}
	st = store_stmts[ST_SESS_PUT];
	sqlite3_bind_text(st, 1, r->sr_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->sr_created_at);
	sqlite3_bind_int64(st, 3, r->sr_last_seen);
	sqlite3_bind_text(st, 4, r->sr_client_ip, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)r->sr_requests);
	sqlite3_bind_int(st, 6, r->sr_live);
	sqlite3_bind_int(st, 7, r->sr_ever_live);
	sqlite3_bind_int(st, 8, r->sr_unloaded);
	return (store_step(st));
}

/*
 * Give up to STORE_VACUUM_PAGES free pages back, and once none are left,
 * truncate a WAL grown large; on the writer thread.  1 when pages are
 * left for the next batch.  A few free pages are reused soon: not worth a
 * vacuum and its sync.
 */
static int
store_give_back(void)
{
	struct stat	 st;
	char		 sql[64], wal[PATH_MAX];
	int64_t		 before, after;

	if (store_query_int("PRAGMA freelist_count", &before, NULL) == 0 &&
	    before >= STORE_VACUUM_MIN) {
		snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)",
		    STORE_VACUUM_PAGES);
		if (store_exec(sql, NULL) == 0 &&
		    store_query_int("PRAGMA freelist_count", &after,
		    NULL) == 0 && after >= STORE_VACUUM_MIN && after < before)
			return (1);
	}
	snprintf(wal, sizeof wal, "%s-wal", store_path);
	if (stat(wal, &st) == 0 && st.st_size > STORE_WAL_SHRINK)
		(void)store_exec("PRAGMA wal_checkpoint(TRUNCATE)", NULL);
	return (0);
}

/* Write a batch in one transaction; 0, or -1 with store_errbuf set. */
static int
store_batch_write(struct store_batch *sb)
{
	struct store_pending	*sp;
	size_t			 i;

	if (store_step(store_stmts[ST_BEGIN]) != 0) {
		snprintf(store_errbuf, sizeof store_errbuf, "cannot begin a "
		    "transaction: %s", sqlite3_errmsg(store_db));
		return (-1);
	}
	for (i = 0; i < sb->sb_nops; i++) {
		if (store_write_op(&sb->sb_ops[i]) != 0)
			goto rollback;
	}
	for (sp = sb->sb_list; sp != NULL; sp = sp->sp_next) {
		if (store_write_session(sp) != 0)
			goto rollback;
	}
	if (store_step(store_stmts[ST_COMMIT]) != 0)
		goto rollback;
	if (sb->sb_compact)
		sb->sb_more = store_give_back();
	return (0);

rollback:
	snprintf(store_errbuf, sizeof store_errbuf, "commit failed: %s",
	    sqlite3_errmsg(store_db));
	sqlite3_exec(store_db, "ROLLBACK", NULL, NULL, NULL);
	return (-1);
}

/* Call the waiters whose generation is committed. */
static void
store_run_waiters(void)
{
	struct store_waiter	*sw;

	while ((sw = store_waiters) != NULL && sw->sw_gen <= store_committed) {
		store_waiters = sw->sw_next;
		if (store_waiters == NULL)
			store_waiters_tail = &store_waiters;
		sw->sw_cb(sw->sw_arg);
		free(sw);
	}
}

/* Call cb once everything queued until now is committed. */
void
store_when_durable(store_commit_cb cb, void *arg)
{
	struct store_waiter	*sw;

	if (store_db == NULL || (store_batch_empty(store_fill) &&
	    store_writing == NULL)) {
		cb(arg);
		return;
	}
	sw = xcalloc(1, sizeof *sw);
	/* What is queued is in the filling batch, or already with the writer. */
	sw->sw_gen = store_batch_empty(store_fill) ? store_writing->sb_gen :
	    store_fill->sb_gen;
	sw->sw_cb = cb;
	sw->sw_arg = arg;
	*store_waiters_tail = sw;
	store_waiters_tail = &sw->sw_next;
}

/* A batch was written (or not): run the hooks, or keep it for a retry. */
static void
store_batch_written(struct store_batch *sb, int rc)
{
	struct timeval	tv = { STORE_RETRY_MS / 1000,
	    (STORE_RETRY_MS % 1000) * 1000 };
	size_t		i;

	if (rc == 0) {
		store_committed = sb->sb_gen;
		if (sb->sb_more)
			store_compact();
		store_batch_free(sb);
		metrics_inc(store_m_commits);
		for (i = 0; i < store_nhooks; i++)
			store_hooks[i].sh_cb(store_hooks[i].sh_arg);
		store_run_waiters();
		return;
	}
	log_error("state file %s: %s; retrying", store_path, store_errbuf);
	metrics_inc(store_m_errors);
	store_fill = store_batch_merge(sb, store_fill);
	if (store_retry_ev != NULL && !evtimer_pending(store_retry_ev, NULL))
		evtimer_add(store_retry_ev, &tv);
}

/* The writer thread: commit each batch it is handed. */
static void *
store_writer(void *arg)
{
	uint64_t	one = 1;
	int		rc;

	(void)arg;
	pthread_mutex_lock(&store_mtx);
	for (;;) {
		while (!store_work && !store_quit)
			pthread_cond_wait(&store_cond, &store_mtx);
		if (!store_work)
			break;
		pthread_mutex_unlock(&store_mtx);
		rc = store_batch_write(store_writing);
		pthread_mutex_lock(&store_mtx);
		store_work = 0;
		store_done = 1;
		store_result = rc;
		pthread_cond_broadcast(&store_cond);
		/* A failed write means the counter is already non-zero. */
		(void)!write(store_efd, &one, sizeof one);
	}
	pthread_mutex_unlock(&store_mtx);
	return (NULL);
}

static void store_handover(void);

/* Collect the writer's result, if it has one, and hand over the next batch. */
static void
store_collect(void)
{
	struct store_batch	*sb;
	int			 rc;

	pthread_mutex_lock(&store_mtx);
	if (store_writing == NULL || !store_done) {
		pthread_mutex_unlock(&store_mtx);
		return;
	}
	store_done = 0;
	rc = store_result;
	sb = store_writing;
	store_writing = NULL;
	pthread_mutex_unlock(&store_mtx);
	store_batch_written(sb, rc);
	if (rc == 0)
		store_handover();
}

/* Give the filling batch to the writer when it is idle. */
static void
store_handover(void)
{
	if (store_writing != NULL || store_batch_empty(store_fill) ||
	    evtimer_pending(store_retry_ev, NULL))
		return;
	if (!store_thread_up) {
		/* No writer (it could not start): write on the loop. */
		struct store_batch	*sb = store_fill;

		store_fill = store_batch_new(sb->sb_gen + 1);
		store_batch_written(sb, store_batch_write(sb));
		return;
	}
	pthread_mutex_lock(&store_mtx);
	store_writing = store_fill;
	store_fill = store_batch_new(store_writing->sb_gen + 1);
	store_work = 1;
	pthread_cond_broadcast(&store_cond);
	pthread_mutex_unlock(&store_mtx);
}

/* Wait until the writer holds no batch, collecting its result. */
static void
store_quiesce(void)
{
	for (;;) {
		pthread_mutex_lock(&store_mtx);
		while (store_writing != NULL && !store_done)
			pthread_cond_wait(&store_cond, &store_mtx);
		pthread_mutex_unlock(&store_mtx);
		if (store_writing == NULL)
			return;
		store_collect();
	}
}

/* Commit everything queued now, on the calling (loop) thread. */
int
store_flush(void)
{
	struct store_batch	*sb;
	int			 rc;

	if (store_db == NULL)
		return (0);
	store_quiesce();
	store_scheduled = 0;
	if (store_batch_empty(store_fill))
		return (0);
	if (store_retry_ev != NULL)
		evtimer_del(store_retry_ev);
	sb = store_fill;
	store_fill = store_batch_new(sb->sb_gen + 1);
	rc = store_batch_write(sb);
	store_batch_written(sb, rc);
	return (rc);
}

/* The tick's hand-over, or the retry after a failed commit. */
static void
store_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	store_scheduled = 0;
	store_handover();
}

/* The writer's doorbell. */
static void
store_bell_cb(evutil_socket_t fd, short events, void *arg)
{
	uint64_t	n;

	(void)events;
	(void)arg;
	if (read(fd, &n, sizeof n) != sizeof n)
		return;
	store_collect();
}

/* The generation of the batch being filled: what is queued now. */
int64_t
store_gen(void)
{
	return (store_fill != NULL ? store_fill->sb_gen : 0);
}

/* The newest outbox seq handed out. */
int64_t
store_last_seq(void)
{
	return (store_next_seq - 1);
}

/* The generation whose commit makes everything queued so far durable. */
int64_t
store_queued_gen(void)
{
	if (store_db == NULL)
		return (0);
	if (!store_batch_empty(store_fill))
		return (store_fill->sb_gen);
	if (store_writing != NULL)
		return (store_writing->sb_gen);
	return (store_committed);
}

/* The last generation committed. */
int64_t
store_committed_gen(void)
{
	return (store_committed);
}

/* Register a commit hook. */
void
store_on_commit(store_commit_cb cb, void *arg)
{
	store_hooks = xrealloc(store_hooks,
	    (store_nhooks + 1) * sizeof *store_hooks);
	store_hooks[store_nhooks].sh_cb = cb;
	store_hooks[store_nhooks].sh_arg = arg;
	store_nhooks++;
}

/* Prepare a read query; NULL with *cause on error. */
static sqlite3_stmt *
store_prepare(const char *sql, char **cause)
{
	sqlite3_stmt	*st;

	if (store_db == NULL) {
		store_cause(cause, "state file is not open");
		return (NULL);
	}
	store_quiesce();
	if (sqlite3_prepare_v2(store_db, sql, -1, &st, NULL) != SQLITE_OK) {
		store_cause(cause, "state file %s: %s", store_path,
		    sqlite3_errmsg(store_db));
		return (NULL);
	}
	return (st);
}

/* Finish a read loop: 0, or -1 with *cause when it ended in an error. */
static int
store_finish(sqlite3_stmt *st, int rc, char **cause)
{
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_cause(cause, "state file %s: %s", store_path,
		    sqlite3_errmsg(store_db));
		return (-1);
	}
	return (0);
}

/* Column i as a string, never NULL. */
static const char *
store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char	*t = sqlite3_column_text(st, i);

	return (t != NULL ? (const char *)t : "");
}

/* Read back every stored session. */
int
store_load_sessions(store_session_cb cb, void *arg, char **cause)
{
	struct session_rec	 r;
	sqlite3_stmt		*st;
	int			 rc;

	st = store_prepare("SELECT key, created_at, last_seen, client_ip, "
	    "requests, live, ever_live, unloaded FROM sessions "
	    "ORDER BY last_seen", cause);
	if (st == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof r);
		snprintf(r.sr_key, sizeof r.sr_key, "%s", store_col_text(st, 0));
		r.sr_created_at = sqlite3_column_int64(st, 1);
		r.sr_last_seen = sqlite3_column_int64(st, 2);
		snprintf(r.sr_client_ip, sizeof r.sr_client_ip, "%s",
		    store_col_text(st, 3));
		r.sr_requests = (uint64_t)sqlite3_column_int64(st, 4);
		r.sr_live = sqlite3_column_int(st, 5);
		r.sr_ever_live = sqlite3_column_int(st, 6);
		r.sr_unloaded = sqlite3_column_int(st, 7);
		cb(&r, arg);
	}
	return (store_finish(st, rc, cause));
}

/* Read back undelivered, not dead messages from seq on, in order. */
int
store_load_msgs_from(int64_t from, int64_t limit, store_msg_cb cb, void *arg,
    char **cause)
{
	struct store_msg	 m;
	sqlite3_stmt		*st;
	int			 rc;

	st = store_prepare("SELECT seq, msg_id, session, type, url, body, "
	    "created_at, attempts, next_at FROM outbox WHERE dead = 0 "
	    "AND seq >= ? ORDER BY seq LIMIT ?", cause);
	if (st == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof m);
		m.sm_seq = sqlite3_column_int64(st, 0);
		snprintf(m.sm_id, sizeof m.sm_id, "%s", store_col_text(st, 1));
		snprintf(m.sm_session, sizeof m.sm_session, "%s",
		    store_col_text(st, 2));
		m.sm_type = store_col_text(st, 3);
		m.sm_url = store_col_text(st, 4);
		m.sm_body = store_col_text(st, 5);
		m.sm_created_at = sqlite3_column_int64(st, 6);
		m.sm_attempts = sqlite3_column_int(st, 7);
		m.sm_next_at = sqlite3_column_int64(st, 8);
		cb(&m, arg);
	}
	return (store_finish(st, rc, cause));
}

/* Read back every undelivered, not dead message in creation order. */
int
store_load_msgs(store_msg_cb cb, void *arg, char **cause)
{
	return (store_load_msgs_from(0, INT64_MAX, cb, arg, cause));
}

/* Count the undelivered, not dead messages from seq on. */
int64_t
store_count_msgs_from(int64_t from)
{
	sqlite3_stmt	*st;
	int64_t		 n = -1;

	if ((st = store_prepare("SELECT COUNT(*) FROM outbox WHERE dead = 0 "
	    "AND seq >= ?", NULL)) == NULL)
		return (-1);
	sqlite3_bind_int64(st, 1, from);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (n);
}

/* Read back every pending removal. */
int
store_load_removals(store_removal_cb cb, void *arg, char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	st = store_prepare("SELECT id, path, not_before FROM removals "
	    "ORDER BY id", cause);
	if (st == NULL)
		return (-1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0), store_col_text(st, 1),
		    sqlite3_column_int64(st, 2), arg);
	return (store_finish(st, rc, cause));
}

/* Read dead messages after seq, in order, on the read-only connection. */
int
store_dead_read(int64_t after, int max, store_dead_cb cb, void *arg,
    char **cause)
{
	struct store_dead	 d;
	sqlite3_stmt		*st = store_rd_dead;
	int			 rc, n = 0;

	if (st == NULL) {
		store_cause(cause, "state file is not open");
		return (-1);
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&d, 0, sizeof d);
		d.sd_seq = sqlite3_column_int64(st, 0);
		d.sd_id = store_col_text(st, 1);
		d.sd_session = store_col_text(st, 2);
		d.sd_type = store_col_text(st, 3);
		d.sd_url = store_col_text(st, 4);
		d.sd_body = store_col_text(st, 5);
		d.sd_created_at = sqlite3_column_int64(st, 6);
		d.sd_attempts = sqlite3_column_int(st, 7);
		d.sd_dead_at = sqlite3_column_int64(st, 8);
		d.sd_error = store_col_text(st, 9);
		n++;
		if (cb(&d, arg) == 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		store_cause(cause, "state file %s: %s", store_path,
		    sqlite3_errmsg(store_rd));
		return (-1);
	}
	return (n);
}

/* How many messages are dead. */
int64_t
store_dead_count(void)
{
	return (store_ndead);
}

/* Commit what is queued and close. */
void
store_close(void)
{
	struct store_waiter	*sw;
	int			 i;

	if (store_db == NULL)
		return;
	if (store_flush() != 0)
		log_error("state file %s: last commit failed, the latest "
		    "changes are lost", store_path);
	if (store_thread_up) {
		pthread_mutex_lock(&store_mtx);
		store_quit = 1;
		pthread_cond_broadcast(&store_cond);
		pthread_mutex_unlock(&store_mtx);
		pthread_join(store_thread, NULL);
		store_thread_up = 0;
	}
	store_batch_free(store_fill);
	store_fill = NULL;
	while ((sw = store_waiters) != NULL) {
		store_waiters = sw->sw_next;
		free(sw);
	}
	store_waiters_tail = &store_waiters;
	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(store_stmts[i]);
		store_stmts[i] = NULL;
	}
	store_close_reader();
	if (sqlite3_close(store_db) != SQLITE_OK)
		log_warn("state file %s: %s", store_path,
		    sqlite3_errmsg(store_db));
	store_db = NULL;
	event_free(store_ev);
	event_free(store_retry_ev);
	event_free(store_bell_ev);
	store_ev = store_retry_ev = store_bell_ev = NULL;
	close(store_efd);
	store_efd = -1;
	store_scheduled = 0;
	free(store_path);
	store_path = NULL;
	free(store_hooks);
	store_hooks = NULL;
	store_nhooks = 0;
}
