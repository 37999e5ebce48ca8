/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The oracle of tests/unit/test-nft.c: the transparent egress rules of
 * src/lib/sandbox/nft.c built with libnftnl and libmnl, as hutch built them
 * before it wrote the messages itself (so that it links statically: Debian
 * ships no static libmnl). Test-only: hutch does not link these libraries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "nft-oracle.h"
#include "sandbox/nft.h"

#define TABLE "hutch"

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	unsigned acks; /* messages that asked for an acknowledgement */
	int oom;
};

static char *cur(struct batch *bt)
{
	return mnl_nlmsg_batch_current(bt->b);
}

static void next(struct batch *bt)
{
	if (!mnl_nlmsg_batch_next(bt->b))
		bt->oom = 1; /* the buffer is sized for the fixed ruleset: never */
}

/* Add (NFT_MSG_NEWTABLE) or delete (NFT_MSG_DELTABLE) hutch's table of @family. */
static void table_msg(struct batch *bt, uint16_t family, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t) {
		bt->oom = 1;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, family);
	nlh = nftnl_table_nlmsg_build_hdr(cur(bt), type, family,
					  (type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0) | NLM_F_ACK,
					  bt->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	bt->acks++;
	next(bt);
}

static void add_table(struct batch *bt, uint16_t family)
{
	table_msg(bt, family, NFT_MSG_NEWTABLE);
}

static void del_table(struct batch *bt, uint16_t family)
{
	table_msg(bt, family, NFT_MSG_DELTABLE);
}

static void add_chain(struct batch *bt, uint16_t family, const char *name, const char *type,
		      int prio, uint32_t policy)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!c) {
		bt->oom = 1;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
	nlh = nftnl_chain_nlmsg_build_hdr(cur(bt), NFT_MSG_NEWCHAIN, family,
					  NLM_F_CREATE | NLM_F_ACK, bt->seq++);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	bt->acks++;
	next(bt);
}

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

/* reg1 = the network header's bytes [@off, @off + @len) */
static int load_daddr(struct nftnl_rule *r, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return 0;
}

/* reg1 &= 255.0.0.0 (the IPv4 address in reg1 to its /8) */
static int mask8(struct nftnl_rule *r)
{
	static const uint8_t mask[4] = {0xff, 0, 0, 0}, zero[4] = {0};
	struct nftnl_expr *e = expr(r, "bitwise");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, 4);
	return 0;
}

static int cmp(struct nftnl_rule *r, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr(r, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

static int verdict(struct nftnl_rule *r, int v)
{
	struct nftnl_expr *e = expr(r, "immediate");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	return 0;
}

/*
 * Load @key of expression @name ("meta", "ct") into register 1 and compare it
 * with @val: the shape every match below shares.
 */
static int match_key(struct nftnl_rule *r, const char *name, uint16_t key_attr, uint32_t key,
		     uint16_t dreg_attr, const void *val, uint32_t len)
{
	struct nftnl_expr *e = expr(r, name);

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, key_attr, key);
	nftnl_expr_set_u32(e, dreg_attr, NFT_REG_1);
	return cmp(r, NFT_CMP_EQ, val, len);
}

/* ip daddr != 127.0.0.0/8 meta l4proto tcp redirect to :@port */
static int redirect_rule(struct nftnl_rule *r, uint16_t port)
{
	static const uint8_t lo8[4] = {127, 0, 0, 0}, tcp = IPPROTO_TCP;
	uint16_t nport = htons(port);
	struct nftnl_expr *e;

	if (load_daddr(r, 16, 4) < 0 || mask8(r) < 0 || cmp(r, NFT_CMP_NEQ, lo8, 4) < 0 ||
	    match_key(r, "meta", NFTNL_EXPR_META_KEY, NFT_META_L4PROTO, NFTNL_EXPR_META_DREG, &tcp,
		      1) < 0)
		return -ENOMEM;
	e = expr(r, "immediate");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &nport, sizeof(nport));
	e = expr(r, "redir");
	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	return 0;
}

/* ip daddr 127.0.0.0/8 accept */
static int lo4_rule(struct nftnl_rule *r, uint16_t unused)
{
	static const uint8_t lo8[4] = {127, 0, 0, 0};

	(void)unused;
	if (load_daddr(r, 16, 4) < 0 || mask8(r) < 0 || cmp(r, NFT_CMP_EQ, lo8, 4) < 0)
		return -ENOMEM;
	return verdict(r, NF_ACCEPT);
}

/* ip6 daddr ::1 accept */
static int lo6_rule(struct nftnl_rule *r, uint16_t unused)
{
	(void)unused;
	if (load_daddr(r, 24, 16) < 0 || cmp(r, NFT_CMP_EQ, &in6addr_loopback, 16) < 0)
		return -ENOMEM;
	return verdict(r, NF_ACCEPT);
}

/* meta oif lo accept: what stays in the namespace (replies to its own addresses too) */
static int lo_oif_rule(struct nftnl_rule *r, uint16_t unused)
{
	uint32_t lo = if_nametoindex("lo");

	(void)unused;
	if (!lo || match_key(r, "meta", NFTNL_EXPR_META_KEY, NFT_META_OIF, NFTNL_EXPR_META_DREG,
			     &lo, sizeof(lo)) < 0)
		return -ENOMEM;
	return verdict(r, NF_ACCEPT);
}

/*
 * ct direction reply accept: the answers of connections that a peer opened to the
 * namespace's own interface (a pod's service traffic). Whatever the workload opens
 * itself is in the original direction, and only lo and the redirect let that out.
 */
static int ct_reply_rule(struct nftnl_rule *r, uint16_t unused)
{
	static const uint8_t reply = IP_CT_DIR_REPLY;

	(void)unused;
	if (match_key(r, "ct", NFTNL_EXPR_CT_KEY, NFT_CT_DIRECTION, NFTNL_EXPR_CT_DREG, &reply,
		      sizeof(reply)) < 0)
		return -ENOMEM;
	return verdict(r, NF_ACCEPT);
}

static void add_rule(struct batch *bt, uint16_t family, const char *chain,
		     int (*build)(struct nftnl_rule *, uint16_t), uint16_t arg)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r) {
		bt->oom = 1;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, family);
	if (build(r, arg) < 0) {
		nftnl_rule_free(r);
		bt->oom = 1;
		return;
	}
	nlh = nftnl_rule_nlmsg_build_hdr(cur(bt), NFT_MSG_NEWRULE, family,
					 NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, bt->seq++);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	bt->acks++;
	next(bt);
}

size_t nft_oracle_build(char *buf, size_t size, uint16_t redirect_port, unsigned flags)
{
	struct batch bt = {.seq = 1};
	size_t n;
	bt.b = mnl_nlmsg_batch_start(buf, size);
	nftnl_batch_begin(cur(&bt), bt.seq++);
	next(&bt);
	if (flags & HUTCH_NFT_OWN_NETWORK) {
		add_table(&bt, NFPROTO_IPV4);
		del_table(&bt, NFPROTO_IPV4);
		add_table(&bt, NFPROTO_IPV6);
		del_table(&bt, NFPROTO_IPV6);
	}
	add_table(&bt, NFPROTO_IPV4);
	add_chain(&bt, NFPROTO_IPV4, "nat", "nat", -100, NF_ACCEPT);
	add_rule(&bt, NFPROTO_IPV4, "nat", redirect_rule, redirect_port);
	add_chain(&bt, NFPROTO_IPV4, "out", "filter", 0, NF_DROP);
	add_rule(&bt, NFPROTO_IPV4, "out", lo4_rule, 0);
	if (flags & HUTCH_NFT_OWN_NETWORK) {
		add_rule(&bt, NFPROTO_IPV4, "out", lo_oif_rule, 0);
		add_rule(&bt, NFPROTO_IPV4, "out", ct_reply_rule, 0);
	}
	add_table(&bt, NFPROTO_IPV6);
	add_chain(&bt, NFPROTO_IPV6, "out", "filter", 0, NF_DROP);
	add_rule(&bt, NFPROTO_IPV6, "out", lo6_rule, 0);
	if (flags & HUTCH_NFT_OWN_NETWORK) {
		add_rule(&bt, NFPROTO_IPV6, "out", lo_oif_rule, 0);
		add_rule(&bt, NFPROTO_IPV6, "out", ct_reply_rule, 0);
	}
	nftnl_batch_end(cur(&bt), bt.seq++);
	next(&bt);
	n = bt.oom ? 0 : mnl_nlmsg_batch_size(bt.b);
	mnl_nlmsg_batch_stop(bt.b);
	return n;
}
