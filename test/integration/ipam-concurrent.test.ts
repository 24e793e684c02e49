// Concurrent mini processes on one store: each allocation and each network creation holds a file
// lock, so no two processes ever get the same address or the same subnet.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createNetwork } from "../../src/network/networks.ts";
import { listLeases } from "../../src/network/ipam.ts";

const op = new URL("../helpers/ipam-op.ts", import.meta.url).pathname;
const root = mkdtempSync("/tmp/mini-ipam-concurrent-");
const env = { ...process.env, MINI_ROOT: root };
const saved = process.env.MINI_ROOT;
process.env.MINI_ROOT = root;

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (saved === undefined) delete process.env.MINI_ROOT;
  else process.env.MINI_ROOT = saved;
});

async function run(n: number, args: (i: number) => string[]): Promise<string[]> {
  const children = Array.from({ length: n }, (_, i) =>
    Bun.spawn(["bun", op, ...args(i)], { env, stdout: "pipe", stderr: "pipe" }),
  );
  return Promise.all(
    children.map(async (c) => {
      const [out, err, code] = await Promise.all([
        new Response(c.stdout).text(),
        new Response(c.stderr).text(),
        c.exited,
      ]);
      if (code !== 0) throw new Error(err);
      return out.trim();
    }),
  );
}

describe("IPAM across processes", () => {
  test("30 processes allocating at once get 30 different addresses", async () => {
    await createNetwork({ name: "busy", subnet: "10.30.0.0/24" }, []);
    const ips = await run(30, (i) => ["allocate", "busy", `container${i}`]);
    expect(new Set(ips).size).toBe(30);
    const expected = Array.from({ length: 30 }, (_, i) => `10.30.0.${i + 2}`);
    expect([...ips].sort()).toEqual([...expected].sort());
    const leases = listLeases("busy");
    expect(Object.keys(leases).sort()).toEqual([...expected].sort());
    expect(new Set(Object.values(leases)).size).toBe(30);
  }, 60_000);

  test("8 processes creating networks at once get 8 different subnets", async () => {
    const subnets = await run(8, (i) => ["create", `net${i}`]);
    expect([...subnets].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `172.${17 + i}.0.0/16`));
  }, 60_000);
});
