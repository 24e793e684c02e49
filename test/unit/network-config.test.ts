// What a container is told about its network, without root: the request its flags make (docker's
// conflicts), its /etc/hosts blocks for user networks, its /etc/resolv.conf.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { UserError } from "../../src/common/errors.ts";
import { networkRequest, parseAddHost, requestedPorts } from "../../src/config/network-flags.ts";
import type { Member } from "../../src/network/ipam.ts";
import { editInPlace, namesOf, peerLines, replaceBlock } from "../../src/runtime/hosts-sync.ts";
import { ownHosts } from "../../src/runtime/network-attach.ts";
import { networkResolvConf, onlyResolvedStub } from "../../src/runtime/resolv-conf.ts";

describe("the request the flags make", () => {
  test("the default: the bridge network", () => {
    expect(networkRequest({})).toEqual({
      mode: "bridge",
      endpoints: [{ network: "bridge", aliases: [] }],
      publish: [],
      publishAll: false,
      exposed: [],
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      addHosts: [],
    });
  });

  test("a user network with --ip, aliases, a MAC; ports; dns; hosts", () => {
    const r = networkRequest({
      network: "front",
      ip: "10.1.0.9",
      aliases: ["www", "web.local"],
      mac: "02:AB:00:00:00:01",
      publish: ["8080:80"],
      dns: ["192.0.2.53"],
      dnsSearch: ["example.org"],
      addHosts: ["db:10.9.9.9", "gw=host-gateway"],
    });
    expect(r.endpoints).toEqual([
      { network: "front", ip: "10.1.0.9", aliases: ["www", "web.local"], mac: "02:ab:00:00:00:01" },
    ]);
    expect(r.publish).toEqual([{ proto: "tcp", hostPort: 8080, containerPort: 80 }]);
    expect(r.addHosts).toEqual([
      { host: "db", ip: "10.9.9.9" },
      { host: "gw", ip: "host-gateway" },
    ]);
  });

  test("none, host, container:NAME", () => {
    expect(networkRequest({ network: "none" })).toMatchObject({ mode: "none", endpoints: [] });
    expect(networkRequest({ network: "host", publish: ["80:80"] })).toMatchObject({ mode: "host", publish: [] });
    expect(networkRequest({ network: "container:web" })).toMatchObject({ mode: "container", container: "web" });
  });

  test("docker's conflicts, one line each", () => {
    const bad = (f: Parameters<typeof networkRequest>[0], msg: string) =>
      expect(() => networkRequest(f)).toThrow(new UserError(msg));
    bad(
      { ip: "172.17.0.9" },
      "--ip: a chosen address is supported on user-defined networks only (mini network create)",
    );
    bad(
      { aliases: ["x"] },
      "--network-alias: aliases are supported on user-defined networks only (mini network create)",
    );
    bad({ network: "none", publish: ["80"] }, "conflicting options: port publishing and --network none");
    bad(
      { network: "container:web", publish: ["80"] },
      "conflicting options: port publishing and --network container:web",
    );
    bad({ network: "container:web", hostname: true }, "conflicting options: --hostname and --network container:web");
    bad({ network: "container:web", dns: ["1.1.1.1"] }, "conflicting options: --dns and --network container:web");
    bad({ network: "host", dns: ["1.1.1.1"] }, "conflicting options: --dns and --network host");
    bad({ network: "host", mac: "02:00:00:00:00:01" }, "conflicting options: --mac-address and --network host");
    bad({ network: "container:" }, 'invalid --network "container:": name the container');
    bad({ network: "front", ip: "10.1.0.300" }, 'invalid --ip "10.1.0.300": an IPv4 address');
    bad({ mac: "02:00:00:00:00" }, 'invalid --mac-address "02:00:00:00:00"');
    bad({ dns: ["dns.example"] }, 'invalid --dns "dns.example": an IPv4 address');
    expect(() => parseAddHost("nocolon")).toThrow("invalid --add-host");
    expect(() => parseAddHost("db:10.1")).toThrow("invalid --add-host");
  });

  test("-P adds the image's exposed ports not published already, each on a port to choose", () => {
    const r = networkRequest({ publish: ["8080:80"], publishAll: true, exposed: ["80/tcp", "53/udp", "443"] });
    expect(requestedPorts(r)).toEqual([
      { proto: "tcp", hostPort: 8080, containerPort: 80 },
      { proto: "udp", containerPort: 53 },
      { proto: "tcp", containerPort: 443 },
    ]);
  });
});

describe("/etc/hosts on user networks", () => {
  const member = (containerId: string, name: string, ip: string, aliases: string[] = []): Member => ({
    containerId,
    name,
    ip,
    aliases,
  });
  const web = member("aaaaaaaaaaaa1111", "web", "10.1.0.2", ["www"]);
  const db = member("bbbbbbbbbbbb2222", "db", "10.1.0.3");

  test("a member answers to its name, aliases and short id; the others are listed by name", () => {
    expect(namesOf(web)).toEqual(["web", "www", "aaaaaaaaaaaa"]);
    expect(peerLines([web, db], web.containerId)).toEqual(["10.1.0.3\tdb bbbbbbbbbbbb"]);
    expect(peerLines([web, db], "someone-else")).toEqual([
      "10.1.0.3\tdb bbbbbbbbbbbb",
      "10.1.0.2\tweb www aaaaaaaaaaaa",
    ]);
  });

  test("blocks replaced, added, removed; the rest of the file kept", () => {
    const base = "127.0.0.1\tlocalhost\n10.1.0.2\tweb\n";
    const one = replaceBlock(base, "front", ["10.1.0.3\tdb"]);
    expect(one).toBe(`${base}# mini network front (kept current by mini)\n10.1.0.3\tdb\n# end of mini network front\n`);
    const two = replaceBlock(one, "back", ["10.2.0.5\tcache"]);
    const changed = replaceBlock(two, "front", ["10.1.0.4\tdb", "10.1.0.5\tqueue"]);
    expect(changed).toBe(
      `${base}# mini network back (kept current by mini)\n10.2.0.5\tcache\n# end of mini network back\n` +
        "# mini network front (kept current by mini)\n10.1.0.4\tdb\n10.1.0.5\tqueue\n# end of mini network front\n",
    );
    expect(replaceBlock(replaceBlock(changed, "front", []), "back", [])).toBe(base);
    // A user's own line after a block stays.
    expect(replaceBlock(`${one}1.2.3.4\tmine\n`, "front", [])).toBe(`${base}1.2.3.4\tmine\n`);
  });

  test("rewritten in place: the same inode, shorter text leaves no tail", async () => {
    const dir = mkdtempSync("/tmp/mini-hosts-test-");
    try {
      const f = `${dir}/hosts`;
      writeFileSync(f, "a long first version of the file\n");
      const ino = statSync(f).ino;
      await editInPlace(f, (t) => t.replace("a long first version of the file", "short"));
      expect(readFileSync(f, "utf8")).toBe("short\n");
      expect(statSync(f).ino).toBe(ino);
      await editInPlace(`${dir}/missing`, () => "x"); // a container that is gone: nothing to do
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the container's own file: docker's lines, --add-host, its address under its hostname", () => {
    const t = {
      id: "c1",
      name: "web",
      hostname: "web1",
      request: networkRequest({ network: "front", addHosts: ["db:10.9.9.9", "gw:host-gateway"] }),
    };
    const ep = {
      network: "front",
      networkId: "n",
      bridge: "b",
      ip: "10.1.0.2",
      prefix: 24,
      gateway: "10.1.0.1",
      mac: "m",
      hostVeth: "v",
      ifname: "eth0",
      aliases: [],
    };
    const text = ownHosts(t, [ep]);
    expect(text.split("\n").slice(0, 2)).toEqual(["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]);
    expect(text.endsWith("10.9.9.9\tdb\n10.1.0.1\tgw\n10.1.0.2\tweb1 web\n")).toBe(true);
    expect(text).not.toContain("127.0.1.1");
  });
});

describe("/etc/resolv.conf", () => {
  const none = { dns: [], dnsSearch: [], dnsOptions: [] };

  test("the host's, without loopback or IPv6 nameservers", () => {
    const host =
      "# comment\nsearch corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver 2001:db8::1\noptions edns0\n";
    expect(networkResolvConf(host, none)).toBe(
      "# comment\nsearch corp.example\nnameserver 192.0.2.53\noptions edns0\n",
    );
  });

  test("nothing usable left: docker's fallback resolvers", () => {
    expect(networkResolvConf("nameserver 127.0.0.1\n", none)).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    expect(networkResolvConf("", none)).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  });

  test("--dns, --dns-search, --dns-option replace their part", () => {
    const host = "search corp.example\nnameserver 192.0.2.53\noptions edns0\n";
    expect(
      networkResolvConf(host, {
        dns: ["198.51.100.53"],
        dnsSearch: ["a.example", "b.example"],
        dnsOptions: ["ndots:2"],
      }),
    ).toBe("search a.example b.example\nnameserver 198.51.100.53\noptions ndots:2\n");
    expect(networkResolvConf(host, { ...none, dnsSearch: ["."] })).toBe("nameserver 192.0.2.53\noptions edns0\n");
  });

  test("systemd-resolved's stub alone means: read its upstream file", () => {
    expect(onlyResolvedStub("nameserver 127.0.0.53\noptions edns0 trust-ad\n")).toBe(true);
    expect(onlyResolvedStub("nameserver 127.0.0.53\nnameserver 192.0.2.1\n")).toBe(false);
    expect(onlyResolvedStub("")).toBe(false);
  });
});
