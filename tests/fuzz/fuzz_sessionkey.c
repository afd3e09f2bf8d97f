/*
 * fuzz_sessionkey.c -- arbitrary bytes as a request target and a Cookie
 * header through every key source, and whole as a JSON body; whatever is
 * accepted must match ^[A-Za-z0-9_-]{1,128}$.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rx.h"
#include "sessionkey.h"

static struct rx	*fuzz_re;

/* Abort unless out is an acceptable key. */
static void
fuzz_check(const char *out)
{
	size_t	len = strlen(out);

	if (!sessionkey_valid(out, len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 out[SESSION_KEY_MAX + 1], *target, *cookie, *cause;
	const uint8_t	*nl;
	size_t		 tlen;

	if (fuzz_re == NULL && (fuzz_re = rx_compile(CONFIG_GRADIO_KEY_PATH,
	    "fuzz", 0, &cause)) == NULL)
		abort();
	/* "target\ncookie": the first line is the target, the rest a header. */
	nl = memchr(data, '\n', size);
	tlen = nl != NULL ? (size_t)(nl - data) : size;
	target = strndup((const char *)data, tlen);
	cookie = nl != NULL ? strndup((const char *)nl + 1, size - tlen - 1) :
	    strdup("");
	if (target == NULL || cookie == NULL)
		abort();
	if (sessionkey_from_cookie(cookie, "janitor_sid", out))
		fuzz_check(out);
	if (sessionkey_from_query(target, "session_hash", out))
		fuzz_check(out);
	if (sessionkey_from_header(cookie, out))
		fuzz_check(out);
	if (sessionkey_from_path(target, fuzz_re, out))
		fuzz_check(out);
	if (sessionkey_from_json((const char *)data, size, "session_hash", out))
		fuzz_check(out);
	free(target);
	free(cookie);
	return (0);
}
