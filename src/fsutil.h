/*
 * fsutil.h -- safe removal of directory trees, as systemd-tmpfiles does it.
 *
 * Everything is done relative to open directory file descriptors: a path is
 * walked one component at a time with O_NOFOLLOW, entries are examined with
 * AT_SYMLINK_NOFOLLOW and removed with unlinkat(), so a symbolic link is
 * only ever removed as a link and never followed, whatever races with us.
 * A removal never leaves the file system it started on: a directory on
 * another device, or a mount root on the same one (a bind mount), is a
 * boundary that is neither entered nor removed.
 *
 * The synchronous primitives are shared with the sweeper; the removals
 * that on_unload.remove and on_expire.remove ask for run in a worker
 * thread (fsutil_remove_async) so that a huge tree never stalls the loop.
 */
#ifndef JANITOR_FSUTIL_H
#define JANITOR_FSUTIL_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stdint.h>

/* Called on the event loop when an asynchronous removal is done. */
typedef void (*fsutil_remove_cb)(const char *path, int error, void *arg);

/* What one removal did. */
struct fsutil_stats {
	uint64_t	fs_files;	/* non-directories removed */
	uint64_t	fs_dirs;	/* directories removed */
	uint64_t	fs_bytes;	/* apparent size of what was removed */
	uint64_t	fs_errors;	/* entries that could not be removed */
	uint64_t	fs_mounts;	/* mount points met and left alone */
};

/* What fsutil_statat() learned about one entry. */
struct fsutil_stat {
	mode_t		fst_mode;
	dev_t		fst_dev;
	ino_t		fst_ino;
	uint64_t	fst_size;
	int64_t		fst_atime_ms;
	int64_t		fst_mtime_ms;
	int64_t		fst_ctime_ms;
	int		fst_mount_root;	/* known to be a mount point */
};

/*
 * How much earlier than its session a removal target may have been made
 * and still count as the session's: file systems stamp times from a
 * coarse clock (a tick behind), and a few ms of clock skew are common.
 */
#define FSUTIL_BIRTH_SLACK_MS	1000

/* Start and stop the removal worker; 0 or -1 with *cause. */
int	fsutil_start_thread(char **cause);
void	fsutil_stop_thread(void);

/*
 * Queue the recursive removal of absolute path.  cb runs on the event loop
 * when it is done with error 0 or an errno (a missing path is not an
 * error).  Returns 0, or -1 when the worker is not running (cb not called).
 *
 * With not_before (wall ms; 0: no such rule) the path is removed only if
 * it was made after that moment (less FSUTIL_BIRTH_SLACK_MS): by its birth
 * time (statx) where the file system keeps one, else by its ctime and the
 * ctime of everything in it at the moment of removal.  An older one is
 * left alone, logged with the reason and counted; cb gets error 0, as
 * nothing more is to be done.
 * A stopping daemon waits (up to limits.shutdown_timeout) for queued
 * removals; fsutil_stop_thread() then interrupts the running one, and a
 * removal that did not finish gets no callback at all: the caller keeps it
 * pending and asks again at the next start.
 */
int	fsutil_remove_async(const char *path, int64_t not_before,
	    fsutil_remove_cb cb, void *arg);

/* What fsutil_older() found: the entry, its time and which time it was. */
struct fsutil_age {
	char	fa_what[256];		/* the entry, relative to the path */
	int64_t	fa_ms;			/* its birth or change time */
	int	fa_by_ctime;		/* no birth time: ctime was used */
};

/*
 * Whether absolute path was made before limit (wall ms), by the rule of
 * fsutil_remove_async(): 1 (fa filled), 0 (made since, or missing), or -1
 * with errno.  use_btime 0 makes it use ctimes as if there were no birth
 * time (tests).
 */
int	fsutil_older(const char *path, int64_t limit, int use_btime,
	    struct fsutil_age *fa, const volatile int *stop);

/*
 * Remove absolute path recursively, now, on the calling thread.  Returns 0
 * (also when the path does not exist) or an errno; stats may be NULL.
 * stop, when not NULL, is polled and aborts the removal with EINTR.
 */
int	fsutil_remove(const char *path, struct fsutil_stats *stats,
	    const volatile int *stop);

/*
 * Open the directory at absolute path, every component with O_NOFOLLOW.
 * Returns the descriptor or -1 with errno: ELOOP when a component is a
 * symbolic link, ENOTDIR when one is not a directory, ENOENT, EINVAL for a
 * relative path or one with "..".
 */
int	fsutil_open_path(const char *path);

/*
 * Open the parent directory of absolute path as fsutil_open_path() does
 * and point *base at the last component inside path.
 */
int	fsutil_open_parent(const char *path, const char **base);

/* Open directory name under dirfd: O_NOFOLLOW, O_NOATIME when allowed. */
int	fsutil_openat_dir(int dirfd, const char *name);

/* Stat name under dirfd without following it; 0 or -1 with errno. */
int	fsutil_statat(int dirfd, const char *name, struct fsutil_stat *);

/*
 * Whether entry st under a directory on device dev is a boundary that must
 * not be crossed: another device or a mount root.
 */
int	fsutil_is_boundary(const struct fsutil_stat *, dev_t dev);

/*
 * Remove everything inside the open directory dirfd (which stays; path is
 * its name for messages), counting into stats; dev is the file system not
 * to leave.  Returns 0 or
 * the first errno met.
 */
int	fsutil_empty_dir(int dirfd, const char *path, dev_t dev,
	    struct fsutil_stats *, const volatile int *stop);

/*
 * Remove name under dirfd (whose path, for messages, is dirpath): a
 * non-directory is unlinked, a directory emptied then removed.  Returns 0
 * (also when it is missing) or an errno.
 */
int	fsutil_remove_at(int dirfd, const char *dirpath, const char *name,
	    dev_t dev, struct fsutil_stats *, const volatile int *stop);

/*
 * Try to take an exclusive flock on fd without waiting: 1 when another
 * holder has it (the entry must be left alone), else 0 and the lock stays
 * ours until fd is closed.
 */
int	fsutil_locked(int fd);

/*
 * A snapshot of the file locks the kernel lists in /proc/locks, so that a
 * sweep can skip locked files without opening every one of them.
 */
struct fsutil_locks;

struct fsutil_locks	*fsutil_locks_new(void);
void			 fsutil_locks_free(struct fsutil_locks *);

/*
 * Re-read /proc/locks if the snapshot is older than max_age_ms.  Returns 1
 * when it did, 0 when the snapshot was fresh enough, or -1 when it cannot
 * be read (then ask fsutil_locked() file by file).
 */
int			 fsutil_locks_refresh(struct fsutil_locks *,
			    int64_t max_age_ms);

/* Whether the snapshot lists a lock on inode ino (dev is advisory). */
int			 fsutil_locks_held(const struct fsutil_locks *, dev_t,
			    ino_t);

#endif
