// mini login [-u USER] [-p PASS | --password-stdin] [REGISTRY]: check credentials with the
// registry, then keep them in mini's credentials file (0600)
import type { CommandDef } from "citty";
import type { OptDefs, OptValues } from "../argv.ts";
import { UserError } from "../../common/errors.ts";
import * as log from "../../log.ts";
import { RegistryClient, RegistryError } from "../../image/registry.ts";
import { normalizeAuthKey, saveCredentials } from "../../image/auth.ts";
import { printOut } from "../../common/stdout.ts";
import { isTerminal } from "../../common/terminal.ts";

const args = {
  username: { type: "string", alias: "u", description: "User name", valueHint: "user" },
  password: {
    type: "string",
    alias: "p",
    description: "Password (visible to other users in ps: prefer --password-stdin)",
    valueHint: "pass",
  },
  "password-stdin": { type: "boolean", description: "Read the password from stdin" },
  "insecure-registry": { type: "boolean", description: "Allow plain HTTP and unverified TLS for this registry" },
  registry: { type: "positional", required: false, description: "Registry host[:port] (default docker.io)" },
} as const satisfies OptDefs;

export default { meta: { name: "login", description: "Log in to a registry" }, args } satisfies CommandDef<OptDefs>;

/** One line from the terminal; without echo for passwords. */
async function prompt(question: string, echo: boolean): Promise<string> {
  process.stderr.write(question);
  if (!echo) Bun.spawnSync(["stty", "-echo"], { stdio: ["inherit", "ignore", "ignore"] });
  try {
    for await (const line of console) return line;
    return "";
  } finally {
    if (!echo) {
      Bun.spawnSync(["stty", "echo"], { stdio: ["inherit", "ignore", "ignore"] });
      process.stderr.write("\n");
    }
  }
}

export async function run(values: OptValues, operands: string[]): Promise<number> {
  if (operands.length > 1) throw new UserError("usage: mini login [-u USER] [-p PASS | --password-stdin] [REGISTRY]");
  const registry = normalizeAuthKey(operands[0] ?? "docker.io");
  if (!registry) throw new UserError("mini login: empty registry name");
  let username = typeof values.username === "string" ? values.username : undefined;
  let password = typeof values.password === "string" ? values.password : undefined;
  if (values["password-stdin"]) {
    if (password !== undefined) throw new UserError("--password and --password-stdin are mutually exclusive");
    if (username === undefined) throw new UserError("--password-stdin needs --username");
    password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  } else if (password !== undefined) {
    log.warn("using --password on the command line is insecure: use --password-stdin");
  }
  const interactive = isTerminal(0);
  if (username === undefined) {
    if (!interactive) throw new UserError("mini login: no --username, and stdin is not a terminal to ask for one");
    username = (await prompt("Username: ", true)).trim();
  }
  if (password === undefined) {
    if (!interactive) throw new UserError("mini login: no password: use --password-stdin");
    password = await prompt("Password: ", false);
  }
  if (!username) throw new UserError("mini login: empty username");
  if (!password) throw new UserError("mini login: empty password");
  const client = new RegistryClient(registry, {
    credentials: { username, password },
    insecure: !!values["insecure-registry"],
    action: "login to",
    retries: 1,
  });
  try {
    await client.ping();
  } catch (e) {
    if (e instanceof RegistryError && e.status === 401)
      throw new UserError(`login failed for ${registry}: wrong username or password`);
    throw e;
  }
  saveCredentials(registry, username, password);
  printOut("Login Succeeded\n");
  return 0;
}
