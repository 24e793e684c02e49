// The runtime-spec features document (`mini features`): what this runtime implements, and nothing
// it doesn't (runtime-spec 1.2.1 features.md / features-linux.md).
import pkg from "../../package.json" with { type: "json" };
import { CAPABILITIES } from "../config/capabilities.ts";
import { SPEC_VERSION } from "../config/types.ts";
import { MOUNT_OPTIONS } from "../runtime/mount-options.ts";
import { KNOWN_ARCHES } from "../seccomp/arch.ts";
import { SECCOMP_ACTIONS, SECCOMP_FLAGS, SECCOMP_OPERATORS } from "../seccomp/profile.ts";

/** The runtime-spec features document: what this runtime understands. */
export function features() {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: SPEC_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: SECCOMP_ACTIONS,
        operators: SECCOMP_OPERATORS,
        archs: [...KNOWN_ARCHES].sort(),
        knownFlags: SECCOMP_FLAGS,
        supportedFlags: SECCOMP_FLAGS,
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
    },
    annotations: { "org.opencontainers.runtime-spec.version": SPEC_VERSION, "io.github.mini.version": pkg.version },
  };
}
