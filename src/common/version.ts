// What `mini --version` prints, in runc's shape. Its own module: main.ts answers a bare --version
// with it before any stage loads.
import pkg from "../../package.json" with { type: "json" };

export const VERSION = pkg.version;
/** The OCI runtime-spec version mini implements. */
export const SPEC_VERSION = "1.2.1";
/** The commit mini was built from (scripts/build.ts defines it). */
const COMMIT = typeof MINI_COMMIT === "string" ? MINI_COMMIT : "unknown";

export const versionText = (): string => `mini version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\n`;
