/*
 * test_chunked.c -- janitord's own check of chunked framing, driven
 * directly (without llhttp, which checks some of the same in strict mode):
 * what ends a body where, what is raw and what is trailer section, and
 * every framing byte that is refused, fed whole and one byte at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "chunked.h"

/*
 * Check a body in pieces of step bytes (0: whole).  Returns the bytes that
 * belong to it, or -1; *raw gets the raw part, *why the error.
 */
static ssize_t
check_body(const char *body, size_t len, size_t step, size_t *raw,
    const char **why)
{
	struct chunked	 ch;
	size_t		 off = 0, n, r, rawsum = 0;
	ssize_t		 got;

	chunked_init(&ch);
	*why = NULL;
	while (off < len && !chunked_done(&ch)) {
		n = step == 0 || len - off < step ? len - off : step;
		got = chunked_check(&ch, body + off, n, &r);
		if (got < 0) {
			*why = ch.ch_error;
			return (-1);
		}
		ck_assert_uint_le((size_t)got, n);
		ck_assert_uint_le(r, (size_t)got);
		/* The raw part is a prefix of the body. */
		if (rawsum == off)
			rawsum += r;
		else
			ck_assert_uint_eq(r, 0);
		off += (size_t)got;
		if ((size_t)got < n)
			break;
	}
	if (raw != NULL)
		*raw = rawsum;
	return (chunked_done(&ch) ? (ssize_t)off : -2);
}

/* The same body, whole and byte by byte, must give the same answer. */
static ssize_t
check_both(const char *body, size_t len, size_t *raw, const char **why)
{
	ssize_t		 a, b;
	size_t		 ra = 0, rb = 0;
	const char	*wa, *wb;

	a = check_body(body, len, 0, &ra, &wa);
	b = check_body(body, len, 1, &rb, &wb);
	ck_assert_int_eq(a, b);
	if (a >= 0)
		ck_assert_uint_eq(ra, rb);
	else if (a == -1)
		ck_assert_str_eq(wa, wb);
	if (raw != NULL)
		*raw = ra;
	if (why != NULL)
		*why = wa;
	return (a);
}

START_TEST(test_good)
{
	/* Each body, then bytes that are not part of it. */
	static const struct {
		const char	*body;
		const char	*after;
		size_t		 raw;	/* up to the trailer section */
	} good[] = {
		{ "0\r\n\r\n", "NEXT", 3 },
		{ "5\r\nhello\r\n0\r\n\r\n", "NEXT", 13 },
		{ "5;a=b\r\nhello\r\n0\r\n\r\n", "GET /", 17 },
		{ "5;a;b=\"x y\\\"z\";c=d\r\nhello\r\n0\r\n\r\n", "", 30 },
		{ "5;q=\"\xc3\xa9\t\"\r\nhello\r\n0\r\n\r\n", "", 21 },
		{ "A\r\n0123456789\r\n0\r\n\r\n", "", 18 },
		{ "a\r\n0123456789\r\n00\r\n\r\n", "", 19 },
		{ "0000000000000005\r\nhello\r\n0\r\n\r\n", "", 28 },
		{ "7FFFFFFFFFFFFFFF\r\nhello", NULL, 0 },
		{ "1\r\n\n\r\n0\r\n\r\n", "\n", 9 },
		{ "0\r\nX-T: 1\r\n\r\n", "0\r\n", 3 },
		{ "0;e=1\r\nX-T: 1\r\nY:\r\nZ: caf\xc3\xa9 \t x\r\n\r\n", "GET",
		    7 },
	};
	char		 buf[256];
	size_t		 i, raw, blen;
	ssize_t		 n;
	const char	*why;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		blen = strlen(good[i].body);
		snprintf(buf, sizeof buf, "%s%s", good[i].body,
		    good[i].after != NULL ? good[i].after : "");
		n = check_both(buf, strlen(buf), &raw, &why);
		if (good[i].after == NULL) {
			/* Incomplete (a huge chunk), but fine so far. */
			if (n != -2)
				ck_abort_msg("%zu: got %zd (%s)", i, n,
				    why != NULL ? why : "-");
			continue;
		}
		if (n != (ssize_t)blen || raw != good[i].raw)
			ck_abort_msg("%zu: got %zd raw %zu, want %zu raw %zu "
			    "(%s)", i, n, raw, blen, good[i].raw,
			    why != NULL ? why : "-");
	}
}
END_TEST

START_TEST(test_bad)
{
	static const struct {
		const char	*body;
		const char	*why;
	} bad[] = {
		/* The vectors: not CRLF after the data. */
		{ "5\r\nhelloXX0\r\n\r\n", "chunk data not followed by CRLF" },
		{ "5\r\nhello\r\r0\r\n\r\n", "chunk data not followed by CRLF" },
		{ "2\r\nxx\n410\r\n0123456789abcdef\r\n0\r\n\r\n",
		    "chunk data not followed by CRLF" },
		{ "5\r\nhello\n0\r\n\r\n", "chunk data not followed by CRLF" },
		/* Bare LF and lone CR in size lines. */
		{ "5\nhello\r\n0\r\n\r\n", "bare LF in chunked framing" },
		{ "5\rhello\r\n0\r\n\r\n", "CR without LF in chunked framing" },
		{ "0\n\r\n", "bare LF in chunked framing" },
		{ "5;a=b\nhello\r\n0\r\n\r\n", "bare LF in chunked framing" },
		/* White space anywhere in a size line. */
		{ "5 \r\nhello\r\n0\r\n\r\n", "white space in a chunk-size line" },
		{ " 5\r\nhello\r\n0\r\n\r\n", "white space in a chunk-size line" },
		{ "5\t\r\nhello\r\n0\r\n\r\n", "white space in a chunk-size line" },
		{ "5 ;a=b\r\nhello\r\n0\r\n\r\n",
		    "white space in a chunk-size line" },
		{ "5; a=b\r\nhello\r\n0\r\n\r\n",
		    "white space in a chunk-size line" },
		{ "5;a =b\r\nhello\r\n0\r\n\r\n",
		    "white space in a chunk-size line" },
		{ "5;a= b\r\nhello\r\n0\r\n\r\n",
		    "white space in a chunk-size line" },
		/* Sizes. */
		{ "\r\nhello\r\n0\r\n\r\n", "invalid chunk size" },
		{ "x\r\n", "invalid chunk size" },
		{ "+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size" },
		{ "0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size" },
		{ "5g\r\n", "invalid chunk size" },
		{ "00000000000000005\r\n", "chunk size too large" },
		{ "8000000000000000\r\n", "chunk size too large" },
		{ "FFFFFFFFFFFFFFFF1\r\n", "chunk size too large" },
		/* Extensions outside the token / quoted-string grammar. */
		{ "5;\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a=\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a=b=c\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a=\"b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a=b\"\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a\001=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		{ "5;a=\"\001\"\r\nhello\r\n0\r\n\r\n",
		    "invalid chunk extension" },
		{ "5;a=\"x\nGET / HTTP/1.1\r\n", "bare LF in chunked framing" },
		{ "5;a(b)\r\nhello\r\n0\r\n\r\n", "invalid chunk extension" },
		/* The trailer section. */
		{ "0\r\nX-T: 1\n\r\n", "bare LF in chunked framing" },
		{ "0\r\nX-T: 1\r\n\n", "bare LF in chunked framing" },
		{ "0\r\nX-T: 1\r\n y\r\n\r\n",
		    "obsolete line folding in the trailer section" },
		{ "0\r\n\tX-T: 1\r\n\r\n",
		    "obsolete line folding in the trailer section" },
		{ "0\r\nX-T 1\r\n\r\n", "invalid trailer field" },
		{ "0\r\nX-T : 1\r\n\r\n", "invalid trailer field" },
		{ "0\r\n: 1\r\n\r\n", "invalid trailer field" },
		{ "0\r\nX-T: a\001b\r\n\r\n", "invalid trailer field" },
		{ "0\r\nX-T: a\rb\r\n\r\n", "CR without LF in chunked framing" },
		{ "0\r\n\rX", "CR without LF in chunked framing" },
	};
	size_t		 i;
	ssize_t		 n;
	const char	*why;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = check_both(bad[i].body, strlen(bad[i].body), NULL, &why);
		if (n != -1 || strcmp(why, bad[i].why) != 0)
			ck_abort_msg("%zu (%s): got %zd (%s)", i, bad[i].body,
			    n, why != NULL ? why : "-");
	}
}
END_TEST

/* A NUL where the CRLF after data belongs (strlen cannot carry it). */
START_TEST(test_nul)
{
	static const char	 body[] = "5\r\nhello\0\n0\r\n\r\n";
	const char		*why;

	ck_assert_int_eq(check_both(body, sizeof body - 1, NULL, &why), -1);
	ck_assert_str_eq(why, "chunk data not followed by CRLF");
}
END_TEST

START_TEST(test_line_limit)
{
	char		*body;
	size_t		 n = CHUNKED_LINE_MAX + 10, i;
	const char	*why;

	body = malloc(n + 64);
	memcpy(body, "5;a=", 4);
	for (i = 4; i < n; i++)
		body[i] = 'x';
	body[n] = '\0';
	ck_assert_int_eq(check_both(body, n, NULL, &why), -1);
	ck_assert_str_eq(why, "chunk-size line too long");
	/* Just under the limit is fine. */
	memcpy(body + CHUNKED_LINE_MAX - 2, "\r\n", 2);
	memcpy(body + CHUNKED_LINE_MAX, "hello\r\n0\r\n\r\n", 13);
	ck_assert_int_eq(check_both(body, CHUNKED_LINE_MAX + 12, NULL, &why),
	    CHUNKED_LINE_MAX + 12);
	free(body);
}
END_TEST

/* A big chunk's data is skipped, not looked at, and may hold anything. */
START_TEST(test_big_chunk)
{
	struct chunked	 ch;
	char		 buf[4096];
	size_t		 left = 0x100000, raw;
	ssize_t		 n;

	memset(buf, '\n', sizeof buf);
	chunked_init(&ch);
	ck_assert_int_eq(chunked_check(&ch, "100000\r\n", 8, &raw), 8);
	while (left > 0) {
		n = chunked_check(&ch, buf, left < sizeof buf ? left :
		    sizeof buf, &raw);
		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq(raw, (size_t)n);
		left -= (size_t)n;
	}
	ck_assert_int_eq(chunked_in_trailers(&ch), 0);
	ck_assert_int_eq(chunked_check(&ch, "\r\n0\r\n\r\nX", 8, &raw), 7);
	ck_assert_uint_eq(raw, 5);
	ck_assert_int_eq(chunked_done(&ch), 1);
	/* Once done, nothing more belongs to it. */
	ck_assert_int_eq(chunked_check(&ch, "X", 1, &raw), 0);
	/* Once failed, it stays failed. */
	chunked_init(&ch);
	ck_assert_int_eq(chunked_check(&ch, "z", 1, &raw), -1);
	ck_assert_int_eq(chunked_check(&ch, "0\r\n\r\n", 5, &raw), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("chunked");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_big_chunk);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
