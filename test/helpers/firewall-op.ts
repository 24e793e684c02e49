// One firewall operation, for tests that run it inside a network namespace they made
// (`ip netns exec NS bun firewall-op.ts OP [JSON]`), so mini's table lands there, never on the host.
// Prints the result as JSON; a failure prints its message on stderr and exits 1.
import {
  addPorts,
  applyFirewall,
  currentState,
  enableIpForward,
  enableRouteLocalnet,
  listMiniRules,
  removeFirewall,
  removePorts,
  setNetworks,
  sweepFirewall,
} from "../../src/network/firewall.ts";

const [op, arg] = process.argv.slice(2);
const json = arg === undefined ? undefined : JSON.parse(arg);

try {
  let result: unknown;
  if (op === "apply") result = await applyFirewall(json);
  else if (op === "networks") result = await setNetworks(json);
  else if (op === "add") result = await addPorts(json);
  else if (op === "remove") result = await removePorts(json);
  else if (op === "sweep") result = await sweepFirewall((id) => (json as string[]).includes(id));
  else if (op === "clear") result = await removeFirewall();
  else if (op === "state") result = currentState();
  else if (op === "rules") result = listMiniRules();
  else if (op === "forward") result = enableIpForward();
  else if (op === "localnet") result = enableRouteLocalnet(json);
  else throw new Error(`unknown op ${op}`);
  console.log(JSON.stringify(result ?? null));
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
