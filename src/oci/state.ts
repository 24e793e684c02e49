// OCI runtime state, one directory per container under the --root directory (default
// /run/mini-oci, like runc's /run/runc): state.json (written atomically) and, between `create`
// and `start`, exec.fifo, on which the container's process waits. Status comes from the truth:
// the process (pid + start time), the fifo, the freezer.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../common/json-file.ts";
import { isFrozen, type CgroupPlan } from "../cgroups/index.ts";
import { SPEC_VERSION, type Spec } from "../config/types.ts";
import { UserError } from "../common/errors.ts";
import { pidStartTime } from "../common/proc.ts";

export const DEFAULT_ROOT = "/run/mini-oci";

export interface OciRecord {
  id: string;
  bundle: string;
  created: string;
  /** Set once the container's process exists. */
  pid?: number;
  pidStart?: string;
  spec: Spec;
  cgroups?: CgroupPlan;
  /** No mount namespace of its own: its rootfs mounts are in the runtime's, removed at delete. */
  hostRootfs?: { path: string; below: string };
}

export type OciStatus = "creating" | "created" | "running" | "paused" | "stopped";

const ID = /^[\w+.-]+$/;

export class OciStore {
  constructor(readonly root: string = DEFAULT_ROOT) {}

  dir(id: string): string {
    if (!ID.test(id) || id === "." || id === "..")
      throw new UserError(`invalid container id "${id}": use letters, digits, _ + . -`, 1);
    return `${this.root}/${id}`;
  }

  fifo(id: string): string {
    return `${this.dir(id)}/exec.fifo`;
  }

  /** Claims the id: fails if a container with it exists. */
  claim(rec: OciRecord): void {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(rec.id), { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST")
        throw new UserError(`container "${rec.id}" already exists`, 1);
      throw e;
    }
    this.write(rec);
  }

  write(rec: OciRecord): void {
    writeFileAtomic(`${this.dir(rec.id)}/state.json`, JSON.stringify(rec));
  }

  read(id: string): OciRecord {
    try {
      return JSON.parse(readFileSync(`${this.dir(id)}/state.json`, "utf8")) as OciRecord;
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`container "${id}" does not exist`, 1);
    }
  }

  exists(id: string): boolean {
    try {
      return existsSync(`${this.dir(id)}/state.json`);
    } catch {
      return false;
    }
  }

  ids(): string[] {
    try {
      return readdirSync(this.root).filter((n) => existsSync(`${this.root}/${n}/state.json`));
    } catch {
      return [];
    }
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  status(rec: OciRecord): OciStatus {
    if (!rec.pid) return "creating";
    if (pidStartTime(rec.pid) !== rec.pidStart) return "stopped";
    if (existsSync(this.fifo(rec.id))) return "created";
    return isFrozen(rec.cgroups) ? "paused" : "running";
  }

  /** The OCI state document (`mini state ID`). */
  stateJson(rec: OciRecord) {
    const status = this.status(rec);
    return {
      ociVersion: SPEC_VERSION,
      id: rec.id,
      status,
      pid: status === "stopped" || status === "creating" ? 0 : rec.pid!,
      bundle: rec.bundle,
      rootfs: rec.spec.root?.path,
      created: rec.created,
      annotations: rec.spec.annotations ?? {},
      owner: "",
    };
  }
}
