// /etc/hostname, /etc/hosts and /etc/resolv.conf for a container, written as host files in its
// state directory and bind-mounted over the image's (whose own files stay untouched), as docker does.
import { closeSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../common/json-file.ts";
import { ensureFileInRoot, openRoot, removeEmptyFileInRoot } from "../common/container-file.ts";

export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolv: string;
}

export function etcFilePaths(dir: string): EtcFiles {
  return { hostname: `${dir}/hostname`, hosts: `${dir}/hosts`, resolv: `${dir}/resolv.conf` };
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

/** resolv.conf without loopback nameservers, which mean nothing in another network namespace. */
export function containerResolvConf(host: string, hostNetwork: boolean): string {
  if (hostNetwork) return host;
  const lines = host.split("\n").filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  return `${lines.join("\n").trimEnd()}\n`;
}

export function containerHosts(hostname: string, hostNetwork: boolean, hostHosts: string): string {
  if (hostNetwork) return hostHosts;
  return [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
    `127.0.1.1\t${hostname}`,
    "",
  ].join("\n");
}

export function writeEtcFiles(files: EtcFiles, hostname: string, hostNetwork: boolean): void {
  writeFileAtomic(files.hostname, `${hostname}\n`, 0o644);
  writeFileAtomic(files.hosts, containerHosts(hostname, hostNetwork, readOr("/etc/hosts", "")), 0o644);
  writeFileAtomic(files.resolv, containerResolvConf(readOr("/etc/resolv.conf", ""), hostNetwork), 0o644);
}

const ETC_FILES = ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"];

/** Empty /etc/hostname, /etc/hosts and /etc/resolv.conf in the rootfs where missing (mount points); the ones made. */
export function ensureEtcMountpoints(rootfs: string): string[] {
  const root = openRoot(rootfs);
  try {
    return ETC_FILES.filter((f) => ensureFileInRoot(root, f));
  } finally {
    closeSync(root);
  }
}

/** Setup failed: the mount points ensureEtcMountpoints made go again. */
export function removeEtcMountpoints(rootfs: string, made: string[]): void {
  if (!made.length) return;
  const root = openRoot(rootfs);
  try {
    for (const f of made) removeEmptyFileInRoot(root, f);
  } finally {
    closeSync(root);
  }
}
