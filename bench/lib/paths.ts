import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * The benchmarks run from their compiled copy (bench/.tmp/bench/...), so paths are resolved from the repository
 * root, found from this file's location in either tree.
 */
const here = fileURLToPath(new URL('.', import.meta.url));
export const REPO_ROOT = here.includes('/bench/.tmp/') ? join(here, '../../../..') : join(here, '../..');
/** Compiled output of bench/tsconfig.json: src/ and bench/ mirrored under it. */
export const BUILD_DIR = join(REPO_ROOT, 'bench/.tmp');
export const LOG_DIR = join(BUILD_DIR, 'logs');
export const OUR_MAIN = join(BUILD_DIR, 'src/main.js');
export const peerMain = (name: string) => join(BUILD_DIR, `bench/peers/${name}.js`);
export const benchScript = (relative: string) => join(BUILD_DIR, 'bench', relative);
