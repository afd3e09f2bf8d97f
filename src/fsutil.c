/*
 * fsutil.c -- safe, race-free removal of directory trees relative to open
 * directory descriptors, and the worker thread that runs the removals
 * on_unload.remove and on_expire.remove ask for.
 *
 * The rules, after systemd-tmpfiles: a path is opened one component at a
 * time with O_NOFOLLOW, so no symbolic link anywhere in it is followed; an
 * entry is examined with AT_SYMLINK_NOFOLLOW and removed with unlinkat()
 * relative to the directory it was found in, so a link is removed as a
 * link and its target is never touched; a directory is entered only with
 * O_NOFOLLOW|O_DIRECTORY and only when the descriptor we got is the inode
 * we examined, on the same device and not a mount root.  Whatever an
 * attacker swaps in meanwhile, the worst outcome is that we leave it alone.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "clock.h"
#include "fsutil.h"
#include "log.h"
#include "metrics.h"
#include "thread.h"

/* Deeper trees are left alone: every level holds two descriptors. */
#define FSUTIL_MAX_DEPTH	256

/* How often an entry that changes under us is looked at again. */
#define FSUTIL_TRIES		8

/* Per removal, at most this many failing entries are logged one by one. */
#define FSUTIL_MAX_LOGGED	10

/* State of one recursive removal. */
struct fsutil_rm {
	char			 rm_path[PATH_MAX];	/* for messages only */
	size_t			 rm_len;
	dev_t			 rm_dev;
	struct fsutil_stats	*rm_stats;
	const volatile int	*rm_stop;
	int			 rm_logged;
};

/* One locked inode. */
struct fsutil_lock {
	dev_t	fl_dev;
	ino_t	fl_ino;
};

/* A sorted snapshot of /proc/locks. */
struct fsutil_locks {
	struct fsutil_lock	*fl_locks;
	size_t			 fl_n;
	size_t			 fl_alloc;
	int64_t			 fl_read_ms;	/* coarse monotonic, -1 never */
	int			 fl_ok;
	char			*fl_buf;
	size_t			 fl_bufsize;
};

/* One queued asynchronous removal. */
struct fsutil_job {
	TAILQ_ENTRY(fsutil_job)	 fj_entry;
	char			*fj_path;
	int64_t			 fj_not_before;	/* wall ms, 0: no rule */
	int			 fj_older;	/* left alone: made before */
	struct fsutil_age	 fj_age;
	fsutil_remove_cb	 fj_cb;
	void			*fj_arg;
	int			 fj_error;
	struct fsutil_stats	 fj_stats;
};
TAILQ_HEAD(fsutil_jobs, fsutil_job);

static pthread_t		 fsutil_thread;
static pthread_mutex_t		 fsutil_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 fsutil_cond = PTHREAD_COND_INITIALIZER;
static struct fsutil_jobs	 fsutil_todo = TAILQ_HEAD_INITIALIZER(fsutil_todo);
static struct fsutil_jobs	 fsutil_done = TAILQ_HEAD_INITIALIZER(fsutil_done);
static int			 fsutil_running;
static volatile int		 fsutil_stop;
static int			 fsutil_inflight;	/* queued or running */
static struct event		*fsutil_doorbell;

static struct metric		*fsutil_m_ok;
static struct metric		*fsutil_m_failed;
static struct metric		*fsutil_m_older;

static struct log_limit		 fsutil_log_older = LOG_LIMIT_INIT(
				    "removals left alone (older than their "
				    "session)", LOG_LEVEL_WARN);
static struct metric		*fsutil_m_errors;
static struct metric		*fsutil_m_files;
static struct metric		*fsutil_m_bytes;

static int	fsutil_rm_at(struct fsutil_rm *, int, const char *, int);
static int	fsutil_rm_inside(struct fsutil_rm *, int, int);

/* Open directory name under dirfd without following it or touching atime. */
int
fsutil_openat_dir(int dirfd, const char *name)
{
	int	fd, flags;

	flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK;
	fd = openat(dirfd, name, flags | O_NOATIME);
	/* O_NOATIME is refused on what we do not own without CAP_FOWNER. */
	if (fd == -1 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return (fd);
}

/* Convert a timespec to milliseconds. */
static int64_t
fsutil_ts_ms(const struct timespec *ts)
{
	return ((int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000);
}

/*
 * Stat name under dirfd ("" for dirfd itself) without following links.
 * fstatat() is what find(1) uses and is cheaper than statx(); only for a
 * directory does statx() add whether it is the root of a mount.
 */
int
fsutil_statat(int dirfd, const char *name, struct fsutil_stat *st)
{
	struct stat	sb;
	struct statx	stx;
	int		flags;

	flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;
	if (*name == '\0')
		flags |= AT_EMPTY_PATH;
	if (fstatat(dirfd, name, &sb, flags) != 0)
		return (-1);
	st->fst_mode = sb.st_mode;
	st->fst_dev = sb.st_dev;
	st->fst_ino = sb.st_ino;
	st->fst_size = sb.st_size;
	st->fst_atime_ms = fsutil_ts_ms(&sb.st_atim);
	st->fst_mtime_ms = fsutil_ts_ms(&sb.st_mtim);
	st->fst_ctime_ms = fsutil_ts_ms(&sb.st_ctim);
	st->fst_mount_root = 0;
	if (!S_ISDIR(sb.st_mode))
		return (0);
	/* A bind mount of the same file system has the same st_dev. */
	if (statx(dirfd, name, flags | AT_STATX_DONT_SYNC, STATX_INO,
	    &stx) == 0) {
		st->fst_mount_root = (stx.stx_attributes_mask &
		    STATX_ATTR_MOUNT_ROOT) && (stx.stx_attributes &
		    STATX_ATTR_MOUNT_ROOT);
		/* Swapped between the two calls: look again next time. */
		if (stx.stx_ino != sb.st_ino)
			st->fst_mount_root = 1;
	}
	return (0);
}

/* Whether st is on another device than dev or the root of a mount. */
int
fsutil_is_boundary(const struct fsutil_stat *st, dev_t dev)
{
	return (st->fst_dev != dev || st->fst_mount_root);
}

/* Try to take an exclusive flock without waiting; 1 if another holds it. */
int
fsutil_locked(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return (0);
	return (errno == EWOULDBLOCK);
}

/*
 * Walk absolute path one component at a time with O_NOFOLLOW, stopping
 * before the last one when parent is set.  Returns the directory
 * descriptor or -1 with errno.
 */
static int
fsutil_walk(const char *path, int parent, const char **base)
{
	char		 name[NAME_MAX + 1];
	const char	*p, *end, *last;
	size_t		 len;
	int		 fd, next;
	struct stat	 sb;

	if (path == NULL || path[0] != '/') {
		errno = EINVAL;
		return (-1);
	}
	/* Find the last component, if only the parent is wanted. */
	last = NULL;
	if (parent) {
		end = path + strlen(path);
		while (end > path && end[-1] == '/')
			end--;
		last = end;
		while (last > path && last[-1] != '/')
			last--;
		if (last == end) {
			errno = EINVAL;	/* "/" has no parent */
			return (-1);
		}
		*base = last;
	}
	if ((fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0' || p == last)
			break;
		end = strchr(p, '/');
		len = end == NULL ? strlen(p) : (size_t)(end - p);
		if (len > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return (-1);
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			close(fd);
			errno = EINVAL;
			return (-1);
		}
		next = fsutil_openat_dir(fd, name);
		if (next == -1) {
			/* Say ELOOP for a symbolic link whatever openat said. */
			if ((errno == ENOTDIR || errno == ELOOP) &&
			    fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
				errno = S_ISLNK(sb.st_mode) ? ELOOP : ENOTDIR;
			close(fd);
			return (-1);
		}
		close(fd);
		fd = next;
	}
	return (fd);
}

/* Open the directory at absolute path without following any link. */
int
fsutil_open_path(const char *path)
{
	return (fsutil_walk(path, 0, NULL));
}

/* Open the parent of absolute path; *base points at the last component. */
int
fsutil_open_parent(const char *path, const char **base)
{
	return (fsutil_walk(path, 1, base));
}

/* Note one entry that could not be removed. */
static void
fsutil_rm_error(struct fsutil_rm *rm, const char *name, int error)
{
	rm->rm_stats->fs_errors++;
	if (rm->rm_logged++ < FSUTIL_MAX_LOGGED)
		log_warn("remove %s%s%s: %s", rm->rm_path,
		    rm->rm_len > 0 && rm->rm_path[rm->rm_len - 1] != '/' ?
		    "/" : "", name, strerror(error));
	else if (rm->rm_logged == FSUTIL_MAX_LOGGED + 1)
		log_warn("remove %s: more errors, not logged", rm->rm_path);
}

/* Append /name to the message path; returns the old length. */
static size_t
fsutil_rm_push(struct fsutil_rm *rm, const char *name)
{
	size_t	old = rm->rm_len;
	int	n;

	n = snprintf(rm->rm_path + old, sizeof rm->rm_path - old, "%s%s",
	    old > 0 && rm->rm_path[old - 1] != '/' ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof rm->rm_path - old)
		rm->rm_len = sizeof rm->rm_path - 1;
	else
		rm->rm_len = old + n;
	return (old);
}

/* Remove name under dirfd: unlink a non-directory, empty and rmdir one. */
static int
fsutil_rm_at(struct fsutil_rm *rm, int dirfd, const char *name, int depth)
{
	struct fsutil_stat	st, fst;
	size_t			old;
	int			fd, error, tries;

	for (tries = 0; tries < FSUTIL_TRIES; tries++) {
		if (fsutil_statat(dirfd, name, &st) != 0)
			return (errno == ENOENT ? 0 : errno);
		if (!S_ISDIR(st.fst_mode)) {
			if (unlinkat(dirfd, name, 0) == 0) {
				rm->rm_stats->fs_files++;
				rm->rm_stats->fs_bytes += st.fst_size;
				return (0);
			}
			if (errno == ENOENT)
				return (0);
			if (errno == EISDIR)
				continue;	/* swapped for a directory */
			return (errno);
		}
		/*
		 * An entry swapped between fstatat() and statx() looks like a
		 * mount root; a real one still is at a second look.
		 */
		if (fsutil_is_boundary(&st, rm->rm_dev) &&
		    tries + 1 < FSUTIL_TRIES &&
		    (fsutil_statat(dirfd, name, &fst) != 0 ||
		    fst.fst_ino != st.fst_ino || fst.fst_dev != st.fst_dev ||
		    !fsutil_is_boundary(&fst, rm->rm_dev)))
			continue;
		if (fsutil_is_boundary(&st, rm->rm_dev)) {
			rm->rm_stats->fs_mounts++;
			old = fsutil_rm_push(rm, name);
			log_warn("remove %s: a mount point, not crossed",
			    rm->rm_path);
			rm->rm_path[rm->rm_len = old] = '\0';
			return (EXDEV);
		}
		if (depth >= FSUTIL_MAX_DEPTH)
			return (ELOOP);
		if ((fd = fsutil_openat_dir(dirfd, name)) == -1) {
			if (errno == ENOENT)
				return (0);
			if (errno == ENOTDIR || errno == ELOOP)
				continue;	/* swapped for a link or file */
			return (errno);
		}
		/* It must still be the directory we looked at. */
		if (fsutil_statat(fd, "", &fst) != 0 || fst.fst_ino !=
		    st.fst_ino || fst.fst_dev != st.fst_dev ||
		    fsutil_is_boundary(&fst, rm->rm_dev)) {
			close(fd);
			continue;
		}
		old = fsutil_rm_push(rm, name);
		error = fsutil_rm_inside(rm, fd, depth + 1);
		rm->rm_path[rm->rm_len = old] = '\0';
		close(fd);
		if (error == EINTR)
			return (error);
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0) {
			rm->rm_stats->fs_dirs++;
			return (0);
		}
		if (errno == ENOENT)
			return (0);
		/*
		 * Emptied, but the name is now a link or a file (ENOTDIR) or
		 * another directory, or was filled again (ENOTEMPTY): swapped
		 * while we were inside, so look at it again.
		 */
		if (error == 0 && tries + 1 < FSUTIL_TRIES &&
		    (errno == ENOTDIR || errno == ENOTEMPTY || errno == EEXIST))
			continue;
		/* A failure inside explains why this one is not empty. */
		return (error != 0 ? error : errno);
	}
	return (EAGAIN);
}

/* Remove everything inside the open directory fd; first errno or 0. */
static int
fsutil_rm_inside(struct fsutil_rm *rm, int fd, int depth)
{
	DIR		*d;
	struct dirent	*de;
	int		 dfd, error = 0, r;

	/* A descriptor of our own: closedir() closes it, fd stays. */
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (errno);
	if ((d = fdopendir(dfd)) == NULL) {
		r = errno;
		close(dfd);
		return (r);
	}
	for (;;) {
		if (rm->rm_stop != NULL &&
		    __atomic_load_n(rm->rm_stop, __ATOMIC_RELAXED)) {
			error = EINTR;
			break;
		}
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0 && error == 0)
				error = errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		r = fsutil_rm_at(rm, fd, de->d_name, depth);
		if (r == EINTR) {
			error = r;
			break;
		}
		if (r != 0) {
			/* A mount point was already counted and logged. */
			if (r != EXDEV)
				fsutil_rm_error(rm, de->d_name, r);
			if (error == 0)
				error = r;
		}
	}
	closedir(d);
	return (error);
}

/* Set up the state of one removal. */
static void
fsutil_rm_init(struct fsutil_rm *rm, const char *path, dev_t dev,
    struct fsutil_stats *stats, const volatile int *stop)
{
	snprintf(rm->rm_path, sizeof rm->rm_path, "%s", path);
	rm->rm_len = strlen(rm->rm_path);
	rm->rm_dev = dev;
	rm->rm_stats = stats;
	rm->rm_stop = stop;
	rm->rm_logged = 0;
}

/* Remove everything inside the open directory dirfd, which stays. */
int
fsutil_empty_dir(int dirfd, const char *path, dev_t dev,
    struct fsutil_stats *stats, const volatile int *stop)
{
	struct fsutil_rm	rm;

	fsutil_rm_init(&rm, path, dev, stats, stop);
	return (fsutil_rm_inside(&rm, dirfd, 0));
}

/* Remove name under dirfd (whose path is dirpath) recursively. */
int
fsutil_remove_at(int dirfd, const char *dirpath, const char *name,
    dev_t dev, struct fsutil_stats *stats, const volatile int *stop)
{
	struct fsutil_rm	rm;
	int			error;

	fsutil_rm_init(&rm, dirpath, dev, stats, stop);
	error = fsutil_rm_at(&rm, dirfd, name, 0);
	/* What failed inside was counted and logged there. */
	if (error != 0 && error != EINTR && stats->fs_errors == 0 &&
	    stats->fs_mounts == 0)
		fsutil_rm_error(&rm, name, error);
	return (error);
}

/* Remove absolute path recursively on the calling thread. */
int
fsutil_remove(const char *path, struct fsutil_stats *stats,
    const volatile int *stop)
{
	struct fsutil_stats	 dummy;
	struct fsutil_stat	 st;
	const char		*base;
	char			 dirpath[PATH_MAX], name[NAME_MAX + 1];
	size_t			 len;
	int			 fd, error;

	if (stats == NULL)
		stats = &dummy;
	memset(stats, 0, sizeof *stats);
	if ((fd = fsutil_open_parent(path, &base)) == -1)
		return (errno == ENOENT ? 0 : errno);
	len = strcspn(base, "/");
	if (len > NAME_MAX) {
		close(fd);
		return (ENAMETOOLONG);
	}
	memcpy(name, base, len);
	name[len] = '\0';
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		close(fd);
		return (EINVAL);
	}
	snprintf(dirpath, sizeof dirpath, "%.*s", (int)(base - path), path);

	/* The tree's own file system is the one not to leave. */
	if (fsutil_statat(fd, name, &st) != 0) {
		error = errno;
		close(fd);
		return (error == ENOENT ? 0 : error);
	}
	error = fsutil_remove_at(fd, dirpath, name, st.fst_dev, stats, stop);
	close(fd);
	return (error);
}

/* An entry's birth time (1) or ctime (0) in wall ms, without following it. */
static int
fsutil_born(int dirfd, const char *name, int use_btime, int64_t *ms,
    mode_t *mode)
{
	struct statx	stx;
	int		flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;

	if (*name == '\0')
		flags |= AT_EMPTY_PATH;
	if (statx(dirfd, name, flags, STATX_TYPE | STATX_BTIME | STATX_CTIME,
	    &stx) != 0)
		return (-1);
	*mode = stx.stx_mode;
	if (use_btime && (stx.stx_mask & STATX_BTIME)) {
		*ms = (int64_t)stx.stx_btime.tv_sec * 1000 +
		    stx.stx_btime.tv_nsec / 1000000;
		return (1);
	}
	*ms = (int64_t)stx.stx_ctime.tv_sec * 1000 +
	    stx.stx_ctime.tv_nsec / 1000000;
	return (0);
}

/*
 * Whether anything inside the open directory fd was changed before limit
 * (by ctime); what is the path of fd inside the tree, for the report.
 */
static int
fsutil_older_inside(int fd, const char *what, int64_t limit,
    struct fsutil_age *fa, int depth, const volatile int *stop)
{
	DIR		*d;
	struct dirent	*de;
	char		 sub[sizeof fa->fa_what];
	int64_t		 ms;
	mode_t		 mode;
	int		 dfd, sfd, r = 0;

	if (depth >= FSUTIL_MAX_DEPTH)
		return (0);
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return (-1);
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED))
			break;
		if (fsutil_born(fd, de->d_name, 0, &ms, &mode) == -1)
			continue;	/* gone meanwhile */
		/* A path too long for the report is cut: it is only told. */
		if (snprintf(sub, sizeof sub, "%s%s%s", what, *what != '\0' ?
		    "/" : "", de->d_name) >= (int)sizeof sub)
			sub[sizeof sub - 1] = '\0';
		if (ms < limit) {
			snprintf(fa->fa_what, sizeof fa->fa_what, "%s", sub);
			fa->fa_ms = ms;
			fa->fa_by_ctime = 1;
			r = 1;
			break;
		}
		if (!S_ISDIR(mode) || (sfd = fsutil_openat_dir(fd,
		    de->d_name)) == -1)
			continue;
		r = fsutil_older_inside(sfd, sub, limit, fa, depth + 1, stop);
		close(sfd);
		if (r == -1)
			r = 0;	/* unreadable: the removal will say so */
	}
	closedir(d);
	return (r);
}

/* Whether path was made before limit (see fsutil.h). */
int
fsutil_older(const char *path, int64_t limit, int use_btime,
    struct fsutil_age *fa, const volatile int *stop)
{
	const char	*base;
	char		 name[NAME_MAX + 1];
	int64_t		 ms;
	mode_t		 mode;
	size_t		 len;
	int		 fd, sfd, by, r = 0;

	memset(fa, 0, sizeof *fa);
	if ((fd = fsutil_open_parent(path, &base)) == -1)
		return (errno == ENOENT ? 0 : -1);
	len = strcspn(base, "/");
	if (len > NAME_MAX) {
		close(fd);
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(name, base, len);
	name[len] = '\0';
	if ((by = fsutil_born(fd, name, use_btime, &ms, &mode)) == -1) {
		r = errno == ENOENT ? 0 : -1;
		close(fd);
		return (r);
	}
	if (ms < limit) {
		fa->fa_ms = ms;
		fa->fa_by_ctime = by == 0;
		close(fd);
		return (1);
	}
	/* A birth time answers for the tree; a ctime only for itself. */
	if (by == 0 && S_ISDIR(mode) && (sfd = fsutil_openat_dir(fd,
	    name)) != -1) {
		r = fsutil_older_inside(sfd, "", limit, fa, 0, stop);
		close(sfd);
		if (r == -1)
			r = 0;
	}
	close(fd);
	return (r);
}
/* The worker: take a job, remove, hand it back and ring the doorbell. */
static void *
fsutil_main(void *arg)
{
	struct fsutil_job	*fj;

	(void)arg;
	thread_background();
	pthread_mutex_lock(&fsutil_lock);
	while (!fsutil_stop) {
		if ((fj = TAILQ_FIRST(&fsutil_todo)) == NULL) {
			pthread_cond_wait(&fsutil_cond, &fsutil_lock);
			continue;
		}
		TAILQ_REMOVE(&fsutil_todo, fj, fj_entry);
		pthread_mutex_unlock(&fsutil_lock);

		if (fj->fj_not_before > 0 && fsutil_older(fj->fj_path,
		    fj->fj_not_before - FSUTIL_BIRTH_SLACK_MS, 1, &fj->fj_age,
		    &fsutil_stop) == 1)
			fj->fj_older = 1;
		else
			fj->fj_error = fsutil_remove(fj->fj_path,
			    &fj->fj_stats, &fsutil_stop);

		pthread_mutex_lock(&fsutil_lock);
		TAILQ_INSERT_TAIL(&fsutil_done, fj, fj_entry);
		event_active(fsutil_doorbell, EV_READ, 0);
	}
	pthread_mutex_unlock(&fsutil_lock);
	return (NULL);
}

/* Wall ms as "2026-11-23T09:12:01.000Z". */
static void
fsutil_time(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Account for one finished removal, log it and call its callback. */
static void
fsutil_finish(struct fsutil_job *fj)
{
	struct fsutil_stats	*fs = &fj->fj_stats;
	char			 made[64], began[64], what[300];

	metrics_add(fsutil_m_files, fs->fs_files + fs->fs_dirs);
	metrics_add(fsutil_m_bytes, fs->fs_bytes);
	metrics_add(fsutil_m_errors, fs->fs_errors);
	if (fj->fj_older) {
		metrics_inc(fsutil_m_older);
		if (log_limit(&fsutil_log_older)) {
			fsutil_time(fj->fj_age.fa_ms, made, sizeof made);
			fsutil_time(fj->fj_not_before, began, sizeof began);
			if (fj->fj_age.fa_what[0] != '\0')
				snprintf(what, sizeof what, "it holds %s, "
				    "changed", fj->fj_age.fa_what);
			else
				snprintf(what, sizeof what, "it was %s",
				    fj->fj_age.fa_by_ctime ? "changed" :
				    "made");
			log_warn("remove %s: left alone: %s at %s, before its "
			    "session began at %s (%s)", fj->fj_path, what, made,
			    began, fj->fj_age.fa_by_ctime ? "by ctime: the file "
			    "system keeps no birth time" : "by birth time");
		}
	} else if (fj->fj_error == 0) {
		metrics_inc(fsutil_m_ok);
		log_debug("removed %s: %llu files, %llu directories, "
		    "%llu bytes", fj->fj_path,
		    (unsigned long long)fs->fs_files,
		    (unsigned long long)fs->fs_dirs,
		    (unsigned long long)fs->fs_bytes);
	} else {
		metrics_inc(fsutil_m_failed);
		if (fs->fs_errors == 0)
			metrics_inc(fsutil_m_errors);
		log_warn("remove %s: %s (%llu files removed, %llu entries "
		    "failed, %llu mount points left)", fj->fj_path,
		    strerror(fj->fj_error), (unsigned long long)fs->fs_files,
		    (unsigned long long)fs->fs_errors,
		    (unsigned long long)fs->fs_mounts);
	}
	fsutil_inflight--;
	if (fj->fj_cb != NULL)
		fj->fj_cb(fj->fj_path, fj->fj_error, fj->fj_arg);
	free(fj->fj_path);
	free(fj);
}

/* The doorbell rang: deliver every finished removal on the loop. */
static void
fsutil_doorbell_cb(evutil_socket_t fd, short events, void *arg)
{
	struct fsutil_jobs	 done = TAILQ_HEAD_INITIALIZER(done);
	struct fsutil_job	*fj;

	(void)fd;
	(void)events;
	(void)arg;
	pthread_mutex_lock(&fsutil_lock);
	TAILQ_CONCAT(&done, &fsutil_done, fj_entry);
	pthread_mutex_unlock(&fsutil_lock);
	while ((fj = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, fj, fj_entry);
		fsutil_finish(fj);
	}
}

/* Queued or running removals keep a stopping daemon waiting. */
static int
fsutil_busy(void *arg)
{
	(void)arg;
	return (fsutil_inflight > 0);
}

/* Removals waiting in the queue, for the gauge. */
static int64_t
fsutil_queue_depth(void *arg)
{
	(void)arg;
	return (fsutil_inflight);
}

/* Start the removal worker once. */
int
fsutil_start_thread(char **cause)
{
	sigset_t	all, old;
	int		error;

	if (fsutil_running)
		return (0);
	fsutil_doorbell = event_new(daemon_base(), -1, 0, fsutil_doorbell_cb,
	    NULL);
	if (fsutil_doorbell == NULL) {
		*cause = xstrdup("cannot create the removal doorbell");
		return (-1);
	}
	fsutil_m_ok = metrics_counter("janitor_removals_total",
	    "result=\"ok\"", "Directory removals (on_unload/on_expire remove)");
	fsutil_m_failed = metrics_counter("janitor_removals_total",
	    "result=\"error\"", "Directory removals (on_unload/on_expire remove)");
	fsutil_m_older = metrics_counter("janitor_removals_total",
	    "result=\"older\"", "Directory removals (on_unload/on_expire remove)");
	fsutil_m_errors = metrics_counter("janitor_remove_errors_total", NULL,
	    "Entries that a removal could not remove");
	fsutil_m_files = metrics_counter("janitor_remove_entries_total", NULL,
	    "Files and directories removed by removals");
	fsutil_m_bytes = metrics_counter("janitor_remove_bytes_total", NULL,
	    "Bytes of files removed by removals");
	metrics_gauge_func("janitor_remove_queue_depth", NULL,
	    "Removals queued or running", fsutil_queue_depth, NULL);

	fsutil_stop = 0;
	/* Signals are the loop's business, not the worker's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&fsutil_thread, NULL, fsutil_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		event_free(fsutil_doorbell);
		fsutil_doorbell = NULL;
		if (asprintf(cause, "cannot start the removal thread: %s",
		    strerror(error)) == -1)
			fatal_oom();
		return (-1);
	}
	fsutil_running = 1;
	daemon_on_busy(fsutil_busy, NULL);
	return (0);
}

/*
 * Stop the worker: a running removal is interrupted.  Removals that did
 * not finish get no callback: the caller keeps them pending (policy.c has
 * them in the store) and asks again at the next start.
 */
void
fsutil_stop_thread(void)
{
	struct fsutil_job	*fj, *next;

	if (!fsutil_running)
		return;
	pthread_mutex_lock(&fsutil_lock);
	/* Atomic: the running removal polls it without the lock. */
	__atomic_store_n(&fsutil_stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&fsutil_cond);
	pthread_mutex_unlock(&fsutil_lock);
	pthread_join(fsutil_thread, NULL);
	fsutil_running = 0;

	/* Drop the interrupted one and those never started... */
	for (fj = TAILQ_FIRST(&fsutil_done); fj != NULL; fj = next) {
		next = TAILQ_NEXT(fj, fj_entry);
		if (fj->fj_error == EINTR) {
			TAILQ_REMOVE(&fsutil_done, fj, fj_entry);
			TAILQ_INSERT_TAIL(&fsutil_todo, fj, fj_entry);
		}
	}
	while ((fj = TAILQ_FIRST(&fsutil_todo)) != NULL) {
		TAILQ_REMOVE(&fsutil_todo, fj, fj_entry);
		log_info("remove %s: interrupted by shutdown, left for the "
		    "next start", fj->fj_path);
		fsutil_inflight--;
		free(fj->fj_path);
		free(fj);
	}
	/* ...and report the finished ones as usual. */
	fsutil_doorbell_cb(-1, 0, NULL);
	event_free(fsutil_doorbell);
	fsutil_doorbell = NULL;
}

/* Queue the removal of path; cb runs on the loop when it is done. */
int
fsutil_remove_async(const char *path, int64_t not_before, fsutil_remove_cb cb,
    void *arg)
{
	struct fsutil_job	*fj;

	if (!fsutil_running || fsutil_stop)
		return (-1);
	fj = xcalloc(1, sizeof *fj);
	fj->fj_path = xstrdup(path);
	fj->fj_not_before = not_before;
	fj->fj_cb = cb;
	fj->fj_arg = arg;
	fsutil_inflight++;
	pthread_mutex_lock(&fsutil_lock);
	TAILQ_INSERT_TAIL(&fsutil_todo, fj, fj_entry);
	pthread_cond_signal(&fsutil_cond);
	pthread_mutex_unlock(&fsutil_lock);
	return (0);
}

/* An empty lock snapshot that will be read at the first refresh. */
struct fsutil_locks *
fsutil_locks_new(void)
{
	struct fsutil_locks	*fl;

	fl = xcalloc(1, sizeof *fl);
	fl->fl_read_ms = -1;
	return (fl);
}

/* Free a lock snapshot. */
void
fsutil_locks_free(struct fsutil_locks *fl)
{
	if (fl == NULL)
		return;
	free(fl->fl_locks);
	free(fl->fl_buf);
	free(fl);
}

/*
 * Order locks by inode only: the device /proc/locks names is not always
 * st_dev (btrfs subvolumes), and a false match only keeps a file.
 */
static int
fsutil_lock_cmp(const void *a, const void *b)
{
	const struct fsutil_lock	*x = a, *y = b;

	if (x->fl_ino != y->fl_ino)
		return (x->fl_ino < y->fl_ino ? -1 : 1);
	return (0);
}

/* Read all of /proc/locks into fl's buffer; its length or -1. */
static ssize_t
fsutil_locks_read(struct fsutil_locks *fl)
{
	size_t	len = 0;
	ssize_t	n;
	int	fd;

	if ((fd = open("/proc/locks", O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	for (;;) {
		if (fl->fl_bufsize - len < 4096) {
			fl->fl_bufsize = fl->fl_bufsize == 0 ? 16384 :
			    fl->fl_bufsize * 2;
			fl->fl_buf = xrealloc(fl->fl_buf, fl->fl_bufsize);
		}
		n = read(fd, fl->fl_buf + len, fl->fl_bufsize - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return (-1);
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	fl->fl_buf[len] = '\0';
	return (len);
}

/* Re-read /proc/locks when the snapshot is older than max_age_ms: 1. */
int
fsutil_locks_refresh(struct fsutil_locks *fl, int64_t max_age_ms)
{
	int64_t		 now;
	char		*line, *next, *p, *tok, *save;
	unsigned int	 maj, min;
	unsigned long	 ino;
	int		 i;

	/* The coarse clock is a vDSO read: cheap enough for every file. */
	now = clock_coarse_ms();
	if (fl->fl_read_ms != -1 && now - fl->fl_read_ms < max_age_ms)
		return (fl->fl_ok ? 0 : -1);
	fl->fl_read_ms = now;
	fl->fl_n = 0;
	if (fsutil_locks_read(fl) == -1) {
		fl->fl_ok = 0;
		return (-1);
	}
	/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters say "->". */
	for (line = fl->fl_buf; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		tok = NULL;
		for (i = 0, p = strtok_r(line, " \t", &save); p != NULL;
		    i++, p = strtok_r(NULL, " \t", &save)) {
			if (i == 1 && strcmp(p, "->") == 0)
				break;
			if (i == 5) {
				tok = p;
				break;
			}
		}
		if (tok == NULL || sscanf(tok, "%x:%x:%lu", &maj, &min,
		    &ino) != 3)
			continue;
		if (fl->fl_n == fl->fl_alloc) {
			fl->fl_alloc = fl->fl_alloc == 0 ? 64 : fl->fl_alloc * 2;
			fl->fl_locks = xrealloc(fl->fl_locks,
			    fl->fl_alloc * sizeof *fl->fl_locks);
		}
		fl->fl_locks[fl->fl_n].fl_dev = makedev(maj, min);
		fl->fl_locks[fl->fl_n].fl_ino = ino;
		fl->fl_n++;
	}
	/* With no lock on the machine fl_locks is still NULL: no qsort(). */
	if (fl->fl_n > 1)
		qsort(fl->fl_locks, fl->fl_n, sizeof *fl->fl_locks,
		    fsutil_lock_cmp);
	fl->fl_ok = 1;
	return (1);
}

/* Whether the snapshot lists a lock on ino (of any device, see above). */
int
fsutil_locks_held(const struct fsutil_locks *fl, dev_t dev, ino_t ino)
{
	struct fsutil_lock	key = { dev, ino };

	if (fl->fl_n == 0)
		return (0);
	return (bsearch(&key, fl->fl_locks, fl->fl_n, sizeof key,
	    fsutil_lock_cmp) != NULL);
}
