/*
 * test_policy.c -- session keys and the expansion of remove templates: no
 * key can make a template point anywhere but where it says.
 */
#include <string.h>

#include <check.h>

#include "policy.h"

START_TEST(test_key_valid)
{
	char	long_key[200];

	ck_assert(policy_key_valid("Q2xvc2VkVGFi"));
	ck_assert(policy_key_valid("a"));
	ck_assert(policy_key_valid("a-b_C-9"));
	ck_assert(!policy_key_valid(""));
	ck_assert(!policy_key_valid("a/b"));
	ck_assert(!policy_key_valid(".."));
	ck_assert(!policy_key_valid("a.b"));
	ck_assert(!policy_key_valid("a b"));
	ck_assert(!policy_key_valid("a%2fb"));
	ck_assert(!policy_key_valid("\xc3\xa9"));
	memset(long_key, 'k', sizeof long_key);
	long_key[128] = '\0';
	ck_assert(policy_key_valid(long_key));
	long_key[128] = 'k';
	long_key[129] = '\0';
	ck_assert(!policy_key_valid(long_key));
}
END_TEST

START_TEST(test_expand)
{
	char	out[64];

	ck_assert_int_eq(policy_expand("/srv/app/sessions/{session}", "abc",
	    out, sizeof out), 0);
	ck_assert_str_eq(out, "/srv/app/sessions/abc");
	ck_assert_int_eq(policy_expand("/d/{session}/x/{session}.tmp", "K-1",
	    out, sizeof out), 0);
	ck_assert_str_eq(out, "/d/K-1/x/K-1.tmp");
	/* No placeholder: the path itself. */
	ck_assert_int_eq(policy_expand("/srv/shared", "abc", out, sizeof out),
	    0);
	ck_assert_str_eq(out, "/srv/shared");
	/* A half placeholder is kept literally. */
	ck_assert_int_eq(policy_expand("/d/{sess}", "abc", out, sizeof out), 0);
	ck_assert_str_eq(out, "/d/{sess}");
}
END_TEST

START_TEST(test_expand_refuses)
{
	char	out[64];

	/* Invalid keys never expand. */
	ck_assert_int_eq(policy_expand("/d/{session}", "..", out, sizeof out),
	    -1);
	ck_assert_int_eq(policy_expand("/d/{session}", "a/../../etc", out,
	    sizeof out), -1);
	ck_assert_int_eq(policy_expand("/d/{session}", "", out, sizeof out),
	    -1);
	/* Unclean results: relative, the root, dot components. */
	ck_assert_int_eq(policy_expand("d/{session}", "a", out, sizeof out),
	    -1);
	ck_assert_int_eq(policy_expand("/", "a", out, sizeof out), -1);
	ck_assert_int_eq(policy_expand("/d/../{session}", "a", out,
	    sizeof out), -1);
	ck_assert_int_eq(policy_expand("/d/./{session}", "a", out, sizeof out),
	    -1);
	ck_assert_int_eq(policy_expand("/d/{session}/..", "a", out,
	    sizeof out), -1);
	/* Too long for the buffer. */
	ck_assert_int_eq(policy_expand("/d/{session}", "abcdefghijklmnop", out,
	    16), -1);
	ck_assert_int_eq(policy_expand("/d/{session}", "abcdefghijk", out,
	    16), 0);
	ck_assert_str_eq(out, "/d/abcdefghijk");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_key_valid);
	tcase_add_test(tc, test_expand);
	tcase_add_test(tc, test_expand_refuses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
