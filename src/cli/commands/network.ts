// mini network create|ls|inspect|rm|prune|connect|disconnect (docker's commands and messages)
import type { CommandDef } from "citty";
import { UserError } from "../../common/errors.ts";
import { endpointRequest } from "../../config/network-flags.ts";
import { getNetwork, networkId } from "../../network/networks.ts";
import { allNetworks, createUserNetwork, pruneNetworks, removeUserNetwork } from "../../runtime/network-admin.ts";
import { connectNetwork, disconnectNetwork } from "../../runtime/network-connect.ts";
import { inspectNetwork } from "../../runtime/network-info.ts";
import { resolveContainer } from "../../state/containers.ts";
import * as log from "../../log.ts";
import { list, type OptDefs, type OptValues, parseOptions } from "../argv.ts";
import { printTable } from "../format.ts";
import { logLevelArg } from "../shared.ts";
import { compileTemplate } from "../template.ts";
import { printOut } from "../../common/stdout.ts";

const subcommands: Record<string, { description: string; usage: string; args: OptDefs }> = {
  create: {
    description: "Create a bridge network (its bridge, NAT and isolation rules are made at once)",
    usage: "mini network create [--subnet CIDR] [--gateway IP] [--internal] NAME",
    args: {
      subnet: { type: "string", description: "IPv4 subnet (default: a free one of docker's pools)", valueHint: "cidr" },
      gateway: { type: "string", description: "The bridge's address (default: the subnet's first)", valueHint: "ip" },
      internal: { type: "boolean", description: "No way out: no NAT, nothing forwarded to other interfaces" },
      driver: { type: "string", alias: "d", description: "Only bridge", valueHint: "bridge" },
    },
  },
  ls: {
    description: "List networks",
    usage: "mini network ls [-q] [--format table|json]",
    args: {
      quiet: { type: "boolean", alias: "q", description: "Only network IDs" },
      format: { type: "string", description: "table (default) or json", valueHint: "table|json" },
    },
  },
  inspect: {
    description: "Show networks as JSON, or through a Go template",
    usage: "mini network inspect [-f TEMPLATE] NETWORK...",
    args: { format: { type: "string", alias: "f", description: "A Go template, e.g. {{.IPAM}}", valueHint: "tmpl" } },
  },
  rm: { description: "Remove networks no running container uses", usage: "mini network rm NETWORK...", args: {} },
  prune: {
    description: "Remove every network no running container uses",
    usage: "mini network prune [-f]",
    args: { force: { type: "boolean", alias: "f", description: "Don't ask (mini never asks)" } },
  },
  connect: {
    description: "Connect a container to a network (at once if it runs, and at every start)",
    usage: "mini network connect [--ip IP] [--alias NAME] NETWORK CONTAINER",
    args: {
      ip: { type: "string", description: "The container's address on it", valueHint: "ip" },
      alias: { type: "string", repeat: true, description: "Another name on it; repeatable", valueHint: "name" },
    },
  },
  disconnect: {
    description: "Disconnect a container from a network",
    usage: "mini network disconnect [-f] NETWORK CONTAINER",
    args: { force: { type: "boolean", alias: "f", description: "Accepted for docker's sake" } },
  },
};

export default {
  meta: {
    name: "network",
    description: "Manage networks: create, ls, inspect, rm, prune, connect, disconnect",
  },
  args: {
    subcommand: { type: "positional", description: Object.keys(subcommands).join(" | ") },
  },
} satisfies CommandDef<OptDefs>;

function help(sub: string): number {
  const s = subcommands[sub];
  const lines = [`${s.usage}\n\n${s.description}\n`];
  for (const [name, d] of Object.entries(s.args)) {
    const alias = (d as { alias?: string }).alias;
    lines.push(`  ${alias ? `-${alias}, ` : ""}--${name}\t${(d as { description?: string }).description ?? ""}`);
  }
  printOut(`${lines.join("\n")}\n`);
  return 0;
}

const str = (v: OptValues[string]) => (typeof v === "string" ? v : undefined);

function needs(operands: string[], n: number, usage: string): void {
  if (operands.length < n) throw new UserError(`"${usage}" needs ${n === 1 ? "an argument" : `${n} arguments`}`);
}

/** Each name in turn; failures one line each, exit 1 if any (docker's way for multi-operand verbs). */
async function each(names: string[], fn: (name: string) => Promise<void>): Promise<number> {
  let failed = 0;
  for (const n of names) {
    try {
      await fn(n);
    } catch (e) {
      failed++;
      log.error((e as Error).message);
    }
  }
  return failed ? 1 : 0;
}

export async function run(_values: OptValues, operands: string[]): Promise<number> {
  const [sub, ...rest] = operands;
  const name = sub === "list" ? "ls" : sub;
  if (!name || !(name in subcommands))
    throw new UserError(
      `unknown network command "${sub ?? ""}": use ${Object.keys(subcommands).join(", ")} (mini network COMMAND --help)`,
    );
  const parsed = parseOptions(rest, { ...subcommands[name].args, ...logLevelArg });
  if (parsed.help) return help(name);
  if (typeof parsed.values["log-level"] === "string") log.setLogLevel(parsed.values["log-level"]);
  const v = parsed.values;
  const ops = parsed.operands;
  switch (name) {
    case "create": {
      needs(ops, 1, subcommands.create.usage);
      if (ops.length > 1) throw new UserError(`"mini network create" takes one NAME`);
      const driver = str(v.driver);
      if (driver !== undefined && driver !== "bridge")
        throw new UserError(`network driver ${driver} is not supported: only bridge`);
      const net = await createUserNetwork({
        name: ops[0],
        subnet: str(v.subnet),
        gateway: str(v.gateway),
        internal: !!v.internal,
      });
      printOut(`${networkId(net)}\n`);
      return 0;
    }
    case "ls": {
      const nets = await allNetworks();
      if (v.quiet) {
        printOut(nets.map((n) => `${networkId(n).slice(0, 12)}\n`).join(""));
        return 0;
      }
      const rows = nets.map((n) => ({
        id: networkId(n).slice(0, 12),
        name: n.name,
        driver: "bridge",
        scope: "local",
        subnet: n.subnet,
        gateway: n.gateway,
        bridge: n.bridge,
        internal: n.internal,
        created: n.created,
      }));
      if (v.format === "json") printOut(`${JSON.stringify(rows, null, 2)}\n`);
      else if (v.format !== undefined && v.format !== "table")
        throw new UserError(`unsupported --format "${v.format}": table or json`);
      else
        printTable([["NETWORK ID", "NAME", "DRIVER", "SCOPE"], ...rows.map((r) => [r.id, r.name, r.driver, r.scope])]);
      return 0;
    }
    case "inspect": {
      needs(ops, 1, subcommands.inspect.usage);
      if (ops.includes("bridge")) await allNetworks(); // the default network exists once looked at
      const out: object[] = [];
      const code = await each(ops, async (n) => {
        out.push(inspectNetwork(getNetwork(n)));
      });
      const format = str(v.format);
      if (format === undefined) printOut(`${JSON.stringify(out, null, 4)}\n`);
      else {
        const t = compileTemplate(format);
        printOut(out.map((o) => `${t(o)}\n`).join(""));
      }
      return code;
    }
    case "rm":
      needs(ops, 1, subcommands.rm.usage);
      return each(ops, async (n) => {
        await removeUserNetwork(n);
        printOut(`${n}\n`);
      });
    case "prune": {
      const removed = await pruneNetworks();
      printOut(removed.length ? `Deleted Networks:\n${removed.map((n) => `${n}\n`).join("")}` : "");
      return 0;
    }
    case "connect": {
      needs(ops, 2, subcommands.connect.usage);
      const [network, container] = ops;
      const endpoint = endpointRequest(network, { ip: str(v.ip), aliases: list(v.alias) });
      await connectNetwork(resolveContainer(container), endpoint);
      return 0;
    }
    default: {
      needs(ops, 2, subcommands.disconnect.usage);
      const [network, container] = ops;
      await disconnectNetwork(resolveContainer(container), network);
      return 0;
    }
  }
}
