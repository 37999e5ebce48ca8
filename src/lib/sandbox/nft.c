/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transparent egress rules in one nftables netlink batch: see nft.h. The
 * messages are the ones libnftnl builds for the same rules, attribute for
 * attribute (tests/unit/test-nft.c compares the two byte for byte), written
 * with src/lib/sandbox/netlink.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "sandbox/netlink.h"
#include "sandbox/nft.h"

#define TABLE "hutch"
#define BATCH_BUF 4096

struct batch {
	struct hutch_nl nl;
	uint32_t seq;
	unsigned acks; /* messages that asked for an acknowledgement */
};

/* A message with its nfgenmsg header (version 0, @family), counted if it asks for an ack. */
static struct nfgenmsg *nfgen(struct batch *bt, uint16_t type, uint16_t flags, uint8_t family)
{
	struct nfgenmsg *g =
		hutch_nl_msg(&bt->nl, type, NLM_F_REQUEST | flags, bt->seq++, sizeof(*g));

	if (g) {
		g->nfgen_family = family;
		g->version = NFNETLINK_V0;
	}
	if (flags & NLM_F_ACK)
		bt->acks++;
	return g;
}

/* An nf_tables message of @family. */
static void msg(struct batch *bt, uint16_t type, uint16_t family, uint16_t flags)
{
	(void)nfgen(bt, (NFNL_SUBSYS_NFTABLES << 8) | type, flags, (uint8_t)family);
}

/* The batch's first (NFNL_MSG_BATCH_BEGIN) or last (NFNL_MSG_BATCH_END) message. */
static void batch_edge(struct batch *bt, uint16_t type)
{
	struct nfgenmsg *g = nfgen(bt, type, 0, AF_UNSPEC);

	if (g)
		g->res_id = htons(NFNL_SUBSYS_NFTABLES);
}

/* Add (NFT_MSG_NEWTABLE) or delete (NFT_MSG_DELTABLE) hutch's table of @family. */
static void table_msg(struct batch *bt, uint16_t family, uint16_t type)
{
	msg(bt, type, family, (type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0) | NLM_F_ACK);
	hutch_nl_put_str(&bt->nl, NFTA_TABLE_NAME, TABLE);
}

static void add_table(struct batch *bt, uint16_t family)
{
	table_msg(bt, family, NFT_MSG_NEWTABLE);
}

static void del_table(struct batch *bt, uint16_t family)
{
	table_msg(bt, family, NFT_MSG_DELTABLE);
}

/* A base chain on the output hook. */
static void add_chain(struct batch *bt, uint16_t family, const char *name, const char *type,
		      int prio, uint32_t policy)
{
	size_t hook;

	msg(bt, NFT_MSG_NEWCHAIN, family, NLM_F_CREATE | NLM_F_ACK);
	hutch_nl_put_str(&bt->nl, NFTA_CHAIN_TABLE, TABLE);
	hutch_nl_put_str(&bt->nl, NFTA_CHAIN_NAME, name);
	hook = hutch_nl_nest(&bt->nl, NFTA_CHAIN_HOOK);
	hutch_nl_put_be32(&bt->nl, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
	hutch_nl_put_be32(&bt->nl, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	hutch_nl_nest_end(&bt->nl, hook);
	hutch_nl_put_be32(&bt->nl, NFTA_CHAIN_POLICY, policy);
	hutch_nl_put_str(&bt->nl, NFTA_CHAIN_TYPE, type);
}

/*
 * An expression of a rule: NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA { ... } }.
 * expr_begin() opens both nests, expr_end() closes them.
 */
struct expr {
	size_t elem, data;
};

static struct expr expr_begin(struct batch *bt, const char *name)
{
	struct expr e;

	e.elem = hutch_nl_nest(&bt->nl, NFTA_LIST_ELEM);
	hutch_nl_put_str(&bt->nl, NFTA_EXPR_NAME, name);
	e.data = hutch_nl_nest(&bt->nl, NFTA_EXPR_DATA);
	return e;
}

static void expr_end(struct batch *bt, struct expr e)
{
	hutch_nl_nest_end(&bt->nl, e.data);
	hutch_nl_nest_end(&bt->nl, e.elem);
}

/* @type { NFTA_DATA_VALUE @data }: a constant of an expression */
static void put_value(struct batch *bt, uint16_t type, const void *data, size_t len)
{
	size_t n = hutch_nl_nest(&bt->nl, type);

	hutch_nl_put(&bt->nl, NFTA_DATA_VALUE, data, len);
	hutch_nl_nest_end(&bt->nl, n);
}

/* reg1 = the network header's bytes [@off, @off + @len) */
static void load_daddr(struct batch *bt, uint32_t off, uint32_t len)
{
	struct expr e = expr_begin(bt, "payload");

	hutch_nl_put_be32(&bt->nl, NFTA_PAYLOAD_DREG, NFT_REG_1);
	hutch_nl_put_be32(&bt->nl, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	hutch_nl_put_be32(&bt->nl, NFTA_PAYLOAD_OFFSET, off);
	hutch_nl_put_be32(&bt->nl, NFTA_PAYLOAD_LEN, len);
	expr_end(bt, e);
}

/* reg1 &= 255.0.0.0 (the IPv4 address in reg1 to its /8) */
static void mask8(struct batch *bt)
{
	static const uint8_t mask[4] = {0xff, 0, 0, 0}, zero[4] = {0};
	struct expr e = expr_begin(bt, "bitwise");

	hutch_nl_put_be32(&bt->nl, NFTA_BITWISE_SREG, NFT_REG_1);
	hutch_nl_put_be32(&bt->nl, NFTA_BITWISE_DREG, NFT_REG_1);
	hutch_nl_put_be32(&bt->nl, NFTA_BITWISE_LEN, sizeof(mask));
	put_value(bt, NFTA_BITWISE_MASK, mask, sizeof(mask));
	put_value(bt, NFTA_BITWISE_XOR, zero, sizeof(zero));
	expr_end(bt, e);
}

static void cmp(struct batch *bt, uint32_t op, const void *data, size_t len)
{
	struct expr e = expr_begin(bt, "cmp");

	hutch_nl_put_be32(&bt->nl, NFTA_CMP_SREG, NFT_REG_1);
	hutch_nl_put_be32(&bt->nl, NFTA_CMP_OP, op);
	put_value(bt, NFTA_CMP_DATA, data, len);
	expr_end(bt, e);
}

static void verdict(struct batch *bt, uint32_t v)
{
	struct expr e = expr_begin(bt, "immediate");
	size_t data, verd;

	hutch_nl_put_be32(&bt->nl, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	data = hutch_nl_nest(&bt->nl, NFTA_IMMEDIATE_DATA);
	verd = hutch_nl_nest(&bt->nl, NFTA_DATA_VERDICT);
	hutch_nl_put_be32(&bt->nl, NFTA_VERDICT_CODE, v);
	hutch_nl_nest_end(&bt->nl, verd);
	hutch_nl_nest_end(&bt->nl, data);
	expr_end(bt, e);
}

/*
 * Load @key of expression @name ("meta", "ct", whose attributes share their
 * numbers: the key is 2, the register 1) into register 1 and compare it with
 * @val: the shape every match below shares.
 */
static void match_key(struct batch *bt, const char *name, uint32_t key, const void *val, size_t len)
{
	struct expr e = expr_begin(bt, name);

	_Static_assert((int)NFTA_META_KEY == (int)NFTA_CT_KEY &&
			       (int)NFTA_META_DREG == (int)NFTA_CT_DREG,
		       "meta and ct number their key and register alike");
	hutch_nl_put_be32(&bt->nl, NFTA_META_KEY, key);
	hutch_nl_put_be32(&bt->nl, NFTA_META_DREG, NFT_REG_1);
	expr_end(bt, e);
	cmp(bt, NFT_CMP_EQ, val, len);
}

/* ip daddr != 127.0.0.0/8 meta l4proto tcp redirect to :@port */
static void redirect_rule(struct batch *bt, uint16_t port)
{
	static const uint8_t lo8[4] = {127, 0, 0, 0}, tcp = IPPROTO_TCP;
	uint16_t nport = htons(port);
	struct expr e;

	load_daddr(bt, 16, 4);
	mask8(bt);
	cmp(bt, NFT_CMP_NEQ, lo8, sizeof(lo8));
	match_key(bt, "meta", NFT_META_L4PROTO, &tcp, sizeof(tcp));
	e = expr_begin(bt, "immediate");
	hutch_nl_put_be32(&bt->nl, NFTA_IMMEDIATE_DREG, NFT_REG_1);
	put_value(bt, NFTA_IMMEDIATE_DATA, &nport, sizeof(nport));
	expr_end(bt, e);
	e = expr_begin(bt, "redir");
	hutch_nl_put_be32(&bt->nl, NFTA_REDIR_REG_PROTO_MIN, NFT_REG_1);
	expr_end(bt, e);
}

/* ip daddr 127.0.0.0/8 accept */
static void lo4_rule(struct batch *bt, uint16_t unused)
{
	static const uint8_t lo8[4] = {127, 0, 0, 0};

	(void)unused;
	load_daddr(bt, 16, 4);
	mask8(bt);
	cmp(bt, NFT_CMP_EQ, lo8, sizeof(lo8));
	verdict(bt, NF_ACCEPT);
}

/* ip6 daddr ::1 accept */
static void lo6_rule(struct batch *bt, uint16_t unused)
{
	(void)unused;
	load_daddr(bt, 24, 16);
	cmp(bt, NFT_CMP_EQ, &in6addr_loopback, sizeof(in6addr_loopback));
	verdict(bt, NF_ACCEPT);
}

/* meta oif lo accept: what stays in the namespace (replies to its own addresses too) */
static void lo_oif_rule(struct batch *bt, uint16_t unused)
{
	uint32_t lo = if_nametoindex("lo");

	(void)unused;
	if (!lo)
		bt->nl.oom = 1; /* every network namespace has it: never */
	match_key(bt, "meta", NFT_META_OIF, &lo, sizeof(lo));
	verdict(bt, NF_ACCEPT);
}

/*
 * ct direction reply accept: the answers of connections that a peer opened to the
 * namespace's own interface (a pod's service traffic). Whatever the workload opens
 * itself is in the original direction, and only lo and the redirect let that out.
 */
static void ct_reply_rule(struct batch *bt, uint16_t unused)
{
	static const uint8_t reply = IP_CT_DIR_REPLY;

	(void)unused;
	match_key(bt, "ct", NFT_CT_DIRECTION, &reply, sizeof(reply));
	verdict(bt, NF_ACCEPT);
}

static void add_rule(struct batch *bt, uint16_t family, const char *chain,
		     void (*build)(struct batch *, uint16_t), uint16_t arg)
{
	size_t exprs;

	msg(bt, NFT_MSG_NEWRULE, family, NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK);
	hutch_nl_put_str(&bt->nl, NFTA_RULE_TABLE, TABLE);
	hutch_nl_put_str(&bt->nl, NFTA_RULE_CHAIN, chain);
	exprs = hutch_nl_nest(&bt->nl, NFTA_RULE_EXPRESSIONS);
	build(bt, arg);
	hutch_nl_nest_end(&bt->nl, exprs);
}

/*
 * The out chain of @family: everything dropped but loopback (@lo_rule), and in a
 * namespace of its own (HUTCH_NFT_OWN_NETWORK) what stays in it and the replies.
 */
static void out_chain(struct batch *bt, uint16_t family, void (*lo_rule)(struct batch *, uint16_t),
		      unsigned flags)
{
	add_chain(bt, family, "out", "filter", 0, NF_DROP);
	add_rule(bt, family, "out", lo_rule, 0);
	if (flags & HUTCH_NFT_OWN_NETWORK) {
		add_rule(bt, family, "out", lo_oif_rule, 0);
		add_rule(bt, family, "out", ct_reply_rule, 0);
	}
}

size_t hutch_nft_build(void *buf, size_t size, uint16_t redirect_port, unsigned flags,
		       unsigned *acks)
{
	static const uint16_t families[] = {NFPROTO_IPV4, NFPROTO_IPV6};
	struct batch bt = {.seq = 1};

	hutch_nl_init(&bt.nl, buf, size);
	batch_edge(&bt, NFNL_MSG_BATCH_BEGIN);
	/* a previous daemon's tables, if any, are replaced (created, then deleted) */
	for (size_t i = 0; (flags & HUTCH_NFT_OWN_NETWORK) && i < ARRAY_SIZE(families); i++) {
		add_table(&bt, families[i]);
		del_table(&bt, families[i]);
	}
	add_table(&bt, NFPROTO_IPV4);
	add_chain(&bt, NFPROTO_IPV4, "nat", "nat", -100, NF_ACCEPT);
	add_rule(&bt, NFPROTO_IPV4, "nat", redirect_rule, redirect_port);
	out_chain(&bt, NFPROTO_IPV4, lo4_rule, flags);
	add_table(&bt, NFPROTO_IPV6);
	out_chain(&bt, NFPROTO_IPV6, lo6_rule, flags);
	batch_edge(&bt, NFNL_MSG_BATCH_END);
	if (acks)
		*acks = bt.acks;
	return bt.nl.oom ? 0 : bt.nl.len;
}

int hutch_nft_setup(uint16_t redirect_port, hutch_error *err)
{
	return hutch_nft_setup_ex(redirect_port, 0, err);
}

int hutch_nft_setup_ex(uint16_t redirect_port, unsigned flags, hutch_error *err)
{
	char buf[BATCH_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	unsigned acks;
	size_t len = hutch_nft_build(buf, sizeof(buf), redirect_port, flags, &acks);
	int r;

	if (!len)
		return hutch_err(err, ENOMEM, "network: nftables rules");
	r = hutch_nl_transact(NETLINK_NETFILTER, buf, len, acks);
	if (r < 0)
		return hutch_err(err, -r,
				 "network: loading the transparent egress rules (nftables)");
	return 0;
}

int hutch_nft_probe(hutch_error *err)
{
	int pipefd[2], status, r = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return hutch_err(err, errno, "nftables probe");
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return hutch_err(err, -r, "nftables probe");
	}
	if (pid == 0) {
		int e = 0;

		close(pipefd[0]);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			e = errno;
		else
			e = -hutch_nft_setup(1, NULL);
		if (write(pipefd[1], &e, sizeof(e)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &r, sizeof(r)) != sizeof(r))
		r = EIO;
	close(pipefd[0]);
	(void)waitpid(pid, &status, 0);
	if (r)
		return hutch_err(err, r, "nf_tables in a user namespace's network namespace");
	return 0;
}
