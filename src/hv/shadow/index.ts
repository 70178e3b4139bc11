/** The shadow-paging backend (being built). */
import type { Backend } from '../backend.js';

export const shadowBackend: Backend = Object.freeze({
  name: 'shadow',
  description: 'shadow paging: write-protected guest tables trap into shadow updates; CR3 and INVLPG trap; hidden faults fill the shadow',
  create: () => ({}),
});
