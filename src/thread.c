/*
 * thread.c -- priorities of worker threads.  On Linux both the nice value
 * and the I/O priority apply to one thread (its tid), not to the process.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "thread.h"

/* Nice 10 and the lowest best-effort I/O level for this thread only. */
void
thread_background(void)
{
	pid_t	tid = (pid_t)syscall(SYS_gettid);

	/* Failing is harmless: the thread runs at the loop's priority. */
	if (setpriority(PRIO_PROCESS, tid, 10) != 0)
		log_debug("setpriority: %s", strerror(errno));
	/* IOPRIO_WHO_PROCESS, IOPRIO_CLASS_BE << 13 | level 7. */
	if (syscall(SYS_ioprio_set, 1, tid, (2 << 13) | 7) != 0)
		log_debug("ioprio_set: %s", strerror(errno));
}
