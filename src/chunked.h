/*
 * chunked.h -- janitord's own check of chunked framing (RFC 9112 section
 * 7.1), byte by byte, independent of the HTTP parser.
 *
 * The relay forwards chunked bodies with their framing, so every framing
 * byte it lets through must mean the same to any recipient: a chunk-size
 * line is 1*16 HEXDIG, then chunk extensions by the RFC's token and
 * quoted-string grammar with no white space anywhere, then CRLF; the two
 * bytes after a chunk's data are CRLF; the trailer section is field lines
 * (token ":" value, no obs-fold, no control bytes) each ending in CRLF,
 * then CRLF.  Anything else is an error.  http.c runs this next to llhttp
 * and requires that both agree where the body ends.
 */
#ifndef JANITOR_CHUNKED_H
#define JANITOR_CHUNKED_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/* The longest chunk-size line (size and extensions) accepted. */
#define CHUNKED_LINE_MAX	4096

struct chunked {
	int		 ch_state;
	uint64_t	 ch_size;	/* the size being read, then data left */
	size_t		 ch_line;	/* bytes of the current chunk-size line */
	unsigned	 ch_digits;	/* hex digits read of the size */
	const char	*ch_error;	/* after -1: why (a static string) */
};

/* Start checking a new chunked body. */
void		 chunked_init(struct chunked *);

/*
 * Check the next len bytes of a chunked body.  Returns how many of them
 * belong to the body: all of them until the body ends, then up to its last
 * byte.  *raw (if not NULL) is set to how many of those come before the
 * trailer section, which starts after the last chunk's size line.  -1 on a
 * framing error (ch_error says which).
 */
ssize_t		 chunked_check(struct chunked *, const char *, size_t,
		    size_t *raw);

/* Whether the body (and its trailer section) is complete. */
int		 chunked_done(const struct chunked *);

/* Whether the body is inside its trailer section (or complete). */
int		 chunked_in_trailers(const struct chunked *);

#endif
