// `mini run`'s options, as data: the argv parser reads them (also before the CLI loads, for the
// early child stage: early-run.ts), citty renders them in the help.
import type { OptDefs } from "./argv.ts";
import { isolationArgs, resourceArgs } from "./run-limit-args.ts";
import { envArg, logLevelArg } from "./shared.ts";

export const runArgs = {
  detach: {
    type: "boolean",
    alias: "d",
    description: "Run in the background and print the container ID (see mini ps, logs, exec, stop, rm)",
  },
  "log-opt": {
    type: "string",
    repeat: true,
    description: "Log option of a detached container: max-size=SIZE (per file; one older file is kept; default 16m)",
    valueHint: "max-size=N",
  },
  name: { type: "string", description: "A unique name for the container (default: a random one)", valueHint: "name" },
  interactive: {
    type: "boolean",
    alias: "i",
    description: "Keep stdin open (otherwise the container reads /dev/null)",
  },
  tty: {
    type: "boolean",
    alias: "t",
    description: "Give the command a pseudo-terminal (host terminal in raw mode, window size followed)",
  },
  hostname: { type: "string", alias: "h", description: "Container hostname (default: mini)", valueHint: "name" },
  ...envArg,
  "env-file": {
    type: "string",
    repeat: true,
    description: "Read variables from a file of KEY=VAL lines; repeatable",
    valueHint: "file",
  },
  workdir: {
    type: "string",
    alias: "w",
    description: "Working directory inside the container (created if missing)",
    valueHint: "dir",
  },
  user: {
    type: "string",
    alias: "u",
    description: "User: name|uid[:group|gid], names from the rootfs's /etc/passwd and /etc/group",
    valueHint: "user",
  },
  volume: {
    type: "string",
    alias: "v",
    repeat: true,
    description: "Bind mount HOST:CONTAINER[:ro]; repeatable",
    valueHint: "HOST:CTR[:ro]",
  },
  tmpfs: {
    type: "string",
    repeat: true,
    description: "Mount a tmpfs at PATH[:options]; repeatable",
    valueHint: "path",
  },
  "read-only": { type: "boolean", description: "Mount the rootfs read-only" },
  memory: { type: "string", alias: "m", description: "Memory limit (e.g. 32m, 1g)", valueHint: "bytes" },
  "memory-swap": {
    type: "string",
    description: "Memory plus swap limit (-1: unlimited; default twice --memory)",
    valueHint: "bytes",
  },
  cpus: { type: "string", description: "CPU limit in CPUs (e.g. 0.5)", valueHint: "n" },
  "cpu-shares": { type: "string", alias: "c", description: "Relative CPU weight (default 1024)", valueHint: "n" },
  "pids-limit": { type: "string", description: "Maximum number of processes (-1: unlimited)", valueHint: "n" },
  ...resourceArgs,
  network: {
    type: "string",
    description:
      "Network: bridge (the default: mini0, NAT to the outside), a network made with mini network create, none (only lo), host, container:NAME (share its network)",
    valueHint: "name",
  },
  publish: {
    type: "string",
    alias: "p",
    repeat: true,
    description:
      "Publish a port: [IP:][HOSTPORT:]CTRPORT[/tcp|/udp], ranges 8000-8002:80-82, no HOSTPORT: a free one; repeatable",
    valueHint: "spec",
  },
  "publish-all": {
    type: "boolean",
    alias: "P",
    description: "Publish every port the image exposes, on free host ports",
  },
  ip: { type: "string", description: "The container's address on its (user-defined) network", valueHint: "ip" },
  "network-alias": {
    type: "string",
    repeat: true,
    description: "Another name the container answers to on its (user-defined) network; repeatable",
    valueHint: "name",
  },
  "mac-address": {
    type: "string",
    description: "The MAC address of eth0 (default 02:42 + the address)",
    valueHint: "mac",
  },
  dns: { type: "string", repeat: true, description: "A nameserver for /etc/resolv.conf; repeatable", valueHint: "ip" },
  "dns-search": {
    type: "string",
    repeat: true,
    description: "A search domain for /etc/resolv.conf; repeatable",
    valueHint: "domain",
  },
  "dns-option": {
    type: "string",
    repeat: true,
    description: "An option for /etc/resolv.conf; repeatable",
    valueHint: "opt",
  },
  "add-host": {
    type: "string",
    repeat: true,
    description: "An /etc/hosts line NAME:IP (IP host-gateway: the network's gateway); repeatable",
    valueHint: "name:ip",
  },
  userns: { type: "boolean", description: "New user namespace: root inside is mapped to host ids 100000-165535" },
  uidmap: {
    type: "string",
    repeat: true,
    description: "User namespace uid mapping CONTAINER:HOST:SIZE (implies --userns); repeatable",
    valueHint: "c:h:n",
  },
  gidmap: {
    type: "string",
    repeat: true,
    description: "User namespace gid mapping CONTAINER:HOST:SIZE; repeatable",
    valueHint: "c:h:n",
  },
  "cap-add": { type: "string", repeat: true, description: "Add a capability (or ALL); repeatable", valueHint: "cap" },
  "cap-drop": { type: "string", repeat: true, description: "Drop a capability (or ALL); repeatable", valueHint: "cap" },
  "security-opt": {
    type: "string",
    repeat: true,
    description:
      "Security option: no-new-privileges, seccomp=PROFILE.json (OCI or docker format), seccomp=unconfined (no filter; the default is docker's profile), label=…/apparmor=… (ignored on a host without SELinux/AppArmor); repeatable",
    valueHint: "opt",
  },
  ...isolationArgs,
  init: { type: "boolean", description: "Run mini's init as PID 1: forwards signals and reaps zombies" },
  "no-pivot": { type: "boolean", description: "Use chroot instead of pivot_root (rootfs on ramfs)" },
  rm: { type: "boolean", description: "Remove a detached container when it exits (foreground containers always are)" },
  pull: {
    type: "enum",
    options: ["always", "missing", "never"],
    description: "Pull the image before running: always, missing (default), never",
    valueHint: "policy",
  },
  platform: {
    type: "string",
    description: "Image platform os/arch[/variant] (default: this host's)",
    valueHint: "platform",
  },
  entrypoint: { type: "string", description: 'Replace the image\'s entrypoint ("" clears it)', valueHint: "cmd" },
  quiet: { type: "boolean", alias: "q", description: "No pull progress" },
  "insecure-registry": { type: "boolean", description: "Allow plain HTTP and unverified TLS for the image's registry" },
  bundle: {
    type: "string",
    alias: "b",
    description: "Run an OCI bundle (DIR/config.json + its rootfs) instead of ROOTFS COMMAND",
    valueHint: "dir",
  },
  ...logLevelArg,
  target: {
    type: "positional",
    description: "IMAGE (a reference, pulled if missing) or ROOTFS (a directory)",
    required: false,
  },
  command: {
    type: "positional",
    description: "Command and its arguments (everything after IMAGE/ROOTFS)",
    required: false,
  },
} as const satisfies OptDefs;
