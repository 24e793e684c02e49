// A test file's own mini stores: MINI_ROOT and MINI_RUN_ROOT in a temp dir, also set in this
// process's environment while the file runs (leaks.ts snapshots them), restored afterwards.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { defaultNetworkEnv } from "./mini.ts";

export interface PrivateStore {
  /** The temp dir: lib/ (MINI_ROOT) and run/ (MINI_RUN_ROOT) below it. */
  dir: string;
  /** An environment for mini with these stores (and the test run's default network). */
  env: Record<string, string>;
  /** Removes the dir and puts the process's MINI_ROOT and MINI_RUN_ROOT back. */
  remove(): void;
}

export function privateStore(name: string): PrivateStore {
  const saved = { root: process.env.MINI_ROOT, run: process.env.MINI_RUN_ROOT };
  const dir = mkdtempSync(`${tmpdir()}/mini-${name}-`);
  chmodSync(dir, 0o711); // as /run: a --userns container's root must reach its /etc files below
  process.env.MINI_ROOT = `${dir}/lib`;
  process.env.MINI_RUN_ROOT = `${dir}/run`;
  const restore = (key: string, value: string | undefined) => {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  };
  return {
    dir,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      MINI_ROOT: `${dir}/lib`,
      MINI_RUN_ROOT: `${dir}/run`,
      ...defaultNetworkEnv(),
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
      restore("MINI_ROOT", saved.root);
      restore("MINI_RUN_ROOT", saved.run);
    },
  };
}
