// Where this package is installed and which main addon it loaded: for the CLI's --version and for starting
// children with the same loader (lib/mp/process). Not part of the public posix API (lib/posix/index.ts).
import { native, packageRoot as root } from '../binding/addon.js';

/** The package root: the folder of package.json (lib/ and dist/ are both one level below it). */
export const packageRoot: string = root;

/** The main addon's ABI tag: 'napi' (Node-API, ABI-stable). */
export const addonAbi: string = native.abi;
