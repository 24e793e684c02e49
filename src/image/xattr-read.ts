// lgetxattr for reading overlay markers (trusted.overlay.opaque) from layer directories.
import { dlopen, FFIType as T } from "bun:ffi";

let fn: ((path: Buffer, name: Buffer, value: Buffer, size: bigint) => number | bigint) | undefined;

export function getxattrText(path: string, name: string): string | undefined {
  fn ??= dlopen("libc.so.6", { lgetxattr: { args: [T.ptr, T.ptr, T.ptr, T.u64], returns: T.i64 } }).symbols
    .lgetxattr as unknown as typeof fn;
  const buf = Buffer.alloc(256);
  const n = Number(fn!(Buffer.from(`${path}\0`), Buffer.from(`${name}\0`), buf, 256n));
  return n >= 0 ? buf.toString("utf8", 0, n) : undefined;
}
