// What `mini --version` prints. Its own module: main.ts answers a bare --version with it before
// any stage loads.
import pkg from "../../package.json" with { type: "json" };

export const VERSION = pkg.version;
/** The OCI runtime-spec version mini implements. */
export const SPEC_VERSION = "1.1.0";

export const versionText = (): string => `mini version ${VERSION}\nspec: ${SPEC_VERSION}\n`;
