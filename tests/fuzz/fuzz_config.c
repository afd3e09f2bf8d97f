/*
 * fuzz_config.c -- arbitrary bytes as a policy file: config_load_buffer()
 * must return a policy or a positioned error, never crash, hang or leak;
 * a policy that loads is printed (the --check summary) and freed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Load one input; print and free what loads. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static FILE		*devnull;
	struct config_error	 err;
	struct policy		*po;
	char			 buf[1024];

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	/* The preset reads it; keep runs reproducible. */
	unsetenv("GRADIO_TEMP_DIR");
	po = config_load_buffer("fuzz.yaml", (const char *)data, len, &err);
	if (po == NULL) {
		config_error_format(&err, buf, sizeof buf);
		/* Every error is one line that starts with the file's name. */
		if (strncmp(buf, "fuzz.yaml:", 10) != 0 ||
		    strpbrk(buf, "\n\r") != NULL)
			abort();
		return (0);
	}
	config_print_summary(po, devnull);
	config_ref(po);
	config_unref(po);
	config_unref(po);
	return (0);
}
