/*
 * config_parse.c -- the scalar parsers of the policy file: durations,
 * sizes, addresses, CIDR networks, path templates and glob patterns, and
 * the functions that print them back.  Nothing here knows about YAML.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

/* What a duration may spell at all; each key has its own, smaller bound. */
#define CONFIG_DURATION_MAX	(INT64_MAX / 2)

/* Allocate a formatted cause string. */
static char *
config_parse_cause(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal_oom();
	va_end(ap);
	return (s);
}

/* Copy a string into a buffer, truncating; strlcpy without the libc. */
static void
config_parse_copy(char *dst, const char *src, size_t len)
{
	size_t	n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Read a run of decimal digits into *v; the end, or NULL on overflow/none. */
static const char *
config_parse_digits(const char *s, uint64_t *v)
{
	uint64_t	n = 0;

	if (!isdigit((unsigned char)*s))
		return (NULL);
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return (NULL);
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return (s);
}

/* Parse "500ms", "30s", "10m", "1h", "1d" or "0" into milliseconds. */
int
config_parse_duration(const char *s, msec_t *out)
{
	static const struct {
		const char	*unit;
		msec_t		 ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 3600 * 1000 },
		{ "d", 24 * 3600 * 1000 },
	};
	const char	*end;
	uint64_t	 n;
	size_t		 i;

	if ((end = config_parse_digits(s, &n)) == NULL)
		return (-1);
	if (*end == '\0') {
		/* A bare number is only unambiguous when it is zero. */
		if (n != 0)
			return (-1);
		*out = 0;
		return (0);
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (n > (uint64_t)(CONFIG_DURATION_MAX / units[i].ms))
			return (-1);
		*out = (msec_t)n * units[i].ms;
		return (0);
	}
	return (-1);
}

/* Parse "512", "16k", "10M", "2G" (binary multiples) into bytes. */
int
config_parse_size(const char *s, uint64_t *out)
{
	const char	*end;
	uint64_t	 n, mult;

	if ((end = config_parse_digits(s, &n)) == NULL)
		return (-1);
	switch (*end) {
	case '\0':
		mult = 1;
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		break;
	case 't':
	case 'T':
		mult = 1ULL << 40;
		break;
	default:
		return (-1);
	}
	if (*end != '\0' && end[1] != '\0')
		return (-1);
	if (n > UINT64_MAX / mult)
		return (-1);
	*out = n * mult;
	return (0);
}

/* Parse a port number 1..65535. */
static int
config_parse_port(const char *s, uint16_t *port)
{
	const char	*end;
	uint64_t	 n;

	if ((end = config_parse_digits(s, &n)) == NULL || *end != '\0')
		return (-1);
	if (n < 1 || n > 65535)
		return (-1);
	*port = (uint16_t)n;
	return (0);
}

/* Parse host:port, [v6]:port or unix:/path; hosts numeric or localhost. */
int
config_parse_addr(const char *s, struct addr *ad, char **cause)
{
	struct sockaddr_un	*sun;
	struct addrinfo		 hints, *res;
	char			 host[128];
	const char		*colon, *port;
	size_t			 hlen;
	uint16_t		 pnum;
	int			 error;

	memset(ad, 0, sizeof *ad);
	if (strlen(s) >= sizeof ad->ad_text) {
		*cause = config_parse_cause("'%.40s...' is too long for an "
		    "address", s);
		return (-1);
	}
	config_parse_copy(ad->ad_text, s, sizeof ad->ad_text);

	if (strncmp(s, "unix:", 5) == 0) {
		sun = (struct sockaddr_un *)&ad->ad_ss;
		if (s[5] != '/') {
			*cause = config_parse_cause("'%s': a unix socket needs "
			    "an absolute path (unix:/run/x.sock)", s);
			return (-1);
		}
		if (strlen(s + 5) >= sizeof sun->sun_path) {
			*cause = config_parse_cause("'%s': unix socket path "
			    "longer than %zu bytes", s,
			    sizeof sun->sun_path - 1);
			return (-1);
		}
		sun->sun_family = AF_UNIX;
		config_parse_copy(sun->sun_path, s + 5, sizeof sun->sun_path);
		ad->ad_family = AF_UNIX;
		ad->ad_len = sizeof *sun;
		return (0);
	}

	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL) {
			*cause = config_parse_cause("'%s' is not an address "
			    "(use [v6]:port)", s);
			return (-1);
		}
		hlen = (size_t)(colon - (s + 1));
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		port = colon + 2;
		if (strchr(host, ':') == NULL) {
			*cause = config_parse_cause("'%s': brackets are only "
			    "for IPv6 addresses", s);
			return (-1);
		}
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*cause = config_parse_cause("'%s' is not an address "
			    "(use host:port, [v6]:port or unix:/path)", s);
			return (-1);
		}
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			*cause = config_parse_cause("'%s': an IPv6 address "
			    "needs brackets, as in [::1]:8080", s);
			return (-1);
		}
		hlen = (size_t)(colon - s);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		port = colon + 1;
	}
	if (config_parse_port(port, &pnum) != 0) {
		*cause = config_parse_cause("'%s': '%s' is not a port "
		    "(1-65535)", s, port);
		return (-1);
	}
	if (*host == '\0') {
		*cause = config_parse_cause("'%s': the host is missing "
		    "(use e.g. 127.0.0.1:%s or 0.0.0.0:%s)", s, port, port);
		return (-1);
	}
	if (strcmp(host, "localhost") == 0)
		config_parse_copy(host, "127.0.0.1", sizeof host);

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((error = getaddrinfo(host, port, &hints, &res)) != 0) {
		*cause = config_parse_cause("'%s': '%s' is not a numeric "
		    "address (host names other than localhost are not "
		    "resolved)", s, host);
		return (-1);
	}
	if (res->ai_addrlen > sizeof ad->ad_ss) {
		freeaddrinfo(res);
		*cause = config_parse_cause("'%s': address too long", s);
		return (-1);
	}
	memcpy(&ad->ad_ss, res->ai_addr, res->ai_addrlen);
	ad->ad_len = res->ai_addrlen;
	ad->ad_family = res->ai_family;
	freeaddrinfo(res);
	return (0);
}

/* Whether an address is loopback or a unix socket. */
bool
config_addr_is_local(const struct addr *ad)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (ad->ad_family) {
	case AF_UNIX:
		return (true);
	case AF_INET:
		sin = (const struct sockaddr_in *)&ad->ad_ss;
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&ad->ad_ss;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return (true);
		return (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127);
	}
	return (false);
}

/* Whether two addresses name the same socket. */
bool
config_addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;
	const struct sockaddr_un	*au, *bu;

	if (a->ad_family != b->ad_family)
		return (false);
	switch (a->ad_family) {
	case AF_UNIX:
		au = (const struct sockaddr_un *)&a->ad_ss;
		bu = (const struct sockaddr_un *)&b->ad_ss;
		return (strcmp(au->sun_path, bu->sun_path) == 0);
	case AF_INET:
		a4 = (const struct sockaddr_in *)&a->ad_ss;
		b4 = (const struct sockaddr_in *)&b->ad_ss;
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)&a->ad_ss;
		b6 = (const struct sockaddr_in6 *)&b->ad_ss;
		return (a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof a6->sin6_addr) == 0);
	}
	return (false);
}

/* Parse "10.0.0.0/8", "::1/128" or a bare address (a host); host bits cleared. */
int
config_parse_cidr(const char *s, struct cidr *ci)
{
	char		 buf[INET6_ADDRSTRLEN + 8];
	const char	*slash, *end;
	uint64_t	 bits;
	int		 max, i;

	memset(ci, 0, sizeof *ci);
	if (strlen(s) >= sizeof buf)
		return (-1);
	config_parse_copy(buf, s, sizeof buf);
	if ((slash = strchr(s, '/')) != NULL)
		buf[slash - s] = '\0';

	if (inet_pton(AF_INET, buf, ci->ci_addr) == 1) {
		ci->ci_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, ci->ci_addr) == 1) {
		ci->ci_family = AF_INET6;
		max = 128;
	} else
		return (-1);

	if (slash == NULL)
		bits = (uint64_t)max;
	else {
		end = config_parse_digits(slash + 1, &bits);
		if (end == NULL || *end != '\0' || bits > (uint64_t)max)
			return (-1);
		/* No leading zeros: "/08" is most likely a typo. */
		if (slash[1] == '0' && slash[2] != '\0')
			return (-1);
	}
	ci->ci_bits = (int)bits;
	for (i = 0; i < 16; i++) {
		if (i * 8 >= ci->ci_bits)
			ci->ci_addr[i] = 0;
		else if (i * 8 + 8 > ci->ci_bits)
			ci->ci_addr[i] &= (uint8_t)(0xff << (8 - (ci->ci_bits -
			    i * 8)));
	}
	return (0);
}

/* Whether the first bits of addr equal the network's. */
static bool
config_cidr_match_one(const struct cidr *ci, const uint8_t *addr)
{
	int	full = ci->ci_bits / 8, rest = ci->ci_bits % 8;
	uint8_t	mask;

	if (memcmp(ci->ci_addr, addr, (size_t)full) != 0)
		return (false);
	if (rest == 0)
		return (true);
	mask = (uint8_t)(0xff << (8 - rest));
	return ((addr[full] & mask) == ci->ci_addr[full]);
}

/* The first of the n networks that holds every address (/0), or NULL. */
const struct cidr *
config_cidr_everyone(const struct cidr *ci, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (ci[i].ci_bits == 0)
			return (&ci[i]);
	}
	return (NULL);
}

/* Whether sa lies inside one of the n networks. */
bool
config_cidr_match(const struct cidr *ci, size_t n, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*v4 = NULL, *v6 = NULL;
	size_t				 i;

	if (sa == NULL)
		return (false);
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		v4 = (const uint8_t *)&sin->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		v6 = sin6->sin6_addr.s6_addr;
		/* ::ffff:a.b.c.d from a dual-stack socket is a v4 client. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			v4 = v6 + 12;
	} else
		return (false);

	for (i = 0; i < n; i++) {
		if (ci[i].ci_family == AF_INET && v4 != NULL &&
		    config_cidr_match_one(&ci[i], v4))
			return (true);
		if (ci[i].ci_family == AF_INET6 && v6 != NULL &&
		    config_cidr_match_one(&ci[i], v6))
			return (true);
	}
	return (false);
}

/* Check the components of an absolute path; allow "{session}" if asked. */
static int
config_parse_components(const char *s, int template, char **cause)
{
	const char	*p, *next;
	size_t		 len, idx = 0, nsession = 0;

	if (*s != '/') {
		*cause = config_parse_cause("'%s' is not an absolute path", s);
		return (-1);
	}
	if (strcmp(s, "/") == 0) {
		*cause = config_parse_cause("'/' is not allowed here");
		return (-1);
	}
	for (p = s + 1; ; p = next + 1, idx++) {
		if ((next = strchr(p, '/')) == NULL)
			next = p + strlen(p);
		len = (size_t)(next - p);
		if (len == 0) {
			*cause = config_parse_cause("'%s' has an empty path "
			    "component (// or a trailing /)", s);
			return (-1);
		}
		if ((len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.')) {
			*cause = config_parse_cause("'%s' has a '%.*s' "
			    "component", s, (int)len, p);
			return (-1);
		}
		if (template && len == 9 && memcmp(p, "{session}", 9) == 0) {
			if (idx == 0) {
				*cause = config_parse_cause("'%s': {session} "
				    "cannot be the first component", s);
				return (-1);
			}
			nsession++;
		} else if (template && (memchr(p, '{', len) != NULL ||
		    memchr(p, '}', len) != NULL)) {
			*cause = config_parse_cause("'%s': {session} must be "
			    "a whole path component and is the only "
			    "placeholder", s);
			return (-1);
		}
		if (*next == '\0')
			break;
	}
	if (template && nsession == 0) {
		*cause = config_parse_cause("'%s' does not contain {session}",
		    s);
		return (-1);
	}
	return (0);
}

/* Check an absolute path. */
int
config_parse_path(const char *s, char **cause)
{
	return (config_parse_components(s, 0, cause));
}

/* Check a removal template. */
int
config_parse_template(const char *s, char **cause)
{
	return (config_parse_components(s, 1, cause));
}

/* Check an fnmatch(3) pattern. */
int
config_parse_glob(const char *s, char **cause)
{
	const char	*p, *q;

	if (*s == '\0') {
		*cause = config_parse_cause("an empty pattern matches "
		    "nothing");
		return (-1);
	}
	for (p = s; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0') {
				*cause = config_parse_cause("'%s' ends in a "
				    "lone backslash", s);
				return (-1);
			}
			p++;
			continue;
		}
		if (*p != '[')
			continue;
		/* A bracket expression: [!]]...] or []...]. */
		q = p + 1;
		if (*q == '!' || *q == '^')
			q++;
		if (*q == ']')
			q++;
		while (*q != '\0' && *q != ']') {
			if (q[0] == '[' && (q[1] == ':' || q[1] == '.' ||
			    q[1] == '=')) {
				const char	*close;
				char		 term[3] = { q[1], ']', '\0' };

				if ((close = strstr(q + 2, term)) == NULL)
					break;
				q = close + 2;
				continue;
			}
			q++;
		}
		if (*q != ']') {
			*cause = config_parse_cause("'%s' has an unclosed '['",
			    s);
			return (-1);
		}
		p = q;
	}
	return (0);
}

/* Print a duration with the largest unit that divides it. */
void
config_format_duration(msec_t ms, char *buf, size_t len)
{
	static const struct {
		const char	*unit;
		msec_t		 ms;
	} units[] = {
		{ "d", 24 * 3600 * 1000 },
		{ "h", 3600 * 1000 },
		{ "m", 60 * 1000 },
		{ "s", 1000 },
	};
	size_t	i;

	if (ms == 0) {
		config_parse_copy(buf, "0", len);
		return;
	}
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRId64 "%s", ms / units[i].ms,
			    units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%" PRId64 "ms", ms);
}

/* Print a size with the largest binary unit that divides it. */
void
config_format_size(uint64_t n, char *buf, size_t len)
{
	static const char	units[] = "kMGT";
	int			i;

	for (i = 3; i >= 0; i--) {
		uint64_t	m = 1ULL << (10 * (i + 1));

		if (n != 0 && n % m == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", n / m, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, n);
}

/* Print a network as address/bits. */
void
config_format_cidr(const struct cidr *ci, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (inet_ntop(ci->ci_family, ci->ci_addr, a, sizeof a) == NULL)
		config_parse_copy(a, "?", sizeof a);
	snprintf(buf, len, "%s/%d", a, ci->ci_bits);
}

/* The policy file's name for a log level. */
const char *
config_log_level_name(int level)
{
	static const char	*names[] = { "error", "warn", "info", "debug" };

	if (level < 0 || level > 3)
		return ("?");
	return (names[level]);
}
