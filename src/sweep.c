/*
 * sweep.c -- the cache sweeper.
 *
 * Each cache entry has a timer on the event loop; when it fires, a job
 * carrying a private copy of the entry's settings is queued for the worker
 * thread (memcached's LRU crawler is the model: one named thread sleeping
 * on a condition variable, results handed back through a queue and a
 * doorbell).  The worker walks the tree with the fsutil primitives:
 * relative to open directory descriptors, never following a link, never
 * entering another mount, skipping what its owner holds under flock and
 * what matches keep.  The loop turns the results into metrics, a log line
 * and the answers to POST /sweep.
 *
 * An entry has at most one job queued or running; a timer that fires
 * meanwhile is skipped, a POST /sweep that comes meanwhile is served by
 * one more run right after it.  A reload changes the settings the next
 * job copies; a running one keeps the settings it started with.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "admin.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "sweep.h"
#include "thread.h"

/* The first periodic sweep comes this long after start (or a reload). */
#define SWEEP_FIRST_DELAY_MS	1000

/* Deeper trees are left alone: every level holds two descriptors. */
#define SWEEP_MAX_DEPTH		256

/*
 * Locked files are found in a snapshot of /proc/locks instead of opening
 * every old file to try its lock.  Each walker reads it at its first
 * removal and again whenever its copy is SWEEP_LOCKS_AGE_MS old: a read
 * costs about 160 us, so four a second are 0.06% of a CPU, and a lock
 * taken more than that long before the sweep reaches the file is seen.
 */
#define SWEEP_LOCKS_AGE_MS	250

/*
 * Walkers per sweep: they share the reading of the root directory, each
 * taking the next entry (a file, or a whole subtree) when it is free.
 * Where every unlink waits for the disk (online discard) two walkers
 * overlap those waits; on a CPU-bound file system they use two CPUs for
 * half the time, at the walkers' low priority.
 */
#define SWEEP_WALKERS		2

/* The walkers' scheduler slice: the default is 0.75 ms times 1 + log2(CPUs). */
#define SWEEP_SLICE_NS		100000

/*
 * Giving way to traffic.  Every SWEEP_PACE_EVERY entries a walker looks
 * at sweep_traffic_count; while the proxy has relayed something within
 * the last SWEEP_TRAFFIC_MS, the sweep gives way: a walker naps
 * SWEEP_PACE_NAP_US after each batch, and every walker but the first,
 * when it comes back to the root for the next entry, waits there (in naps
 * of SWEEP_PARK_MS) for as long as the first is still walking.
 */
#define SWEEP_PACE_EVERY	32
#define SWEEP_TRAFFIC_MS	100
#define SWEEP_PACE_NAP_US	8000
#define SWEEP_PARK_MS		5

/* Bytes of directory entries read per getdents64(2) call. */
#define SWEEP_DIRBUF		65536

/* Per sweep, at most this many failing entries are logged one by one. */
#define SWEEP_MAX_LOGGED	10

/* A file that max_size may remove: where it is, how big, how old. */
struct sweep_cand {
	char		*sc_rel;
	ino_t		 sc_ino;
	uint64_t	 sc_size;
	int64_t		 sc_time;
};

/* A directory being read with getdents64(2). */
struct sweep_dir {
	int		 sd_fd;
	char		*sd_buf;
	size_t		 sd_len;
	size_t		 sd_off;
	int		 sd_error;
};

/* The state of one walk over one tree, on the worker thread. */
struct sweep_walk {
	const struct cache_entry *w_ce;
	int			 w_wipe;
	int64_t			 w_now;
	dev_t			 w_dev;
	struct sweep_result	*w_res;
	const volatile int	*w_stop;
	char			 w_rel[PATH_MAX];	/* relative to the root */
	size_t			 w_len;
	struct sweep_cand	*w_cand;
	size_t			 w_ncand;
	size_t			 w_acand;
	int			*w_logged;	/* shared by the walkers */
	struct fsutil_locks	*w_locks;
	struct sweep_root	*w_root;
	int			 w_index;	/* 0 for the first walker */
	unsigned		 w_entries;	/* entries looked at */
	uint64_t		 w_traffic;	/* sweep_traffic_count seen */
	int64_t			 w_quiet_at;	/* no traffic from then on */
};

/* The root directory's reader, shared by the walkers of one sweep. */
struct sweep_root {
	pthread_mutex_t		 rt_lock;
	struct sweep_dir	 rt_dir;
	int			 rt_done;	/* end reached, or failed */
	int			 rt_first;	/* the first walker is walking */
};

struct sweep_batch;
struct sweep_entry;

/* One sweep of one entry, queued for or done by the worker. */
struct sweep_job {
	TAILQ_ENTRY(sweep_job)	 sj_link;
	struct sweep_entry	*sj_se;
	struct cache_entry	 sj_ce;		/* private copy */
	int			 sj_wipe;
	struct sweep_result	 sj_res;
	struct sweep_batch     **sj_batches;	/* POST /sweep requests waiting */
	size_t			 sj_nbatches;
};
TAILQ_HEAD(sweep_jobs, sweep_job);

/* A cache entry as the loop keeps it. */
struct sweep_entry {
	TAILQ_ENTRY(sweep_entry) se_link;
	struct cache_entry	 se_ce;		/* own copy of the settings */
	struct event		*se_timer;
	struct sweep_job	*se_job;	/* queued or running, or NULL */
	struct sweep_batch     **se_next;	/* waiting for the run after it */
	size_t			 se_nnext;
	int			 se_gone;	/* dropped by a reload */

	struct metric		*se_m_runs;
	struct metric		*se_m_files;
	struct metric		*se_m_dirs;
	struct metric		*se_m_bytes;
	struct metric		*se_m_errors;
	struct metric		*se_m_duration;
	struct metric		*se_m_last;
	struct metric		*se_m_size;
	struct metric		*se_m_yield;
};
TAILQ_HEAD(sweep_entries, sweep_entry);

/* One POST /sweep waiting for its entries. */
struct sweep_batch {
	struct admin_req	*sb_req;
	size_t			 sb_pending;
	json_t			*sb_entries;
	uint64_t		 sb_files;
	uint64_t		 sb_bytes;
	uint64_t		 sb_errors;
	int			 sb_interrupted;
	int64_t			 sb_start;
};

uint64_t			 sweep_traffic_count;
static pthread_t		 sweep_thread;
static pthread_mutex_t		 sweep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 sweep_cond = PTHREAD_COND_INITIALIZER;
static struct sweep_jobs	 sweep_todo = TAILQ_HEAD_INITIALIZER(sweep_todo);
static struct sweep_jobs	 sweep_done = TAILQ_HEAD_INITIALIZER(sweep_done);
static volatile int		 sweep_stop;
static int			 sweep_exited;		/* the worker returned */
static int			 sweep_running;
static struct event		*sweep_doorbell;
static struct sweep_entries	 sweep_entries =
    TAILQ_HEAD_INITIALIZER(sweep_entries);

static void	sweep_entry_start(struct sweep_entry *, int,
		    struct sweep_batch **, size_t);
static int	sweep_walk_dir(struct sweep_walk *, int, int, int *);

/* Whether relpath or its base name matches one of the keep globs. */
int
sweep_keep_match(char *const *keep, size_t nkeep, const char *relpath,
    const char *base)
{
	const char	*pat;
	size_t		 i;

	for (i = 0; i < nkeep; i++) {
		pat = keep[i];
		/* A leading slash anchors the glob at the root. */
		if (*pat == '/') {
			if (fnmatch(pat + 1, relpath, FNM_PATHNAME) == 0)
				return (1);
			continue;
		}
		if (fnmatch(pat, relpath, FNM_PATHNAME) == 0 ||
		    fnmatch(pat, base, 0) == 0)
			return (1);
	}
	return (0);
}

/* The newest of the listed timestamps: the one that makes it young. */
int64_t
sweep_age_time(const struct fsutil_stat *st, unsigned age_by)
{
	int64_t	t = INT64_MIN;

	if ((age_by & AGE_BY_ATIME) && st->fst_atime_ms > t)
		t = st->fst_atime_ms;
	if ((age_by & AGE_BY_CTIME) && st->fst_ctime_ms > t)
		t = st->fst_ctime_ms;
	if ((age_by & AGE_BY_MTIME) && st->fst_mtime_ms > t)
		t = st->fst_mtime_ms;
	if (t == INT64_MIN)
		t = st->fst_mtime_ms;	/* age_by is never 0; be safe */
	return (t);
}

/* Old means every listed timestamp lies more than age before now. */
int
sweep_is_old(const struct fsutil_stat *st, unsigned age_by, msec_t age,
    int64_t now_ms)
{
	if (age <= 0)
		return (0);	/* age 0: the age rule is off */
	return (sweep_age_time(st, age_by) < now_ms - age);
}

/*
 * Read a directory with getdents64(2) into a large buffer, on the very
 * descriptor the *at calls use: no second open per directory, and one
 * system call per SWEEP_DIRBUF bytes of entries.
 */
static int
sweep_dir_open(struct sweep_dir *sd, int fd)
{
	sd->sd_fd = fd;
	sd->sd_len = sd->sd_off = 0;
	sd->sd_error = 0;
	sd->sd_buf = malloc(SWEEP_DIRBUF);
	return (sd->sd_buf == NULL ? -1 : 0);
}

/* The next entry other than "." and "..", or NULL at the end or on error. */
static struct dirent64 *
sweep_dir_next(struct sweep_dir *sd)
{
	struct dirent64	*de;
	long		 n;

	for (;;) {
		if (sd->sd_off >= sd->sd_len) {
			n = syscall(SYS_getdents64, sd->sd_fd, sd->sd_buf,
			    SWEEP_DIRBUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				sd->sd_error = n == -1 ? errno : 0;
				return (NULL);
			}
			sd->sd_len = n;
			sd->sd_off = 0;
		}
		de = (struct dirent64 *)(sd->sd_buf + sd->sd_off);
		sd->sd_off += de->d_reclen;
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		return (de);
	}
}

/* Free a directory reader; the descriptor is the caller's. */
static void
sweep_dir_close(struct sweep_dir *sd)
{
	free(sd->sd_buf);
	sd->sd_buf = NULL;
}

/* Log one entry that could not be handled, the first few only. */
static void
sweep_walk_error(struct sweep_walk *w, const char *what, int error)
{
	int	n;

	w->w_res->sr_errors++;
	n = __atomic_fetch_add(w->w_logged, 1, __ATOMIC_RELAXED);
	if (n < SWEEP_MAX_LOGGED)
		log_warn("sweep %s: %s %s: %s", w->w_ce->ce_path, what,
		    w->w_rel, strerror(error));
	else if (n == SWEEP_MAX_LOGGED)
		log_warn("sweep %s: more errors, not logged",
		    w->w_ce->ce_path);
}

/* Append name to the relative path; returns the old length or -1. */
static ssize_t
sweep_walk_push(struct sweep_walk *w, const char *name)
{
	size_t	old = w->w_len, n = strlen(name);

	if (old + n + 2 > sizeof w->w_rel)
		return (-1);
	if (old > 0)
		w->w_rel[w->w_len++] = '/';
	memcpy(w->w_rel + w->w_len, name, n + 1);
	w->w_len += n;
	return (old);
}

/* Cut the relative path back to len. */
static void
sweep_walk_pop(struct sweep_walk *w, size_t len)
{
	w->w_len = len;
	w->w_rel[len] = '\0';
}

/* Remember a file that max_size may remove later. */
static void
sweep_walk_candidate(struct sweep_walk *w, const struct fsutil_stat *st)
{
	struct sweep_cand	*sc;

	if (w->w_ncand == w->w_acand) {
		w->w_acand = w->w_acand == 0 ? 1024 : w->w_acand * 2;
		w->w_cand = xrealloc(w->w_cand, w->w_acand * sizeof *w->w_cand);
	}
	sc = &w->w_cand[w->w_ncand++];
	sc->sc_rel = xstrdup(w->w_rel);
	sc->sc_ino = st->fst_ino;
	sc->sc_size = st->fst_size;
	sc->sc_time = sweep_age_time(st, w->w_ce->ce_age_by);
}

/*
 * Remove the non-directory name under fd, unless its owner holds it under
 * flock.  Returns 1 when it is gone, 0 when it stays.
 */
static int
sweep_walk_unlink(struct sweep_walk *w, int fd, const char *name,
    const struct fsutil_stat *st)
{
	int	ffd = -1;

	if (fsutil_locks_refresh(w->w_locks, SWEEP_LOCKS_AGE_MS) != -1) {
		if (fsutil_locks_held(w->w_locks, st->fst_dev, st->fst_ino)) {
			w->w_res->sr_locked++;
			return (0);
		}
	} else if (S_ISREG(st->fst_mode)) {
		/* No /proc: try the lock itself.  Devices are not opened. */
		ffd = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY);
		if (ffd == -1 && errno == ENOENT)
			return (1);
		if (ffd == -1 && errno == ELOOP)
			return (0);	/* swapped for a link: next time */
		/* Unreadable (not root): removed without the lock test. */
		if (ffd != -1 && fsutil_locked(ffd)) {
			w->w_res->sr_locked++;
			close(ffd);
			return (0);
		}
	}
	/* The lock, if we took it, is held until the name is gone. */
	if (unlinkat(fd, name, 0) == 0) {
		w->w_res->sr_files++;
		w->w_res->sr_bytes += st->fst_size;
	} else if (errno != ENOENT) {
		sweep_walk_error(w, "cannot remove", errno);
		if (ffd != -1)
			close(ffd);
		return (0);
	}
	if (ffd != -1)
		close(ffd);
	return (1);
}

/* Sleep for us microseconds, and count the time as given way. */
static void
sweep_walk_nap(struct sweep_walk *w, long us)
{
	struct timespec	ts = { us / 1000000, (us % 1000000) * 1000 };
	struct timespec	t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w->w_res->sr_yield_us += (t1.tv_sec - t0.tv_sec) * 1000000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000;
}

/*
 * Give way to traffic (see SWEEP_PACE_EVERY), called before each entry:
 * once a batch, while the proxy relays, nap.  A walker other than the
 * first calls with at_root set before it takes the next root entry, when
 * it holds no directory (and so no directory's lock): there it waits for
 * as long as the first walker is still walking.
 */
static void
sweep_walk_pace(struct sweep_walk *w, int at_root)
{
	uint64_t	n;
	int64_t		now;
	int		batch, park;

	batch = ++w->w_entries % SWEEP_PACE_EVERY == 0;
	park = at_root && w->w_index != 0;
	if (!batch && !park)
		return;
	for (;;) {
		n = __atomic_load_n(&sweep_traffic_count, __ATOMIC_RELAXED);
		now = clock_coarse_ms();
		if (n != w->w_traffic) {
			w->w_traffic = n;
			w->w_quiet_at = now + SWEEP_TRAFFIC_MS;
		}
		if (now >= w->w_quiet_at ||
		    __atomic_load_n(w->w_stop, __ATOMIC_RELAXED))
			return;
		if (park &&
		    __atomic_load_n(&w->w_root->rt_first, __ATOMIC_RELAXED)) {
			sweep_walk_nap(w, SWEEP_PARK_MS * 1000);
			continue;
		}
		if (batch)
			sweep_walk_nap(w, SWEEP_PACE_NAP_US);
		return;
	}
}

/*
 * Sweep the entry name in the directory open as fd.  Returns 1 when it is
 * still there afterwards; *removed is set when it or something in it was
 * removed.
 */
static int
sweep_walk_entry(struct sweep_walk *w, int fd, const char *name, int depth,
    int *removed)
{
	struct sweep_result	*res = w->w_res;
	const struct cache_entry *ce = w->w_ce;
	struct fsutil_stat	 st, fst;
	ssize_t			 old;
	int			 sub, sub_empty, sub_removed, dir_old, gone;
	int			 left = 1;

	if ((old = sweep_walk_push(w, name)) == -1) {
		sweep_walk_error(w, "name too long under", ENAMETOOLONG);
		return (1);
	}
	if (fsutil_statat(fd, name, &st) != 0) {
		if (errno == ENOENT)
			left = 0;
		else
			sweep_walk_error(w, "cannot stat", errno);
		goto out;
	}
	/* Nothing under a kept directory is even looked at. */
	if (ce->ce_nkeep > 0 && sweep_keep_match(ce->ce_keep, ce->ce_nkeep,
	    w->w_rel, name)) {
		res->sr_kept++;
		if (!S_ISDIR(st.fst_mode))
			res->sr_size += st.fst_size;
		goto out;
	}
	if (!S_ISDIR(st.fst_mode)) {
		if ((w->w_wipe || sweep_is_old(&st, ce->ce_age_by,
		    ce->ce_age, w->w_now)) &&
		    sweep_walk_unlink(w, fd, name, &st)) {
			*removed = 1;
			left = 0;
		} else {
			res->sr_size += st.fst_size;
			if (ce->ce_max_size > 0)
				sweep_walk_candidate(w, &st);
		}
		goto out;
	}

	/* A directory: never another mount, never too deep. */
	if (fsutil_is_boundary(&st, w->w_dev)) {
		res->sr_mounts++;
		log_debug("sweep %s: %s is a mount point, not entered",
		    ce->ce_path, w->w_rel);
		goto out;
	}
	if (depth >= SWEEP_MAX_DEPTH) {
		sweep_walk_error(w, "too deep, not entered:", ELOOP);
		goto out;
	}
	if ((sub = fsutil_openat_dir(fd, name)) == -1) {
		/* Gone, or swapped for a link or a file: next time. */
		if (errno == ENOENT)
			left = 0;
		else if (errno != ENOTDIR && errno != ELOOP)
			sweep_walk_error(w, "cannot open", errno);
		goto out;
	}
	/* It must be the directory we looked at, and not locked. */
	if (fsutil_statat(sub, "", &fst) != 0 ||
	    fst.fst_ino != st.fst_ino || fst.fst_dev != st.fst_dev ||
	    fsutil_is_boundary(&fst, w->w_dev)) {
		close(sub);
		goto out;
	}
	if (fsutil_locked(sub)) {
		res->sr_locked++;
		close(sub);
		goto out;
	}
	/* Its own age counts as it was before we emptied it. */
	dir_old = sweep_is_old(&st, ce->ce_age_by, ce->ce_age, w->w_now);
	sub_removed = 0;
	sub_empty = sweep_walk_dir(w, sub, depth + 1, &sub_removed);
	if (sub_removed)
		*removed = 1;
	gone = 0;
	if (sub_empty && (w->w_wipe || sub_removed || dir_old)) {
		/* Our lock is still held, so nobody protects it now. */
		if (unlinkat(fd, name, AT_REMOVEDIR) == 0) {
			res->sr_dirs++;
			*removed = 1;
			gone = 1;
		} else if (errno == ENOENT) {
			gone = 1;
		} else if (errno != ENOTEMPTY && errno != EEXIST) {
			sweep_walk_error(w, "cannot remove", errno);
		}
	}
	left = !gone;
	close(sub);
out:
	sweep_walk_pop(w, old);
	return (left);
}

/*
 * Sweep the directory open as fd, removing as it is read (find's order).
 * Returns 1 when nothing is left in it; *removed is set when something in
 * it was removed.
 */
static int
sweep_walk_dir(struct sweep_walk *w, int fd, int depth, int *removed)
{
	struct sweep_dir	 sd;
	struct dirent64		*de;
	int			 left = 0;

	if (sweep_dir_open(&sd, fd) == -1) {
		sweep_walk_error(w, "cannot read", errno);
		return (0);
	}
	for (;;) {
		if (__atomic_load_n(w->w_stop, __ATOMIC_RELAXED)) {
			w->w_res->sr_status = EINTR;
			left = 1;
			break;
		}
		if ((de = sweep_dir_next(&sd)) == NULL) {
			if (sd.sd_error != 0) {
				sweep_walk_error(w, "cannot read", sd.sd_error);
				left = 1;
			}
			break;
		}
		sweep_walk_pace(w, 0);
		if (sweep_walk_entry(w, fd, de->d_name, depth, removed))
			left = 1;
	}
	sweep_dir_close(&sd);
	return (!left);
}

/*
 * One walker's share of the root: take the next entry of the shared
 * reader, sweep it (a whole subtree for a directory), until none is left.
 */
static void
sweep_walk_root(struct sweep_walk *w)
{
	struct sweep_root	*rt = w->w_root;
	struct dirent64		*de;
	char			 name[NAME_MAX + 1];
	int			 removed = 0, error;

	for (;;) {
		if (__atomic_load_n(w->w_stop, __ATOMIC_RELAXED)) {
			w->w_res->sr_status = EINTR;
			break;
		}
		sweep_walk_pace(w, 1);
		de = NULL;
		error = 0;
		pthread_mutex_lock(&rt->rt_lock);
		if (!rt->rt_done) {
			if ((de = sweep_dir_next(&rt->rt_dir)) == NULL) {
				rt->rt_done = 1;
				error = rt->rt_dir.sd_error;
			} else {
				/* The buffer is refilled by the next call. */
				snprintf(name, sizeof name, "%s", de->d_name);
			}
		}
		pthread_mutex_unlock(&rt->rt_lock);
		if (error != 0)
			sweep_walk_error(w, "cannot read", error);
		if (de == NULL)
			break;
		(void)sweep_walk_entry(w, rt->rt_dir.sd_fd, name, 0,
		    &removed);
	}
	if (w->w_index == 0)
		__atomic_store_n(&rt->rt_first, 0, __ATOMIC_RELAXED);
}

/*
 * Ask for a short scheduler slice (Linux 6.12 and later; ignored before):
 * a walker that holds a CPU when the proxy's thread wakes up gives it up
 * within SWEEP_SLICE_NS instead of at the end of a default slice.  The
 * nice level, and so the walkers' share of a busy CPU, stays.
 */
static void
sweep_thread_slice(void)
{
	struct {
		uint32_t	size;
		uint32_t	policy;
		uint64_t	flags;
		int32_t		nice;
		uint32_t	priority;
		uint64_t	runtime;
		uint64_t	deadline;
		uint64_t	period;
	} attr;

	memset(&attr, 0, sizeof attr);
	attr.size = sizeof attr;
	attr.policy = SCHED_OTHER;
	attr.nice = getpriority(PRIO_PROCESS, 0);
	attr.runtime = SWEEP_SLICE_NS;
	if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0)
		log_debug("sched_setattr: %s", strerror(errno));
}

/* A second walker's thread. */
static void *
sweep_walker_main(void *arg)
{
	sweep_thread_slice();
	sweep_walk_root(arg);
	return (NULL);
}

/* Add what walker part did to res. */
static void
sweep_result_add(struct sweep_result *res, const struct sweep_result *part)
{
	res->sr_files += part->sr_files;
	res->sr_dirs += part->sr_dirs;
	res->sr_bytes += part->sr_bytes;
	res->sr_errors += part->sr_errors;
	res->sr_kept += part->sr_kept;
	res->sr_locked += part->sr_locked;
	res->sr_mounts += part->sr_mounts;
	res->sr_size += part->sr_size;
	res->sr_yield_us += part->sr_yield_us;
	if (part->sr_status != 0)
		res->sr_status = part->sr_status;
}

/* Oldest first; the path breaks ties so the order is stable. */
static int
sweep_cand_cmp(const void *a, const void *b)
{
	const struct sweep_cand	*x = a, *y = b;

	if (x->sc_time != y->sc_time)
		return (x->sc_time < y->sc_time ? -1 : 1);
	return (strcmp(x->sc_rel, y->sc_rel));
}

/*
 * Open the directory that holds rel under rootfd, each component with
 * O_NOFOLLOW and on the root's file system; *base is the last component.
 */
static int
sweep_open_rel(struct sweep_walk *w, int rootfd, char *rel,
    const char **base)
{
	struct fsutil_stat	 st;
	char			*p, *slash;
	int			 fd, next;

	if ((fd = dup(rootfd)) == -1)
		return (-1);
	p = rel;
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		next = fsutil_openat_dir(fd, p);
		*slash = '/';
		close(fd);
		if (next == -1)
			return (-1);
		if (fsutil_statat(next, "", &st) != 0 ||
		    fsutil_is_boundary(&st, w->w_dev)) {
			close(next);
			errno = EXDEV;
			return (-1);
		}
		fd = next;
		p = slash + 1;
	}
	*base = p;
	return (fd);
}

/* max_size: remove the oldest remaining files until the tree fits. */
static void
sweep_walk_max_size(struct sweep_walk *w, int rootfd)
{
	struct sweep_result	*res = w->w_res;
	struct sweep_cand	*sc;
	struct fsutil_stat	 st;
	const char		*base;
	size_t			 i;
	int			 fd;

	if (res->sr_size <= w->w_ce->ce_max_size || w->w_ncand == 0)
		return;
	qsort(w->w_cand, w->w_ncand, sizeof *w->w_cand, sweep_cand_cmp);
	for (i = 0; i < w->w_ncand; i++) {
		if (res->sr_size <= w->w_ce->ce_max_size ||
		    __atomic_load_n(w->w_stop, __ATOMIC_RELAXED))
			break;
		sc = &w->w_cand[i];
		sweep_walk_pace(w, 0);
		if ((fd = sweep_open_rel(w, rootfd, sc->sc_rel, &base)) == -1)
			continue;
		/* Only the very file we saw, if it is still there. */
		if (fsutil_statat(fd, base, &st) == 0 && st.fst_ino ==
		    sc->sc_ino && !S_ISDIR(st.fst_mode)) {
			snprintf(w->w_rel, sizeof w->w_rel, "%s", sc->sc_rel);
			w->w_len = strlen(w->w_rel);
			if (sweep_walk_unlink(w, fd, base, &st)) {
				res->sr_size -= res->sr_size < sc->sc_size ?
				    res->sr_size : sc->sc_size;
			}
		}
		close(fd);
	}
}

/* Sweep one cache entry now, on the calling thread. */
void
sweep_run(const struct cache_entry *ce, int wipe, int64_t now_ms,
    struct sweep_result *res, const volatile int *stop)
{
	static const volatile int	 never = 0;
	struct sweep_walk		*w[SWEEP_WALKERS];
	struct sweep_result		 part[SWEEP_WALKERS];
	struct sweep_root		*rt;
	struct fsutil_stat		 st;
	pthread_t			 tid[SWEEP_WALKERS];
	sigset_t			 all, old;
	int64_t				 start = clock_mono_ms();
	int				 rootfd, logged = 0;
	int				 started[SWEEP_WALKERS] = { 0 };
	size_t				 i, j;

	memset(res, 0, sizeof *res);
	if ((rootfd = fsutil_open_path(ce->ce_path)) == -1) {
		res->sr_status = errno;
		log_warn("sweep %s: %s, skipped", ce->ce_path,
		    errno == ENOENT ? "missing" :
		    errno == ELOOP ? "a symbolic link is in the path" :
		    errno == ENOTDIR ? "not a directory" : strerror(errno));
		res->sr_ms = clock_mono_ms() - start;
		return;
	}
	if (fsutil_statat(rootfd, "", &st) != 0) {
		res->sr_status = errno;
		log_warn("sweep %s: %s, skipped", ce->ce_path, strerror(errno));
		close(rootfd);
		res->sr_ms = clock_mono_ms() - start;
		return;
	}
	rt = xcalloc(1, sizeof *rt);
	pthread_mutex_init(&rt->rt_lock, NULL);
	rt->rt_first = 1;
	if (sweep_dir_open(&rt->rt_dir, rootfd) == -1)
		fatal_oom();
	for (i = 0; i < SWEEP_WALKERS; i++) {
		w[i] = xcalloc(1, sizeof *w[i]);
		w[i]->w_ce = ce;
		w[i]->w_wipe = wipe;
		w[i]->w_now = now_ms;
		w[i]->w_dev = st.fst_dev;
		w[i]->w_res = &part[i];
		w[i]->w_stop = stop != NULL ? stop : &never;
		w[i]->w_logged = &logged;
		w[i]->w_locks = fsutil_locks_new();
		w[i]->w_root = rt;
		w[i]->w_index = i;
		w[i]->w_traffic = __atomic_load_n(&sweep_traffic_count,
		    __ATOMIC_RELAXED);
	}
	memset(part, 0, sizeof part);
	/* The others inherit this thread's priority; signals stay the loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < SWEEP_WALKERS; i++) {
		started[i] = pthread_create(&tid[i], NULL, sweep_walker_main,
		    w[i]) == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sweep_walk_root(w[0]);
	for (i = 1; i < SWEEP_WALKERS; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
	}
	for (i = 0; i < SWEEP_WALKERS; i++)
		sweep_result_add(res, &part[i]);

	/* max_size goes on alone, with every walker's candidates. */
	w[0]->w_res = res;
	for (i = 1; i < SWEEP_WALKERS; i++) {
		if (w[i]->w_ncand == 0)
			continue;
		w[0]->w_cand = xrealloc(w[0]->w_cand, (w[0]->w_ncand +
		    w[i]->w_ncand) * sizeof *w[0]->w_cand);
		memcpy(w[0]->w_cand + w[0]->w_ncand, w[i]->w_cand,
		    w[i]->w_ncand * sizeof *w[0]->w_cand);
		w[0]->w_ncand += w[i]->w_ncand;
		w[0]->w_acand = w[0]->w_ncand;
		w[i]->w_ncand = 0;
	}
	if (ce->ce_max_size > 0 && res->sr_status == 0)
		sweep_walk_max_size(w[0], rootfd);
	for (i = 0; i < SWEEP_WALKERS; i++) {
		for (j = 0; j < w[i]->w_ncand; j++)
			free(w[i]->w_cand[j].sc_rel);
		free(w[i]->w_cand);
		fsutil_locks_free(w[i]->w_locks);
		free(w[i]);
	}
	sweep_dir_close(&rt->rt_dir);
	pthread_mutex_destroy(&rt->rt_lock);
	free(rt);
	close(rootfd);
	if (__atomic_load_n(stop != NULL ? stop : &never,
	    __ATOMIC_RELAXED))
		res->sr_status = EINTR;
	res->sr_ms = clock_mono_ms() - start;
}

/* Copy a cache entry's settings, deeply. */
static void
sweep_ce_copy(struct cache_entry *dst, const struct cache_entry *src)
{
	size_t	i;

	*dst = *src;
	dst->ce_path = xstrdup(src->ce_path);
	dst->ce_keep = xcalloc(src->ce_nkeep, sizeof *dst->ce_keep);
	for (i = 0; i < src->ce_nkeep; i++)
		dst->ce_keep[i] = xstrdup(src->ce_keep[i]);
}

/* Free what sweep_ce_copy() made. */
static void
sweep_ce_free(struct cache_entry *ce)
{
	size_t	i;

	for (i = 0; i < ce->ce_nkeep; i++)
		free(ce->ce_keep[i]);
	free(ce->ce_keep);
	free(ce->ce_path);
}

/* The worker: take a job, sweep, hand it back and ring the doorbell. */
static void *
sweep_main(void *arg)
{
	struct sweep_job	*sj;

	(void)arg;
	thread_background();
	sweep_thread_slice();
	pthread_mutex_lock(&sweep_lock);
	while (!sweep_stop) {
		if ((sj = TAILQ_FIRST(&sweep_todo)) == NULL) {
			pthread_cond_wait(&sweep_cond, &sweep_lock);
			continue;
		}
		TAILQ_REMOVE(&sweep_todo, sj, sj_link);
		pthread_mutex_unlock(&sweep_lock);

		sweep_run(&sj->sj_ce, sj->sj_wipe, clock_wall_ms(),
		    &sj->sj_res, &sweep_stop);

		pthread_mutex_lock(&sweep_lock);
		TAILQ_INSERT_TAIL(&sweep_done, sj, sj_link);
		event_active(sweep_doorbell, EV_READ, 0);
	}
	/* Stopping: the loop answers what never ran once it hears this. */
	sweep_exited = 1;
	event_active(sweep_doorbell, EV_READ, 0);
	pthread_mutex_unlock(&sweep_lock);
	return (NULL);
}

/* A short word for a sweep's outcome. */
static const char *
sweep_status_name(int status)
{
	switch (status) {
	case 0:
		return ("ok");
	case EINTR:
		return ("interrupted");
	case ENOENT:
		return ("missing");
	case ELOOP:
		return ("symlink");
	case ENOTDIR:
		return ("not a directory");
	default:
		return ("error");
	}
}

/* Answer a POST /sweep once every entry it waits for is done. */
static void
sweep_batch_reply(struct sweep_batch *sb)
{
	json_t	*body;
	double	 secs;

	secs = (clock_mono_ms() - sb->sb_start) / 1000.0;
	body = json_pack("{s:I, s:I, s:I, s:f, s:o}",
	    "files", (json_int_t)sb->sb_files,
	    "bytes", (json_int_t)sb->sb_bytes,
	    "errors", (json_int_t)sb->sb_errors,
	    "seconds", secs,
	    "entries", sb->sb_entries);
	if (body == NULL)
		fatal_oom();
	if (sb->sb_interrupted)
		json_object_set_new(body, "error", json_string("stopping"));
	admin_reply_json(sb->sb_req, sb->sb_interrupted ? 503 : 200, body);
	free(sb);
}

/* Add one entry's result to a waiting POST /sweep. */
static void
sweep_batch_add(struct sweep_batch *sb, const struct cache_entry *ce,
    const struct sweep_result *res)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, "
	    "s:f}",
	    "path", ce->ce_path,
	    "status", sweep_status_name(res->sr_status),
	    "files", (json_int_t)res->sr_files,
	    "dirs", (json_int_t)res->sr_dirs,
	    "bytes", (json_int_t)res->sr_bytes,
	    "errors", (json_int_t)res->sr_errors,
	    "kept", (json_int_t)res->sr_kept,
	    "locked", (json_int_t)res->sr_locked,
	    "size", (json_int_t)res->sr_size,
	    "seconds", res->sr_ms / 1000.0,
	    "yielded_seconds", res->sr_yield_us / 1e6);
	if (o == NULL)
		fatal_oom();
	json_array_append_new(sb->sb_entries, o);
	sb->sb_files += res->sr_files;
	sb->sb_bytes += res->sr_bytes;
	sb->sb_errors += res->sr_errors;
	if (res->sr_status == EINTR)
		sb->sb_interrupted = 1;
	if (--sb->sb_pending == 0)
		sweep_batch_reply(sb);
}

/* Free an entry that no job refers to any more. */
static void
sweep_entry_free(struct sweep_entry *se)
{
	if (se->se_timer != NULL)
		event_free(se->se_timer);
	sweep_ce_free(&se->se_ce);
	free(se->se_next);
	free(se);
}

/* A job is back from the worker: account, log, answer, go on. */
static void
sweep_job_done(struct sweep_job *sj)
{
	struct sweep_entry	*se = sj->sj_se;
	struct sweep_result	 copy = sj->sj_res, *res = &copy;
	struct sweep_batch     **next;
	size_t			 i, nnext;

	metrics_inc(se->se_m_runs);
	metrics_add(se->se_m_files, res->sr_files);
	metrics_add(se->se_m_dirs, res->sr_dirs);
	metrics_add(se->se_m_bytes, res->sr_bytes);
	metrics_add(se->se_m_errors, res->sr_errors +
	    (res->sr_status != 0 && res->sr_status != EINTR));
	metrics_set(se->se_m_duration, res->sr_ms);
	metrics_add(se->se_m_yield, res->sr_yield_us / 1000);
	metrics_set(se->se_m_last, clock_wall_ms() / 1000);
	if (res->sr_status == 0 || res->sr_status == EINTR)
		metrics_set(se->se_m_size, res->sr_size);
	if (res->sr_status == 0 || res->sr_status == EINTR) {
		log_info("sweep %s%s: removed %llu files and %llu directories "
		    "(%llu bytes) in %.3f s; %llu kept, %llu locked, %llu "
		    "mount points, %llu errors", sj->sj_ce.ce_path,
		    sj->sj_wipe ? " (wipe)" : "",
		    (unsigned long long)res->sr_files,
		    (unsigned long long)res->sr_dirs,
		    (unsigned long long)res->sr_bytes, res->sr_ms / 1000.0,
		    (unsigned long long)res->sr_kept,
		    (unsigned long long)res->sr_locked,
		    (unsigned long long)res->sr_mounts,
		    (unsigned long long)res->sr_errors);
		if (res->sr_status == EINTR)
			log_info("sweep %s: interrupted", sj->sj_ce.ce_path);
	}
	for (i = 0; i < sj->sj_nbatches; i++)
		sweep_batch_add(sj->sj_batches[i], &sj->sj_ce, res);
	free(sj->sj_batches);
	sweep_ce_free(&sj->sj_ce);
	free(sj);

	se->se_job = NULL;
	next = se->se_next;
	nnext = se->se_nnext;
	se->se_next = NULL;
	se->se_nnext = 0;
	if (nnext > 0 && !se->se_gone && !sweep_stop) {
		sweep_entry_start(se, 0, next, nnext);
		free(next);
		return;
	}
	/* Nobody will run it again: those waiting get what there is. */
	for (i = 0; i < nnext; i++)
		sweep_batch_add(next[i], &se->se_ce, res);
	free(next);
	if (se->se_gone)
		sweep_entry_free(se);
}

/* The doorbell rang: take every finished job on the loop. */
static void
sweep_doorbell_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sweep_jobs	 done = TAILQ_HEAD_INITIALIZER(done);
	struct sweep_jobs	 never = TAILQ_HEAD_INITIALIZER(never);
	struct sweep_job	*sj;

	(void)fd;
	(void)events;
	(void)arg;
	pthread_mutex_lock(&sweep_lock);
	TAILQ_CONCAT(&done, &sweep_done, sj_link);
	if (sweep_exited)
		TAILQ_CONCAT(&never, &sweep_todo, sj_link);
	pthread_mutex_unlock(&sweep_lock);
	while ((sj = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, sj, sj_link);
		sweep_job_done(sj);
	}
	/* The worker is gone: what it never ran counts as interrupted. */
	while ((sj = TAILQ_FIRST(&never)) != NULL) {
		TAILQ_REMOVE(&never, sj, sj_link);
		memset(&sj->sj_res, 0, sizeof sj->sj_res);
		sj->sj_res.sr_status = EINTR;
		sweep_job_done(sj);
	}
}

/* While stopping, wait for sweeps to end so POST /sweep gets its 503. */
static int
sweep_busy(void *arg)
{
	struct sweep_entry	*se;

	(void)arg;
	TAILQ_FOREACH(se, &sweep_entries, se_link) {
		if (se->se_job != NULL)
			return (1);
	}
	return (0);
}

/*
 * Queue one sweep of se, with the batches waiting for it; if one is
 * already queued or running, the batches wait for the run after it.
 */
static void
sweep_entry_start(struct sweep_entry *se, int wipe, struct sweep_batch **sbs,
    size_t nsbs)
{
	struct sweep_job	*sj;

	if (se->se_job != NULL) {
		/* A timer, no batch waiting: nothing to add (and sbs is NULL). */
		if (nsbs == 0) {
			log_debug("sweep %s: still running, not started again",
			    se->se_ce.ce_path);
			return;
		}
		se->se_next = xrealloc(se->se_next,
		    (se->se_nnext + nsbs) * sizeof *se->se_next);
		memcpy(se->se_next + se->se_nnext, sbs, nsbs * sizeof *sbs);
		se->se_nnext += nsbs;
		return;
	}
	sj = xcalloc(1, sizeof *sj);
	sj->sj_se = se;
	sweep_ce_copy(&sj->sj_ce, &se->se_ce);
	sj->sj_wipe = wipe;
	if (nsbs > 0) {
		sj->sj_batches = xcalloc(nsbs, sizeof *sbs);
		memcpy(sj->sj_batches, sbs, nsbs * sizeof *sbs);
		sj->sj_nbatches = nsbs;
	}
	se->se_job = sj;
	log_debug("sweep %s: queued%s", se->se_ce.ce_path, wipe ? " (wipe)" : "");
	pthread_mutex_lock(&sweep_lock);
	TAILQ_INSERT_TAIL(&sweep_todo, sj, sj_link);
	pthread_cond_signal(&sweep_cond);
	pthread_mutex_unlock(&sweep_lock);
}

/* Arm an entry's timer to fire after ms. */
static void
sweep_entry_arm(struct sweep_entry *se, msec_t ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(se->se_timer, &tv);
}

/* An entry's timer: sweep, and come back after every. */
static void
sweep_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct sweep_entry	*se = arg;

	(void)fd;
	(void)events;
	if (sweep_stop)
		return;
	if (se->se_ce.ce_every > 0)
		sweep_entry_arm(se, se->se_ce.ce_every);
	sweep_entry_start(se, 0, NULL, 0);
}

/* Escape a label value for the Prometheus text format. */
static char *
sweep_label(const char *path)
{
	char	*out, *o;

	o = out = xmalloc(strlen(path) * 2 + 16);
	o += sprintf(o, "path=\"");
	for (; *path != '\0'; path++) {
		if (*path == '\\' || *path == '"') {
			*o++ = '\\';
			*o++ = *path;
		} else if (*path == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else
			*o++ = *path;
	}
	*o++ = '"';
	*o = '\0';
	return (out);
}

/* Make the loop's record of a cache entry, with its metrics. */
static struct sweep_entry *
sweep_entry_new(const struct cache_entry *ce)
{
	struct sweep_entry	*se;
	char			*l;

	se = xcalloc(1, sizeof *se);
	sweep_ce_copy(&se->se_ce, ce);
	se->se_timer = evtimer_new(daemon_base(), sweep_timer_cb, se);
	if (se->se_timer == NULL)
		fatal("cannot create a sweep timer");
	l = sweep_label(ce->ce_path);
	se->se_m_runs = metrics_counter("janitor_sweeps_total", l,
	    "Sweeps of a cache entry");
	se->se_m_files = metrics_counter("janitor_sweep_files_removed_total",
	    l, "Files removed by the cache sweeper");
	se->se_m_dirs = metrics_counter("janitor_sweep_dirs_removed_total",
	    l, "Empty directories removed by the cache sweeper");
	se->se_m_bytes = metrics_counter("janitor_sweep_bytes_removed_total",
	    l, "Bytes of files removed by the cache sweeper");
	se->se_m_errors = metrics_counter("janitor_sweep_errors_total", l,
	    "Entries the cache sweeper could not remove, and refused roots");
	se->se_m_duration = metrics_gauge(
	    "janitor_sweep_duration_milliseconds", l,
	    "How long the last sweep of a cache entry took");
	se->se_m_last = metrics_gauge("janitor_sweep_last_run_timestamp_seconds",
	    l, "When the last sweep of a cache entry ended (Unix time)");
	se->se_m_size = metrics_gauge("janitor_sweep_tree_bytes", l,
	    "Bytes left in a cache entry's tree after its last sweep");
	se->se_m_yield = metrics_counter(
	    "janitor_sweep_yielded_milliseconds_total", l,
	    "Time the sweeper's walkers gave way to proxied traffic");
	free(l);
	TAILQ_INSERT_TAIL(&sweep_entries, se, se_link);
	return (se);
}

/* The live entry for path, or NULL. */
static struct sweep_entry *
sweep_entry_find(const char *path)
{
	struct sweep_entry	*se;

	TAILQ_FOREACH(se, &sweep_entries, se_link) {
		if (strcmp(se->se_ce.ce_path, path) == 0)
			return (se);
	}
	return (NULL);
}

/* Drop an entry: now if idle, else when its job comes back. */
static void
sweep_entry_drop(struct sweep_entry *se)
{
	TAILQ_REMOVE(&sweep_entries, se, se_link);
	evtimer_del(se->se_timer);
	if (se->se_job != NULL)
		se->se_gone = 1;
	else
		sweep_entry_free(se);
}

/* A new policy: new entries start soon, changed ones at their next run. */
static void
sweep_reload(const struct policy *old, const struct policy *new, void *arg)
{
	struct sweep_entry	*se, *next;
	const struct cache_entry *ce;
	msec_t			 every;
	size_t			 i;

	(void)old;
	(void)arg;
	for (se = TAILQ_FIRST(&sweep_entries); se != NULL; se = next) {
		next = TAILQ_NEXT(se, se_link);
		for (i = 0; i < new->po_ncache; i++) {
			if (strcmp(new->po_cache[i].ce_path,
			    se->se_ce.ce_path) == 0)
				break;
		}
		if (i == new->po_ncache) {
			log_info("sweep %s: no longer in the policy",
			    se->se_ce.ce_path);
			sweep_entry_drop(se);
		}
	}
	for (i = 0; i < new->po_ncache; i++) {
		ce = &new->po_cache[i];
		if ((se = sweep_entry_find(ce->ce_path)) == NULL) {
			se = sweep_entry_new(ce);
			if (ce->ce_every > 0)
				sweep_entry_arm(se, SWEEP_FIRST_DELAY_MS);
			continue;
		}
		every = se->se_ce.ce_every;
		sweep_ce_free(&se->se_ce);
		sweep_ce_copy(&se->se_ce, ce);
		if (every != ce->ce_every) {
			evtimer_del(se->se_timer);
			if (ce->ce_every > 0)
				sweep_entry_arm(se, ce->ce_every);
		}
	}
}

/* Stopping begins: a running sweep is interrupted, no new one starts. */
static void
sweep_on_stop(void *arg)
{
	struct sweep_entry	*se;

	(void)arg;
	pthread_mutex_lock(&sweep_lock);
	/* Atomic: the walkers poll it without the lock. */
	__atomic_store_n(&sweep_stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&sweep_cond);
	pthread_mutex_unlock(&sweep_lock);
	TAILQ_FOREACH(se, &sweep_entries, se_link)
		evtimer_del(se->se_timer);
}

/* POST /sweep[?path=]: sweep every entry (or one) now, answer when done. */
static void
sweep_admin(struct admin_req *req, const char *tail, void *arg)
{
	struct sweep_batch	*sb;
	struct sweep_entry	*se;
	const char		*path;
	size_t			 n = 0;

	(void)tail;
	(void)arg;
	if (sweep_stop || !sweep_running) {
		admin_reply_json(req, 503, json_pack("{s:s}", "error",
		    "stopping"));
		return;
	}
	path = admin_query(req, "path");
	if (path != NULL && sweep_entry_find(path) == NULL) {
		admin_reply_json(req, 404, json_pack("{s:s, s:s}", "error",
		    "no such cache entry", "path", path));
		return;
	}
	sb = xcalloc(1, sizeof *sb);
	sb->sb_req = req;
	sb->sb_start = clock_mono_ms();
	if ((sb->sb_entries = json_array()) == NULL)
		fatal_oom();
	TAILQ_FOREACH(se, &sweep_entries, se_link) {
		if (path == NULL || strcmp(se->se_ce.ce_path, path) == 0)
			n++;
	}
	if (n == 0) {
		sweep_batch_reply(sb);
		return;
	}
	/* Answers come from the loop later, so the count can be set now. */
	sb->sb_pending = n;
	TAILQ_FOREACH(se, &sweep_entries, se_link) {
		if (path == NULL || strcmp(se->se_ce.ce_path, path) == 0)
			sweep_entry_start(se, 0, &sb, 1);
	}
}

/* Start the worker thread, the timers, on_start, and POST /sweep. */
int
sweep_start_thread(char **cause)
{
	const struct policy	*po = daemon_policy();
	struct sweep_entry	*se;
	sigset_t		 all, old;
	size_t			 i;
	int			 error;

	if (sweep_running)
		return (0);
	sweep_doorbell = event_new(daemon_base(), -1, 0, sweep_doorbell_cb,
	    NULL);
	if (sweep_doorbell == NULL) {
		*cause = xstrdup("cannot create the sweep doorbell");
		return (-1);
	}
	sweep_stop = 0;
	sweep_exited = 0;
	/* Signals are the loop's business, not the worker's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&sweep_thread, NULL, sweep_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		event_free(sweep_doorbell);
		sweep_doorbell = NULL;
		if (asprintf(cause, "cannot start the sweep thread: %s",
		    strerror(error)) == -1)
			fatal_oom();
		return (-1);
	}
	sweep_running = 1;

	for (i = 0; i < po->po_ncache; i++) {
		se = sweep_entry_new(&po->po_cache[i]);
		switch (se->se_ce.ce_on_start) {
		case CACHE_START_WIPE:
			sweep_entry_start(se, 1, NULL, 0);
			if (se->se_ce.ce_every > 0)
				sweep_entry_arm(se, se->se_ce.ce_every);
			break;
		case CACHE_START_SWEEP:
			sweep_entry_start(se, 0, NULL, 0);
			if (se->se_ce.ce_every > 0)
				sweep_entry_arm(se, se->se_ce.ce_every);
			break;
		case CACHE_START_NONE:
			if (se->se_ce.ce_every > 0)
				sweep_entry_arm(se, SWEEP_FIRST_DELAY_MS);
			break;
		}
	}
	admin_route("POST", "/sweep", 0, sweep_admin, NULL);
	daemon_on_reload(sweep_reload, NULL);
	daemon_on_stop(sweep_on_stop, NULL);
	daemon_on_busy(sweep_busy, NULL);
	return (0);
}

/* Interrupt a running sweep, stop the worker and forget the entries. */
void
sweep_stop_thread(void)
{
	struct sweep_entry	*se;

	if (!sweep_running)
		return;
	sweep_on_stop(NULL);
	pthread_join(sweep_thread, NULL);
	sweep_running = 0;

	/* What finished is taken as usual; what never ran, as interrupted. */
	sweep_doorbell_cb(-1, 0, NULL);
	while ((se = TAILQ_FIRST(&sweep_entries)) != NULL) {
		TAILQ_REMOVE(&sweep_entries, se, se_link);
		sweep_entry_free(se);
	}
	event_free(sweep_doorbell);
	sweep_doorbell = NULL;
}
