// Text imports embedded into the binary (bun build --compile).
declare module "*.c" {
  const text: string;
  export default text;
}
declare module "*/mini-shim" {
  const path: string;
  export default path;
}
/** The git commit dist/mini was built from (scripts/build.ts defines it; undefined from source). */
declare const MINI_COMMIT: string | undefined;
