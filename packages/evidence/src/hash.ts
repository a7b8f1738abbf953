import { createHash } from 'node:crypto';
import { nodeHashJs } from './sha256-node.ts';

/** RFC 6962 §2.1: domain-separation prefixes keep a leaf from ever hashing like an interior node. */
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export const HASH_SIZE = 32;

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The root of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) return nodeHashJs(left, right);
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}
