// bpf(2): load a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it to a cgroup2 directory
// (cgroup v2's device control). union bpf_attr is passed zeroed beyond the fields a command uses.
import { ptr } from "bun:ffi";
import {
  BPF_CGROUP_DEVICE,
  BPF_F_ALLOW_MULTI,
  BPF_PROG_ATTACH,
  BPF_PROG_DETACH,
  BPF_PROG_LOAD,
  BPF_PROG_TYPE_CGROUP_DEVICE,
  syscallNumber,
} from "./constants.ts";
import { SyscallError } from "./error.ts";
import { errno, libc } from "./libc.ts";

const ATTR_SIZE = 128;

function bpf(cmd: number, attr: Uint8Array): number {
  return Number(
    libc().syscall(BigInt(syscallNumber("bpf")), BigInt(cmd), BigInt(ptr(attr)), BigInt(ATTR_SIZE), 0n, 0n),
  );
}

function load(insns: Uint8Array, license: Buffer, log?: Uint8Array): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true); // prog_type
  v.setUint32(4, insns.length / 8, true); // insn_cnt
  v.setBigUint64(8, BigInt(ptr(insns)), true); // insns
  v.setBigUint64(16, BigInt(ptr(license)), true); // license
  if (log) {
    v.setUint32(24, 1, true); // log_level
    v.setUint32(28, log.length, true); // log_size
    v.setBigUint64(32, BigInt(ptr(log)), true); // log_buf
  }
  attr.set(Buffer.from("mini_devices"), 48); // prog_name
  v.setUint32(68, BPF_CGROUP_DEVICE, true); // expected_attach_type
  return bpf(BPF_PROG_LOAD, attr);
}

/** BPF_PROG_LOAD of a cgroup device program (8 bytes per instruction); returns its fd. On a verifier refusal the error carries the verifier's log. */
export function loadCgroupDeviceProgram(insns: Uint8Array): number {
  const license = Buffer.from("Apache-2.0\0");
  const fd = load(insns, license);
  if (fd >= 0) return fd;
  const e = errno();
  const err = new SyscallError("bpf", `BPF_PROG_LOAD cgroup device program (${insns.length / 8} instructions)`, e);
  const log = new Uint8Array(65536);
  const again = load(insns, license, log);
  if (again >= 0) return again; // it went through the second time
  const text = Buffer.from(log).toString("utf8").replace(/\0.*$/s, "").trim();
  if (text) err.message += `: ${text.split("\n").slice(-3).join(" | ")}`;
  throw err;
}

function attachAttr(cgroupFd: number, progFd: number, flags: number): Uint8Array {
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, cgroupFd, true); // target_fd
  v.setUint32(4, progFd, true); // attach_bpf_fd
  v.setUint32(8, BPF_CGROUP_DEVICE, true); // attach_type
  v.setUint32(12, flags, true); // attach_flags
  return attr;
}

/** BPF_PROG_ATTACH (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) of `progFd` to the cgroup2 directory open as `cgroupFd`. */
export function attachCgroupDeviceProgram(cgroupFd: number, progFd: number, what: string): void {
  if (bpf(BPF_PROG_ATTACH, attachAttr(cgroupFd, progFd, BPF_F_ALLOW_MULTI)) < 0)
    throw new SyscallError("bpf", `BPF_PROG_ATTACH cgroup device program to ${what}`, errno());
}

/** BPF_PROG_DETACH of `progFd` from the cgroup open as `cgroupFd`. */
export function detachCgroupDeviceProgram(cgroupFd: number, progFd: number, what: string): void {
  if (bpf(BPF_PROG_DETACH, attachAttr(cgroupFd, progFd, 0)) < 0)
    throw new SyscallError("bpf", `BPF_PROG_DETACH cgroup device program from ${what}`, errno());
}
