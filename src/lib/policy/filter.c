/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Destination filtering: see filter.h. Rules of thumb applied here:
 * - a host is either a canonical name or an address, never both: anything
 *   whose last label is numeric is an IPv4 literal or an error;
 * - comparisons are byte-exact on canonical text, by whole labels;
 * - special address ranges are a table, not code.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "policy/model.h"
#include "policy/filter.h"

#define WHY(msg)                                                                                   \
	({                                                                                         \
		if (why)                                                                           \
			*why = (msg);                                                              \
		-EINVAL;                                                                           \
	})

/* ---- characters ------------------------------------------------------------ */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static int hexval(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c - 'a' + 10;
}

/* The specific reason a byte may not appear in a host, or NULL if it may. */
static const char *bad_host_byte(uint8_t c)
{
	if (c == 0)
		return "NUL byte in host name";
	if (c < 0x20 || c == 0x7f)
		return "control character in host name";
	if (c >= 0x80)
		return "non-ASCII byte in host name (use the punycode xn-- form)";
	switch (c) {
	case ' ':
		return "space in host name";
	case '@':
		return "'@' in host name";
	case '%':
		return "'%' in host name (percent-encoding and IPv6 zone ids are refused)";
	case '/':
		return "'/' in host name";
	case '\\':
		return "'\\' in host name";
	default:
		break;
	}
	if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return NULL;
	if (c == '-' || c == '.' || c == '_' || c == ':')
		return NULL;
	return "invalid character in host name";
}

/* ---- addresses ---------------------------------------------------------------- */

bool hutch_addr_equal(const struct hutch_addr *a, const struct hutch_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && memcmp(a->b, b->b, n) == 0;
}

bool hutch_addr_in(const struct hutch_addr *a, const struct hutch_addr *net, unsigned prefix)
{
	unsigned bits = a->family == AF_INET ? 32 : 128;
	unsigned full, rest;

	if (a->family != net->family || prefix > bits)
		return false;
	full = prefix / 8;
	rest = prefix % 8;
	if (memcmp(a->b, net->b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a->b[full] & mask) != (net->b[full] & mask))
			return false;
	}
	return true;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void hutch_addr_normalize(struct hutch_addr *a)
{
	if (a->family == AF_INET6 && memcmp(a->b, v4mapped_prefix, 12) == 0) {
		uint8_t v4[4];

		memcpy(v4, a->b + 12, 4);
		memset(a->b, 0, sizeof(a->b));
		memcpy(a->b, v4, 4);
		a->family = AF_INET;
	}
}

void hutch_addr_format(const struct hutch_addr *a, char out[HUTCH_ADDR_STRLEN])
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->b, out, HUTCH_ADDR_STRLEN))
		out[0] = '\0';
}

/* One IPv4 part: decimal, 0-prefixed octal or 0x-prefixed hex (WHATWG/inet_aton). */
static int v4_part(const uint8_t *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (len == 0)
		return -EINVAL;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		s++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (base == 16 && is_hex(s[i]))
			d = (unsigned)hexval(s[i]);
		else if (base == 8 && s[i] >= '0' && s[i] <= '7')
			d = s[i] - '0';
		else if (base == 10 && is_digit(s[i]))
			d = s[i] - '0';
		else
			return -EINVAL;
		v = v * base + d;
		if (v > 0xffffffffu)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Does this label look like a number (so the host must be an IPv4 literal)? */
static bool label_is_numeric(const uint8_t *s, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return false;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < len; i++)
			if (!is_hex(s[i]))
				return false;
		return true;
	}
	for (; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

static int v4_parse(const uint8_t *s, size_t len, struct hutch_addr *out)
{
	uint64_t parts[4];
	size_t n = 0, start = 0;
	uint64_t v;

	if (len == 0 || len > 64)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (n == 4)
			return -EINVAL;
		if (v4_part(s + start, i - start, &parts[n]) < 0)
			return -EINVAL;
		n++;
		start = i + 1;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (parts[i] > 255)
			return -EINVAL;
	if (parts[n - 1] >= (1ull << (8 * (5 - n))))
		return -EINVAL;
	v = parts[n - 1];
	for (size_t i = 0; i + 1 < n; i++)
		v += parts[i] << (8 * (3 - i));
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->b[0] = (uint8_t)(v >> 24);
	out->b[1] = (uint8_t)(v >> 16);
	out->b[2] = (uint8_t)(v >> 8);
	out->b[3] = (uint8_t)v;
	return 0;
}

static int v6_parse(const uint8_t *s, size_t len, struct hutch_addr *out)
{
	char buf[HUTCH_ADDR_STRLEN + 1];

	if (len == 0 || len > HUTCH_ADDR_STRLEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!is_hex(s[i]) && s[i] != ':' && s[i] != '.')
			return -EINVAL; /* zone ids (%eth0), spaces, NUL ... */
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET6, buf, out->b) != 1)
		return -EINVAL;
	out->family = AF_INET6;
	hutch_addr_normalize(out);
	return 0;
}

int hutch_addr_parse(const uint8_t *s, size_t len, struct hutch_addr *out)
{
	if (len >= 2 && s[0] == '[') {
		if (s[len - 1] != ']')
			return -EINVAL;
		return v6_parse(s + 1, len - 2, out);
	}
	if (memchr(s, ':', len))
		return v6_parse(s, len, out);
	/* one trailing dot is canonicalised away, as for names */
	if (len > 1 && s[len - 1] == '.')
		len--;
	return v4_parse(s, len, out);
}

/* ---- special ranges (a table, most specific first within a family) ------------ */

struct special_range {
	uint8_t family;
	uint8_t prefix;
	uint8_t b[16];
	enum hutch_addr_class cls;
};

/* How IPv4 is embedded in some IPv6 ranges: the embedded address is what counts. */
enum embed { EMBED_NONE, EMBED_LAST32, EMBED_6TO4 };

static const struct special_range special_v4[] = {
	{AF_INET, 32, {0, 0, 0, 0}, HUTCH_ADDR_UNSPECIFIED},
	{AF_INET, 8, {0}, HUTCH_ADDR_THIS_NETWORK},
	{AF_INET, 8, {10}, HUTCH_ADDR_PRIVATE},
	{AF_INET, 10, {100, 64}, HUTCH_ADDR_CGNAT},
	{AF_INET, 8, {127}, HUTCH_ADDR_LOOPBACK},
	{AF_INET, 16, {169, 254}, HUTCH_ADDR_LINK_LOCAL},
	{AF_INET, 12, {172, 16}, HUTCH_ADDR_PRIVATE},
	{AF_INET, 24, {192, 0, 0}, HUTCH_ADDR_RESERVED},
	{AF_INET, 24, {192, 0, 2}, HUTCH_ADDR_RESERVED},
	{AF_INET, 24, {192, 88, 99}, HUTCH_ADDR_RESERVED},
	{AF_INET, 16, {192, 168}, HUTCH_ADDR_PRIVATE},
	{AF_INET, 15, {198, 18}, HUTCH_ADDR_BENCHMARK},
	{AF_INET, 24, {198, 51, 100}, HUTCH_ADDR_RESERVED},
	{AF_INET, 24, {203, 0, 113}, HUTCH_ADDR_RESERVED},
	{AF_INET, 4, {224}, HUTCH_ADDR_MULTICAST},
	{AF_INET, 32, {255, 255, 255, 255}, HUTCH_ADDR_BROADCAST},
	{AF_INET, 4, {240}, HUTCH_ADDR_RESERVED},
};

static const struct special_range special_v6[] = {
	{AF_INET6, 128, {0}, HUTCH_ADDR_UNSPECIFIED},
	{AF_INET6, 128, {[15] = 1}, HUTCH_ADDR_LOOPBACK},
	{AF_INET6, 96, {0}, HUTCH_ADDR_RESERVED}, /* IPv4-compatible, deprecated */
	{AF_INET6, 48, {0, 0x64, 0xff, 0x9b, 0, 1}, HUTCH_ADDR_PRIVATE}, /* NAT64 local use */
	{AF_INET6, 64, {1}, HUTCH_ADDR_RESERVED},			 /* 100::/64 discard */
	{AF_INET6, 32, {0x20, 0x01, 0x0d, 0xb8}, HUTCH_ADDR_RESERVED},	 /* documentation */
	{AF_INET6, 32, {0x20, 0x01, 0, 0}, HUTCH_ADDR_RESERVED},	 /* Teredo */
	{AF_INET6, 23, {0x20, 0x01, 0, 0}, HUTCH_ADDR_RESERVED}, /* IETF protocol assignments */
	{AF_INET6, 7, {0xfc}, HUTCH_ADDR_ULA},
	{AF_INET6, 10, {0xfe, 0x80}, HUTCH_ADDR_LINK_LOCAL},
	{AF_INET6, 10, {0xfe, 0xc0}, HUTCH_ADDR_PRIVATE}, /* site-local, deprecated */
	{AF_INET6, 8, {0xff}, HUTCH_ADDR_MULTICAST},
};

static const struct {
	uint8_t prefix;
	uint8_t b[16];
	enum embed how;
} embedded_v4[] = {
	{96, {0, 0x64, 0xff, 0x9b}, EMBED_LAST32},		  /* NAT64 well-known */
	{96, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, EMBED_LAST32}, /* SIIT ::ffff:0:a.b.c.d */
	{16, {0x20, 0x02}, EMBED_6TO4},				  /* 6to4 2002:AABB:CCDD:: */
};

const char *hutch_addr_class_name(enum hutch_addr_class c)
{
	static const char *const names[] = {
		[HUTCH_ADDR_PUBLIC] = "public",
		[HUTCH_ADDR_UNSPECIFIED] = "unspecified",
		[HUTCH_ADDR_THIS_NETWORK] = "this-network (0.0.0.0/8)",
		[HUTCH_ADDR_LOOPBACK] = "loopback",
		[HUTCH_ADDR_PRIVATE] = "private",
		[HUTCH_ADDR_LINK_LOCAL] = "link-local (cloud metadata)",
		[HUTCH_ADDR_CGNAT] = "shared/CGNAT (100.64.0.0/10)",
		[HUTCH_ADDR_ULA] = "unique local (fc00::/7)",
		[HUTCH_ADDR_MULTICAST] = "multicast",
		[HUTCH_ADDR_BROADCAST] = "broadcast",
		[HUTCH_ADDR_BENCHMARK] = "benchmarking (198.18.0.0/15)",
		[HUTCH_ADDR_RESERVED] = "reserved",
		[HUTCH_ADDR_HOST_OWN] = "this host's own address",
	};

	if ((size_t)c < ARRAY_SIZE(names) && names[c])
		return names[c];
	return "special";
}

static enum hutch_addr_class classify_table(const struct hutch_addr *a,
					    const struct special_range *t, size_t n,
					    unsigned *prefix)
{
	for (size_t i = 0; i < n; i++) {
		struct hutch_addr net = {.family = t[i].family};

		memcpy(net.b, t[i].b, sizeof(net.b));
		if (hutch_addr_in(a, &net, t[i].prefix)) {
			*prefix = t[i].prefix;
			return t[i].cls;
		}
	}
	return HUTCH_ADDR_PUBLIC;
}

enum hutch_addr_class hutch_addr_classify(const struct hutch_addr *addr,
					  const struct hutch_addr *local, size_t n_local,
					  unsigned *range_prefix)
{
	struct hutch_addr a = *addr;
	enum hutch_addr_class c;
	unsigned prefix = 0;

	hutch_addr_normalize(&a);
	if (a.family == AF_INET6) {
		for (size_t i = 0; i < ARRAY_SIZE(embedded_v4); i++) {
			struct hutch_addr net = {.family = AF_INET6};
			struct hutch_addr v4 = {.family = AF_INET};
			unsigned p = 0;

			memcpy(net.b, embedded_v4[i].b, 16);
			if (!hutch_addr_in(&a, &net, embedded_v4[i].prefix))
				continue;
			memcpy(v4.b, a.b + (embedded_v4[i].how == EMBED_6TO4 ? 2 : 12), 4);
			c = hutch_addr_classify(&v4, local, n_local, &p);
			if (c != HUTCH_ADDR_PUBLIC) {
				/* the IPv6 range that carries it, so only an explicit v6 rule
				 * allows it */
				if (range_prefix)
					*range_prefix = embedded_v4[i].prefix + p;
				return c;
			}
			break;
		}
		c = classify_table(&a, special_v6, ARRAY_SIZE(special_v6), &prefix);
	} else {
		c = classify_table(&a, special_v4, ARRAY_SIZE(special_v4), &prefix);
	}
	if (c == HUTCH_ADDR_PUBLIC) {
		for (size_t i = 0; i < n_local; i++) {
			struct hutch_addr l = local[i];

			hutch_addr_normalize(&l);
			if (hutch_addr_equal(&a, &l)) {
				c = HUTCH_ADDR_HOST_OWN;
				prefix = a.family == AF_INET ? 32 : 128;
				break;
			}
		}
	}
	if (range_prefix)
		*range_prefix = prefix;
	return c;
}

/* ---- hosts ---------------------------------------------------------------------- */

static int host_from_addr(const struct hutch_addr *a, struct hutch_host *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = HUTCH_HOST_ADDR;
	out->addr = *a;
	hutch_addr_normalize(&out->addr);
	hutch_addr_format(&out->addr, out->name);
	return out->name[0] ? 0 : -EINVAL;
}

/* Validate a canonical (lower-case, no trailing dot) name of @len bytes. */
static int name_check(const char *s, size_t len, const char **why)
{
	size_t start = 0;

	if (len == 0)
		return WHY("empty host name");
	if (len > HUTCH_HOST_MAX)
		return WHY("host name longer than 253 bytes");
	for (size_t i = 0; i <= len; i++) {
		size_t l;

		if (i < len && s[i] != '.') {
			if (s[i] == ':')
				return WHY("':' in host name");
			continue;
		}
		l = i - start;
		if (l == 0)
			return WHY("empty label in host name");
		if (l > HUTCH_LABEL_MAX)
			return WHY("label longer than 63 bytes in host name");
		if (s[start] == '-' || s[i - 1] == '-')
			return WHY("label starts or ends with '-' in host name");
		start = i + 1;
	}
	return 0;
}

int hutch_host_parse(const uint8_t *s, size_t len, struct hutch_host *out, const char **why)
{
	struct hutch_addr a;
	size_t last;
	int colons = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return WHY("empty host");
	if (len > HUTCH_HOST_INPUT_MAX)
		return WHY("host name too long");
	for (size_t i = 0; i < len; i++) {
		const char *bad;

		if (i == 0 && s[i] == '[')
			continue;
		if (i == len - 1 && s[i] == ']' && s[0] == '[')
			continue;
		bad = bad_host_byte(s[i]);
		if (bad)
			return WHY(bad);
		if (s[i] == ':')
			colons++;
	}
	if (s[0] == '[' || s[len - 1] == ']') {
		if (s[0] != '[' || s[len - 1] != ']' || len < 3)
			return WHY("unbalanced brackets in host");
		if (v6_parse(s + 1, len - 2, &a) < 0)
			return WHY("invalid IPv6 address in brackets");
		return host_from_addr(&a, out);
	}
	if (colons) {
		if (v6_parse(s, len, &a) < 0)
			return WHY("invalid IPv6 address");
		return host_from_addr(&a, out);
	}
	/* canonicalise: lower case, one trailing dot removed */
	if (len > 1 && s[len - 1] == '.')
		len--;
	if (len > HUTCH_HOST_MAX)
		return WHY("host name longer than 253 bytes");
	for (size_t i = 0; i < len; i++)
		out->name[i] = (char)lower(s[i]);
	out->name[len] = '\0';
	/* a numeric last label makes it an IPv4 literal, or nothing */
	last = len;
	while (last > 0 && out->name[last - 1] != '.')
		last--;
	if (label_is_numeric((const uint8_t *)out->name + last, len - last)) {
		if (v4_parse((const uint8_t *)out->name, len, &a) < 0) {
			memset(out, 0, sizeof(*out));
			return WHY(
				"invalid IPv4 address (a numeric last label makes it an address)");
		}
		return host_from_addr(&a, out);
	}
	if (name_check(out->name, len, why) < 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	out->kind = HUTCH_HOST_NAME;
	return 0;
}

int hutch_port_parse(const uint8_t *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/*
 * Split host[:port] / [v6][:port] / bare IPv6 (no port). *has_port tells
 * whether a port was written.
 */
static int split_port(const uint8_t *s, size_t len, bool bare_v6_ok, size_t *hlen, bool *has_port,
		      uint16_t *port, const char **why)
{
	const uint8_t *p = NULL;
	size_t plen = 0;

	*hlen = len;
	*has_port = false;
	if (len == 0)
		return WHY("empty host");
	if (s[0] == '[') {
		const uint8_t *close = memchr(s, ']', len);

		if (!close)
			return WHY("unbalanced brackets in host");
		*hlen = (size_t)(close - s) + 1;
		if (*hlen < len) {
			if (s[*hlen] != ':')
				return WHY("garbage after ']' in host");
			p = s + *hlen + 1;
			plen = len - *hlen - 1;
		}
	} else {
		const uint8_t *colon = memchr(s, ':', len);

		if (colon && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1)) {
			if (!bare_v6_ok)
				return WHY("an IPv6 address must be in brackets");
			return 0; /* bare IPv6, no port */
		}
		if (colon) {
			*hlen = (size_t)(colon - s);
			p = colon + 1;
			plen = len - *hlen - 1;
		}
	}
	if (p) {
		if (hutch_port_parse(p, plen, port) < 0)
			return WHY("invalid port");
		*has_port = true;
	}
	return 0;
}

int hutch_authority_parse(const uint8_t *s, size_t len, uint16_t default_port,
			  struct hutch_host *host, uint16_t *port, const char **why)
{
	size_t hlen;
	bool has_port;
	int r;

	memset(host, 0, sizeof(*host));
	r = split_port(s, len, false, &hlen, &has_port, port, why);
	if (r < 0)
		return r;
	if (!has_port) {
		if (!default_port)
			return WHY("port required");
		*port = default_port;
	}
	return hutch_host_parse(s, hlen, host, why);
}

/* ---- patterns ------------------------------------------------------------------- */

/*
 * Suffixes under which anyone can register a name: `*.<suffix>` would allow
 * the whole world. Not the full Public Suffix List, the common ICANN ones.
 */
static const char *const public_suffixes[] = {
	"co.uk",  "org.uk", "ac.uk",  "gov.uk", "me.uk",  "ltd.uk", "plc.uk", "net.uk", "sch.uk",
	"com.au", "net.au", "org.au", "edu.au", "gov.au", "id.au",  "co.nz",  "net.nz", "org.nz",
	"co.jp",  "ne.jp",  "or.jp",  "ac.jp",	"go.jp",  "co.za",  "org.za", "co.in",	"net.in",
	"org.in", "com.br", "net.br", "org.br", "com.cn", "net.cn", "org.cn", "gov.cn", "com.tw",
	"com.hk", "com.sg", "com.mx", "com.tr", "co.kr",  "or.kr",  "com.ar", "co.il",	"com.my",
	"com.ph", "com.vn", "co.id",  "com.pk", "com.ng", "com.eg", "com.sa", "com.ua", "co.th",
	"in.th",  "com.pl", "com.es", "com.pt", "com.ru", "com.co", "com.pe", "co.ke",	"com.bd",
	"gv.at",  "co.at",  "or.at",
};

static int pattern_cidr(const uint8_t *s, size_t len, struct hutch_pattern *out, const char **why)
{
	const uint8_t *slash = memchr(s, '/', len);
	unsigned bits, prefix;
	struct hutch_addr net;

	out->kind = HUTCH_PAT_ADDR;
	if (hutch_addr_parse(s, (size_t)(slash - s), &net) < 0)
		return WHY("invalid address in CIDR");
	bits = net.family == AF_INET ? 32 : 128;
	prefix = 0;
	{
		const uint8_t *p = slash + 1;
		size_t plen = len - (size_t)(p - s);

		if (memchr(p, ':', plen))
			return WHY("no port allowed on a CIDR");
		if (plen == 0 || plen > 3)
			return WHY("invalid CIDR prefix length");
		for (size_t i = 0; i < plen; i++) {
			if (!is_digit(p[i]))
				return WHY(
					"invalid CIDR prefix length (no port allowed on a CIDR)");
			prefix = prefix * 10 + (unsigned)(p[i] - '0');
		}
	}
	if (prefix > bits)
		return WHY("CIDR prefix length too large");
	{
		struct hutch_addr masked = {.family = net.family};
		unsigned full = prefix / 8, rest = prefix % 8;

		memcpy(masked.b, net.b, full);
		if (rest)
			masked.b[full] = (uint8_t)(net.b[full] & (0xff << (8 - rest)));
		if (!hutch_addr_equal(&masked, &net))
			return WHY("CIDR has host bits set");
	}
	out->addr = net;
	out->prefix = (uint8_t)prefix;
	out->port = 0;
	return 0;
}

int hutch_pattern_parse(const uint8_t *s, size_t len, struct hutch_pattern *out, const char **why)
{
	struct hutch_host h;
	uint16_t port = 0;
	const uint8_t *star;
	int r;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return WHY("empty host pattern");
	if (len > HUTCH_HOST_INPUT_MAX)
		return WHY("host pattern too long");
	for (size_t i = 0; i < len; i++) {
		const char *bad;

		if (s[i] == '*' || s[i] == '[' || s[i] == ']')
			continue;
		if (s[i] == '/')
			continue; /* CIDR; checked below */
		bad = bad_host_byte(s[i]);
		if (bad)
			return WHY(bad);
	}
	star = memchr(s, '*', len);
	if (star) {
		const char *w = NULL;

		if (star != s || len < 3 || s[1] != '.')
			return WHY("a wildcard is only allowed as a leading '*.' label");
		if (memchr(s + 1, '*', len - 1))
			return WHY("only one wildcard is allowed");
		if (memchr(s, '/', len) || memchr(s, '[', len))
			return WHY("a wildcard cannot apply to an address");
		{
			size_t hlen;
			bool has_port;

			r = split_port(s + 2, len - 2, false, &hlen, &has_port, &port, &w);
			if (r >= 0)
				r = hutch_host_parse(s + 2, hlen, &h, &w);
			if (r < 0)
				return WHY(w ? w : "invalid host pattern");
			if (!has_port)
				port = 0;
		}
		if (h.kind != HUTCH_HOST_NAME)
			return WHY("a wildcard cannot apply to an address");
		if (!strchr(h.name, '.'))
			return WHY("wildcard over a top-level domain ('*.com') matches too much");
		for (size_t i = 0; i < ARRAY_SIZE(public_suffixes); i++)
			if (strcmp(h.name, public_suffixes[i]) == 0)
				return WHY("wildcard over a public suffix ('*.co.uk') matches too "
					   "much");
		out->kind = HUTCH_PAT_SUBDOMAINS;
		out->name_len = strlen(h.name);
		memcpy(out->name, h.name, out->name_len + 1);
		out->port = port;
		return 0;
	}
	if (memchr(s, '/', len))
		return pattern_cidr(s, len, out, why);
	{
		size_t hlen;
		bool has_port;

		r = split_port(s, len, true, &hlen, &has_port, &port, why);
		if (r < 0)
			return r;
		r = hutch_host_parse(s, hlen, &h, why);
		if (r < 0)
			return r;
		if (!has_port)
			port = 0;
	}
	if (h.kind == HUTCH_HOST_ADDR) {
		out->kind = HUTCH_PAT_ADDR;
		out->addr = h.addr;
		out->prefix = h.addr.family == AF_INET ? 32 : 128;
	} else {
		out->kind = HUTCH_PAT_NAME;
		out->name_len = strlen(h.name);
		memcpy(out->name, h.name, out->name_len + 1);
	}
	out->port = port;
	return 0;
}

int hutch_host_pattern_validate(const char *pattern, const char **why)
{
	struct hutch_pattern p;

	if (!pattern)
		return WHY("empty host pattern");
	return hutch_pattern_parse((const uint8_t *)pattern, strlen(pattern), &p, why);
}

bool hutch_pattern_match_host(const struct hutch_pattern *p, const struct hutch_host *h,
			      uint16_t port)
{
	size_t hlen;

	if (p->port && p->port != port)
		return false;
	switch (p->kind) {
	case HUTCH_PAT_NAME:
		return h->kind == HUTCH_HOST_NAME && strcmp(h->name, p->name) == 0;
	case HUTCH_PAT_SUBDOMAINS:
		if (h->kind != HUTCH_HOST_NAME)
			return false;
		hlen = strlen(h->name);
		return hlen > p->name_len + 1 && h->name[hlen - p->name_len - 1] == '.' &&
		       memcmp(h->name + hlen - p->name_len, p->name, p->name_len) == 0;
	case HUTCH_PAT_ADDR:
		return h->kind == HUTCH_HOST_ADDR && hutch_addr_in(&h->addr, &p->addr, p->prefix);
	}
	return false;
}

bool hutch_pattern_match_addr(const struct hutch_pattern *p, const struct hutch_addr *a,
			      uint16_t port)
{
	struct hutch_addr n = *a;

	if (p->kind != HUTCH_PAT_ADDR)
		return false;
	if (p->port && p->port != port)
		return false;
	hutch_addr_normalize(&n);
	return hutch_addr_in(&n, &p->addr, p->prefix);
}

/* ---- the filter ------------------------------------------------------------------ */

struct hutch_filter {
	struct hutch_filter_rule *allow, *deny;
	size_t n_allow, n_deny;
	bool allow_private;
	struct hutch_addr local[HUTCH_FILTER_MAX_LOCAL];
	size_t n_local;
	/* rule text and origins are copied here so the filter outlives nothing */
	char *strings;
};

void hutch_filter_free(struct hutch_filter *f)
{
	if (!f)
		return;
	free(f->allow);
	free(f->deny);
	free(f->strings);
	free(f);
}

struct rule_src {
	const char *text, *origin;
};

static int compile(struct hutch_filter *f, const struct rule_src *allow, size_t n_allow,
		   const struct rule_src *deny, size_t n_deny, hutch_error *err)
{
	size_t total = 0;
	char *w;

	if (n_allow > HUTCH_MAX_RULES || n_deny > HUTCH_MAX_RULES)
		return hutch_errx(err, E2BIG, "network rules: more than %d entries",
				  HUTCH_MAX_RULES);
	for (size_t i = 0; i < n_allow; i++)
		total += strlen(allow[i].text) + strlen(allow[i].origin) + 2;
	for (size_t i = 0; i < n_deny; i++)
		total += strlen(deny[i].text) + strlen(deny[i].origin) + 2;
	f->strings = malloc(total + 1);
	f->allow = calloc(n_allow ? n_allow : 1, sizeof(*f->allow));
	f->deny = calloc(n_deny ? n_deny : 1, sizeof(*f->deny));
	if (!f->strings || !f->allow || !f->deny)
		return hutch_err(err, ENOMEM, "network rules");
	w = f->strings;
	for (int list = 0; list < 2; list++) {
		const struct rule_src *src = list ? deny : allow;
		size_t n = list ? n_deny : n_allow;
		struct hutch_filter_rule *dst = list ? f->deny : f->allow;

		for (size_t i = 0; i < n; i++) {
			const char *why = NULL;
			size_t tl = strlen(src[i].text), ol = strlen(src[i].origin);

			if (hutch_pattern_parse((const uint8_t *)src[i].text, tl, &dst[i].pat,
						&why) < 0)
				return hutch_errx(err, EINVAL, "%s: network.%s \"%s\": %s",
						  src[i].origin, list ? "deny" : "allow",
						  src[i].text, why ? why : "invalid");
			memcpy(w, src[i].text, tl + 1);
			dst[i].text = w;
			w += tl + 1;
			memcpy(w, src[i].origin, ol + 1);
			dst[i].origin = w;
			w += ol + 1;
		}
	}
	f->n_allow = n_allow;
	f->n_deny = n_deny;
	return 0;
}

int hutch_filter_new_spec(const struct hutch_filter_spec *spec, struct hutch_filter **out,
			  hutch_error *err)
{
	_cleanup_free_ struct rule_src *a = NULL, *d = NULL;
	struct hutch_filter *f;
	int r;

	if (spec->n_allow > HUTCH_MAX_RULES || spec->n_deny > HUTCH_MAX_RULES)
		return hutch_errx(err, E2BIG, "network rules: more than %d entries",
				  HUTCH_MAX_RULES);
	a = calloc(spec->n_allow + 1, sizeof(*a));
	d = calloc(spec->n_deny + 1, sizeof(*d));
	f = calloc(1, sizeof(*f));
	if (!a || !d || !f) {
		free(f);
		return hutch_err(err, ENOMEM, "network rules");
	}
	for (size_t i = 0; i < spec->n_allow; i++)
		a[i] = (struct rule_src){spec->allow[i], "test"};
	for (size_t i = 0; i < spec->n_deny; i++)
		d[i] = (struct rule_src){spec->deny[i], "test"};
	r = compile(f, a, spec->n_allow, d, spec->n_deny, err);
	if (r < 0) {
		hutch_filter_free(f);
		return r;
	}
	f->allow_private = spec->allow_private;
	*out = f;
	return 0;
}

int hutch_filter_new(const struct hutch_policy *p, struct hutch_filter **out, hutch_error *err)
{
	_cleanup_free_ struct rule_src *a = NULL, *d = NULL;
	struct hutch_filter *f;
	int r;

	if (p->net_allow.n > HUTCH_MAX_RULES || p->net_deny.n > HUTCH_MAX_RULES)
		return hutch_errx(err, E2BIG, "network rules: more than %d entries",
				  HUTCH_MAX_RULES);
	a = calloc(p->net_allow.n + 1, sizeof(*a));
	d = calloc(p->net_deny.n + 1, sizeof(*d));
	f = calloc(1, sizeof(*f));
	if (!a || !d || !f) {
		free(f);
		return hutch_err(err, ENOMEM, "network rules");
	}
	for (size_t i = 0; i < p->net_allow.n; i++)
		a[i] = (struct rule_src){p->net_allow.v[i].value,
					 p->net_allow.v[i].origin ? p->net_allow.v[i].origin : ""};
	for (size_t i = 0; i < p->net_deny.n; i++)
		d[i] = (struct rule_src){p->net_deny.v[i].value,
					 p->net_deny.v[i].origin ? p->net_deny.v[i].origin : ""};
	r = compile(f, a, p->net_allow.n, d, p->net_deny.n, err);
	if (r < 0) {
		hutch_filter_free(f);
		return r;
	}
	f->allow_private = p->allow_private;
	(void)hutch_filter_refresh_local(f);
	*out = f;
	return 0;
}

int hutch_filter_refresh_local(struct hutch_filter *f)
{
	struct ifaddrs *ifa = NULL;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	f->n_local = 0;
	for (struct ifaddrs *i = ifa; i && f->n_local < HUTCH_FILTER_MAX_LOCAL; i = i->ifa_next) {
		struct hutch_addr *a = &f->local[f->n_local];

		if (!i->ifa_addr)
			continue;
		memset(a, 0, sizeof(*a));
		if (i->ifa_addr->sa_family == AF_INET) {
			a->family = AF_INET;
			memcpy(a->b, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a->family = AF_INET6;
			memcpy(a->b, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		f->n_local++;
	}
	freeifaddrs(ifa);
	return 0;
}

void hutch_filter_set_local(struct hutch_filter *f, const struct hutch_addr *a, size_t n)
{
	if (n > HUTCH_FILTER_MAX_LOCAL)
		n = HUTCH_FILTER_MAX_LOCAL;
	memcpy(f->local, a, n * sizeof(*a));
	f->n_local = n;
}

size_t hutch_filter_n_allow(const struct hutch_filter *f)
{
	return f->n_allow;
}

static void decide(struct hutch_decision *d, bool allow, const struct hutch_filter_rule *r,
		   const char *reason)
{
	d->allow = allow;
	d->rule = r ? r->text : NULL;
	d->origin = r ? r->origin : NULL;
	d->reason = reason;
}

/* The special-class check shared by literals and resolved addresses. */
static bool private_ok(const struct hutch_filter *f, const struct hutch_addr *a, uint16_t port,
		       enum hutch_addr_class *cls, const struct hutch_filter_rule **by)
{
	unsigned range = 0;

	*by = NULL;
	*cls = hutch_addr_classify(a, f->local, f->n_local, &range);
	if (*cls == HUTCH_ADDR_PUBLIC || f->allow_private)
		return true;
	/* an address rule allows it only if it is at least as narrow as the special range */
	for (size_t i = 0; i < f->n_allow; i++) {
		const struct hutch_filter_rule *r = &f->allow[i];
		unsigned pfx = r->pat.prefix;

		if (!hutch_pattern_match_addr(&r->pat, a, port))
			continue;
		if (pfx >= range) {
			*by = r;
			return true;
		}
	}
	return false;
}

static const char *class_reason(enum hutch_addr_class c)
{
	static const char *const reasons[] = {
		[HUTCH_ADDR_PUBLIC] = "public address",
		[HUTCH_ADDR_UNSPECIFIED] = "unspecified address refused",
		[HUTCH_ADDR_THIS_NETWORK] = "this-network address (0.0.0.0/8) refused",
		[HUTCH_ADDR_LOOPBACK] = "loopback address refused (allowPrivate is false)",
		[HUTCH_ADDR_PRIVATE] = "private address refused (allowPrivate is false)",
		[HUTCH_ADDR_LINK_LOCAL] = "link-local/metadata address refused",
		[HUTCH_ADDR_CGNAT] = "CGNAT address (100.64.0.0/10) refused",
		[HUTCH_ADDR_ULA] = "unique local address (fc00::/7) refused",
		[HUTCH_ADDR_MULTICAST] = "multicast address refused",
		[HUTCH_ADDR_BROADCAST] = "broadcast address refused",
		[HUTCH_ADDR_BENCHMARK] = "benchmarking address (198.18.0.0/15) refused",
		[HUTCH_ADDR_RESERVED] = "reserved address refused",
		[HUTCH_ADDR_HOST_OWN] = "this host's own address refused",
	};

	if ((size_t)c < ARRAY_SIZE(reasons) && reasons[c])
		return reasons[c];
	return "special address refused";
}

void hutch_filter_check_host(const struct hutch_filter *f, const struct hutch_host *h,
			     uint16_t port, struct hutch_decision *d)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < f->n_deny; i++)
		if (hutch_pattern_match_host(&f->deny[i].pat, h, port)) {
			decide(d, false, &f->deny[i], "denied by rule");
			return;
		}
	if (h->kind == HUTCH_HOST_ADDR) {
		const struct hutch_filter_rule *allowed = NULL, *by;
		enum hutch_addr_class cls;

		for (size_t i = 0; i < f->n_allow && !allowed; i++)
			if (hutch_pattern_match_host(&f->allow[i].pat, h, port))
				allowed = &f->allow[i];
		if (!allowed) {
			decide(d, false, NULL,
			       f->n_allow ? "IP address not in allowlist" : "allowlist is empty");
			d->cls = hutch_addr_classify(&h->addr, f->local, f->n_local, NULL);
			return;
		}
		if (!private_ok(f, &h->addr, port, &cls, &by)) {
			decide(d, false, NULL, class_reason(cls));
			d->cls = cls;
			return;
		}
		decide(d, true, by ? by : allowed, "allowed by rule");
		d->cls = cls;
		return;
	}
	for (size_t i = 0; i < f->n_allow; i++)
		if (hutch_pattern_match_host(&f->allow[i].pat, h, port)) {
			decide(d, true, &f->allow[i], "allowed by rule");
			return;
		}
	decide(d, false, NULL, f->n_allow ? "not in allowlist" : "allowlist is empty");
}

void hutch_filter_check_name(const struct hutch_filter *f, const struct hutch_host *h,
			     struct hutch_decision *d)
{
	memset(d, 0, sizeof(*d));
	if (h->kind != HUTCH_HOST_NAME) {
		decide(d, false, NULL, "not a name");
		return;
	}
	for (size_t i = 0; i < f->n_deny; i++)
		if (!f->deny[i].pat.port && hutch_pattern_match_host(&f->deny[i].pat, h, 0)) {
			decide(d, false, &f->deny[i], "denied by rule");
			return;
		}
	for (size_t i = 0; i < f->n_allow; i++)
		if (hutch_pattern_match_host(&f->allow[i].pat, h, f->allow[i].pat.port)) {
			decide(d, true, &f->allow[i], "allowed by rule");
			return;
		}
	decide(d, false, NULL, f->n_allow ? "not in allowlist" : "allowlist is empty");
}

void hutch_filter_check_addr(const struct hutch_filter *f, const struct hutch_addr *a,
			     uint16_t port, const struct hutch_decision *name_decision,
			     struct hutch_decision *d)
{
	const struct hutch_filter_rule *by;
	enum hutch_addr_class cls;

	memset(d, 0, sizeof(*d));
	if (!name_decision->allow) {
		*d = *name_decision;
		return;
	}
	for (size_t i = 0; i < f->n_deny; i++)
		if (hutch_pattern_match_addr(&f->deny[i].pat, a, port)) {
			decide(d, false, &f->deny[i], "resolved address denied by rule");
			return;
		}
	if (!private_ok(f, a, port, &cls, &by)) {
		decide(d, false, NULL, class_reason(cls));
		d->cls = cls;
		return;
	}
	*d = *name_decision;
	if (by) {
		d->rule = by->text;
		d->origin = by->origin;
	}
	d->cls = cls;
}
