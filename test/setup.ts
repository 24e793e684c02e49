// Preloaded by `bun test` (bunfig.toml). Integration tests start real containers, pull images and
// run engines: give each test a minute unless it says otherwise (bun's default is 5 s, and a
// `timeout` key in bunfig.toml is not read by bun test).
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);
