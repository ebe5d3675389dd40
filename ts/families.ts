// Per operator family (ts/operators.ts `family`): how a call's arguments, as the public method
// takes them, become one checked call (ts/call.ts), which class runs its sessions, and which
// session options a decoded snapshot stands for. `Hla` runs every operator through these, so an
// operator of an existing family needs only its table entry.
import { gatedCall, hlaCall, secondCall, type PoolCall } from './call.js';
import { Detail, rangeError } from './errors.js';
import { checkGated } from './gated.js';
import { GatedSession, type GatedSessionOptions } from './gated-session.js';
import { entryOf, isOperator, type OperatorFamily, type OperatorName } from './operators.js';
import { checkRla, checkSse } from './second.js';
import { SecondSession, type SecondSessionOptions } from './second-session.js';
import { Session, type SessionHost, type SessionOptions } from './session.js';
import { decodeSnapshot, type SnapshotHeader } from './snapshot.js';
import type { GatedOpName, OpName } from './types.js';
import { checkForward, checkOp } from './validate.js';

export type AnySession = Session | GatedSession | SecondSession;

interface Family {
  /** Checks a call's arguments (q, k, v, options; sse: inputs, options) into a pool call. */
  call(op: OperatorName, args: readonly unknown[]): PoolCall;
  /** A session of `op`; its constructor checks `options`. */
  session(host: SessionHost, op: OperatorName, options: unknown): AnySession;
  /** The session options a snapshot's header stands for. */
  restored(h: SnapshotHeader): unknown;
}

type Second = 'sse' | 'rla';

const second: Family = {
  call: (op, a) => secondCall(op === 'sse' ? checkSse(a[0], a[1]) : checkRla(a[0], a[1], a[2], a[3])),
  session: (host, op, o) => new SecondSession(host, op as Second, o as SecondSessionOptions),
  restored: ({ op, batch, heads, valueHeads, dk, dv, scale, qkL2norm, sse, rla }) => ({ batch, heads, valueHeads, dk, dv, scale, qkL2norm, ...(op === 'sse' ? sse : rla) }),
};

const FAMILIES: Record<OperatorFamily, Family> = {
  hla: {
    call: (op, [q, k, v, o]) => hlaCall(op as OpName, checkForward(op as OpName, q, k, v, o)),
    session: (host, op, o) => new Session(host, op as OpName, o as SessionOptions),
    restored: ({ batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay }) => ({ batch, heads, valueHeads, dk, dv, scale, eps, ridge, normalize, decay }),
  },
  gated: {
    call: (op, [q, k, v, o]) => gatedCall(op as GatedOpName, checkGated(op as GatedOpName, q, k, v, o)),
    session: (host, op, o) => new GatedSession(host, op as GatedOpName, o as GatedSessionOptions),
    restored: ({ op, batch, heads, valueHeads, dk, dv, scale, qkL2norm }) => ({ batch, heads, valueHeads, dk, dv, scale, ...(op === 'deltaRule' ? { qkL2norm } : {}) }),
  },
  sse: second,
  rla: second,
};

/** `op`'s family; anything that names no operator is a RangeError (in the HLA family's words). */
function familyOf(op: unknown, name = 'op'): Family {
  return FAMILIES[entryOf(isOperator(op) ? op : checkOp(op, name)).family];
}

/** `op` if it names an operator (else the HLA family's RangeError, naming `name`). */
export function checkOperator(op: unknown, name = 'op'): OperatorName {
  return isOperator(op) ? op : checkOp(op, name);
}

/** Checks one call of `op` into what the pool or this thread runs. */
export function checkCall(op: OperatorName, args: readonly unknown[]): PoolCall {
  return familyOf(op).call(op, args);
}

/** A new session of `op`. */
export function openSession(host: SessionHost, op: OperatorName, options: unknown): AnySession {
  return familyOf(op).session(host, op, options);
}

/**
 * @internal `hla.restore`: decode and check everything (ts/snapshot.ts), then create and load.
 * Nothing is created if a check fails.
 */
export function restoreSession(host: SessionHost, bytes: unknown, expectOp?: OperatorName): AnySession {
  const { header, state } = decodeSnapshot(bytes);
  if (expectOp !== undefined && expectOp !== header.op) throw rangeError('snapshot', `a ${expectOp} session (as asked)`, new Detail(`a ${header.op} session`));
  const family = familyOf(header.op);
  const s = family.session(host, header.op, family.restored(header));
  try {
    s._load(state, header.position);
  } catch (e) {
    s.free();
    throw e;
  }
  return s;
}
