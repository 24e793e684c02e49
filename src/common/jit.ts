// The executable starts with JavaScriptCore's JIT 1000 times more reluctant to compile than normal
// (scripts/build.ts: --compile-jit-policy): a container start is a few milliseconds of code that
// runs once, which the JIT's threads only spent CPU on (measured: ~4 ms of ~30 ms per `mini run`).
// Work that loops for long (pulling and unpacking layers, hashing, relaying a container's output)
// turns the normal policy back on first.
export function normalJit(): void {
  Bun.unsafe.setJITPolicy(1);
}
