// One IPAM operation in its own process, for the tests of concurrent mini processes:
//   bun ipam-op.ts allocate NETWORK CONTAINER     prints the address
//   bun ipam-op.ts create NETWORK                 prints the subnet chosen
import { allocate } from "../../src/network/ipam.ts";
import { createNetwork } from "../../src/network/networks.ts";

const [op, a, b] = process.argv.slice(2);
if (op === "allocate") console.log((await allocate(a, b)).ip);
else if (op === "create") console.log((await createNetwork({ name: a }, [])).subnet);
else throw new Error(`unknown op ${op}`);
