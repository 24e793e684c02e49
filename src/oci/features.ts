// The runtime-spec features document (`mini features`): what this runtime understands.
import pkg from "../../package.json" with { type: "json" };
import { CAPABILITIES } from "../config/capabilities.ts";
import { MOUNT_OPTIONS } from "../runtime/mount-options.ts";

/** The runtime-spec features document: what this runtime understands. */
export function features() {
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: "1.1.0",
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
      capabilities: CAPABILITIES,
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: { "org.opencontainers.runtime-spec.version": "1.1.0", "io.github.mini.version": pkg.version },
  };
}
