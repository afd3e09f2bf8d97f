/*
 * test_webhook.c -- the pure parts of webhook delivery: the Standard
 * Webhooks signature, the backoff bounds, the JSON body, Retry-After and
 * the message ids.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "event.h"
#include "webhook.h"

/* The test vector published with the Standard Webhooks libraries. */
START_TEST(test_sign_vector)
{
	/* base64 "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" (whsec_ stripped). */
	static const unsigned char	key[] = {
		0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a, 0xab, 0x4f,
		0x08, 0xd4, 0x3c, 0x3f, 0x08, 0x2c, 0xf6, 0x48, 0xa3, 0x62,
		0xda, 0x2d, 0xa4, 0xb0,
	};
	const char	*body = "{\"test\": 2432232314}";
	char		 sig[WEBHOOK_SIG_MAX];

	ck_assert_int_eq(webhook_sign(key, sizeof key,
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
	    sig, sizeof sig), 0);
	ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

	/* A different timestamp or body gives a different signature. */
	ck_assert_int_eq(webhook_sign(key, sizeof key,
	    "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body),
	    sig, sizeof sig), 0);
	ck_assert_str_ne(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

	/* Too small an output buffer is refused. */
	ck_assert_int_eq(webhook_sign(key, sizeof key, "msg_x", 1, body,
	    strlen(body), sig, 20), -1);
}
END_TEST

START_TEST(test_backoff_bounds)
{
	const msec_t	initial = 1000, max = 600000;
	int		failures, i;
	uint64_t	r;
	int64_t		d, step;

	for (failures = 1; failures <= 40; failures++) {
		step = initial;
		for (i = 1; i < failures && step < max; i++)
			step *= 2;
		if (step > max)
			step = max;
		for (r = 0; r < 2000; r += 7) {
			d = webhook_backoff(failures, initial, max,
			    r * 0x9e3779b97f4a7c15ULL);
			ck_assert_int_ge(d, initial);
			ck_assert_int_le(d, max);
			ck_assert_int_le(d, step);
			ck_assert_int_ge(d, step / 2);
		}
	}
	/* First retry waits exactly initial: nothing below it. */
	ck_assert_int_eq(webhook_backoff(1, 1000, 600000, 12345), 1000);
	/* Growth: the fifth failure waits 8-16 s. */
	d = webhook_backoff(5, 1000, 600000, 0);
	ck_assert_int_eq(d, 8000);
	d = webhook_backoff(5, 1000, 600000, 8000);
	ck_assert_int_eq(d, 16000);
	/* Jitter spreads the values. */
	ck_assert_int_ne(webhook_backoff(6, 1000, 600000, 1),
	    webhook_backoff(6, 1000, 600000, 9999));
	/* max below initial: initial wins. */
	ck_assert_int_eq(webhook_backoff(3, 5000, 100, 77), 5000);
	/* Huge failure counts do not overflow. */
	ck_assert_int_le(webhook_backoff(1000000, 1, INT64_MAX / 4, ~0ULL),
	    INT64_MAX / 4);
}
END_TEST

START_TEST(test_body_json)
{
	struct jevent	 ev;
	json_t		*o, *d;
	char		*s;

	memset(&ev, 0, sizeof ev);
	ev.je_type = JEVENT_UNLOAD;
	ev.je_reason = JREASON_DISCONNECT;
	strcpy(ev.je_session, "Q2xvc2VkVGFi");
	ev.je_at = 1795428000123LL;		/* 2026-11-23T10:00:00.123Z */
	ev.je_created_at = 1795425121000LL;	/* 2026-11-23T09:12:01.000Z */
	ev.je_last_seen = 1795427998410LL;	/* 2026-11-23T09:59:58.410Z */
	strcpy(ev.je_client_ip, "203.0.113.7");
	ev.je_requests = 42;
	s = webhook_body(&ev);
	ck_assert_ptr_nonnull(s);
	/* Field order as SPEC.md shows it. */
	ck_assert_str_eq(s, "{\"type\":\"session.unload\","
	    "\"timestamp\":\"2026-11-23T10:00:00.123Z\","
	    "\"data\":{\"session\":\"Q2xvc2VkVGFi\",\"reason\":\"disconnect\","
	    "\"created_at\":\"2026-11-23T09:12:01.000Z\","
	    "\"last_seen\":\"2026-11-23T09:59:58.410Z\","
	    "\"client_ip\":\"203.0.113.7\",\"requests\":42}}");
	o = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(o);
	d = json_object_get(o, "data");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "requests")), 42);
	json_decref(o);
	free(s);

	ev.je_type = JEVENT_EXPIRE;
	ev.je_reason = JREASON_TIME_TO_LIVE;
	strcpy(ev.je_client_ip, "a\"b\\c");
	s = webhook_body(&ev);
	o = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "type")),
	    "session.expire");
	d = json_object_get(o, "data");
	ck_assert_str_eq(json_string_value(json_object_get(d, "reason")),
	    "time_to_live");
	ck_assert_str_eq(json_string_value(json_object_get(d, "client_ip")),
	    "a\"b\\c");
	json_decref(o);
	free(s);
}
END_TEST

START_TEST(test_time_format)
{
	char	buf[40];

	webhook_time(0, buf, sizeof buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000Z");
	webhook_time(1614265330999LL, buf, sizeof buf);
	ck_assert_str_eq(buf, "2021-02-25T15:02:10.999Z");
}
END_TEST

START_TEST(test_retry_after)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	const int64_t	now = 784111777000LL;

	ck_assert_int_eq(webhook_retry_after("120", now), 120000);
	ck_assert_int_eq(webhook_retry_after(" 0 ", now), 0);
	ck_assert_int_eq(webhook_retry_after("Sun, 06 Nov 1994 08:49:47 GMT",
	    now), 10000);
	ck_assert_int_eq(webhook_retry_after("Sun, 06 Nov 1994 08:49:27 GMT",
	    now), 0);
	ck_assert_int_eq(webhook_retry_after(NULL, now), -1);
	ck_assert_int_eq(webhook_retry_after("soon", now), -1);
	ck_assert_int_eq(webhook_retry_after("12abc", now), -1);
	ck_assert_int_eq(webhook_retry_after("-5", now), -1);
	ck_assert_int_eq(webhook_retry_after("99999999999999999999", now), -1);
}
END_TEST

START_TEST(test_new_id)
{
	char	a[64], b[64];
	size_t	i;

	webhook_new_id(a, sizeof a);
	webhook_new_id(b, sizeof b);
	ck_assert_int_eq(strlen(a), 30);
	ck_assert(strncmp(a, "msg_", 4) == 0);
	ck_assert_str_ne(a, b);
	for (i = 4; i < strlen(a); i++)
		ck_assert_ptr_nonnull(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ",
		    a[i]));
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("webhook");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_sign_vector);
	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_body_json);
	tcase_add_test(tc, test_time_format);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_new_id);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
