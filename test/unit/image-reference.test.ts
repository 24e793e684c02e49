import { describe, expect, test } from "bun:test";
import { familiarName, formatReference, parseReference, registryApiHost } from "../../src/image/reference.ts";
import { formatPlatform, hostPlatform, parsePlatform, platformMatches } from "../../src/image/platform.ts";
import { UserError } from "../../src/common/errors.ts";

const D = `sha256:${"a1".repeat(32)}`;

// input → [full form, familiar form]
const valid: [string, string, string][] = [
  ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
  ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
  ["user/repo", "docker.io/user/repo:latest", "user/repo:latest"],
  ["user/repo:v1.2_3-rc", "docker.io/user/repo:v1.2_3-rc", "user/repo:v1.2_3-rc"],
  ["docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
  ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"],
  ["index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
  ["docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"],
  ["127.0.0.1:5000/x:tag", "127.0.0.1:5000/x:tag", "127.0.0.1:5000/x:tag"],
  ["localhost/x", "localhost/x:latest", "localhost/x:latest"],
  ["localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1"],
  ["ghcr.io/owner/img:1.0", "ghcr.io/owner/img:1.0", "ghcr.io/owner/img:1.0"],
  [`quay.io/a/b@${D}`, `quay.io/a/b@${D}`, `quay.io/a/b@${D}`],
  [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
  [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`, `busybox:1.36@${D}`],
  ["[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"],
  ["example.com/a_b/c__d/e-f.g", "example.com/a_b/c__d/e-f.g:latest", "example.com/a_b/c__d/e-f.g:latest"],
  ["a--b/c", "docker.io/a--b/c:latest", "a--b/c:latest"],
  ["host:5000", "docker.io/library/host:5000", "host:5000"],
  ["My.Registry:443/x", "My.Registry:443/x:latest", "My.Registry:443/x:latest"],
  ["registry-1.example.com/x:TAG_", "registry-1.example.com/x:TAG_", "registry-1.example.com/x:TAG_"],
  [`x:${"t".repeat(128)}`, `docker.io/library/x:${"t".repeat(128)}`, `x:${"t".repeat(128)}`],
];

const invalid: [string, string][] = [
  ["", "empty"],
  ["Busybox", "must be lowercase"],
  ["user/Repo", "must be lowercase"],
  ["busybox:", 'invalid tag ""'],
  ["busybox:-x", 'invalid tag "-x"'],
  [`busybox:${"t".repeat(129)}`, "invalid tag"],
  ["busybox:a/b", `invalid port "a" in registry "busybox:a"`],
  ["x@sha256:abc", 'invalid digest "sha256:abc"'],
  [`x@sha512:${"ab".repeat(64)}`, 'unsupported digest algorithm "sha512"'],
  [`x@sha256:${"AB".repeat(32)}`, "invalid digest"],
  ["a//b", "empty path component"],
  ["a/b_", 'component "b_"'],
  ["-x", 'component "-x"'],
  ["x/", "empty path component"],
  ["a".repeat(64).replace(/a/g, "f"), "image ID"],
  ["host:abc/x", 'invalid port "abc"'],
  ["bad_host.com/x", 'invalid registry "bad_host.com"'],
  ["busy box", "whitespace"],
  ["example.com/", "repository name is empty"],
  [`@${D}`, "repository name is empty"],
  [`example.com/${"a".repeat(250)}`, "longer than 255"],
];

describe("parseReference", () => {
  test.each(valid)("%p", (input, full, familiar) => {
    const r = parseReference(input);
    expect(formatReference(r)).toBe(full);
    expect(familiarName(r)).toBe(familiar);
    expect(formatReference(parseReference(full))).toBe(full);
  });

  test.each(invalid)("%p is refused", (input, why) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(why);
  });

  test("fields", () => {
    expect(parseReference("busybox")).toEqual({ registry: "docker.io", repository: "library/busybox", tag: "latest" });
    expect(parseReference(`b@${D}`)).toEqual({ registry: "docker.io", repository: "library/b", digest: D });
    expect(parseReference(`127.0.0.1:5000/ns/b:t@${D}`)).toEqual({
      registry: "127.0.0.1:5000",
      repository: "ns/b",
      tag: "t",
      digest: D,
    });
  });

  test("errors name the input", () => {
    expect(() => parseReference("UP")).toThrow('invalid reference "UP": repository name "UP" must be lowercase');
  });

  test("registryApiHost", () => {
    expect(registryApiHost("docker.io")).toBe("registry-1.docker.io");
    expect(registryApiHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });
});

describe("platform", () => {
  test("hostPlatform maps Node architectures to OCI", () => {
    expect(hostPlatform("x64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(hostPlatform("arm64")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(hostPlatform("arm")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(hostPlatform("ia32")).toEqual({ os: "linux", architecture: "386" });
    expect(hostPlatform("ppc64")).toEqual({ os: "linux", architecture: "ppc64le" });
    expect(hostPlatform("s390x")).toEqual({ os: "linux", architecture: "s390x" });
    expect(() => hostPlatform("sparc")).toThrow("unsupported host architecture");
    expect(hostPlatform().os).toBe("linux");
  });

  test("parsePlatform", () => {
    expect(parsePlatform("linux/amd64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(parsePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(parsePlatform("Linux/x86_64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(parsePlatform("linux/aarch64")).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("linux/arm/7")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(parsePlatform("arm64")).toEqual({ os: "linux", architecture: "arm64" });
    expect(parsePlatform("linux").architecture).toBe(hostPlatform().architecture);
    for (const bad of ["", "linux/", "/amd64", "linux/arm/v7/x", "linux amd64"]) {
      expect(() => parsePlatform(bad)).toThrow(`invalid platform "${bad}": expected os/arch[/variant]`);
    }
  });

  test("formatPlatform", () => {
    expect(formatPlatform({ os: "linux", architecture: "amd64" })).toBe("linux/amd64");
    expect(formatPlatform({ os: "linux", architecture: "arm", variant: "v6" })).toBe("linux/arm/v6");
  });

  test("platformMatches", () => {
    const p = parsePlatform;
    expect(platformMatches(p("linux/amd64"), p("linux/amd64"))).toBe(true);
    expect(platformMatches(p("linux/amd64"), p("linux/arm64"))).toBe(false);
    expect(platformMatches(p("linux/amd64"), p("windows/amd64"))).toBe(false);
    expect(platformMatches(p("linux/arm64"), p("linux/arm64/v8"))).toBe(true);
    expect(platformMatches(p("linux/arm64/v8"), p("linux/arm64"))).toBe(true);
    expect(platformMatches(p("linux/arm64"), p("linux/arm64"))).toBe(true);
    expect(platformMatches(p("linux/arm/v7"), p("linux/arm/v6"))).toBe(false);
    expect(platformMatches(p("linux/arm"), p("linux/arm/v7"))).toBe(true);
    expect(platformMatches(p("linux/amd64"), p("linux/amd64/v3"))).toBe(true);
    expect(platformMatches(p("linux/x86_64"), { os: "linux", architecture: "amd64" })).toBe(true);
  });
});
