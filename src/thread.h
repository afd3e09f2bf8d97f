/*
 * thread.h -- what every worker thread may ask for itself, whatever its
 * job: the removal, sweep and policy-loading threads.
 */
#ifndef JANITOR_THREAD_H
#define JANITOR_THREAD_H

/*
 * Lower the calling thread's CPU (nice 10) and I/O priority, so the event
 * loop's thread wins when they compete.
 */
void	thread_background(void);

#endif
