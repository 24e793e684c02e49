import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { UserError } from "../../src/common/errors.ts";
import { networkPaths } from "../../src/common/paths.ts";
import {
  allocate,
  listEndpoints,
  listLeases,
  reclaim,
  release,
  removeNetwork,
  withMembers,
} from "../../src/network/ipam.ts";
import {
  bridgeNameFor,
  chooseSubnet,
  createNetwork,
  defaultPools,
  getNetwork,
  listNetworks,
  readNetwork,
} from "../../src/network/networks.ts";

let root = "";
const saved = process.env.MINI_ROOT;
beforeEach(() => {
  root = mkdtempSync("/tmp/mini-ipam-test-");
  process.env.MINI_ROOT = root;
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  if (saved === undefined) delete process.env.MINI_ROOT;
  else process.env.MINI_ROOT = saved;
});

describe("subnet choice", () => {
  test("docker's default pools, in order", () => {
    const pools = defaultPools();
    expect(pools.length).toBe(31);
    expect(pools.slice(0, 3)).toEqual(["172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16"]);
    expect(pools[14]).toBe("172.31.0.0/16");
    expect(pools[15]).toBe("192.168.0.0/20");
    expect(pools[16]).toBe("192.168.16.0/20");
    expect(pools[30]).toBe("192.168.240.0/20");
  });

  test("the first pool clear of the host's routes and mini's networks", () => {
    expect(chooseSubnet([], [])).toBe("172.17.0.0/16");
    // default routes don't count; docker0's and a VPN's do
    expect(chooseSubnet(["0.0.0.0/0", "172.17.0.0/16", "10.0.0.0/8"], [])).toBe("172.18.0.0/16");
    expect(chooseSubnet(["172.18.5.0/24"], ["172.17.0.0/16"])).toBe("172.19.0.0/16");
    expect(chooseSubnet(["172.16.0.0/12"], [])).toBe("192.168.0.0/20");
    expect(chooseSubnet(["172.16.0.0/12", "192.168.1.0/24"], ["192.168.16.0/20"])).toBe("192.168.32.0/20");
    expect(chooseSubnet(["172.0.0.0/8"], [])).toBe("192.168.0.0/20");
  });

  test("every pool taken: docker's message", () => {
    expect(() => chooseSubnet(["172.16.0.0/12", "192.168.0.0/16"], [])).toThrow(
      new UserError(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
      ),
    );
  });

  test("bridge names", () => {
    expect(bridgeNameFor("bridge")).toBe("mini0");
    expect(bridgeNameFor("front")).toMatch(/^mini-[0-9a-f]{10}$/);
    expect(bridgeNameFor("front")).toBe(bridgeNameFor("front"));
    expect(bridgeNameFor("front")).not.toBe(bridgeNameFor("back"));
  });
});

describe("networks", () => {
  test("created, read, listed", async () => {
    const n = await createNetwork({ name: "front" }, ["10.0.2.0/24", "0.0.0.0/0"]);
    expect(n).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      name: "front",
      bridge: bridgeNameFor("front"),
      subnet: "172.17.0.0/16",
      gateway: "172.17.0.1",
      internal: false,
      created: expect.any(String),
    });
    const b = await createNetwork({ name: "back", internal: true }, ["10.0.2.0/24"]);
    expect(b.subnet).toBe("172.18.0.0/16");
    expect(b.internal).toBe(true);
    const c = await createNetwork({ name: "bridge", subnet: "10.88.0.0/24" }, []);
    expect(c).toMatchObject({ bridge: "mini0", subnet: "10.88.0.0/24", gateway: "10.88.0.1" });
    expect(listNetworks().map((x) => x.name)).toEqual(["back", "bridge", "front"]);
    expect(readNetwork("front")).toEqual(n);
    expect(readNetwork("nope")).toBeUndefined();
    expect(() => getNetwork("nope")).toThrow(new UserError("network nope not found"));
    expect(JSON.parse(readFileSync(networkPaths.record("front"), "utf8"))).toEqual(n);
  });

  test("refused: a name, bridge or subnet taken; invalid values", async () => {
    await createNetwork({ name: "front", subnet: "172.20.0.0/16" }, []);
    const fails = (opts: Parameters<typeof createNetwork>[0]) => expect(createNetwork(opts, [])).rejects;
    await fails({ name: "front" }).toThrow(new UserError("network with name front already exists"));
    await fails({ name: "x", subnet: "172.20.128.0/17" }).toThrow(
      "subnet 172.20.128.0/17 overlaps with network front (172.20.0.0/16)",
    );
    await fails({ name: "x", subnet: "172.0.0.0/8" }).toThrow("overlaps with network front");
    await fails({ name: "x", bridge: bridgeNameFor("front") }).toThrow(
      `bridge ${bridgeNameFor("front")} is already used by network front`,
    );
    await fails({ name: "x", subnet: "172.21.0.5/16" }).toThrow(
      'invalid subnet "172.21.0.5/16": host bits are set (172.21.0.0/16?)',
    );
    await fails({ name: "x", subnet: "10.0.0.0/31" }).toThrow("too small");
    await fails({ name: "x", subnet: "banana" }).toThrow('invalid subnet "banana"');
    await fails({ name: "x", bridge: "much-too-long-bridge" }).toThrow("invalid bridge name");
    await fails({ name: "../etc" }).toThrow('invalid network name "../etc"');
    await fails({ name: "" }).toThrow("invalid network name");
    await fails({ name: "x", gateway: "10.1.0.1" }).toThrow("--gateway needs --subnet");
    await fails({ name: "x", subnet: "10.1.0.0/24", gateway: "10.2.0.1" }).toThrow(
      "gateway 10.2.0.1 is not in subnet 10.1.0.0/24",
    );
    await fails({ name: "x", subnet: "10.1.0.0/24", gateway: "10.1.0.255" }).toThrow("broadcast");
    expect(listNetworks().length).toBe(1);
  });

  test("an automatic subnet skips the other networks'", async () => {
    await createNetwork({ name: "a", subnet: "172.17.0.0/24" }, []);
    expect((await createNetwork({ name: "b" }, [])).subnet).toBe("172.18.0.0/16");
  });
});

describe("leases", () => {
  beforeEach(async () => {
    await createNetwork({ name: "front", subnet: "10.10.0.0/24" }, []);
  });

  test("the next free addresses, skipping network and gateway; one per container", async () => {
    const a = await allocate("front", "ca");
    expect(a).toEqual({
      containerId: "ca",
      ip: "10.10.0.2",
      prefix: 24,
      gateway: "10.10.0.1",
      mac: "02:42:0a:0a:00:02",
    });
    expect((await allocate("front", "cb")).ip).toBe("10.10.0.3");
    expect(await allocate("front", "ca")).toEqual(a); // already holds one
    expect(listLeases("front")).toEqual({ "10.10.0.2": "ca", "10.10.0.3": "cb" });
  });

  test("a released address is not handed out again at once; the search wraps around", async () => {
    await createNetwork({ name: "tiny", subnet: "10.20.0.0/29" }, []); // hosts .2 .. .6
    for (const id of ["a", "b", "c"]) await allocate("tiny", id);
    expect(await release("tiny", "b")).toEqual(["10.20.0.3"]);
    expect((await allocate("tiny", "d")).ip).toBe("10.20.0.5");
    expect((await allocate("tiny", "e")).ip).toBe("10.20.0.6");
    expect((await allocate("tiny", "f")).ip).toBe("10.20.0.3"); // wrapped, skipping .2 (taken)
    await expect(allocate("tiny", "g")).rejects.toThrow(
      new UserError("no available IPv4 addresses on network tiny (10.20.0.0/29)"),
    );
    // full, but some holders are gone: their leases are taken back
    expect((await allocate("tiny", "g", { isAlive: (id) => id !== "c" })).ip).toBe("10.20.0.4");
    expect(listLeases("tiny")).toEqual({
      "10.20.0.2": "a",
      "10.20.0.3": "f",
      "10.20.0.4": "g",
      "10.20.0.5": "d",
      "10.20.0.6": "e",
    });
  });

  test("a requested address (--ip)", async () => {
    expect((await allocate("front", "ca", { ip: "10.10.0.77" })).ip).toBe("10.10.0.77");
    expect((await allocate("front", "cb")).ip).toBe("10.10.0.2"); // the search doesn't start after a requested one
    expect((await allocate("front", "ca", { ip: "10.10.0.77" })).ip).toBe("10.10.0.77");
    // asking for another one moves the container's lease
    expect((await allocate("front", "ca", { ip: "10.10.0.78" })).ip).toBe("10.10.0.78");
    expect(listLeases("front")).toEqual({ "10.10.0.2": "cb", "10.10.0.78": "ca" });
  });

  test("a requested address refused, in one clear line", async () => {
    await allocate("front", "ca", { ip: "10.10.0.9" });
    const fails = (ip: string) => expect(allocate("front", "cb", { ip })).rejects;
    await fails("10.10.0.9").toThrow(new UserError("address 10.10.0.9 is already in use on network front"));
    await fails("10.10.1.9").toThrow(new UserError("address 10.10.1.9 is not in network front's subnet 10.10.0.0/24"));
    await fails("10.10.0.1").toThrow(new UserError("address 10.10.0.1 is reserved on network front (the gateway)"));
    await fails("10.10.0.0").toThrow("(the network address)");
    await fails("10.10.0.255").toThrow("(the broadcast address)");
    await fails("10.10.0.300").toThrow(new UserError('invalid IPv4 address "10.10.0.300"'));
    await expect(allocate("nope", "cb")).rejects.toThrow(new UserError("network nope not found"));
    expect(listLeases("front")).toEqual({ "10.10.0.9": "ca" });
  });

  test("reclaim the leases of containers that are gone", async () => {
    for (const id of ["a", "b", "c"]) await allocate("front", id);
    expect(await reclaim("front", (id) => id === "b")).toEqual([
      { ip: "10.10.0.2", containerId: "a" },
      { ip: "10.10.0.4", containerId: "c" },
    ]);
    expect(listLeases("front")).toEqual({ "10.10.0.3": "b" });
    expect(await reclaim("front", () => true)).toEqual([]);
    expect(await release("front", "nobody")).toEqual([]);
  });

  test("a chosen gateway is reserved like .1 is otherwise; the search starts after it", async () => {
    const net = await createNetwork({ name: "gw", subnet: "10.40.0.0/29", gateway: "10.40.0.6" }, []);
    expect(net.gateway).toBe("10.40.0.6");
    expect((await allocate("gw", "a")).ip).toBe("10.40.0.1"); // after .6 comes .1 (wrapping)
    expect((await allocate("gw", "b")).ip).toBe("10.40.0.2");
    await expect(allocate("gw", "c", { ip: "10.40.0.6" })).rejects.toThrow(
      new UserError("address 10.40.0.6 is reserved on network gw (the gateway)"),
    );
    expect((await allocate("gw", "c", { ip: "10.40.0.1" }).catch((e) => e.message)) as string).toContain("in use");
    for (const id of ["d", "e", "f"]) await allocate("gw", id);
    await expect(allocate("gw", "g")).rejects.toThrow("no available IPv4 addresses"); // .6 never handed out
  });

  test("each lease's holder: name, aliases, hosts file and process, dropped with the lease", async () => {
    await allocate("front", "ca", {
      endpoint: { name: "web", aliases: ["www"], hostsFile: "/x/hosts", pid: 7, pidStart: "9" },
    });
    await allocate("front", "cb");
    expect(listEndpoints("front")).toEqual([
      {
        containerId: "ca",
        ip: "10.10.0.2",
        name: "web",
        aliases: ["www"],
        hostsFile: "/x/hosts",
        pid: 7,
        pidStart: "9",
      },
      { containerId: "cb", ip: "10.10.0.3", name: "cb", aliases: [] },
    ]);
    // isAlive sees the holder's description
    const seen: unknown[] = [];
    await reclaim("front", (id, e) => {
      seen.push([id, e?.pid]);
      return true;
    });
    expect(seen).toEqual([
      ["ca", 7],
      ["cb", undefined],
    ]);
    // the same container asking again updates its description (a restart: another pid)
    await allocate("front", "ca", { endpoint: { name: "web", aliases: [], pid: 8, pidStart: "10" } });
    expect(listEndpoints("front")[0]).toMatchObject({ ip: "10.10.0.2", pid: 8, aliases: [] });
    await release("front", "ca");
    expect(await withMembers("front", (m) => m.map((x) => x.containerId))).toEqual(["cb"]);
    expect(JSON.parse(readFileSync(networkPaths.leases("front"), "utf8")).endpoints).toEqual({});
  });

  test("a network is removed only when no live container holds an address on it", async () => {
    await allocate("front", "a");
    await expect(removeNetwork("front")).rejects.toThrow(
      new UserError("error while removing network: network front has active endpoints"),
    );
    await removeNetwork("front", () => false);
    expect(readNetwork("front")).toBeUndefined();
    expect(existsSync(networkPaths.leases("front"))).toBe(false);
    await expect(removeNetwork("front")).rejects.toThrow("network front not found");
  });
});
