/*
 * chunked.c -- janitord's own check of chunked framing.
 *
 * Debian's llhttp 8.1 as Node builds it (loose mode) takes any two bytes
 * after a chunk's data for the CRLF, and its trailer section ends at a bare
 * LF; nginx and HAProxy read the same bytes differently, which is how a
 * request hides inside another one's body.  janitord builds llhttp in its
 * strict mode, which checks more, but keeps this check in any case: it is
 * short, it does not change when the parser does, and the tests drive it
 * directly.  A state machine over single bytes; chunk data is skipped in
 * one step.
 */
#include <string.h>

#include "chunked.h"

enum chunked_state {
	CH_SIZE0,		/* the first hex digit of a chunk size */
	CH_SIZE,		/* more digits, ";" or CR */
	CH_EXT_NAME0,		/* the first byte of an extension name */
	CH_EXT_NAME,		/* more name, "=", ";" or CR */
	CH_EXT_VALUE0,		/* a token or a quoted string starts */
	CH_EXT_TOKEN,		/* more token, ";" or CR */
	CH_EXT_QUOTED,		/* inside a quoted string */
	CH_EXT_QPAIR,		/* after a backslash in a quoted string */
	CH_EXT_QEND,		/* after the closing quote: ";" or CR */
	CH_SIZE_LF,		/* the LF ending a chunk-size line */
	CH_DATA,		/* chunk data */
	CH_DATA_CR,		/* the CR after chunk data */
	CH_DATA_LF,		/* the LF after chunk data */
	CH_TRAILER0,		/* a trailer field line or the final CRLF */
	CH_TRAILER_NAME,	/* more field name or ":" */
	CH_TRAILER_VALUE,	/* the field value, up to CR */
	CH_TRAILER_LF,		/* the LF ending a field line */
	CH_END_LF,		/* the LF ending the body */
	CH_DONE,
	CH_ERROR,
};

/* Whether c is a tchar (RFC 9110 section 5.6.2). */
static int
chunked_tchar(unsigned char c)
{
	static const char	 other[] = "!#$%&'*+-.^_`|~";

	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return (1);
	return (c != '\0' && memchr(other, c, sizeof other - 1) != NULL);
}

/* The value of a hex digit, or -1. */
static int
chunked_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Fail with a reason. */
static ssize_t
chunked_fail(struct chunked *ch, const char *why)
{
	ch->ch_state = CH_ERROR;
	ch->ch_error = why;
	return (-1);
}

/* The reason for an unexpected byte where a line may end. */
static const char *
chunked_why(unsigned char c, const char *otherwise)
{
	if (c == '\n')
		return ("bare LF in chunked framing");
	if (c == ' ' || c == '\t')
		return ("white space in a chunk-size line");
	return (otherwise);
}

/* Start checking a new chunked body. */
void
chunked_init(struct chunked *ch)
{
	memset(ch, 0, sizeof *ch);
	ch->ch_state = CH_SIZE0;
}

/* Whether the body is complete. */
int
chunked_done(const struct chunked *ch)
{
	return (ch->ch_state == CH_DONE);
}

/* Whether the body is inside its trailer section (or complete). */
int
chunked_in_trailers(const struct chunked *ch)
{
	return (ch->ch_state >= CH_TRAILER0 && ch->ch_state <= CH_DONE);
}

/* Check the next bytes of a chunked body. */
ssize_t
chunked_check(struct chunked *ch, const char *data, size_t len, size_t *raw)
{
	const unsigned char	*p = (const unsigned char *)data;
	size_t			 i = 0, n, rawlen = 0;
	unsigned char		 c;
	int			 h;

	if (ch->ch_state == CH_ERROR)
		return (-1);
	while (i < len && ch->ch_state != CH_DONE) {
		if (ch->ch_state == CH_DATA) {
			n = len - i;
			if (n > ch->ch_size)
				n = ch->ch_size;
			ch->ch_size -= n;
			i += n;
			if (ch->ch_size == 0)
				ch->ch_state = CH_DATA_CR;
			continue;
		}
		c = p[i++];
		if (ch->ch_state <= CH_SIZE_LF &&
		    ++ch->ch_line > CHUNKED_LINE_MAX)
			return (chunked_fail(ch, "chunk-size line too long"));
		switch (ch->ch_state) {
		case CH_SIZE0:
			if ((h = chunked_hex(c)) == -1)
				return (chunked_fail(ch, chunked_why(c,
				    "invalid chunk size")));
			ch->ch_size = h;
			ch->ch_digits = 1;
			ch->ch_state = CH_SIZE;
			break;
		case CH_SIZE:
			if ((h = chunked_hex(c)) != -1) {
				/* 16 digits, and at most 2^63-1. */
				if (++ch->ch_digits > 16 ||
				    ch->ch_size > (uint64_t)(INT64_MAX - h) / 16)
					return (chunked_fail(ch,
					    "chunk size too large"));
				ch->ch_size = ch->ch_size * 16 + h;
			} else if (c == ';')
				ch->ch_state = CH_EXT_NAME0;
			else if (c == '\r')
				ch->ch_state = CH_SIZE_LF;
			else
				return (chunked_fail(ch, chunked_why(c,
				    "invalid chunk size")));
			break;
		case CH_EXT_NAME0:
			if (!chunked_tchar(c))
				return (chunked_fail(ch, chunked_why(c,
				    "invalid chunk extension")));
			ch->ch_state = CH_EXT_NAME;
			break;
		case CH_EXT_NAME:
		case CH_EXT_TOKEN:
			if (chunked_tchar(c))
				break;
			if (c == '=' && ch->ch_state == CH_EXT_NAME)
				ch->ch_state = CH_EXT_VALUE0;
			else if (c == ';')
				ch->ch_state = CH_EXT_NAME0;
			else if (c == '\r')
				ch->ch_state = CH_SIZE_LF;
			else
				return (chunked_fail(ch, chunked_why(c,
				    "invalid chunk extension")));
			break;
		case CH_EXT_VALUE0:
			if (c == '"')
				ch->ch_state = CH_EXT_QUOTED;
			else if (chunked_tchar(c))
				ch->ch_state = CH_EXT_TOKEN;
			else
				return (chunked_fail(ch, chunked_why(c,
				    "invalid chunk extension")));
			break;
		case CH_EXT_QUOTED:
			/* qdtext: HTAB, SP, VCHAR but '"' and '\', obs-text. */
			if (c == '"')
				ch->ch_state = CH_EXT_QEND;
			else if (c == '\\')
				ch->ch_state = CH_EXT_QPAIR;
			else if (c != '\t' && (c < 0x20 || c == 0x7f))
				return (chunked_fail(ch, c == '\n' ?
				    "bare LF in chunked framing" :
				    "invalid chunk extension"));
			break;
		case CH_EXT_QPAIR:
			if (c != '\t' && (c < 0x20 || c == 0x7f))
				return (chunked_fail(ch,
				    "invalid chunk extension"));
			ch->ch_state = CH_EXT_QUOTED;
			break;
		case CH_EXT_QEND:
			if (c == ';')
				ch->ch_state = CH_EXT_NAME0;
			else if (c == '\r')
				ch->ch_state = CH_SIZE_LF;
			else
				return (chunked_fail(ch, chunked_why(c,
				    "invalid chunk extension")));
			break;
		case CH_SIZE_LF:
			if (c != '\n')
				return (chunked_fail(ch,
				    "CR without LF in chunked framing"));
			ch->ch_line = 0;
			if (ch->ch_size == 0) {
				/* The last chunk: its line is still raw. */
				rawlen = i;
				ch->ch_state = CH_TRAILER0;
			} else
				ch->ch_state = CH_DATA;
			break;
		case CH_DATA_CR:
			if (c != '\r')
				return (chunked_fail(ch,
				    "chunk data not followed by CRLF"));
			ch->ch_state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (c != '\n')
				return (chunked_fail(ch,
				    "chunk data not followed by CRLF"));
			ch->ch_digits = 0;
			ch->ch_state = CH_SIZE0;
			break;
		case CH_TRAILER0:
			if (c == '\r')
				ch->ch_state = CH_END_LF;
			else if (chunked_tchar(c))
				ch->ch_state = CH_TRAILER_NAME;
			else if (c == ' ' || c == '\t')
				return (chunked_fail(ch, "obsolete line folding "
				    "in the trailer section"));
			else
				return (chunked_fail(ch, c == '\n' ?
				    "bare LF in chunked framing" :
				    "invalid trailer field"));
			break;
		case CH_TRAILER_NAME:
			if (c == ':')
				ch->ch_state = CH_TRAILER_VALUE;
			else if (!chunked_tchar(c))
				return (chunked_fail(ch, c == '\n' ?
				    "bare LF in chunked framing" :
				    "invalid trailer field"));
			break;
		case CH_TRAILER_VALUE:
			/* field-vchar, SP, HTAB; no control byte. */
			if (c == '\r')
				ch->ch_state = CH_TRAILER_LF;
			else if (c != '\t' && (c < 0x20 || c == 0x7f))
				return (chunked_fail(ch, c == '\n' ?
				    "bare LF in chunked framing" :
				    "invalid trailer field"));
			break;
		case CH_TRAILER_LF:
		case CH_END_LF:
			if (c != '\n')
				return (chunked_fail(ch,
				    "CR without LF in chunked framing"));
			ch->ch_state = ch->ch_state == CH_END_LF ? CH_DONE :
			    CH_TRAILER0;
			break;
		}
	}
	if (!chunked_in_trailers(ch))
		rawlen = i;
	if (raw != NULL)
		*raw = rawlen;
	return ((ssize_t)i);
}
