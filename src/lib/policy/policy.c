/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one validated policy model.
 *
 * Sources are merged in this order (docs/hutch-policy.5.scd): built-in profile,
 * system policy (/etc/hutch/policy.json), user policy, -p files, a trusted
 * project policy, CLI flags. The rules of the merge:
 *
 *  - Lists extend: a later source adds entries, nothing removes one. Entries
 *    are deduplicated by value (after finalize: by expanded, normalised path).
 *  - Deny beats allow: network.deny over network.allow, commands.deny over
 *    commands.allow, env.drop over env.pass (except a variable passed by exact
 *    name, see env.c), hidden over readOnly/writable at the same path.
 *  - Scalars (network mode, limits, audit file, ports): the last source wins,
 *    within the ceilings below.
 *  - The system source is the administrator's; nothing after it can loosen
 *    what it sets:
 *      * its hidden, protected, env.drop, network.deny and commands.deny
 *        entries are locked: they cannot be removed, an exact-name env pass
 *        does not override a locked drop, and no readOnly/writable/sockets
 *        entry may lie at or beneath a locked hidden path (only the workspace
 *        may, when the locked path is $HOME or above it, as in "strict");
 *      * its network mode is a ceiling (none < proxy < host): asking for more
 *        later is an error naming the system policy;
 *      * if it lists network.allow, that list is fixed: later sources may
 *        repeat an entry but not add a new one;
 *      * "allowPrivate": false and "transparent": false cannot be turned on later;
 *      * its limits are ceilings: a later larger value is an error, a smaller
 *        one tightens (0 / unlimited is never accepted);
 *      * its audit file cannot be changed;
 *      * its "require" bits stay required (require_locked): a later
 *        "require": [...] without them, or allow-degraded, is an error.
 *    A profile named by the system policy's "extends" counts as system.
 *  - Finalize resolves "~", "$VAR", "${VAR}" and workspace-relative paths;
 *    relative protected entries stay relative (they apply at the workspace
 *    root and in each git repository under it). hutch's own configuration
 *    directory and /etc/hutch are always protected (locked, origin
 *    "built-in"). Readable/writable entries strictly beneath a hidden
 *    directory are re-exposed by the mount code (that is how "strict" hides
 *    $HOME but not the workspace); the same path both hidden and exposed is
 *    an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "base/dirnames.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/path.h"
#include "base/sha256.h"
#include "policy/env.h"
#include "policy/policy.h"
#include "policy/filter.h"
#include "policy/proxy-env.h"

#define MAX_PATTERN 512	 /* host patterns, env patterns */
#define MAX_COMMAND 4096 /* command patterns */
#define MAX_ENV_VALUE (128 * 1024)

/* ---- rules ----------------------------------------------------------------- */

static size_t rules_hash(const char *s)
{
	size_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The index slot of @value (hash @h): where it is, or the empty slot where it would go. */
static size_t rules_slot(const struct hutch_rules *r, const char *value, size_t h)
{
	size_t mask = r->idx_cap - 1, i = h & mask;

	while (r->idx[i] &&
	       (r->v[r->idx[i] - 1].hash != h || strcmp(r->v[r->idx[i] - 1].value, value) != 0))
		i = (i + 1) & mask;
	return i;
}

/* The index rebuilt for @cap slots (after a removal, or to grow it). */
static int rules_reindex(struct hutch_rules *r, size_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(r->idx);
	if (!r->idx_cap) /* entries of a list built by hand have no hash yet */
		for (size_t i = 0; i < r->n; i++)
			r->v[i].hash = rules_hash(r->v[i].value);
	r->idx = idx;
	r->idx_cap = cap;
	for (size_t i = 0; i < r->n; i++)
		r->idx[rules_slot(r, r->v[i].value, r->v[i].hash)] = (uint32_t)(i + 1);
	return 0;
}

const struct hutch_rule *hutch_rules_find(const struct hutch_rules *r, const char *value)
{
	size_t i;

	if (!r || !value)
		return NULL;
	if (!r->idx_cap) { /* a list built by hand, without hutch_rules_add() */
		for (i = 0; i < r->n; i++)
			if (strcmp(r->v[i].value, value) == 0)
				return &r->v[i];
		return NULL;
	}
	i = rules_slot(r, value, rules_hash(value));
	return r->idx[i] ? &r->v[r->idx[i] - 1] : NULL;
}

bool hutch_rules_contains(const struct hutch_rules *r, const char *value)
{
	return hutch_rules_find(r, value) != NULL;
}

int hutch_rules_add(struct hutch_rules *r, const char *value, const char *origin, bool locked)
{
	char *v, *o = NULL;

	if (!r || !value)
		return -EINVAL;
	v = strdup(value);
	if (!v || (origin && !(o = strdup(origin)))) {
		free(v);
		return -ENOMEM;
	}
	return hutch_rules_add_take(r, v, o, locked);
}

/*
 * hutch_rules_add_take(), the rule that holds @value now (added, or there before) in @at;
 * on failure @value and @origin are still the caller's.
 */
static int rules_put(struct hutch_rules *r, char *value, char *origin, bool locked,
		     struct hutch_rule **at)
{
	struct hutch_rule *dup = NULL;
	size_t h, slot = 0;

	if (!r || !value)
		return -EINVAL;
	h = rules_hash(value);
	if (r->idx_cap) {
		slot = rules_slot(r, value, h);
		dup = r->idx[slot] ? &r->v[r->idx[slot] - 1] : NULL;
	} else {
		dup = (struct hutch_rule *)hutch_rules_find(r, value);
	}
	if (dup) {
		if (locked && !dup->locked && origin) {
			free(dup->origin);
			dup->origin = TAKE_PTR(origin);
		}
		if (locked)
			dup->locked = true;
		free(value);
		free(origin);
		if (at)
			*at = dup;
		return 0;
	}
	if (r->n >= HUTCH_MAX_RULES)
		return -E2BIG;
	if (2 * (r->n + 1) > r->idx_cap) {
		int e = rules_reindex(r, r->idx_cap ? 2 * r->idx_cap : 32);
		if (e < 0)
			return e;
		slot = rules_slot(r, value, h);
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct hutch_rule *nv;

		if (cap > HUTCH_MAX_RULES)
			cap = HUTCH_MAX_RULES;
		nv = realloc(r->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] =
		(struct hutch_rule){.value = value, .origin = origin, .locked = locked, .hash = h};
	r->idx[slot] = (uint32_t)r->n;
	if (at)
		*at = &r->v[r->n - 1];
	return 0;
}

int hutch_rules_add_take(struct hutch_rules *r, char *value, char *origin, bool locked)
{
	int ret = rules_put(r, value, origin, locked, NULL);

	if (ret < 0) {
		free(value);
		free(origin);
	}
	return ret;
}

int hutch_rules_remove(struct hutch_rules *r, const char *value)
{
	for (size_t i = 0; r && value && i < r->n; i++) {
		if (strcmp(r->v[i].value, value) != 0)
			continue;
		if (r->v[i].locked)
			return -EPERM;
		free(r->v[i].value);
		free(r->v[i].origin);
		memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(r->v[0]));
		r->n--;
		/* positions moved: the index anew (removals are rare, a user's "-" entries) */
		return rules_reindex(r, r->idx_cap);
	}
	return -ENOENT;
}

void hutch_rules_clear(struct hutch_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].value);
		free(r->v[i].origin);
	}
	free(r->v);
	free(r->idx);
	*r = (struct hutch_rules){0};
}

/* ---- strict parsers ---------------------------------------------------------- */

/* Parse leading decimal digits of @s (at least one) into @out; returns the count or -errno. */
static int parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		unsigned d = (unsigned)(s[n] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		n++;
		if (n > 20)
			return -ERANGE;
	}
	if (n == 0)
		return -EINVAL;
	*out = v;
	return n;
}

int hutch_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int n;

	if (!s)
		return -EINVAL;
	n = parse_digits(s, &v);
	if (n < 0)
		return n;
	if (s[n] != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int hutch_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	int n;

	if (!s)
		return -EINVAL;
	n = parse_digits(s, &v);
	if (n < 0)
		return n;
	switch (s[n]) {
	case '\0':
		break;
	case 'K':
	case 'k':
		mult = 1ull << 10;
		break;
	case 'M':
	case 'm':
		mult = 1ull << 20;
		break;
	case 'G':
	case 'g':
		mult = 1ull << 30;
		break;
	case 'T':
	case 't':
		mult = 1ull << 40;
		break;
	default:
		return -EINVAL;
	}
	if (s[n] != '\0' && s[n + 1] != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

/*
 * Durations: one or more <digits><unit> with unit ms, s, m, h or d ("30s",
 * "10m", "1h30m", "1500ms"). A bare number is refused: "30" could mean
 * seconds or milliseconds, and a limit must not be guessed.
 */
int hutch_parse_duration(const char *s, uint64_t *ms)
{
	uint64_t total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		uint64_t v, mult;
		int n = parse_digits(s, &v);

		if (n < 0)
			return n;
		s += n;
		if (s[0] == 'm' && s[1] == 's') {
			mult = 1;
			s += 2;
		} else if (s[0] == 's') {
			mult = 1000;
			s++;
		} else if (s[0] == 'm') {
			mult = 60 * 1000;
			s++;
		} else if (s[0] == 'h') {
			mult = 3600 * 1000;
			s++;
		} else if (s[0] == 'd') {
			mult = 24ull * 3600 * 1000;
			s++;
		} else {
			return -EINVAL;
		}
		if (v > UINT64_MAX / mult || total > UINT64_MAX - v * mult)
			return -ERANGE;
		total += v * mult;
	}
	*ms = total;
	return 0;
}

/* CPUs: "2", "0.5", "1.25" (at most three decimals), stored in thousandths. */
int hutch_parse_cpus(const char *s, uint64_t *milli)
{
	uint64_t whole, frac = 0;
	int n;

	if (!s)
		return -EINVAL;
	n = parse_digits(s, &whole);
	if (n < 0)
		return n;
	s += n;
	if (*s == '.') {
		uint64_t scale = 100;

		s++;
		if (!(*s >= '0' && *s <= '9'))
			return -EINVAL;
		while (*s >= '0' && *s <= '9') {
			if (scale == 0)
				return -EINVAL; /* more precision than we keep */
			frac += (uint64_t)(*s - '0') * scale;
			scale /= 10;
			s++;
		}
	}
	if (*s != '\0')
		return -EINVAL;
	if (whole > 1000000) /* a million CPUs: certainly a typo */
		return -ERANGE;
	*milli = whole * 1000 + frac;
	return 0;
}

/* ---- names --------------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} layer_names[] = {
	{"userns", HUTCH_LAYER_USERNS},
	{"landlock", HUTCH_LAYER_LANDLOCK},
	{"seccomp", HUTCH_LAYER_SECCOMP},
};

unsigned hutch_layer_from_name(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(layer_names); i++)
		if (strcmp(layer_names[i].name, name) == 0)
			return layer_names[i].bit;
	return 0;
}

const char *hutch_layer_name(unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(layer_names); i++)
		if (layer_names[i].bit == bit)
			return layer_names[i].name;
	return NULL;
}

static const char *const net_mode_names[] = {
	[HUTCH_NET_NONE] = "none",
	[HUTCH_NET_PROXY] = "proxy",
	[HUTCH_NET_HOST] = "host",
};

const char *hutch_net_mode_name(enum hutch_net_mode m)
{
	if ((unsigned)m < ARRAY_SIZE(net_mode_names))
		return net_mode_names[m];
	return "?";
}

/* Describe a layer bitmask as "userns, landlock" into @buf. */
static const char *layers_str(unsigned bits, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(layer_names); i++) {
		if (!(bits & layer_names[i].bit))
			continue;
		int w = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", layer_names[i].name);

		if (w < 0 || (size_t)w >= size - o)
			break;
		o += (size_t)w;
	}
	return buf;
}

/* ---- the policy object ------------------------------------------------------------ */

hutch_policy *hutch_policy_new(void)
{
	struct hutch_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->net_mode = HUTCH_NET_NONE;
	p->net_mode_max = HUTCH_NET_HOST;
	p->net_transparent = true;
	return p;
}

void hutch_policy_free(hutch_policy *p)
{
	if (!p)
		return;
	free(p->workspace);
	free(p->profile);
	free(p->audit_file);
	hutch_rules_clear(&p->fs_readonly);
	hutch_rules_clear(&p->fs_writable);
	hutch_rules_clear(&p->fs_hidden);
	hutch_rules_clear(&p->fs_protected);
	hutch_rules_clear(&p->fs_sockets);
	hutch_rules_clear(&p->fs_private);
	hutch_rules_clear(&p->net_allow);
	hutch_rules_clear(&p->net_deny);
	hutch_rules_clear(&p->net_host_ports);
	hutch_rules_clear(&p->cmd_allow);
	hutch_rules_clear(&p->cmd_deny);
	hutch_rules_clear(&p->env_pass);
	hutch_rules_clear(&p->env_drop);
	hutch_rules_clear(&p->env_set);
	hutch_rules_clear(&p->ignored);
	for (size_t i = 0; i < _HUTCH_KEY_MAX; i++) {
		free(p->key_origin[i]);
		free(p->key_lock_origin[i]);
	}
	free(p->require_origin);
	free(p->net_allow_lock_origin);
	free(p);
}

struct hutch_rules *hutch_policy_rules(struct hutch_policy *p, enum hutch_list list)
{
	switch (list) {
	case HUTCH_LIST_READONLY:
		return &p->fs_readonly;
	case HUTCH_LIST_WRITABLE:
		return &p->fs_writable;
	case HUTCH_LIST_HIDDEN:
		return &p->fs_hidden;
	case HUTCH_LIST_PROTECTED:
		return &p->fs_protected;
	case HUTCH_LIST_SOCKETS:
		return &p->fs_sockets;
	case HUTCH_LIST_PRIVATE:
		return &p->fs_private;
	case HUTCH_LIST_NET_ALLOW:
		return &p->net_allow;
	case HUTCH_LIST_NET_DENY:
		return &p->net_deny;
	case HUTCH_LIST_NET_HOST_PORTS:
		return &p->net_host_ports;
	case HUTCH_LIST_CMD_ALLOW:
		return &p->cmd_allow;
	case HUTCH_LIST_CMD_DENY:
		return &p->cmd_deny;
	case HUTCH_LIST_ENV_PASS:
		return &p->env_pass;
	case HUTCH_LIST_ENV_DROP:
		return &p->env_drop;
	case HUTCH_LIST_ENV_SET:
		return &p->env_set;
	case HUTCH_LIST_REQUIRE:
	case _HUTCH_LIST_MAX:
		break;
	}
	return NULL;
}

static const char *org(const char *origin)
{
	return origin && *origin ? origin : "policy";
}

static int set_str(char **slot, const char *value)
{
	char *v = NULL;

	if (value) {
		v = strdup(value);
		if (!v)
			return -ENOMEM;
	}
	free(*slot);
	*slot = v;
	return 0;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return true;
	return false;
}

/* Quote @in for a message: escaped for display (base/escape.h), quotes too; bounded. */
static const char *esc(const char *in, char *buf, size_t size)
{
	return hutch_escape_str(in, buf, size, HUTCH_ESC_QUOTE);
}

const char *hutch_policy_esc(const char *in, char *buf, size_t size)
{
	return esc(in, buf, size);
}

/* For messages: quote a value with esc() in a buffer that lives until the end of the statement. */
#define ESC(v) esc((v), (char[96]){0}, 96)

static int check_path(const char *value, enum hutch_list list, const char *origin, hutch_error *err)
{
	size_t n = strlen(value);
	char e[96];

	if (n == 0)
		return hutch_errx(err, EINVAL, "%s: empty path", org(origin));
	if (n > HUTCH_PATH_MAX)
		return hutch_errx(err, ENAMETOOLONG, "%s: path longer than %d bytes", org(origin),
				  HUTCH_PATH_MAX);
	if (has_ctl(value))
		return hutch_errx(err, EINVAL,
				  "%s: path \"%s\" contains a control character (newline, tab...)",
				  org(origin), esc(value, e, sizeof(e)));
	if (list == HUTCH_LIST_PROTECTED && value[0] != '/' && value[0] != '~' && value[0] != '$') {
		_cleanup_free_ char *norm = NULL;

		if (hutch_path_has_dotdot(value))
			return hutch_errx(
				err, EINVAL,
				"%s: relative protected path \"%s\" must not contain \"..\"",
				org(origin), value);
		norm = hutch_path_normalize(value);
		if (!norm)
			return hutch_err(err, errno, "%s", org(origin));
		if (strcmp(norm, ".") == 0)
			return hutch_errx(err, EINVAL,
					  "%s: protected path \"%s\" names the workspace itself; "
					  "protect entries inside it",
					  org(origin), value);
	}
	return 0;
}

/* hutch_rules_add()'s or hutch_rules_add_take()'s result @ret as an error naming @origin */
static int rule_added(int ret, const char *origin, hutch_error *err)
{
	if (ret == -E2BIG)
		return hutch_errx(err, E2BIG, "%s: too many entries (at most %d)", org(origin),
				  HUTCH_MAX_RULES);
	if (ret < 0)
		return hutch_err(err, -ret, "%s", org(origin));
	return 0;
}

static int add_rule(struct hutch_rules *r, const char *value, const char *origin, bool locked,
		    hutch_error *err)
{
	return rule_added(hutch_rules_add(r, value, origin, locked), origin, err);
}

static int add_env_set(struct hutch_policy *p, const char *value, const char *origin,
		       hutch_error *err)
{
	const char *eq = strchr(value, '=');

	if (!eq)
		return hutch_errx(err, EINVAL, "%s: \"%s\" is not NAME=VALUE", org(origin),
				  ESC(value));
	if (!hutch_env_name_valid(value, (size_t)(eq - value))) {
		char name[65];
		size_t n = (size_t)(eq - value) < sizeof(name) - 1 ? (size_t)(eq - value)
								   : sizeof(name) - 1;

		memcpy(name, value, n);
		name[n] = '\0';
		return hutch_errx(err, EINVAL,
				  "%s: invalid variable name \"%s\" (expected letters, digits and "
				  "_, not starting with a digit)",
				  org(origin), ESC(name));
	}
	if (strlen(eq + 1) > MAX_ENV_VALUE)
		return hutch_errx(err, E2BIG, "%s: value of %.*s longer than %d bytes", org(origin),
				  (int)(eq - value), value, MAX_ENV_VALUE);
	/* A later NAME=VALUE replaces an earlier one for the same NAME. */
	for (size_t i = 0; i < p->env_set.n; i++) {
		const char *v = p->env_set.v[i].value;
		size_t nl = (size_t)(eq - value);

		if (strncmp(v, value, nl) == 0 && v[nl] == '=') {
			if (strcmp(v, value) == 0)
				return 0;
			hutch_rules_remove(&p->env_set, v);
			break;
		}
	}
	return add_rule(&p->env_set, value, origin, false, err);
}

/*
 * network.allow naming a port of the host's loopback (localhost:PORT,
 * 127.0.0.1:PORT, [::1]:PORT) without allowPrivate: the proxy refuses it, and
 * a client going straight to 127.0.0.1 (NO_PROXY) reaches the sandbox's own
 * loopback. Refused with what does reach the host's, a host port. With
 * allowPrivate a client that uses the proxy explicitly reaches it, so the
 * entry does something and is kept; without a port it names no service and
 * is left to the proxy, which refuses the connection and says why.
 */
static int check_not_loopback(const char *value, const char *origin, hutch_error *err)
{
	struct hutch_pattern pat;
	const char *why = NULL;
	char e[96];
	bool lo = false;
	int r;

	if (hutch_pattern_parse((const uint8_t *)value, strlen(value), &pat, &why) < 0 || !pat.port)
		return 0; /* the caller reports a bad pattern */
	if (pat.kind == HUTCH_PAT_ADDR)
		lo = hutch_addr_classify(&pat.addr, NULL, 0, NULL) == HUTCH_ADDR_LOOPBACK;
	else if (pat.kind == HUTCH_PAT_NAME || pat.kind == HUTCH_PAT_SUBDOMAINS)
		lo = strcmp(pat.name, "localhost") == 0 ||
		     (pat.name_len > 10 && strcmp(pat.name + pat.name_len - 10, ".localhost") == 0);
	if (!lo)
		return 0;
	r = hutch_errx(err, EINVAL,
		       "%s: \"%s\" is the host's loopback: use --host-port %u "
		       "(network.hostPorts in a policy file)",
		       org(origin), esc(value, e, sizeof(e)), (unsigned)pat.port);
	hutch_err_hint(err, "inside the sandbox 127.0.0.1 and localhost are the sandbox's own; "
			    "a host port relays one of them to the host's (see docs/network.md)");
	return r;
}

/* network.hostPorts, --host-port: a decimal port, stored as its canonical text. */
static int add_host_port(struct hutch_policy *p, const char *value, const char *origin,
			 hutch_error *err)
{
	char canon[8];
	uint64_t v;

	if (hutch_parse_uint(value, 65535, &v) < 0 || v == 0)
		return hutch_errx(err, EINVAL,
				  "%s: invalid host port \"%s\" (expected a port 1-65535)",
				  org(origin), ESC(value));
	if (p->net_host_ports.n >= HUTCH_MAX_HOST_PORTS &&
	    !hutch_rules_contains(&p->net_host_ports, value))
		return hutch_errx(err, E2BIG, "%s: more than %d host ports", org(origin),
				  HUTCH_MAX_HOST_PORTS);
	snprintf(canon, sizeof(canon), "%u", (unsigned)v);
	return add_rule(&p->net_host_ports, canon, origin, false, err);
}

int hutch_policy_add_ex(struct hutch_policy *p, enum hutch_list list, const char *value,
			const char *origin, bool system, hutch_error *err)
{
	struct hutch_rules *r;
	bool locked = false;
	const char *why = NULL;
	char e[96];

	if (!p || !value)
		return hutch_errx(err, EINVAL, "policy: missing value");
	if (p->finalized)
		return hutch_errx(err, EBUSY, "%s: the policy is already finalized", org(origin));

	switch (list) {
	case HUTCH_LIST_READONLY:
	case HUTCH_LIST_WRITABLE:
	case HUTCH_LIST_SOCKETS:
	case HUTCH_LIST_HIDDEN:
	case HUTCH_LIST_PROTECTED:
	case HUTCH_LIST_PRIVATE: {
		int ret = check_path(value, list, origin, err);

		if (ret < 0)
			return ret;
		locked = system && (list == HUTCH_LIST_HIDDEN || list == HUTCH_LIST_PROTECTED ||
				    list == HUTCH_LIST_PRIVATE);
		break;
	}
	case HUTCH_LIST_NET_ALLOW:
	case HUTCH_LIST_NET_DENY:
		if (!*value)
			return hutch_errx(err, EINVAL, "%s: empty host pattern", org(origin));
		if (strlen(value) > MAX_PATTERN)
			return hutch_errx(err, E2BIG, "%s: host pattern longer than %d bytes",
					  org(origin), MAX_PATTERN);
		if (has_space_or_ctl(value))
			return hutch_errx(err, EINVAL,
					  "%s: host pattern \"%s\" contains a space, control or "
					  "non-ASCII character",
					  org(origin), esc(value, e, sizeof(e)));
		/* The proxy's own parser: what is accepted here is what it will enforce. */
		if (hutch_host_pattern_validate(value, &why) < 0)
			return hutch_errx(err, EINVAL, "%s: network.%s \"%s\": %s", org(origin),
					  list == HUTCH_LIST_NET_DENY ? "deny" : "allow",
					  esc(value, e, sizeof(e)),
					  why ? why : "invalid host pattern");
		if (list == HUTCH_LIST_NET_DENY) {
			locked = system;
			break;
		}
		if (system) {
			locked = true;
			if (!p->net_allow_locked) {
				p->net_allow_locked = true;
				if (set_str(&p->net_allow_lock_origin, origin) < 0)
					return hutch_err(err, ENOMEM, "policy");
			}
		} else if (p->net_allow_locked && !hutch_rules_contains(&p->net_allow, value)) {
			return hutch_errx(
				err, EPERM,
				"%s: cannot allow \"%s\": the system policy (%s) fixes the "
				"network allowlist",
				org(origin), value, org(p->net_allow_lock_origin));
		}
		break;
	case HUTCH_LIST_CMD_ALLOW:
	case HUTCH_LIST_CMD_DENY:
		if (!*value)
			return hutch_errx(err, EINVAL, "%s: empty command pattern", org(origin));
		if (strlen(value) > MAX_COMMAND)
			return hutch_errx(err, E2BIG, "%s: command pattern longer than %d bytes",
					  org(origin), MAX_COMMAND);
		if (has_ctl(value))
			return hutch_errx(err, EINVAL,
					  "%s: command pattern contains a control character",
					  org(origin));
		locked = system && list == HUTCH_LIST_CMD_DENY;
		break;
	case HUTCH_LIST_ENV_PASS:
	case HUTCH_LIST_ENV_DROP:
		if (!*value)
			return hutch_errx(err, EINVAL, "%s: empty variable pattern", org(origin));
		if (strlen(value) > MAX_PATTERN || has_space_or_ctl(value) || strchr(value, '='))
			return hutch_errx(err, EINVAL,
					  "%s: invalid variable pattern \"%s\" (a name or a glob "
					  "like AWS_*)",
					  org(origin), esc(value, e, sizeof(e)));
		locked = system && list == HUTCH_LIST_ENV_DROP;
		break;
	case HUTCH_LIST_ENV_SET:
		return add_env_set(p, value, origin, err);
	case HUTCH_LIST_NET_HOST_PORTS:
		return add_host_port(p, value, origin, err);
	case HUTCH_LIST_REQUIRE: {
		unsigned bit = hutch_layer_from_name(value);

		if (!bit)
			return hutch_errx(err, EINVAL,
					  "%s: unknown layer \"%s\" (expected one of: userns, "
					  "landlock, seccomp)",
					  org(origin), ESC(value));
		return hutch_policy_set_require(p, p->require | bit, origin, system, err);
	}
	case _HUTCH_LIST_MAX:
	default:
		return hutch_errx(err, EINVAL, "%s: unknown list %d", org(origin), (int)list);
	}
	r = hutch_policy_rules(p, list);
	return add_rule(r, value, origin, locked, err);
}

int hutch_policy_add(hutch_policy *p, enum hutch_list list, const char *value, const char *origin,
		     hutch_error *err)
{
	return hutch_policy_add_ex(p, list, value, origin, false, err);
}

int hutch_policy_set_require(struct hutch_policy *p, unsigned layers, const char *origin,
			     bool system, hutch_error *err)
{
	char buf[64];

	if (p->finalized)
		return hutch_errx(err, EBUSY, "%s: the policy is already finalized", org(origin));
	if (p->require_locked & ~layers)
		return hutch_errx(err, EPERM,
				  "%s: cannot drop the required layers %s: the system policy (%s) "
				  "requires them",
				  org(origin),
				  layers_str(p->require_locked & ~layers, buf, sizeof(buf)),
				  org(p->require_origin));
	p->require = layers;
	if (system && layers) {
		p->require_locked |= layers;
		if (set_str(&p->require_origin, origin) < 0)
			return hutch_err(err, ENOMEM, "policy");
	}
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "true") == 0)
		*out = true;
	else if (strcmp(s, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* Limits: where each lives and how it is parsed. A table, not code. */
enum limit_kind { LIMIT_SIZE, LIMIT_COUNT, LIMIT_CPUS, LIMIT_DURATION };

static const struct limit_def {
	enum hutch_key key;
	const char *name;
	enum limit_kind kind;
	size_t offset;
	const char *expect;
} limit_defs[] = {
	{HUTCH_KEY_MEMORY, "memory", LIMIT_SIZE, offsetof(struct hutch_limits, memory),
	 "a size like 512M or 4G"},
	{HUTCH_KEY_PIDS, "pids", LIMIT_COUNT, offsetof(struct hutch_limits, pids),
	 "a number of processes"},
	{HUTCH_KEY_CPUS, "cpus", LIMIT_CPUS, offsetof(struct hutch_limits, cpus_milli),
	 "a number of CPUs like 2 or 0.5"},
	{HUTCH_KEY_TIMEOUT, "timeout", LIMIT_DURATION, offsetof(struct hutch_limits, timeout_ms),
	 "a duration like 30s, 10m or 2h"},
	{HUTCH_KEY_FILE_SIZE, "fileSize", LIMIT_SIZE, offsetof(struct hutch_limits, file_size),
	 "a size like 512M or 4G"},
	{HUTCH_KEY_OPEN_FILES, "openFiles", LIMIT_COUNT, offsetof(struct hutch_limits, open_files),
	 "a number of files"},
};

static const struct limit_def *limit_def(enum hutch_key key)
{
	for (size_t i = 0; i < ARRAY_SIZE(limit_defs); i++)
		if (limit_defs[i].key == key)
			return &limit_defs[i];
	return NULL;
}

static int set_limit(struct hutch_policy *p, const struct limit_def *d, const char *value,
		     const char *origin, bool system, hutch_error *err)
{
	uint64_t v = 0, *cur, *max;
	int r = -EINVAL;

	switch (d->kind) {
	case LIMIT_SIZE:
		r = hutch_parse_size(value, &v);
		break;
	case LIMIT_COUNT:
		r = hutch_parse_uint(value, UINT32_MAX, &v);
		break;
	case LIMIT_CPUS:
		r = hutch_parse_cpus(value, &v);
		break;
	case LIMIT_DURATION:
		r = hutch_parse_duration(value, &v);
		break;
	}
	if (r == -ERANGE)
		return hutch_errx(err, ERANGE, "%s: %s \"%s\" is too large", org(origin), d->name,
				  ESC(value));
	if (r < 0)
		return hutch_errx(err, EINVAL, "%s: invalid %s \"%s\" (expected %s)", org(origin),
				  d->name, ESC(value), d->expect);
	if (v == 0)
		return hutch_errx(err, EINVAL, "%s: %s must be greater than zero", org(origin),
				  d->name);
	cur = (uint64_t *)((char *)&p->limits + d->offset);
	max = (uint64_t *)((char *)&p->limits_max + d->offset);
	if (*max && v > *max)
		return hutch_errx(err, EPERM,
				  "%s: %s \"%s\" exceeds the ceiling set by the system policy (%s)",
				  org(origin), d->name, value, org(p->key_lock_origin[d->key]));
	*cur = v;
	if (system) {
		*max = v;
		if (set_str(&p->key_lock_origin[d->key], origin) < 0)
			return hutch_err(err, ENOMEM, "policy");
	}
	return 0;
}

static int set_port(uint16_t *slot, const char *name, const char *value, const char *origin,
		    hutch_error *err)
{
	uint64_t v;

	if (hutch_parse_uint(value, 65535, &v) < 0 || v == 0)
		return hutch_errx(err, EINVAL, "%s: invalid %s \"%s\" (expected a port 1-65535)",
				  org(origin), name, ESC(value));
	*slot = (uint16_t)v;
	return 0;
}

int hutch_policy_set_ex(struct hutch_policy *p, enum hutch_key key, const char *value,
			const char *origin, bool system, hutch_error *err)
{
	const struct limit_def *ld;
	char buf[64];
	bool b;
	int r;

	if (!p || !value)
		return hutch_errx(err, EINVAL, "policy: missing value");
	if (p->finalized)
		return hutch_errx(err, EBUSY, "%s: the policy is already finalized", org(origin));
	if ((unsigned)key >= _HUTCH_KEY_MAX)
		return hutch_errx(err, EINVAL, "%s: unknown setting %d", org(origin), (int)key);

	ld = limit_def(key);
	if (ld) {
		r = set_limit(p, ld, value, origin, system, err);
		goto done;
	}

	switch (key) {
	case HUTCH_KEY_WORKSPACE:
		r = check_path(value, HUTCH_LIST_WRITABLE, origin, err);
		if (r < 0)
			return r;
		r = set_str(&p->workspace, value);
		break;
	case HUTCH_KEY_NET_MODE: {
		enum hutch_net_mode m;

		if (strcmp(value, "none") == 0)
			m = HUTCH_NET_NONE;
		else if (strcmp(value, "proxy") == 0)
			m = HUTCH_NET_PROXY;
		else if (strcmp(value, "host") == 0)
			m = HUTCH_NET_HOST;
		else
			return hutch_errx(err, EINVAL,
					  "%s: invalid network mode \"%s\" (expected one of: "
					  "none, proxy, host)",
					  org(origin), ESC(value));
		if (m > p->net_mode_max)
			return hutch_errx(
				err, EPERM,
				"%s: network mode \"%s\" is not allowed: the system policy "
				"(%s) allows at most \"%s\"",
				org(origin), value, org(p->key_lock_origin[key]),
				hutch_net_mode_name(p->net_mode_max));
		p->net_mode = m;
		if (system) {
			p->net_mode_max = m;
			if (set_str(&p->key_lock_origin[key], origin) < 0)
				return hutch_err(err, ENOMEM, "policy");
		}
		r = 0;
		break;
	}
	case HUTCH_KEY_ALLOW_PRIVATE:
		if (parse_bool(value, &b) < 0)
			return hutch_errx(
				err, EINVAL,
				"%s: invalid allowPrivate \"%s\" (expected true or false)",
				org(origin), ESC(value));
		if (b && p->allow_private_locked_off)
			return hutch_errx(
				err, EPERM,
				"%s: cannot allow private addresses: the system policy (%s) "
				"forbids them",
				org(origin), org(p->key_lock_origin[key]));
		p->allow_private = b;
		if (system && !b) {
			p->allow_private_locked_off = true;
			if (set_str(&p->key_lock_origin[key], origin) < 0)
				return hutch_err(err, ENOMEM, "policy");
		}
		r = 0;
		break;
	case HUTCH_KEY_NET_TRANSPARENT:
		/* the same allowlist either way; a system policy's false stays false */
		if (parse_bool(value, &b) < 0)
			return hutch_errx(
				err, EINVAL,
				"%s: invalid network.transparent \"%s\" (expected true or false)",
				org(origin), ESC(value));
		if (b && p->net_transparent_locked_off)
			return hutch_errx(
				err, EPERM,
				"%s: cannot turn transparent egress on: the system policy "
				"(%s) turns it off",
				org(origin), org(p->key_lock_origin[key]));
		p->net_transparent = b;
		p->net_transparent_asked = b;
		if (system && !b) {
			p->net_transparent_locked_off = true;
			if (set_str(&p->key_lock_origin[key], origin) < 0)
				return hutch_err(err, ENOMEM, "policy");
		}
		r = 0;
		break;
	case HUTCH_KEY_AUDIT_FILE:
		r = check_path(value, HUTCH_LIST_WRITABLE, origin, err);
		if (r < 0)
			return r;
		if (p->key_lock_origin[key] && !system &&
		    (!p->audit_file || strcmp(p->audit_file, value) != 0))
			return hutch_errx(
				err, EPERM,
				"%s: cannot change the audit file: the system policy (%s) "
				"sets it",
				org(origin), org(p->key_lock_origin[key]));
		r = set_str(&p->audit_file, value);
		if (r == 0 && system)
			r = set_str(&p->key_lock_origin[key], origin);
		break;
	case HUTCH_KEY_ALLOW_DEGRADED:
		if (parse_bool(value, &b) < 0)
			return hutch_errx(err, EINVAL,
					  "%s: invalid allow-degraded \"%s\" (expected true or "
					  "false)",
					  org(origin), ESC(value));
		if (b && p->require_locked)
			return hutch_errx(
				err, EPERM,
				"%s: cannot run degraded: the system policy (%s) requires "
				"%s",
				org(origin), org(p->require_origin),
				layers_str(p->require_locked, buf, sizeof(buf)));
		p->allow_degraded = b;
		r = 0;
		break;
	case HUTCH_KEY_HTTP_PORT:
		r = set_port(&p->http_port, "httpPort", value, origin, err);
		if (r < 0)
			return r;
		break;
	case HUTCH_KEY_SOCKS_PORT:
		r = set_port(&p->socks_port, "socksPort", value, origin, err);
		if (r < 0)
			return r;
		break;
	case HUTCH_KEY_ALLOW_DANGEROUS_WORKSPACE:
		if (parse_bool(value, &b) < 0)
			return hutch_errx(err, EINVAL,
					  "%s: invalid allow-dangerous-workspace \"%s\" (expected "
					  "true or false)",
					  org(origin), ESC(value));
		p->allow_dangerous_workspace = b;
		r = 0;
		break;
	case HUTCH_KEY_AUDIT_MAX_SIZE: {
		uint64_t v = 0;

		/* at least a few events (start, end): a smaller bound could hold nothing */
		if (hutch_parse_size(value, &v) < 0 || v < 65536)
			return hutch_errx(err, EINVAL,
					  "%s: invalid audit maxSize \"%s\" (expected a size of at "
					  "least 64K, like 256M)",
					  org(origin), ESC(value));
		/* the system policy's bound is a ceiling */
		if (p->key_lock_origin[key] && !system && v > p->audit_max_size)
			return hutch_errx(err, EPERM,
					  "%s: audit maxSize \"%s\" is above the system policy's "
					  "bound (%s)",
					  org(origin), ESC(value), org(p->key_lock_origin[key]));
		p->audit_max_size = v;
		r = system ? set_str(&p->key_lock_origin[key], origin) : 0;
		break;
	}
	default:
		return hutch_errx(err, EINVAL, "%s: unknown setting %d", org(origin), (int)key);
	}
	if (r == -ENOMEM)
		return hutch_err(err, ENOMEM, "policy");
done:
	if (r < 0)
		return r;
	if (set_str(&p->key_origin[key], origin) < 0)
		return hutch_err(err, ENOMEM, "policy");
	return 0;
}

int hutch_policy_set(hutch_policy *p, enum hutch_key key, const char *value, const char *origin,
		     hutch_error *err)
{
	return hutch_policy_set_ex(p, key, value, origin, false, err);
}

/* ---- finalize ------------------------------------------------------------------------ */

/* Expand one path; relative results are made absolute against @base unless @base is NULL. */
static int expand_one(const char *value, const char *origin, const char *home, const char *base,
		      char **out, hutch_error *err)
{
	_cleanup_free_ char *x = NULL, *j = NULL;
	char bad[128];

	x = hutch_path_expand_vars(value, home, bad, sizeof(bad));
	if (!x) {
		if (errno == EINVAL && bad[0] == '~')
			return hutch_errx(
				err, EINVAL,
				"%s: path \"%s\": \"%s\" is not supported (use ~/ or $HOME)",
				org(origin), value, bad);
		if (errno == EINVAL && bad[0] == '$')
			return hutch_errx(err, EINVAL,
					  "%s: path \"%s\": malformed variable reference \"%s\"",
					  org(origin), value, bad);
		if (errno == EINVAL && bad[0])
			return hutch_errx(err, EINVAL, "%s: path \"%s\": undefined variable $%s",
					  org(origin), value, bad);
		if (errno == EINVAL)
			return hutch_errx(err, EINVAL, "%s: path \"%s\" expands to an empty string",
					  org(origin), value);
		return hutch_err(err, errno, "%s: path \"%s\"", org(origin), value);
	}
	if (has_ctl(x))
		return hutch_errx(err, EINVAL,
				  "%s: path \"%s\" expands to one with a control character",
				  org(origin), value);
	if (x[0] != '/' && base) {
		j = hutch_path_join(base, x);
		if (!j)
			return hutch_err(err, errno, "%s", org(origin));
		*out = hutch_path_normalize(j);
	} else {
		if (x[0] != '/' && hutch_path_has_dotdot(x))
			return hutch_errx(err, EINVAL,
					  "%s: relative path \"%s\" must not contain \"..\"",
					  org(origin), value);
		*out = hutch_path_normalize(x);
	}
	if (!*out)
		return hutch_err(err, errno, "%s: path \"%s\"", org(origin), value);
	return 0;
}

/* Rebuild @r with every value expanded; duplicates that appear are merged. */

/*
 * realpath(3) in three system calls whatever the depth (an O_PATH descriptor
 * and the kernel's name for it); realpath() itself where /proc is missing.
 * Two when no symbolic link is on the way (openat2 refusing every link).
 * NULL when @path does not exist. (The hidden list holds some 60 paths.)
 */
static char *real_path(const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	char buf[PATH_MAX];
	int n, fd;

	/*
	 * First without following any symbolic link: the usual case (no link on
	 * the way), where the path (absolute, normalized) is its own real path,
	 * in two system calls; a missing path is missing either way.
	 */
	if (path[0] == '/') {
		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
		if (fd >= 0) {
			close(fd);
			return strdup(path);
		}
		if (errno == ENOENT || errno == ENOTDIR)
			return NULL;
	}
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = hutch_fd_path(fd, buf, sizeof(buf));
	close(fd);
	/* no /proc, or not a plain path (" (deleted)", another mount namespace) */
	if (n <= 0 || buf[0] != '/')
		return realpath(path, NULL);
	return strdup(buf);
}

/*
 * Private paths: the directory's parent by its real path (what the mount
 * plan sorts and mounts by, as for writable paths), the last component as
 * written: a symbolic link there is not followed but refused by the mount
 * plan (sandbox/mount.c), since the sandbox could replace a link with a
 * directory of the host's.
 */
static int expand_private(struct hutch_rules *r, const char *home, const char *base,
			  hutch_error *err)
{
	struct hutch_rules out = {0};
	int ret = 0;

	for (size_t i = 0; i < r->n && ret >= 0; i++) {
		_cleanup_free_ char *x = NULL, *dir = NULL, *real = NULL, *joined = NULL;
		const char *slash;

		ret = expand_one(r->v[i].value, r->v[i].origin, home, base, &x, err);
		if (ret < 0)
			break;
		slash = strrchr(x, '/');
		if (!strcmp(x, "/") || !slash)
			ret = hutch_errx(err, EINVAL,
					 "%s: private path %s: not a directory hutch "
					 "can mount over",
					 org(r->v[i].origin), ESC(x));
		if (ret < 0)
			break;
		dir = strndup(x, (size_t)(slash - x));
		if (!dir) {
			ret = hutch_err(err, ENOMEM, "%s", org(r->v[i].origin));
			break;
		}
		real = real_path(dir[0] ? dir : "/");
		if (real) {
			joined = hutch_path_join(real, slash + 1);
			if (!joined) {
				ret = hutch_err(err, ENOMEM, "%s", org(r->v[i].origin));
				break;
			}
		}
		ret = add_rule(&out, joined ? joined : x, r->v[i].origin, r->v[i].locked, err);
	}
	if (ret < 0) {
		hutch_rules_clear(&out);
		return ret;
	}
	hutch_rules_clear(r);
	*r = out;
	return 0;
}

/*
 * Which hidden paths are there. Most of the ~60 lie in a few directories
 * ($HOME, ~/.config): those are listed once and their names looked up in
 * the listing; a name found there (or a path elsewhere) is resolved as before.
 */
#define LISTED_MIN 8 /* entries in one directory worth listing it */

enum listing_state {
	LISTING_UNREAD,
	LISTING_READ,
	LISTING_UNREADABLE, /* look each name up */
	LISTING_ABSENT,	    /* the directory itself is not there */
};

struct listing {
	char *dir;
	enum listing_state state;
	struct hutch_dirnames names;
};

struct listings {
	struct listing *v;
	size_t n;
};

static void listings_free(struct listings *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].dir);
		hutch_dirnames_free(&l->v[i].names);
	}
	free(l->v);
}

/* A path's parent directory, as a length into it (0: none worth listing). */
struct parent_ref {
	const char *path;
	size_t len, index;
};

static int parent_ref_cmp(const void *a, const void *b)
{
	const struct parent_ref *x = a, *y = b;
	int c = memcmp(x->path, y->path, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int parent_ref_index_cmp(const void *a, const void *b)
{
	const struct parent_ref *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The directories holding at least LISTED_MIN of @paths (n of them), in the
 * order of their first path: the paths sorted by parent, each run counted
 * (the hidden list holds ~115 paths: comparing each with every other was
 * half of the policy's finalize).
 */
static void listings_plan(struct listings *l, char **paths, size_t n)
{
	_cleanup_free_ struct parent_ref *refs = calloc(n + 1, sizeof(*refs));
	size_t m = 0, groups = 0;

	l->v = calloc(n + 1, sizeof(*l->v));
	l->n = 0;
	if (!refs || !l->v)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *slash = paths[i] ? strrchr(paths[i], '/') : NULL;

		if (slash && slash != paths[i])
			refs[m++] = (struct parent_ref){paths[i], (size_t)(slash - paths[i]), i};
	}
	qsort(refs, m, sizeof(*refs), parent_ref_cmp);
	for (size_t i = 0, j; i < m; i = j) {
		for (j = i + 1; j < m && refs[j].len == refs[i].len &&
				!memcmp(refs[j].path, refs[i].path, refs[i].len);
		     j++)
			;
		if (j - i >= LISTED_MIN)
			refs[groups++] = refs[i]; /* the group's first path: the lowest index */
	}
	qsort(refs, groups, sizeof(*refs), parent_ref_index_cmp);
	for (size_t g = 0; g < groups; g++) {
		l->v[l->n].dir = strndup(refs[g].path, refs[g].len);
		if (l->v[l->n].dir)
			l->n++;
	}
}

/*
 * False only when @path is certainly not there: a listed directory above it
 * lacks the component that leads to it (~/.gemini/x: ".gemini" not in $HOME).
 */
static bool may_exist(struct listings *l, const char *path)
{
	for (size_t k = 0; k < l->n; k++) {
		struct listing *li = &l->v[k];
		size_t dl = strlen(li->dir);
		char name[NAME_MAX + 1];
		const char *c, *end;

		if (strncmp(li->dir, path, dl) || path[dl] != '/')
			continue;
		c = path + dl + 1;
		end = strchrnul(c, '/');
		if ((size_t)(end - c) > NAME_MAX)
			continue;
		memcpy(name, c, (size_t)(end - c));
		name[end - c] = '\0';
		if (li->state == LISTING_UNREAD && !may_exist(l, li->dir))
			li->state = LISTING_ABSENT; /* a listing above lacks it */
		else if (li->state == LISTING_UNREAD)
			li->state = hutch_dirnames_read(AT_FDCWD, li->dir, &li->names) == 0
					    ? LISTING_READ
					    : LISTING_UNREADABLE;
		if (li->state == LISTING_ABSENT ||
		    (li->state == LISTING_READ && !hutch_dirnames_has(&li->names, name)))
			return false;
	}
	return true;
}

static int expand_rules(struct hutch_rules *r, const char *home, const char *base, bool hidden,
			bool resolve, hutch_error *err)
{
	struct hutch_rules out = {0};
	struct listings lists = {NULL, 0};
	char **x = calloc(r->n + 1, sizeof(char *));
	int ret = x ? 0 : -ENOMEM;

	for (size_t i = 0; i < r->n && ret >= 0; i++) {
		ret = expand_one(r->v[i].value, r->v[i].origin, home, base, &x[i], err);
		/*
		 * resolve: a path named through a symbolic link is the directory or file
		 * it leads to (what is mounted, checked and shown); one that does not
		 * exist stays as written.
		 */
		if (ret >= 0 && resolve) {
			char *real = real_path(x[i]);

			if (real) {
				free(x[i]);
				x[i] = real;
			}
		}
	}
	if (ret >= 0 && hidden)
		listings_plan(&lists, x, r->n);
	for (size_t i = 0; i < r->n && ret >= 0; i++) {
		struct hutch_rule *ru = &r->v[i], *added = NULL;
		_cleanup_free_ char *real = NULL, *real_origin = NULL;

		/*
		 * A hidden path that is a symlink (or lies under one) must also
		 * hide its target, or the secret stays readable by its real name.
		 */
		if (hidden)
			real = may_exist(&lists, x[i]) ? real_path(x[i]) : NULL;
		if (real && strcmp(real, x[i]) != 0 && ru->origin &&
		    !(real_origin = strdup(ru->origin))) {
			ret = hutch_err(err, ENOMEM, "%s", org(ru->origin));
			break;
		}
		/* the expanded value and the origin move into the new list (@r goes) */
		ret = rules_put(&out, x[i], ru->origin, ru->locked, &added);
		if (ret < 0) {
			ret = rule_added(ret, ru->origin, err);
			break;
		}
		x[i] = NULL;
		ru->origin = NULL;
		if (!real) {
			/* The mount plan skips it: no second lookup in the sandbox's start-up. */
			if (hidden)
				added->absent = true;
			continue;
		}
		if (strcmp(real, added->value) == 0)
			continue;
		ret = rules_put(&out, real, real_origin, ru->locked, NULL);
		if (ret < 0)
			ret = rule_added(ret, real_origin, err);
		else
			real = real_origin = NULL;
	}
	for (size_t i = 0; x && i < r->n; i++)
		free(x[i]);
	free(x);
	listings_free(&lists);
	if (ret < 0) {
		hutch_rules_clear(&out);
		return ret;
	}
	hutch_rules_clear(r);
	*r = out;
	return 0;
}

/*
 * Directories that are never writable as a whole, as the workspace or a
 * writable entry: a sandbox that could write them would change the host for
 * every later process. A subtree entry refuses everything beneath it too: it
 * is the operating system itself (/usr/local/bin is on the host's PATH,
 * /etc/systemd starts services, /boot boots). The others refuse only the
 * directory itself: beneath them lie data and projects a user may pick
 * (/var/lib/<app>, /srv/www, /opt/<tool>, /home/<other>, /tmp/<scratch>).
 * $HOME itself and every directory above it are refused too (see
 * dangerous_dir()): shell start-up files, ~/.gitconfig, ~/.config/autostart
 * and ~/.local/bin are persistence outside the sandbox.
 * --allow-dangerous-workspace (HUTCH_KEY_ALLOW_DANGEROUS_WORKSPACE) overrides.
 */
static const struct {
	const char *path;
	bool subtree;
} system_dirs[] = {
	{"/bin", true},	     {"/boot", true},	    {"/dev", true},	  {"/etc", true},
	{"/lib", true},	     {"/lib32", true},	    {"/lib64", true},	  {"/libx32", true},
	{"/proc", true},     {"/sbin", true},	    {"/sys", true},	  {"/usr", true},
	{"/home", false},    {"/media", false},	    {"/mnt", false},	  {"/opt", false},
	{"/root", false},    {"/run", false},	    {"/srv", false},	  {"/tmp", false},
	{"/var", false},     {"/var/lib", false},   {"/var/tmp", false},  {"/var/cache", false},
	{"/var/log", false}, {"/var/spool", false}, {"/var/mail", false},
};

/* Why the canonical directory @real must not be writable as a whole, or NULL. */
static const char *dangerous_dir(const char *real, const char *home, char *buf, size_t size)
{
	if (strcmp(real, "/") == 0)
		return "is the root directory";
	if (home && strcmp(real, home) == 0)
		return "is the home directory";
	if (home && hutch_path_has_prefix(home, real)) {
		snprintf(buf, size, "contains the home directory %s", home);
		return buf;
	}
	for (size_t i = 0; i < ARRAY_SIZE(system_dirs); i++) {
		const char *d = system_dirs[i].path;

		if (strcmp(real, d) == 0)
			return "is a system directory";
		if (system_dirs[i].subtree && hutch_path_has_prefix(real, d)) {
			snprintf(buf, size, "lies in the system directory %s", d);
			return buf;
		}
	}
	return NULL;
}

#define DANGEROUS_HINT                                                                             \
	"use a project directory (a directory of its own under your home, or -C DIR); "            \
	"--allow-dangerous-workspace overrides this check"

/* The workspace (canonical) and every writable entry: none may be a dangerous directory. */
static int check_dangerous(const struct hutch_policy *p, const char *home_canon, bool workspace,
			   hutch_error *err)
{
	char buf[PATH_MAX + 64];
	const char *why;
	int r;

	if (p->allow_dangerous_workspace)
		return 0;
	if (workspace && (why = dangerous_dir(p->workspace, home_canon, buf, sizeof(buf)))) {
		r = hutch_errx(err, EPERM, "workspace %s %s: refusing to make it writable",
			       p->workspace, why);
		hutch_err_hint(err, DANGEROUS_HINT);
		return r;
	}
	for (size_t i = 0; i < p->fs_writable.n; i++) {
		const struct hutch_rule *w = &p->fs_writable.v[i];
		_cleanup_free_ char *real = real_path(w->value);
		const char *shown = real ? real : w->value;

		why = dangerous_dir(shown, home_canon, buf, sizeof(buf));
		if (!why)
			continue;
		r = hutch_errx(err, EPERM, "%s: writable path %s %s: refusing to make it writable",
			       org(w->origin), shown, why);
		hutch_err_hint(err, DANGEROUS_HINT);
		return r;
	}
	return 0;
}

/*
 * Settings that would silently do nothing. Host networking has no proxy: it
 * cannot apply an allowlist or a denylist, so it is refused rather than
 * leaving them unenforced.
 */
static int check_host_ports(const struct hutch_policy *p, hutch_error *err)
{
	unsigned hport = p->http_port ? p->http_port : HUTCH_PROXY_DEFAULT_HTTP_PORT;
	unsigned sport = p->socks_port ? p->socks_port : HUTCH_PROXY_DEFAULT_SOCKS_PORT;
	const struct hutch_rule *ru;
	int r;

	if (!p->net_host_ports.n)
		return 0;
	ru = &p->net_host_ports.v[0];
	if (p->net_mode == HUTCH_NET_HOST) {
		r = hutch_errx(err, EINVAL,
			       "%s: host port %s with network mode \"host\" (%s): host "
			       "networking reaches the host's loopback already",
			       org(ru->origin), ru->value, org(p->key_origin[HUTCH_KEY_NET_MODE]));
		hutch_err_hint(err, "use --net proxy or --net none with --host-port, or "
				    "--net host without it");
		return r;
	}
	if (p->net_mode != HUTCH_NET_PROXY)
		return 0;
	for (size_t i = 0; i < p->net_host_ports.n; i++) {
		unsigned port = (unsigned)strtoul(p->net_host_ports.v[i].value, NULL, 10);

		ru = &p->net_host_ports.v[i];
		if (port != hport && port != sport)
			continue;
		r = hutch_errx(err, EADDRINUSE,
			       "%s: host port %u is the port of hutch's own %s proxy inside "
			       "the sandbox",
			       org(ru->origin), port, port == hport ? "HTTP" : "SOCKS5");
		hutch_err_hint(err, "move the proxy with network.%s in a policy file",
			       port == hport ? "httpPort" : "socksPort");
		return r;
	}
	return 0;
}

static int check_network(const struct hutch_policy *p, hutch_error *err)
{
	const struct hutch_rules *lists[] = {&p->net_allow, &p->net_deny};
	int r;

	r = check_host_ports(p, err);
	if (r >= 0 && p->net_mode == HUTCH_NET_PROXY)
		r = hutch_proxy_env_check(p, err);
	for (size_t i = 0;
	     r >= 0 && !p->allow_private && p->net_mode != HUTCH_NET_HOST && i < p->net_allow.n;
	     i++)
		if (!p->net_allow.v[i].locked)
			r = check_not_loopback(p->net_allow.v[i].value, p->net_allow.v[i].origin,
					       err);
	if (r < 0 || p->net_mode != HUTCH_NET_HOST)
		return r;
	for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
		const struct hutch_rule *ru;

		if (!lists[k]->n)
			continue;
		ru = &lists[k]->v[0];
		r = hutch_errx(err, EINVAL,
			       "%s: network mode \"host\" cannot filter destinations, but %s %s "
			       "\"%s\"%s",
			       org(p->key_origin[HUTCH_KEY_NET_MODE]), org(ru->origin),
			       k ? "denies" : "allows", ESC(ru->value),
			       lists[k]->n > 1 ? " (and more)" : "");
		hutch_err_hint(err,
			       "use --net proxy to apply the %s, or a profile and policy "
			       "without one for --net host",
			       k ? "denylist" : "allowlist");
		return r;
	}
	return 0;
}

static const char *const exposed_names[] = {"read-only", "writable", "socket"};

/*
 * A private path is a directory of the sandbox's own: never the workspace,
 * and not also exposed or hidden (at the same path the host's would be
 * mounted over it or it over them, by the mount plan's order, not the
 * policy's intent).
 */
static int check_private(struct hutch_policy *p, bool check_workspace, hutch_error *err)
{
	const struct hutch_rules *others[] = {&p->fs_readonly, &p->fs_writable, &p->fs_sockets,
					      &p->fs_hidden};
	static const char *const names[] = {"read-only", "writable", "socket", "hidden"};

	for (size_t i = 0; i < p->fs_private.n; i++) {
		const struct hutch_rule *pr = &p->fs_private.v[i];

		for (size_t k = 0; k < ARRAY_SIZE(others); k++) {
			const struct hutch_rule *o = hutch_rules_find(others[k], pr->value);

			if (o)
				return hutch_errx(err, EINVAL, "%s: %s is both private and %s (%s)",
						  org(pr->origin), pr->value, names[k],
						  org(o->origin));
		}
		if (check_workspace && hutch_path_has_prefix(p->workspace, pr->value))
			return hutch_errx(err, EINVAL,
					  "%s: private path %s is or contains the workspace %s",
					  org(pr->origin), pr->value, p->workspace);
	}
	return 0;
}

static int check_conflicts(struct hutch_policy *p, const char *home_canon, bool check_workspace,
			   hutch_error *err)
{
	const struct hutch_rules *exposed[] = {&p->fs_readonly, &p->fs_writable, &p->fs_sockets};
	int r = check_private(p, check_workspace, err);

	if (r < 0)
		return r;

	for (size_t h = 0; h < p->fs_hidden.n; h++) {
		const struct hutch_rule *hr = &p->fs_hidden.v[h];

		for (size_t k = 0; k < ARRAY_SIZE(exposed); k++) {
			for (size_t i = 0; i < exposed[k]->n; i++) {
				const struct hutch_rule *e = &exposed[k]->v[i];

				if (strcmp(e->value, hr->value) == 0)
					return hutch_errx(err, EINVAL,
							  "%s: %s is both %s and hidden (%s)",
							  org(e->origin), e->value,
							  exposed_names[k], org(hr->origin));
				if (hr->locked && hutch_path_has_prefix(e->value, hr->value))
					return hutch_errx(err, EPERM,
							  "%s: %s path %s lies inside %s, which "
							  "the system policy (%s) hides",
							  org(e->origin), exposed_names[k],
							  e->value, hr->value, org(hr->origin));
			}
		}
		if (!check_workspace)
			continue;
		if (strcmp(p->workspace, hr->value) == 0)
			return hutch_errx(err, EINVAL, "workspace %s is hidden by the policy (%s)",
					  p->workspace, org(hr->origin));
		/* Hiding $HOME or above it means "everything but the workspace" (strict). */
		if (hr->locked && hutch_path_has_prefix(p->workspace, hr->value) &&
		    !(home_canon && hutch_path_has_prefix(home_canon, hr->value)))
			return hutch_errx(err, EPERM,
					  "workspace %s lies inside %s, which the system policy "
					  "(%s) hides",
					  p->workspace, hr->value, org(hr->origin));
	}
	return 0;
}

/*
 * Finalize; @check_workspace false (hutch policy validate) leaves out the checks
 * that are about the directory hutch runs in rather than the policy.
 */
static int finalize(hutch_policy *p, const char *home, bool check_workspace, hutch_error *err)
{
	_cleanup_free_ char *cwd = NULL, *ws = NULL, *ws_abs = NULL, *ws_real = NULL;
	_cleanup_free_ char *home_canon = NULL, *audit = NULL;
	const char *ws_origin;
	struct stat st;
	char buf[64];
	int r;

	if (!p)
		return hutch_errx(err, EINVAL, "policy: none given");
	if (p->finalized)
		return hutch_errx(err, EALREADY, "policy: already finalized");
	if (!home || !*home)
		home = getenv("HOME");
	if (home && !*home)
		home = NULL;
	if (home && home[0] != '/')
		return hutch_errx(err, EINVAL, "home directory \"%s\" is not an absolute path",
				  home);

	cwd = getcwd(NULL, 0);
	if (!cwd)
		return hutch_err(err, errno, "cannot get the current directory");

	/* The workspace: must exist and be a directory (check_dangerous() says where not). */
	ws_origin = p->key_origin[HUTCH_KEY_WORKSPACE];
	r = expand_one(p->workspace ? p->workspace : cwd, ws_origin ? ws_origin : "workspace", home,
		       cwd, &ws_abs, err);
	if (r < 0)
		return r;
	ws_real = realpath(ws_abs, NULL);
	if (!ws_real)
		return hutch_err(err, errno, "workspace %s", ws_abs);
	if (stat(ws_real, &st) < 0)
		return hutch_err(err, errno, "workspace %s", ws_real);
	if (!S_ISDIR(st.st_mode))
		return hutch_errx(err, ENOTDIR, "workspace %s: not a directory", ws_real);
	if (home) {
		home_canon = realpath(home, NULL);
		if (!home_canon)
			home_canon = hutch_path_normalize(home);
		if (!home_canon)
			return hutch_err(err, errno, "home directory %s", home);
	}
	free(p->workspace);
	p->workspace = TAKE_PTR(ws_real);

	/*
	 * hutch's own configuration (the user policy and the trust store) and the
	 * system policy must never be writable from inside, whatever the policy
	 * says: a sandbox that could edit them would loosen the next session.
	 */
	{
		_cleanup_free_ char *conf = hutch_config_dir(home);

		r = add_rule(&p->fs_protected, "/etc/hutch", "built-in", true, err);
		if (r >= 0 && conf)
			r = add_rule(&p->fs_protected, conf, "built-in", true, err);
		if (r < 0)
			return r;
	}

	/* writable and read-only paths: their real path, like the workspace's */
	r = expand_rules(&p->fs_readonly, home, p->workspace, false, true, err);
	if (r >= 0)
		r = expand_rules(&p->fs_writable, home, p->workspace, false, true, err);
	if (r >= 0) /* hidden: the path and, when a symlink leads elsewhere, its target */
		r = expand_rules(&p->fs_hidden, home, p->workspace, true, false, err);
	if (r >= 0)
		r = expand_rules(&p->fs_sockets, home, p->workspace, false, false, err);
	if (r >= 0)
		r = expand_rules(&p->fs_protected, home, NULL, false, false, err);
	if (r >= 0)
		r = expand_private(&p->fs_private, home, p->workspace, err);
	if (r < 0)
		return r;

	if (p->audit_file && strcmp(p->audit_file, "-") != 0 &&
	    strcmp(p->audit_file, "syslog") != 0) {
		/* A relative --audit FILE is where the user ran hutch, like any file argument. */
		r = expand_one(p->audit_file, p->key_origin[HUTCH_KEY_AUDIT_FILE], home, cwd,
			       &audit, err);
		if (r < 0)
			return r;
		free(p->audit_file);
		p->audit_file = TAKE_PTR(audit);
	}

	r = check_dangerous(p, home_canon, check_workspace, err);
	if (r >= 0)
		r = check_conflicts(p, home_canon, check_workspace, err);
	if (r >= 0)
		r = check_network(p, err);
	if (r < 0)
		return r;
	if (p->allow_degraded && p->require_locked)
		return hutch_errx(
			err, EPERM, "cannot run degraded: the system policy (%s) requires %s",
			org(p->require_origin), layers_str(p->require_locked, buf, sizeof(buf)));
	p->finalized = true;
	return 0;
}

int hutch_policy_finalize(hutch_policy *p, const char *home, hutch_error *err)
{
	return finalize(p, home, true, err);
}

int hutch_policy_finalize_check(struct hutch_policy *p, const char *home, hutch_error *err)
{
	return finalize(p, home, false, err);
}

/* ---- JSON output ---------------------------------------------------------------------- */

static json_t *rules_json(const struct hutch_rules *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n; i++)
		json_array_append_new(a, json_string(r->v[i].value));
	return a;
}

static json_t *size_json(uint64_t v)
{
	static const char units[] = "TGMK";
	char buf[32];

	for (int i = 0; i < 4; i++) {
		uint64_t m = 1ull << (10 * (4 - i));

		if (v % m == 0) {
			snprintf(buf, sizeof(buf), "%llu%c", (unsigned long long)(v / m), units[i]);
			return json_string(buf);
		}
	}
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

static json_t *duration_json(uint64_t ms)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} units[] = {{24ull * 3600000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (ms % units[i].ms == 0) {
			snprintf(buf, sizeof(buf), "%llu%s", (unsigned long long)(ms / units[i].ms),
				 units[i].unit);
			return json_string(buf);
		}
	}
	snprintf(buf, sizeof(buf), "%llums", (unsigned long long)ms);
	return json_string(buf);
}

static json_t *cpus_json(uint64_t milli)
{
	if (milli % 1000 == 0)
		return json_integer((json_int_t)(milli / 1000));
	return json_real((double)milli / 1000.0);
}

static json_t *policy_json(const struct hutch_policy *p)
{
	json_t *o = json_object(), *fs, *net, *cmd, *env, *set, *lim, *req, *audit;

	if (!o)
		return NULL;
	if (p->workspace)
		json_object_set_new(o, "workspace", json_string(p->workspace));
	if (p->profile)
		json_object_set_new(o, "extends", json_string(p->profile));

	req = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(layer_names); i++)
		if (p->require & layer_names[i].bit)
			json_array_append_new(req, json_string(layer_names[i].name));
	json_object_set_new(o, "require", req);
	json_object_set_new(o, "allowDegraded", json_boolean(p->allow_degraded));

	fs = json_object();
	json_object_set_new(fs, "readOnly", rules_json(&p->fs_readonly));
	json_object_set_new(fs, "writable", rules_json(&p->fs_writable));
	json_object_set_new(fs, "hidden", rules_json(&p->fs_hidden));
	json_object_set_new(fs, "protected", rules_json(&p->fs_protected));
	json_object_set_new(fs, "sockets", rules_json(&p->fs_sockets));
	json_object_set_new(fs, "private", rules_json(&p->fs_private));
	json_object_set_new(o, "filesystem", fs);

	net = json_object();
	json_object_set_new(net, "mode", json_string(hutch_net_mode_name(p->net_mode)));
	json_object_set_new(net, "allow", rules_json(&p->net_allow));
	json_object_set_new(net, "deny", rules_json(&p->net_deny));
	json_object_set_new(net, "allowPrivate", json_boolean(p->allow_private));
	json_object_set_new(net, "transparent", json_boolean(p->net_transparent));
	if (p->http_port)
		json_object_set_new(net, "httpPort", json_integer(p->http_port));
	if (p->socks_port)
		json_object_set_new(net, "socksPort", json_integer(p->socks_port));
	if (p->net_host_ports.n) {
		json_t *hp = json_array();

		for (size_t i = 0; i < p->net_host_ports.n; i++)
			json_array_append_new(
				hp, json_integer(strtol(p->net_host_ports.v[i].value, NULL, 10)));
		json_object_set_new(net, "hostPorts", hp);
	}
	json_object_set_new(o, "network", net);

	cmd = json_object();
	json_object_set_new(cmd, "allow", rules_json(&p->cmd_allow));
	json_object_set_new(cmd, "deny", rules_json(&p->cmd_deny));
	json_object_set_new(o, "commands", cmd);

	env = json_object();
	json_object_set_new(env, "pass", rules_json(&p->env_pass));
	json_object_set_new(env, "drop", rules_json(&p->env_drop));
	set = json_object();
	for (size_t i = 0; set && i < p->env_set.n; i++) {
		const char *v = p->env_set.v[i].value, *eq = strchr(v, '=');
		char name[256];
		size_t n = eq ? (size_t)(eq - v) : 0;

		if (!eq || n >= sizeof(name))
			continue;
		memcpy(name, v, n);
		name[n] = '\0';
		json_object_set_new(set, name, json_string(eq + 1));
	}
	json_object_set_new(env, "set", set);
	json_object_set_new(o, "env", env);

	lim = json_object();
	if (p->limits.memory)
		json_object_set_new(lim, "memory", size_json(p->limits.memory));
	if (p->limits.pids)
		json_object_set_new(lim, "pids", json_integer((json_int_t)p->limits.pids));
	if (p->limits.cpus_milli)
		json_object_set_new(lim, "cpus", cpus_json(p->limits.cpus_milli));
	if (p->limits.timeout_ms)
		json_object_set_new(lim, "timeout", duration_json(p->limits.timeout_ms));
	if (p->limits.file_size)
		json_object_set_new(lim, "fileSize", size_json(p->limits.file_size));
	if (p->limits.open_files)
		json_object_set_new(lim, "openFiles",
				    json_integer((json_int_t)p->limits.open_files));
	json_object_set_new(o, "limits", lim);

	audit = json_object();
	if (p->audit_file)
		json_object_set_new(audit, "file", json_string(p->audit_file));
	if (p->audit_max_size)
		json_object_set_new(audit, "maxSize", size_json(p->audit_max_size));
	json_object_set_new(o, "audit", audit);
	return o;
}

char *hutch_policy_to_json(const hutch_policy *p)
{
	json_t *o;
	char *s;

	if (!p)
		return NULL;
	o = policy_json(p);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	return s;
}

void hutch_policy_digest(const hutch_policy *p, char out[65])
{
	json_t *o = p ? policy_json(p) : NULL;
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6)) : NULL;

	if (s)
		hutch_sha256_hex(s, strlen(s), out);
	else
		memset(out, '0', 64), out[64] = '\0';
	free(s);
	json_decref(o);
}
