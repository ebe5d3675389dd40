// The operator and session options of every conversation in the example servers.
import type { EdgeConfig } from './handler.ts';

export const DEFAULT_CONFIG: EdgeConfig = { op: 'hla2', heads: 2, valueHeads: 2, dk: 8, dv: 8, decay: 0.99 };
