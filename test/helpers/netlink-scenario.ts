// Run by test/integration/netlink.test.ts as `unshare --net bun netlink-scenario.ts PID1 PID2`:
// all of its netlink work happens in the fresh network namespace unshare made (playing the host)
// and in those of PID1 and PID2 (two `unshare --net sleep` processes playing containers). It never
// sees the real host's namespace. Prints one JSON line after setup, waits for a line on stdin,
// deletes what it made, prints a second JSON line and exits when stdin closes.
import { closeSync, openSync } from "node:fs";
import { loopbackUp, NetlinkError, Rtnetlink } from "../../src/network/rtnetlink.ts";

const [c1, c2] = process.argv.slice(2).map(Number);
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
    return "no error";
  } catch (e) {
    return e instanceof NetlinkError ? e.message : `not a NetlinkError: ${e}`;
  }
};

using host = Rtnetlink.open();
host.setUp("lo");
host.createBridge("mini0", { mtu: 1400 });
host.addAddress("mini0", "10.231.0.1/16");
host.setUp("mini0");
host.addRoute({ dst: "10.98.0.0/16", dev: "mini0" });

// Container 1: the peer created straight into its namespace by pid; configured through a handle
// opened there.
host.createVeth("vm1", "eth0", { peerNetns: { pid: c1 }, mtu: 1400 });
host.setMaster("vm1", "mini0");
host.setUp("vm1");
loopbackUp({ pid: c1 });
using ct1 = Rtnetlink.openIn({ pid: c1 });
ct1.setMac("eth0", "02:42:0a:e7:00:02");
ct1.addAddress("eth0", "10.231.0.2/16");
ct1.setUp("eth0");
ct1.addDefaultRoute("10.231.0.1", "eth0");

// Container 2: by an open namespace fd, and its handle by path; several changes in one request.
const fd = openSync(`/proc/${c2}/ns/net`, "r");
host.createVeth("vm2", "eth0", {
  peerNetns: { fd },
  mtu: 1400,
  mac: "02:42:0a:e7:01:01",
  peerMac: "02:42:0a:e7:00:03",
});
closeSync(fd);
host.setLink("vm2", { master: "mini0", up: true });
using ct2 = Rtnetlink.openIn({ path: `/proc/${c2}/ns/net` });
ct2.setUp("lo");
ct2.addAddress("eth0", "10.231.0.3/16");
ct2.setLink("eth0", { up: true, mtu: 1300 });
ct2.addRoute({ dst: "default", gateway: "10.231.0.1", dev: "eth0" });
ct2.addRoute({ dst: "10.99.0.0/16", gateway: "10.231.0.1" });

const errors = {
  bridgeExists: errorOf(() => host.createBridge("mini0")),
  peerExists: errorOf(() => host.createVeth("vm3", "eth0", { peerNetns: { pid: c1 } })),
  noSuchLink: errorOf(() => ct1.getLink("eth9")),
  badGateway: errorOf(() => ct1.addRoute({ dst: "10.50.0.0/16", gateway: "192.0.2.1" })),
  noSuchMaster: errorOf(() => host.setMaster("vm1", "nobridge")),
};
const leftoverVm3 = host.findLink("vm3") !== undefined;

out({
  host: { links: host.listLinks(), addresses: host.listAddresses(), routes: host.listRoutes() },
  ct1: { links: ct1.listLinks(), addresses: ct1.listAddresses(), routes: ct1.listRoutes() },
  ct2: { links: ct2.listLinks(), addresses: ct2.listAddresses(), routes: ct2.listRoutes() },
  errors,
  leftoverVm3,
  bridgeIndex: host.linkIndex("mini0"),
  defaultRouteMtu: { host: host.defaultRouteMtu() ?? null, ct1: ct1.defaultRouteMtu(), ct2: ct2.defaultRouteMtu() },
});

// Wait for the test to have looked (and pinged), then take everything down again.
const stdin = console[Symbol.asyncIterator]();
await stdin.next();
host.setMaster("vm1", null);
const vm1Master = host.getLink("vm1").master ?? null;
host.deleteLink("vm1");
host.deleteLink(host.linkIndex("vm2"));
host.deleteLink("mini0");
out({
  vm1Master,
  host: { links: host.listLinks(), addresses: host.listAddresses(), routes: host.listRoutes() },
  ct1: { links: ct1.listLinks(), routes: ct1.listRoutes() },
  ct2: { links: ct2.listLinks(), routes: ct2.listRoutes() },
});
await stdin.next(); // the test looks at the empty namespace, then closes stdin
