/*
 * config_int.h -- what the files of the config module share and nobody
 * else needs: the walk over libyaml's document and its error helpers.
 */
#ifndef JANITOR_CONFIG_INT_H
#define JANITOR_CONFIG_INT_H

#include <stdbool.h>
#include <yaml.h>

#include "config.h"

/* Most nodes one walk visits: aliases could otherwise multiply the work. */
#define CONFIG_NODE_BUDGET	100000

/*
 * Most bytes a policy may hold.  Every scalar the walk reads is charged
 * its length plus CONFIG_CHARGE_ITEM (the pointer to its copy and the
 * allocation around it), and every regex its compiled and JIT code, each
 * time the walk reaches it: an alias repeats everything its anchor names,
 * so 256 uses of a list of 256 aliases of one 4 KiB value made 268 MB of
 * policy out of a 13 KB file, and the sweeper copies each keep list again.
 */
#define CONFIG_POLICY_MAX	(4 * 1024 * 1024)
#define CONFIG_CHARGE_ITEM	32

/* Largest policy, secret or token file read. */
#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_SECRET_MAX	4096

/*
 * What the first pass over libyaml's events allows, before a document is
 * built: collections nested at most CONFIG_DEPTH_MAX deep, at most
 * CONFIG_VALUES_MAX scalars, collections and aliases (libyaml's tree
 * takes about 200 bytes a value, so 20 MB at most), and at most
 * CONFIG_ANCHORS_MAX anchors (libyaml looks each alias up by a linear
 * search over the anchors: 50,000 of each took 10 s).
 */
#define CONFIG_DEPTH_MAX	64
#define CONFIG_VALUES_MAX	100000
#define CONFIG_ANCHORS_MAX	100

/*
 * Most YAML directives (%YAML, %TAG) in a file, counted before libyaml
 * sees it: libyaml compares each %TAG with every earlier one before it
 * produces its first event, so 52,000 of them took 6.5 s of CPU where no
 * deadline is checked.  A policy needs none (%YAML 1.1 or 1.2 may stay).
 */
#define CONFIG_DIRECTIVES_MAX	8

/* Longest single value (a regex, a path, a URL, a name). */
#define CONFIG_SCALAR_MAX	4096

/* Display paths ("cache[2].keep[0]") stay well below this. */
#define CONFIG_PATH_MAX		256

struct config_walk {
	const char		*cw_name;
	yaml_document_t		*cw_doc;
	struct policy		*cw_po;
	struct config_error	*cw_err;
	size_t			 cw_budget;	/* nodes left to visit */
	size_t			 cw_bytes;	/* of CONFIG_POLICY_MAX, left */
	int64_t			 cw_deadline;	/* coarse clock, ms */
	int			 cw_pass;	/* 0: preset only, 1: the rest */
	char			 cw_path[CONFIG_PATH_MAX];	/* for messages */
	yaml_mark_t		*cw_marks;	/* per config_keys[] entry */
	bool			*cw_set;
};

/* Whether a file of this size is within max; if not, msg says so. */
bool	config_size_ok(uint64_t, size_t, char *, size_t);

/* snprintf that may truncate on purpose (paths and messages are bounded). */
void	config_fmt(char *, size_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* Record an error at a mark (or node), prefixed with the current key path. */
int	config_fail_at(struct config_walk *, const yaml_mark_t *, const char *,
	    ...) __attribute__((format(printf, 3, 4)));
#define config_fail(w, n, ...) config_fail_at((w), &(n)->start_mark, __VA_ARGS__)

/* Record an error at a node and free the allocated cause. */
int	config_fail_cause(struct config_walk *, yaml_node_t *, char *);

/* Count a visited node against the budget. */
int	config_visit(struct config_walk *, yaml_node_t *);

/* Charge what the policy will hold for node n against CONFIG_POLICY_MAX. */
int	config_charge(struct config_walk *, yaml_node_t *, size_t);

/* A node's type in words; whether it is YAML's null. */
const char *config_node_kind(yaml_node_t *);
bool	config_is_null(yaml_node_t *);

/* The text of a scalar, or an error naming what was expected. */
int	config_scalar(struct config_walk *, yaml_node_t *, const char *,
	    const char **);

/* The items of a list-valued key (a single scalar is a list of one). */
int	config_items(struct config_walk *, yaml_node_t *, yaml_node_item_t **,
	    size_t *, yaml_node_item_t *);

/* List item i, with the display path set to "prefix[i]". */
yaml_node_t *config_item(struct config_walk *, yaml_node_item_t *, size_t,
	    const char *);

/* Walk a mapping against the keys under tpath; dpath is for messages. */
int	config_walk_map(struct config_walk *, yaml_node_t *, const char *,
	    const char *, void *);

/* Free what the setters build. */
void	config_free_strings(char **, size_t);
void	config_free_key_rule(struct key_rule *);
void	config_free_live_rule(struct live_rule *);
void	config_free_cache_entry(struct cache_entry *);

/* The defaults of one cache entry. */
void	config_cache_defaults(struct cache_entry *);

#endif
