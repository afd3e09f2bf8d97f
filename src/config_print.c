/*
 * config_print.c -- the one-screen summary of a policy that
 * `janitord --check` prints: what the merged file means, in the words of
 * the policy file, so an operator can read it back at a glance.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* Print a duration, "off" for 0. */
static const char *
config_print_dur(msec_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "off");
	else
		config_format_duration(ms, buf, len);
	return (buf);
}

/* Print a duration where 0 means zero, not off. */
static const char *
config_print_secs(msec_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0s");
	else
		config_format_duration(ms, buf, len);
	return (buf);
}

/* Say whether a directory exists and is writable, or could be created. */
static void
config_print_dir_state(const char *dir, char *buf, size_t len)
{
	char		 parent[4096], *slash;
	struct stat	 st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			snprintf(buf, len, "exists but is not a directory");
		else if (access(dir, W_OK | X_OK) == 0)
			snprintf(buf, len, "writable");
		else
			snprintf(buf, len, "NOT writable: %s", strerror(errno));
		return;
	}
	if (errno != ENOENT) {
		snprintf(buf, len, "cannot be used: %s", strerror(errno));
		return;
	}
	/* Missing: it can be created if the nearest existing parent allows. */
	snprintf(parent, sizeof parent, "%s", dir);
	while ((slash = strrchr(parent, '/')) != NULL) {
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(parent, &st) == 0) {
			if (S_ISDIR(st.st_mode) &&
			    access(parent, W_OK | X_OK) == 0)
				snprintf(buf, len, "missing, can be created");
			else
				snprintf(buf, len, "missing and CANNOT be "
				    "created in %.200s", parent);
			return;
		}
		if (slash == parent)
			break;
	}
	snprintf(buf, len, "missing and CANNOT be created");
}

/* Print an action's webhook and removals. */
static void
config_print_action(FILE *f, const struct action *ac)
{
	size_t	i;

	fprintf(f, "webhook %s", ac->ac_webhook != NULL ? ac->ac_webhook :
	    "none");
	fprintf(f, "; remove ");
	if (ac->ac_nremove == 0)
		fprintf(f, "nothing");
	for (i = 0; i < ac->ac_nremove; i++)
		fprintf(f, "%s%s", i == 0 ? "" : ", ", ac->ac_remove[i]);
	fprintf(f, "\n");
}

/* Print the one-screen summary of a policy. */
void
config_print_summary(const struct policy *po, FILE *f)
{
	static const char *const secure[] = { "auto", "always", "never" };
	static const char *const same_site[] = { "Lax", "Strict", "None" };
	static const char *const on_start[] = { "none", "sweep", "wipe" };
	static const char *const sources[] = { "cookie", "query", "header",
	    "path", "json" };
	const struct cache_entry	*ce;
	const struct live_rule		*lr;
	const struct cidr		*ci;
	char				 a[64], b[64], c[64], d[64], e[64];
	char				 state[256];
	size_t				 i, j;

	fprintf(f, "%s: OK%s%s\n", po->po_file,
	    po->po_preset != NULL ? ", preset " : "",
	    po->po_preset != NULL ? po->po_preset : "");

	fprintf(f, "  listen           ");
	for (i = 0; i < po->po_nlisten; i++)
		fprintf(f, "%s%s", i == 0 ? "" : ", ",
		    po->po_listen[i].ad_text);
	fprintf(f, "\n  upstream         %s\n", po->po_upstream.ad_text);
	fprintf(f, "  trusted proxies  ");
	if (po->po_ntrusted == 0)
		fprintf(f, "none");
	for (i = 0; i < po->po_ntrusted; i++) {
		config_format_cidr(&po->po_trusted[i], a, sizeof a);
		fprintf(f, "%s%s", i == 0 ? "" : ", ", a);
	}
	if ((ci = config_cidr_everyone(po->po_trusted, po->po_ntrusted)) !=
	    NULL) {
		config_format_cidr(ci, a, sizeof a);
		fprintf(f, "\n  WARNING          trusted_proxies holds %s: any "
		    "client can set X-Forwarded-For and choose the address "
		    "janitord and the app see", a);
	}
	config_print_dir_state(po->po_state_dir, state, sizeof state);
	fprintf(f, "\n  state_dir        %s (%s)\n", po->po_state_dir, state);

	config_format_size(po->po_limits.max_header_size, a, sizeof a);
	if (po->po_limits.max_body_size == 0)
		snprintf(b, sizeof b, "unlimited");
	else
		config_format_size(po->po_limits.max_body_size, b, sizeof b);
	fprintf(f, "  limits           %ld connections, head %s, body %s\n",
	    po->po_limits.max_connections, a, b);
	fprintf(f, "  timeouts         header %s, keepalive %s, ",
	    config_print_dur(po->po_limits.header_timeout, a, sizeof a),
	    config_print_dur(po->po_limits.keepalive_timeout, b, sizeof b));
	fprintf(f, "connect %s, upstream %s, tunnel %s, shutdown %s\n",
	    config_print_dur(po->po_limits.upstream_connect_timeout, a,
	    sizeof a),
	    config_print_dur(po->po_limits.upstream_timeout, b, sizeof b),
	    config_print_dur(po->po_limits.tunnel_timeout, c, sizeof c),
	    config_print_secs(po->po_limits.shutdown_timeout, d, sizeof d));

	fprintf(f, "  session key      ");
	for (i = 0; i < po->po_sessions.nkeys; i++) {
		fprintf(f, "%s%s %s", i == 0 ? "" : ", then ",
		    sources[po->po_sessions.keys[i].kr_source],
		    po->po_sessions.keys[i].kr_name);
		if (po->po_sessions.keys[i].kr_source == KEY_JSON)
			fprintf(f, " (bodies of %s, at most %llu bytes)",
			    po->po_sessions.keys[i].kr_path,
			    (unsigned long long)po->po_sessions.json_max);
	}
	fprintf(f, "\n  forwarded as     %s\n", po->po_sessions.forward_header);
	fprintf(f, "  cookie           %s, %s, secure %s, SameSite=%s\n",
	    po->po_sessions.cookie_name,
	    po->po_sessions.cookie_issue ? "issued" : "never issued",
	    secure[po->po_sessions.cookie_secure],
	    same_site[po->po_sessions.cookie_same_site]);
	fprintf(f, "  live channels    ");
	if (po->po_sessions.nlive == 0)
		fprintf(f, "none (no session is ever live)");
	for (i = 0; i < po->po_sessions.nlive; i++) {
		lr = &po->po_sessions.live[i];
		fprintf(f, "%s", i == 0 ? "" : ", ");
		if (lr->lr_kind == LIVE_WEBSOCKET)
			fprintf(f, "websocket");
		else if (lr->lr_kind == LIVE_SSE)
			fprintf(f, "sse");
		else
			fprintf(f, "streams with path %s", lr->lr_text);
	}
	fprintf(f, "\n  sessions         at most %ld; tcp keepalive idle %s "
	    "interval %s count %d; websocket ping %s\n",
	    po->po_sessions.capacity,
	    config_print_dur(po->po_sessions.keepalive_idle, a, sizeof a),
	    config_print_dur(po->po_sessions.keepalive_interval, b, sizeof b),
	    po->po_sessions.keepalive_count,
	    config_print_dur(po->po_sessions.websocket_ping, c, sizeof c));

	fprintf(f, "  on_unload        grace %s: ",
	    config_print_secs(po->po_unload_grace, a, sizeof a));
	config_print_action(f, &po->po_unload);
	fprintf(f, "  on_expire        %s after disconnect, time_to_live %s: ",
	    config_print_dur(po->po_expire_after_disconnect, a, sizeof a),
	    config_print_dur(po->po_expire_ttl, b, sizeof b));
	config_print_action(f, &po->po_expire);

	fprintf(f, "  webhooks         secret %s, timeout %s, %d attempts, "
	    "backoff %s to %s\n",
	    po->po_webhooks.secret_file != NULL ?
	    po->po_webhooks.secret_file : "none",
	    config_print_dur(po->po_webhooks.timeout, a, sizeof a),
	    po->po_webhooks.max_attempts,
	    config_print_dur(po->po_webhooks.backoff_initial, b, sizeof b),
	    config_print_dur(po->po_webhooks.backoff_max, c, sizeof c));

	if (po->po_ncache == 0)
		fprintf(f, "  cache            none\n");
	for (i = 0; i < po->po_ncache; i++) {
		ce = &po->po_cache[i];
		e[0] = '\0';
		for (j = 0; j < 3; j++) {
			static const char *const names[] = { "atime",
			    "ctime", "mtime" };

			if (ce->ce_age_by & (1U << j))
				snprintf(e + strlen(e), sizeof e - strlen(e),
				    "%s%s", e[0] == '\0' ? "" : "+",
				    names[j]);
		}
		if (ce->ce_max_size == 0)
			snprintf(d, sizeof d, "off");
		else
			config_format_size(ce->ce_max_size, d, sizeof d);
		fprintf(f, "  cache            %s every %s, age %s by %s, "
		    "on_start %s, max_size %s", ce->ce_path,
		    config_print_dur(ce->ce_every, a, sizeof a),
		    config_print_dur(ce->ce_age, b, sizeof b), e,
		    on_start[ce->ce_on_start], d);
		for (j = 0; j < ce->ce_nkeep; j++)
			fprintf(f, "%s%s", j == 0 ? ", keep " : " ",
			    ce->ce_keep[j]);
		fprintf(f, "\n");
	}

	fprintf(f, "  admin            %s, %s\n", po->po_admin.listen.ad_text,
	    po->po_admin.token != NULL ? "bearer token required" :
	    "no token");
	fprintf(f, "  log              %s, %s\n",
	    config_log_level_name(po->po_log.level),
	    po->po_log.format == LOG_FORMAT_JSON ? "json" : "text");
}
