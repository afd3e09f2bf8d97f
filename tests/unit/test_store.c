/*
 * test_store.c -- the SQLite store: batching into one commit per tick,
 * reading back after a reopen, and clear errors for bad state files.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "daemon.h"
#include "metrics.h"
#include "store.h"

static struct event_base	*base;
static char			 dir[64];
static int			 ncommits;

/* Fresh event base and state directory for each test. */
static void
setup(void)
{
	base = event_base_new();
	daemon_init(base, NULL);
	snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ncommits = 0;
}

/* Remove the state directory and the base. */
static void
teardown(void)
{
	char	cmd[128];

	store_close();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	daemon_free();
	event_base_free(base);
	metrics_free();
}

static void
count_commit(void *arg)
{
	(void)arg;
	ncommits++;
}

static void
collect_session(const struct session_rec *ss, void *arg)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s:%llu:%d%d%d ",
	    ss->sr_key, (unsigned long long)ss->sr_requests, ss->sr_live,
	    ss->sr_ever_live, ss->sr_unloaded);
}

static void
collect_msg(const struct store_msg *sm, void *arg)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%lld:%s:%s:%d:%s ",
	    (long long)sm->sm_seq, sm->sm_session, sm->sm_type,
	    sm->sm_attempts, sm->sm_body);
}

static void
collect_removal(int64_t id, const char *path, int64_t not_before, void *arg)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%lld:%lld:%s ",
	    (long long)id, (long long)not_before, path);
}

/* Collect dead messages as "seq:attempts:error:body ". */
static int
collect_dead(const struct store_dead *d, void *arg)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%lld:%d:%s:%s ",
	    (long long)d->sd_seq, d->sd_attempts, d->sd_error, d->sd_body);
	return (1);
}

/* Fill a message. */
static void
msg(struct store_msg *m, const char *session, const char *type,
    const char *body)
{
	memset(m, 0, sizeof *m);
	snprintf(m->sm_id, sizeof m->sm_id, "msg_%s_%s", session, type);
	snprintf(m->sm_session, sizeof m->sm_session, "%s", session);
	m->sm_type = type;
	m->sm_url = "http://127.0.0.1:1/x";
	m->sm_body = body;
	m->sm_created_at = 1000;
}

START_TEST(test_batch_one_commit_per_tick)
{
	struct session_rec	ss;
	struct store_msg	m;
	char			out[256] = "", *cause = NULL;
	int			i;

	ck_assert_int_eq(store_open(dir, &cause), 0);
	store_on_commit(count_commit, NULL);
	memset(&ss, 0, sizeof ss);
	strcpy(ss.sr_key, "abc");
	/* A hundred touches of one session and a message: one commit. */
	for (i = 1; i <= 100; i++) {
		ss.sr_requests = (uint64_t)i;
		store_session_put(&ss);
	}
	msg(&m, "abc", "session.unload", "{}");
	ck_assert_int_eq(store_msg_add(&m), 1);
	ck_assert_int_eq(ncommits, 0);
	ck_assert_int_eq(store_gen(), 1);
	/* The hand-over runs in this pass; the writer rings when done. */
	for (i = 0; i < 100 && ncommits == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(ncommits, 1);
	ck_assert_int_eq(store_committed_gen(), 1);
	ck_assert_int_eq(store_gen(), 2);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(ncommits, 1);

	ck_assert_int_eq(store_load_sessions(collect_session, out, &cause), 0);
	ck_assert_str_eq(out, "abc:100:000 ");
	out[0] = '\0';
	ck_assert_int_eq(store_load_msgs(collect_msg, out, &cause), 0);
	ck_assert_str_eq(out, "1:abc:session.unload:0:{} ");
}
END_TEST

static void
durable(void *arg)
{
	(*(int *)arg)++;
}

START_TEST(test_when_durable)
{
	struct session_rec	ss;
	char			*cause = NULL;
	int			 now = 0, later = 0, i;

	ck_assert_int_eq(store_open(dir, &cause), 0);
	/* Nothing pending: at once. */
	store_when_durable(durable, &now);
	ck_assert_int_eq(now, 1);
	memset(&ss, 0, sizeof ss);
	strcpy(ss.sr_key, "new");
	store_session_put(&ss);
	store_when_durable(durable, &later);
	ck_assert_int_eq(later, 0);
	for (i = 0; i < 100 && later == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(later, 1);
	ck_assert_int_ge(store_committed_gen(), 1);
	/* Also when the waiting batch is already with the writer. */
	store_session_put(&ss);
	event_base_loop(base, EVLOOP_NONBLOCK);
	store_when_durable(durable, &later);
	for (i = 0; i < 100 && later == 1; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(later, 2);
}
END_TEST

START_TEST(test_reopen_and_outcomes)
{
	struct session_rec	ss;
	struct store_msg	m;
	char			out[256] = "", *cause = NULL;

	ck_assert_int_eq(store_open(dir, &cause), 0);
	memset(&ss, 0, sizeof ss);
	strcpy(ss.sr_key, "keep");
	ss.sr_live = ss.sr_ever_live = 1;
	store_session_put(&ss);
	strcpy(ss.sr_key, "gone");
	store_session_put(&ss);
	store_session_del("gone");
	msg(&m, "keep", "session.unload", "{\"a\":1}");
	store_msg_add(&m);
	msg(&m, "keep", "session.expire", "{\"a\":2}");
	store_msg_add(&m);
	msg(&m, "other", "session.expire", "{\"a\":3}");
	store_msg_add(&m);
	store_removal_add("/srv/x/keep", 0);
	ck_assert_int_eq(store_removal_add("/srv/x/other", 1764000000123),
	    2);
	ck_assert_int_eq(store_flush(), 0);

	store_msg_done(1);
	store_msg_retry(2, 3, 5000, "HTTP 500");
	store_msg_dead(3, 12, "timed out");
	store_removal_done(1);
	/* Queued but not yet committed: store_close() commits it. */
	store_close();

	ck_assert_int_eq(store_open(dir, &cause), 0);
	ck_assert_int_eq(store_load_sessions(collect_session, out, &cause), 0);
	ck_assert_str_eq(out, "keep:0:110 ");
	out[0] = '\0';
	ck_assert_int_eq(store_load_msgs(collect_msg, out, &cause), 0);
	ck_assert_str_eq(out, "2:keep:session.expire:3:{\"a\":2} ");
	out[0] = '\0';
	ck_assert_int_eq(store_load_removals(collect_removal, out, &cause), 0);
	ck_assert_str_eq(out, "2:1764000000123:/srv/x/other ");
	ck_assert_int_eq(store_dead_count(), 1);
	out[0] = '\0';
	ck_assert_int_eq(store_dead_read(0, 10, collect_dead, out, &cause), 1);
	ck_assert_str_eq(out, "3:12:timed out:{\"a\":3} ");
	/* Paged: nothing after the last one. */
	out[0] = '\0';
	ck_assert_int_eq(store_dead_read(3, 10, collect_dead, out, &cause), 0);
	ck_assert_str_eq(out, "");
	/* Sequence numbers go on after the highest stored one. */
	msg(&m, "keep", "session.unload", "{}");
	ck_assert_int_eq(store_msg_add(&m), 4);
	ck_assert_int_eq(store_removal_add("/srv/y", 0), 3);
}
END_TEST

/* The size of the state file and its WAL, in bytes. */
static off_t
file_size(void)
{
	char		path[128];
	struct stat	st;
	off_t		n = 0;

	snprintf(path, sizeof path, "%s/janitor.db", dir);
	if (stat(path, &st) == 0)
		n += st.st_size;
	snprintf(path, sizeof path, "%s/janitor.db-wal", dir);
	if (stat(path, &st) == 0)
		n += st.st_size;
	return (n);
}

START_TEST(test_compact)
{
	struct store_msg	 m;
	char			 body[2048], *cause = NULL;
	off_t			 full, drained;
	int			 i, n;

	ck_assert_int_eq(store_open(dir, &cause), 0);
	memset(body, 'x', sizeof body - 1);
	body[sizeof body - 1] = '\0';
	/* About 10 MiB of outbox, in several commits. */
	for (i = 0; i < 5000; i++) {
		msg(&m, "s", "session.expire", body);
		store_msg_add(&m);
		if (i % 1000 == 999)
			ck_assert_int_eq(store_flush(), 0);
	}
	ck_assert_int_eq(store_flush(), 0);
	full = file_size();
	ck_assert_int_gt(full, 10 * 1000 * 1000);
	/* All delivered: the rows go, the pages stay free in the file ... */
	for (i = 1; i <= 5000; i++)
		store_msg_done(i);
	ck_assert_int_eq(store_flush(), 0);
	ck_assert_int_gt(file_size(), full / 2);
	/* ... until they are given back, a batch at a time by the writer. */
	store_compact();
	for (n = 0; n < 1000 && file_size() > full / 10; n++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(10 * 1000);
	}
	drained = file_size();
	ck_assert_int_lt(drained, full / 10);
	/* Still a sound database. */
	msg(&m, "t", "session.unload", "{}");
	store_msg_add(&m);
	ck_assert_int_eq(store_flush(), 0);
}
END_TEST

START_TEST(test_corrupt_file)
{
	char	path[128], *cause = NULL;
	int	fd;

	snprintf(path, sizeof path, "%s/janitor.db", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "this is not a database, not at all, no",
	    38), 38);
	close(fd);
	ck_assert_int_eq(store_open(dir, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, path));
	ck_assert_ptr_nonnull(strstr(cause, "not a database"));
	free(cause);
}
END_TEST

START_TEST(test_bad_dir)
{
	char	path[128], *cause = NULL;
	int	fd;

	/* state_dir below a regular file cannot be made. */
	snprintf(path, sizeof path, "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	strcat(path, "/state");
	ck_assert_int_eq(store_open(path, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "state_dir"));
	free(cause);
	/* A missing one is made. */
	snprintf(path, sizeof path, "%s/a/b", dir);
	ck_assert_int_eq(store_check_dir(path, 0, &cause), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(store_check_dir(path, 1, &cause), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* Below a file: not even --check's variant accepts it. */
	snprintf(path, sizeof path, "%s/file/x/y", dir);
	ck_assert_int_eq(store_check_dir(path, 0, &cause), -1);
	free(cause);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_batch_one_commit_per_tick);
	tcase_add_test(tc, test_when_durable);
	tcase_add_test(tc, test_reopen_and_outcomes);
	tcase_add_test(tc, test_compact);
	tcase_add_test(tc, test_corrupt_file);
	tcase_add_test(tc, test_bad_dir);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
