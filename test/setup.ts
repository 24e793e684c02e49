// Preloaded by `bun test` (bunfig.toml). Integration tests start real containers, pull images and
// run engines: give each test a minute unless it says otherwise (bun's default is 5 s, and a
// `timeout` key in bunfig.toml is not read by bun test).
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);

// Containers started by tests get no network unless a test asks for one: the default bridge would
// make mini0, nftables rules and sysctl changes in the host's network namespace, which tests never
// touch (networking tests run mini inside namespaces they create, with this unset). The helpers
// (mini.ts, pty-session.ts) pass it on to every mini they run.
process.env.MINI_DEFAULT_NETWORK ??= "none";
