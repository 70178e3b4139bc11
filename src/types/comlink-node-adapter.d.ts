/**
 * comlink's Node adapter ships its types beside the .mjs file, where TypeScript does not find
 * them for an `.mjs` import (comlink issue 675). This declares the one use we make of it:
 * wrapping a worker_threads MessagePort as a comlink Endpoint.
 */
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { MessagePort } from 'node:worker_threads';

  export default function nodeEndpoint(port: MessagePort): Endpoint;
}
