// Netlink messages without root: every request kind byte for byte against what iproute2 sends for
// the same command (captured with `strace -e trace=sendmsg,sendto -e write=3,4` in a throwaway
// netns on kernel 6.18 / iproute2 6.1; the same nlmsg_seq is passed here), and the parsing of the
// kernel's replies: ACKs, errors with and without extended-ack text, single replies and
// multi-part dumps spread over several datagrams.
import { describe, expect, test } from "bun:test";
import {
  attr,
  encodeAttrs,
  encodeMessage,
  parseAttrs,
  parseMessages,
  parseStatus,
  Replies,
  read,
} from "../../src/network/netlink-message.ts";
import {
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  dumpRoutesRequest,
  getLinkRequest,
  ifinfomsg,
  newAddressRequest,
  newBridgeRequest,
  newRouteRequest,
  newVethRequest,
  parseAddress,
  parseCidr,
  parseIpv4,
  parseLink,
  parseMac,
  parseRoute,
  setBridgePortRequest,
  setLinkRequest,
} from "../../src/network/rtnetlink-message.ts";
import { dumpRulesRequest, ruleComment } from "../../src/network/nftables-read.ts";
import * as C from "../../src/sys/constants.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const h = (s: string) => s.replace(/\s+/g, "");
const bytes = (s: string) => new Uint8Array(Buffer.from(h(s), "hex"));
const SEQ = 0x6b0efd3c; // "3cfd0e6b" in the captures

describe("requests: the bytes iproute2 sends", () => {
  test("ip link add br0 mtu 1400 type bridge", () => {
    expect(hex(newBridgeRequest({ name: "br0", mtu: 1400 }, SEQ))).toBe(
      "40000000100005063cfd0e6b00000000" +
        "00000000000000000000000000000000" + // ifinfomsg
        "0800040078050000" + // IFLA_MTU 1400
        "0800030062723000" + // IFLA_IFNAME "br0\0"
        "100012000a000100627269646765" + // IFLA_LINKINFO { IFLA_INFO_KIND "bridge" (no NUL) }
        "0000",
    );
  });

  test("ip link add v0 type veth peer name eth0 netns 3830", () => {
    expect(hex(newVethRequest({ name: "v0", peer: { name: "eth0", netns: { pid: 3830 } } }, SEQ))).toBe(
      "60000000100005063cfd0e6b00000000" +
        "00000000000000000000000000000000" +
        "0700030076300000" + // IFLA_IFNAME "v0\0"
        "38001200" + // IFLA_LINKINFO
        "0800010076657468" + // IFLA_INFO_KIND "veth"
        "2c000200" + // IFLA_INFO_DATA
        "28000100" + // VETH_INFO_PEER: ifinfomsg + attributes
        "00000000000000000000000000000000" +
        "08001300f60e0000" + // IFLA_NET_NS_PID 3830
        "090003006574683000000000", // IFLA_IFNAME "eth0\0"
    );
  });

  test("ip link add v1 mtu 1400 address … type veth peer name eth1 mtu 1400 address … netns 3830", () => {
    const req = newVethRequest(
      {
        name: "v1",
        mtu: 1400,
        mac: "02:42:ac:11:00:01",
        peer: { name: "eth1", mtu: 1400, mac: "02:42:ac:11:00:02", netns: { pid: 3830 } },
      },
      SEQ,
    );
    expect(hex(req)).toBe(
      "88000000100005063cfd0e6b000000000000000000000000000000000000000008000400780500000a0001000242ac110001000007000300" +
        "763100004c0012000800010076657468400002003c0001000000000000000000000000000000000008000400780500000a0001000242ac" +
        "110002000008001300f60e0000090003006574683100000000",
    );
  });

  test("the peer in a namespace given by fd: IFLA_NET_NS_FD (28) instead of IFLA_NET_NS_PID (19)", () => {
    const byPid = newVethRequest({ name: "v0", peer: { name: "eth0", netns: { pid: 7 } } });
    const byFd = newVethRequest({ name: "v0", peer: { name: "eth0", netns: { fd: 7 } } });
    expect(hex(byFd)).toBe(hex(byPid).replace("0800130007000000", "08001c0007000000"));
    const noNs = newVethRequest({ name: "v0", peer: { name: "eth0" } });
    expect(noNs.byteLength).toBe(byPid.byteLength - 8);
  });

  const setHeader = (len: string, seq = "3cfd0e6b") => `${len}00000010000500${seq}00000000`;
  test("ip link set dev v0 master br0 / nomaster (index 4, bridge index 2)", () => {
    expect(hex(setLinkRequest(4, { master: 2 }, SEQ))).toBe(
      `${setHeader("28")}0000000004000000000000000000000008000a0002000000`,
    );
    expect(hex(setLinkRequest(4, { master: 0 }, SEQ))).toBe(
      `${setHeader("28")}0000000004000000000000000000000008000a0000000000`,
    );
  });

  test("ip link set dev v0 up / down: IFF_UP in ifi_flags, IFF_UP in ifi_change", () => {
    expect(hex(setLinkRequest(4, { up: true }, SEQ))).toBe(`${setHeader("20")}00000000040000000100000001000000`);
    expect(hex(setLinkRequest(4, { up: false }, SEQ))).toBe(`${setHeader("20")}00000000040000000000000001000000`);
  });

  test("ip link set dev v0 mtu 1300 / address 02:42:ac:11:00:03", () => {
    expect(hex(setLinkRequest(4, { mtu: 1300 }, SEQ))).toBe(
      h(`${setHeader("28")} 00000000040000000000000000000000 0800040014050000`),
    );
    expect(hex(setLinkRequest(4, { mac: "02:42:ac:11:00:03" }, SEQ + 1))).toBe(
      h(`${setHeader("2c", "3dfd0e6b")} 00000000040000000000000000000000 0a0001000242ac1100030000`),
    );
  });

  test("by name instead of index: index 0 and IFLA_IFNAME first (the kernel looks the link up)", () => {
    expect(hex(setLinkRequest("v0", { up: true, mtu: 1300 }, SEQ))).toBe(
      h(`${setHeader("30")} 00000000000000000100000001000000 0700030076300000 0800040014050000`),
    );
    expect(hex(deleteLinkRequest("v0", SEQ))).toBe(
      "28000000110005003cfd0e6b00000000000000000000000000000000000000000700030076300000",
    );
  });

  test("ip link del v0 (index 4)", () => {
    expect(hex(deleteLinkRequest(4, SEQ + 1))).toBe("20000000110005003dfd0e6b0000000000000000040000000000000000000000");
  });

  test("ip link show lo: RTM_GETLINK by name, no ACK (mini's IFLA_EXT_MASK skips stats only, not VF: 8, not 9)", () => {
    const ip = "30000000120001003cfd0e6b000000000000000000000000000000000000000008001d0009000000070003006c6f0000";
    expect(hex(getLinkRequest("lo", SEQ))).toBe(ip.replace("08001d0009000000", "08001d0008000000"));
  });

  test("link dump: RTM_GETLINK with NLM_F_DUMP (iproute2 asks AF_PACKET + VF; mini AF_UNSPEC + skip stats)", () => {
    expect(hex(dumpLinksRequest(SEQ))).toBe(
      "28000000120001033cfd0e6b000000000000000000000000000000000000000008001d0008000000",
    );
  });

  test("ip addr add 10.88.0.1/16 dev br0 (index 2): IFA_LOCAL and IFA_ADDRESS", () => {
    expect(hex(newAddressRequest(2, "10.88.0.1/16", SEQ))).toBe(
      "28000000140005063cfd0e6b00000000" + "0210000002000000" + "080002000a580001" + "080001000a580001",
    );
  });

  test("ip -4 addr show: RTM_GETADDR dump of AF_INET", () => {
    expect(hex(dumpAddressesRequest(SEQ + 2))).toBe("18000000160001033efd0e6b000000000200000000000000");
  });

  test("ip route add default via 10.88.0.254 dev br0", () => {
    expect(hex(newRouteRequest({ dst: "default", gateway: "10.88.0.254", oif: 2 }, SEQ))).toBe(
      "2c000000180005063cfd0e6b00000000" +
        "02000000fe030001" + // AF_INET, /0, main, boot, universe, unicast
        "00000000" +
        "080005000a5800fe" + // RTA_GATEWAY
        "0800040002000000", // RTA_OIF
    );
  });

  test("ip route add 10.99.0.0/16 via 10.88.0.254; ip route add 10.77.0.0/16 dev br0 (scope link)", () => {
    expect(hex(newRouteRequest({ dst: "10.99.0.0/16", gateway: "10.88.0.254" }, SEQ + 1))).toBe(
      "2c000000180005063dfd0e6b0000000002100000fe03000100000000080001000a630000080005000a5800fe",
    );
    expect(hex(newRouteRequest({ dst: "10.77.0.0/16", oif: 2 }, SEQ + 1))).toBe(
      "2c000000180005063dfd0e6b0000000002100000fe03fd0100000000080001000a4d00000800040002000000",
    );
    // "0.0.0.0/0" is the default route too
    expect(hex(newRouteRequest({ dst: "0.0.0.0/0", gateway: "10.88.0.254", oif: 2 }))).toBe(
      hex(newRouteRequest({ dst: "default", gateway: "10.88.0.254", oif: 2 })),
    );
  });

  test("ip -4 route show table main: RTM_GETROUTE dump with RTA_TABLE 254", () => {
    expect(hex(dumpRoutesRequest(0x6b0efd72))).toBe(
      "240000001a00010372fd0e6b00000000" + "020000000000000000000000" + "08000f00fe000000",
    );
  });

  test("ip link set v0 type bridge_slave hairpin on (index 4): IFLA_INFO_SLAVE_DATA { IFLA_BRPORT_MODE 1 }", () => {
    // iproute2's own sequence number in this capture: 0x6b0f03b3.
    expect(hex(setBridgePortRequest(4, { hairpin: true }, 0x6b0f03b3))).toBe(
      "40000000100005 00b3030f6b00000000".replace(" ", "") +
        "00000000040000000000000000000000" + // ifinfomsg, index 4
        "20001200" + // IFLA_LINKINFO
        "100001006272696467655f736c617665" + // IFLA_INFO_KIND "bridge_slave" (no NUL)
        "0c000500" + // IFLA_INFO_SLAVE_DATA
        "0500040001000000", // IFLA_BRPORT_MODE u8 1, padded
    );
    expect(hex(setBridgePortRequest(4, { hairpin: false }, 1)).slice(-16)).toBe("0500040000000000");
  });

  test("nft list chain inet mini forward: NFT_MSG_GETRULE dump with table and chain (what nft 1.0.6 sends)", () => {
    expect(hex(dumpRulesRequest("mini", "forward", 0))).toBe(
      "2c000000070a010300000000 00000000".replace(" ", "") +
        "01000000" + // nfgenmsg: NFPROTO_INET, NFNETLINK_V0, res_id 0
        "090001006d696e6900000000" + // NFTA_RULE_TABLE "mini\0"
        "0c000200666f727761726400", // NFTA_RULE_CHAIN "forward\0"
    );
  });

  test("bad input is refused before anything is sent", () => {
    expect(() => newAddressRequest(2, "10.88.0.256/16")).toThrow('invalid IPv4 address "10.88.0.256"');
    expect(() => newAddressRequest(2, "10.88.0.1/33")).toThrow('invalid IPv4 prefix "10.88.0.1/33"');
    expect(() => newRouteRequest({ dst: "default", gateway: "10.1.1" })).toThrow("invalid IPv4 address");
    expect(() => setLinkRequest(4, { mac: "02:42:ac:11:00" })).toThrow('invalid MAC address "02:42:ac:11:00"');
    expect(() => parseIpv4("01.2.3.4")).toThrow();
    expect(parseCidr("10.0.0.1")).toEqual({ address: "10.0.0.1", prefixLen: 32 });
    expect(parseMac("02:42:AC:11:00:02")).toEqual(Uint8Array.of(2, 0x42, 0xac, 0x11, 0, 2));
  });
});

describe("attributes", () => {
  test("padding to 4 bytes; nla_len without padding; nested lengths include the children's padding", () => {
    const enc = encodeAttrs([attr.str(3, "ab"), attr.nested(18, [attr.chars(1, "veth0")])]);
    expect(hex(enc)).toBe("070003006162000010001200" + "0900010076657468300000" + "00");
    const parsed = parseAttrs(enc);
    expect(read.str(parsed.get(3)!)).toBe("ab");
    expect(read.str(parseAttrs(parsed.get(18)!).get(1)!)).toBe("veth0");
  });

  test("NLA_F_NESTED and NLA_F_NET_BYTEORDER are masked off the type; a truncated attribute ends the list", () => {
    const data = bytes("08000a80 02000000 0800 0b40 03000000 0c00 0c00 0000");
    const a = parseAttrs(data);
    expect(read.u32(a.get(10)!)).toBe(2);
    expect(read.u32(a.get(11)!)).toBe(3);
    expect(a.has(12)).toBe(false);
  });

  test("a message length running past the datagram is an error, not a silent cut", () => {
    expect(() => parseMessages(bytes("40000000 0200 0000 01000000 00000000 00000000"))).toThrow("malformed");
  });
});

describe("replies", () => {
  // NLMSG_ERROR -EEXIST for `ip link add br0 type bridge`, the request echoed whole (no CAP_ACK).
  const EEXIST = h(
    "4c000000020000 00b1fc0e6b85520000 efffffff38000000100005 06b1fc0e6b 0000000000000000000000000000000000000000 " +
      "0800030062723000100012000a000100627269646765 0000",
  );
  // The same refusal on mini's socket (NETLINK_CAP_ACK: only the request's header comes back).
  const EEXIST_CAPPED = h("24000000020000 0103000000 3c220000 efffffff 38000000 10000506 03000000 00000000");
  // `ip route add 10.0.0.0/8 via 1.2.3.4`: ENETUNREACH with extended-ack text, uncapped (iproute2's socket) …
  const UNREACH = h(
    "600000000200 0002 b6fc0e6b a2530000 9bffffff 2c000000 18000506 b6fc0e6b 00000000 02080000 fe030001 00000000" +
      "080001000a000000 0800050001020304" +
      "200001004e657874686f7020686173 20696e76616c6964206761746577617900",
  );
  // … and capped (mini's).
  const UNREACH_CAPPED = h(
    "44000000 02000003 02000000 3c220000 9bffffff 2c000000 18000506 02000000 00000000" +
      "200001004e657874686f7020686173 20696e76616c6964206761746577617900",
  );
  const ACK = h("24000000 02000001 01000000 3c220000 00000000 28000000 10000500 01000000 00000000");

  const status = (h: string) => parseStatus(parseMessages(bytes(h))[0]);

  test("NLMSG_ERROR → errno; 0 is the ACK", () => {
    expect(status(EEXIST)).toEqual({ errno: 17 });
    expect(status(EEXIST_CAPPED)).toEqual({ errno: 17 });
    expect(status(ACK)).toEqual({ errno: 0 });
  });

  test("extended ack: the kernel's text after the echoed request, capped or not", () => {
    expect(status(UNREACH)).toEqual({ errno: 101, message: "Nexthop has invalid gateway" });
    expect(status(UNREACH_CAPPED)).toEqual({ errno: 101, message: "Nexthop has invalid gateway" });
  });

  test("an ACK ends a request that asked for one; messages of another sequence number are skipped", () => {
    const r = new Replies(setLinkRequest("lo", { up: true }, 1));
    expect(r.add(bytes(ACK.replace("010000003c22", "070000003c22")))).toBe(false); // seq 7: stale
    expect(r.status).toBeUndefined();
    expect(r.add(bytes(ACK))).toBe(true);
    expect(r.status).toEqual({ errno: 0 });
    expect(r.messages).toEqual([]);
  });

  // RTM_NEWADDR for 10.88.0.1/16 on br0 (index 2) from a real dump, and the dump's NLMSG_DONE.
  const NEWADDR = h(
    "4c000000140002 00b2fc0e6b79520000 0210800002000000 080001000a580001 080002000a580001 0800030062723000" +
      "0800080080000000 14000600ffffffffffffffffed560100ed560100",
  );
  const DONE = h("14000000030002 00b2fc0e6b79520000 00000000");

  test("a dump spread over datagrams: every NLM_F_MULTI part until NLMSG_DONE", () => {
    const second = NEWADDR.replace(
      h("0210800002000000 080001000a580001 080002000a580001"),
      h("0218800003000000 080001000a0b0c0d 080002000a0b0c0d"),
    ).replace("62723000", "65746830");
    const r = new Replies(dumpAddressesRequest(0x6b0efcb2));
    expect(r.add(bytes(NEWADDR + second))).toBe(false);
    expect(r.add(bytes(DONE))).toBe(true);
    expect(r.status).toEqual({ errno: 0 });
    expect(r.interrupted).toBe(false);
    expect(r.messages.map(parseAddress)).toEqual([
      { index: 2, family: C.AF_INET, prefixLen: 16, address: "10.88.0.1", scope: 0, flags: 0x80, label: "br0" },
      { index: 3, family: C.AF_INET, prefixLen: 24, address: "10.11.12.13", scope: 0, flags: 0x80, label: "eth0" },
    ]);
  });

  test("NLM_F_DUMP_INTR marks the dump inconsistent; an NLMSG_DONE with an error ends it with that errno", () => {
    const r = new Replies(dumpAddressesRequest(0x6b0efcb2));
    r.add(bytes(NEWADDR.replace("14000200", "14001200"))); // flags MULTI|DUMP_INTR
    expect(r.interrupted).toBe(true);
    const failed = new Replies(dumpAddressesRequest(0x6b0efcb2));
    expect(failed.add(bytes(DONE.replace(/00000000$/, "f9ffffff")))).toBe(true); // -E2BIG
    expect(failed.status).toEqual({ errno: 7 });
  });

  test("a request without NLM_F_ACK (RTM_GETLINK) ends with its single reply, or with an error", () => {
    const link = encodeMessage(C.RTM_NEWLINK, 0, 5, ifinfomsg(3, C.IFF_UP | C.IFF_LOWER_UP), [
      attr.str(C.IFLA_IFNAME, "veth1"),
      attr.u32(C.IFLA_MTU, 1450),
      attr.bytes(C.IFLA_ADDRESS, parseMac("02:42:0a:00:00:02")),
      attr.u32(C.IFLA_MASTER, 2),
      attr.u32(C.IFLA_LINK, 2),
      attr.nested(C.IFLA_LINKINFO, [attr.chars(C.IFLA_INFO_KIND, "veth")]),
    ]);
    const r = new Replies(getLinkRequest("veth1", 5));
    expect(r.add(link)).toBe(true);
    expect(parseLink(r.messages[0])).toEqual({
      index: 3,
      name: "veth1",
      type: 0,
      flags: C.IFF_UP | C.IFF_LOWER_UP,
      up: true,
      mtu: 1450,
      mac: "02:42:0a:00:00:02",
      master: 2,
      link: 2,
      kind: "veth",
    });
    const missing = new Replies(getLinkRequest("nope", 1));
    expect(
      missing.add(bytes(EEXIST_CAPPED.replace("030000003c22", "010000003c22").replace("efffffff", "edffffff"))),
    ).toBe(true);
    expect(missing.status).toEqual({ errno: 19 }); // ENODEV
  });

  test("the reply's payload is a copy: the receive buffer can be reused", () => {
    const buf = bytes(ACK.replace("02000001", "14000200")); // an RTM_NEWADDR part of a dump
    const r = new Replies(dumpAddressesRequest(1));
    r.add(buf);
    const before = hex(r.messages[0].payload);
    buf.fill(0xee);
    expect(hex(r.messages[0].payload)).toBe(before);
  });

  test("a rule's comment from its NFTA_RULE_USERDATA (the kernel's NFT_MSG_NEWRULE of a real dump)", () => {
    // nfgenmsg, NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE (expressions left out), then the
    // userdata nft wrote: TLV type 0 (comment), length 0x1f, the text with its NUL.
    const udata = `001f${Buffer.from("net bridge mini0 172.17.0.0/16\0").toString("hex")}`;
    const rule = encodeMessage((10 << 8) | 6, C.NLM_F_MULTI, 0, bytes("01000002"), [
      attr.str(1, "mini"),
      attr.str(2, "forward"),
      attr.bytes(3, bytes("0000000000000002")),
      attr.bytes(7, bytes(udata)),
    ]);
    const [m] = parseMessages(rule);
    expect(ruleComment(m)).toBe("net bridge mini0 172.17.0.0/16");
    const noComment = encodeMessage((10 << 8) | 6, C.NLM_F_MULTI, 0, bytes("01000002"), [attr.str(1, "mini")]);
    expect(ruleComment(parseMessages(noComment)[0])).toBeUndefined();
    // Another TLV before the comment (nft writes the comment first, but the format allows more).
    const two = encodeMessage((10 << 8) | 6, 0, 0, bytes("01000002"), [attr.bytes(7, bytes(`0102abcd${udata}`))]);
    expect(ruleComment(parseMessages(two)[0])).toBe("net bridge mini0 172.17.0.0/16");
  });

  test("RTM_NEWROUTE from a real dump: 10.88.0.0/16 dev br0 proto kernel scope link src 10.88.0.1", () => {
    const m = parseMessages(
      bytes(
        "3c000000180022 00b1fc0e6b7d520000 02100000fe02fd0100000000 08000f00fe000000 080001000a580000" +
          "080007000a580001 0800040002000000",
      ),
    )[0];
    expect(m.flags).toBe(C.NLM_F_MULTI | C.NLM_F_DUMP_FILTERED);
    expect(parseRoute(m)).toEqual({
      dst: "10.88.0.0",
      dstLen: 16,
      table: C.RT_TABLE_MAIN,
      protocol: C.RTPROT_KERNEL,
      scope: C.RT_SCOPE_LINK,
      type: C.RTN_UNICAST,
      oif: 2,
      prefsrc: "10.88.0.1",
    });
  });
});
