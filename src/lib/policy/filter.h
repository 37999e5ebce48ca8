/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Destination filtering for the egress proxy: host canonicalisation, IP
 * literals in every notation, host patterns, special address classes and
 * the allow/deny decision (docs/network.md).
 *
 * Everything here except hutch_filter_new()/hutch_filter_refresh_local() is a
 * pure function over (const uint8_t *, size_t) or over already parsed values:
 * no allocation, no I/O, hard maxima.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hutch.h"

struct hutch_policy;

#define HUTCH_HOST_MAX 253	   /* bytes in a canonical name, without a trailing dot */
#define HUTCH_LABEL_MAX 63	   /* bytes in one label */
#define HUTCH_HOST_INPUT_MAX 300   /* longest raw host text looked at */
#define HUTCH_ADDR_STRLEN 46	   /* INET6_ADDRSTRLEN */
#define HUTCH_FILTER_MAX_LOCAL 256 /* host addresses remembered from getifaddrs */

/* An IP address, network byte order; IPv4 uses b[0..3]. */
struct hutch_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t b[16];
};

enum hutch_host_kind {
	HUTCH_HOST_NAME = 1, /* a validated, canonical DNS name */
	HUTCH_HOST_ADDR = 2, /* an IP literal (IPv4-mapped IPv6 normalised to IPv4) */
};

struct hutch_host {
	enum hutch_host_kind kind;
	struct hutch_addr addr;	       /* HUTCH_HOST_ADDR only */
	char name[HUTCH_HOST_MAX + 1]; /* canonical name, or the address as standard text */
};

/*
 * Parse a host: a name, or an IP literal in any notation (dotted, decimal
 * 2130706433, octal 0177.0.0.1, hex 0x7f.1, short 127.1, IPv6 bare or in
 * brackets, IPv4-mapped IPv6). A name whose last label is numeric is always
 * parsed as IPv4 and rejected if that fails, so a literal can never be taken
 * for a name. Names are lower-cased, one trailing dot is removed. Returns 0
 * or -EINVAL with a static reason in *why (may be NULL).
 */
int hutch_host_parse(const uint8_t *s, size_t len, struct hutch_host *out, const char **why);

/* A decimal port 1..65535 (at most 5 digits, nothing else). 0 or -EINVAL. */
int hutch_port_parse(const uint8_t *s, size_t len, uint16_t *port);

/*
 * host[:port] or [IPv6][:port]. Without a port *port = default_port; when
 * default_port is 0 the port is required. 0 or -EINVAL with *why.
 */
int hutch_authority_parse(const uint8_t *s, size_t len, uint16_t default_port,
			  struct hutch_host *host, uint16_t *port, const char **why);

/* An IP literal in any notation, brackets allowed for IPv6. 0 or -EINVAL. */
int hutch_addr_parse(const uint8_t *s, size_t len, struct hutch_addr *out);
/* Turn ::ffff:a.b.c.d into a.b.c.d; other addresses are left alone. */
void hutch_addr_normalize(struct hutch_addr *a);
void hutch_addr_format(const struct hutch_addr *a, char out[HUTCH_ADDR_STRLEN]);
bool hutch_addr_equal(const struct hutch_addr *a, const struct hutch_addr *b);
/* Does @a lie in @net/@prefix (same family)? */
bool hutch_addr_in(const struct hutch_addr *a, const struct hutch_addr *net, unsigned prefix);

enum hutch_addr_class {
	HUTCH_ADDR_PUBLIC = 0,
	HUTCH_ADDR_UNSPECIFIED,
	HUTCH_ADDR_THIS_NETWORK, /* 0.0.0.0/8 */
	HUTCH_ADDR_LOOPBACK,
	HUTCH_ADDR_PRIVATE,    /* RFC 1918, site-local, NAT64 local-use */
	HUTCH_ADDR_LINK_LOCAL, /* 169.254/16 (cloud metadata), fe80::/10 */
	HUTCH_ADDR_CGNAT,      /* 100.64/10 */
	HUTCH_ADDR_ULA,	       /* fc00::/7 */
	HUTCH_ADDR_MULTICAST,
	HUTCH_ADDR_BROADCAST,
	HUTCH_ADDR_BENCHMARK, /* 198.18/15 */
	HUTCH_ADDR_RESERVED,  /* documentation, 240/4, IETF, Teredo, IPv4-compatible, ... */
	HUTCH_ADDR_HOST_OWN,  /* one of this host's interface addresses */
};

const char *hutch_addr_class_name(enum hutch_addr_class c);

/*
 * Classify an address. Embedded IPv4 (mapped, NAT64 64:ff9b::/96, 6to4)
 * is classified as that IPv4 address. @local lists the host's own
 * addresses. *range_prefix (may be NULL) receives the prefix length of the
 * special range that matched (32/128 for an own address).
 */
enum hutch_addr_class hutch_addr_classify(const struct hutch_addr *a,
					  const struct hutch_addr *local, size_t n_local,
					  unsigned *range_prefix);

enum hutch_pattern_kind {
	HUTCH_PAT_NAME = 1,	  /* example.com: that name only */
	HUTCH_PAT_SUBDOMAINS = 2, /* *.example.com: strict subdomains, not example.com */
	HUTCH_PAT_ADDR = 3,	  /* 1.2.3.4, [::1], 10.0.0.0/8, fc00::/7 */
};

struct hutch_pattern {
	enum hutch_pattern_kind kind;
	uint16_t port;		       /* 0 = any port */
	uint8_t prefix;		       /* HUTCH_PAT_ADDR: prefix length */
	struct hutch_addr addr;	       /* HUTCH_PAT_ADDR */
	char name[HUTCH_HOST_MAX + 1]; /* NAME: the name; SUBDOMAINS: the parent domain */
	size_t name_len;
};

/*
 * Parse a host pattern: name, *.name, IP, [IPv6], CIDR, each with an
 * optional :port (not on a CIDR). `*`, `*.com`, public suffixes such as
 * `*.co.uk`, wildcards anywhere but a leading `*.` label and wildcards over
 * IP addresses are rejected. 0 or -EINVAL with *why.
 */
int hutch_pattern_parse(const uint8_t *s, size_t len, struct hutch_pattern *out, const char **why);
/* The same for a C string, for the policy code. */
int hutch_host_pattern_validate(const char *pattern, const char **why);

bool hutch_pattern_match_host(const struct hutch_pattern *p, const struct hutch_host *h,
			      uint16_t port);
bool hutch_pattern_match_addr(const struct hutch_pattern *p, const struct hutch_addr *a,
			      uint16_t port);

/* ---- the compiled allow/deny filter --------------------------------------- */

struct hutch_filter_rule {
	struct hutch_pattern pat;
	const char *text;   /* the pattern as written */
	const char *origin; /* where it came from ("--allow", "/p.json:3:14", ...) */
};

/* A static description of a filter that needs no policy object (tests, fuzzing). */
struct hutch_filter_spec {
	const char *const *allow; /* patterns; NULL-terminated or counted */
	size_t n_allow;
	const char *const *deny;
	size_t n_deny;
	bool allow_private;
};

struct hutch_filter;

struct hutch_decision {
	bool allow;
	const char *rule;	   /* the pattern that decided, NULL when none did */
	const char *origin;	   /* where that rule came from, NULL when none */
	const char *reason;	   /* static text: why (denied) or how (allowed) */
	enum hutch_addr_class cls; /* for address decisions */
};

/* Compile the network rules of @p; reads the host's own addresses (getifaddrs). */
int hutch_filter_new(const struct hutch_policy *p, struct hutch_filter **out, hutch_error *err);
int hutch_filter_new_spec(const struct hutch_filter_spec *spec, struct hutch_filter **out,
			  hutch_error *err);
void hutch_filter_free(struct hutch_filter *f);
/* Re-read the host's own addresses. */
int hutch_filter_refresh_local(struct hutch_filter *f);
/* Replace the own-address list (tests). */
void hutch_filter_set_local(struct hutch_filter *f, const struct hutch_addr *a, size_t n);
size_t hutch_filter_n_allow(const struct hutch_filter *f);

/*
 * First stage, before any lookup: a name is allowed only by a name rule; an
 * IP literal only by an address rule, and if it is in a special class only
 * by allowPrivate or an address rule at least as narrow as that class.
 * Deny rules beat allow rules; an empty allowlist allows nothing.
 */
void hutch_filter_check_host(const struct hutch_filter *f, const struct hutch_host *h,
			     uint16_t port, struct hutch_decision *d);
/*
 * For the sandbox's resolver, which does not know the port yet: is the name
 * @h allowed for some port? A deny rule without a port refuses it; an allow
 * rule matching the name (with or without a port) allows it. The port is
 * checked again, with hutch_filter_check_host(), when a connection is made.
 */
void hutch_filter_check_name(const struct hutch_filter *f, const struct hutch_host *h,
			     struct hutch_decision *d);
/*
 * Second stage, for each address a name allowed by @name_decision resolved
 * to: address deny rules, then the special-class check.
 */
void hutch_filter_check_addr(const struct hutch_filter *f, const struct hutch_addr *a,
			     uint16_t port, const struct hutch_decision *name_decision,
			     struct hutch_decision *d);
