// Text imports embedded into the binary (bun build --compile).
declare module "*.c" {
  const text: string;
  export default text;
}
declare module "*/mini-shim" {
  const path: string;
  export default path;
}
