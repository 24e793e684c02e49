// Finds the command to execve inside the container, with docker's exit codes:
// 127 when it doesn't exist, 126 when it exists but can't be executed.
import { accessSync, constants, statSync } from "node:fs";
import { UserError } from "../common/errors.ts";

function envValue(env: string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) if (env[i].startsWith(`${key}=`)) return env[i].slice(key.length + 1);
  return undefined;
}

function check(path: string, name: string): string {
  let st: import("node:fs").Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES") throw new UserError(`exec ${name}: permission denied`, 126);
    throw new UserError(`exec ${name}: no such file or directory`, 127);
  }
  if (st.isDirectory()) throw new UserError(`exec ${name}: is a directory`, 126);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new UserError(`exec ${name}: permission denied`, 126);
  }
  return path;
}

/** The absolute path execve should run for `name`, looked up in PATH when it has no slash. */
export function findExecutable(name: string, env: string[]): string {
  if (!name) throw new UserError("no command specified", 125);
  if (name.includes("/")) return check(name, name);
  const path = envValue(env, "PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  let denied = false;
  for (const dir of path.split(":")) {
    const candidate = `${dir || "."}/${name}`;
    try {
      const st = statSync(candidate);
      if (st.isDirectory()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EACCES") denied = true;
    }
  }
  if (denied) throw new UserError(`exec ${name}: permission denied`, 126);
  throw new UserError(`exec: "${name}": executable file not found in $PATH`, 127);
}
