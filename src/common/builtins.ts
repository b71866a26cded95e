// Node's built-in modules that metalgate loads with `require` rather than an
// ES import. An ES import of a built-in module builds its namespace by
// reading every export, and some exports are getters that load a module of
// their own the first time they are read: `node:http` then loads undici,
// http2 and readline (65 internal modules), `node:fs` fs/promises and
// readline (30), `node:util` the stream utilities (33), none of which
// metalgate uses. `require` returns the exports object and reads nothing.
// Measured: 8.3 MiB RSS, 4.4 MiB of it heap and stacks, for `node:http`
// alone in a bare process; every worker thread pays the heap part again.
//
// Only these three, and node:http2 (below): the other built-ins metalgate
// imports load at most two modules more (`node:net`, `node:crypto`,
// `node:dns`) or none.
// `dependency-cruiser` (rule builtins-by-require) keeps ES imports of them out
// of src/; type-only imports are free and stay.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const fs = require('node:fs') as typeof import('node:fs');
export const http = require('node:http') as typeof import('node:http');
export const util = require('node:util') as typeof import('node:util');

let http2Module: typeof import('node:http2') | undefined;

/**
 * node:http2, loaded at its first use: a proxy worker needs it only once a
 * client or a backend speaks HTTP/2, and it costs each thread that loads it
 * 76 internal modules.
 */
export function http2(): typeof import('node:http2') {
  return (http2Module ??= require('node:http2') as typeof import('node:http2'));
}
