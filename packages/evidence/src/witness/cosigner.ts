import { verify as edVerify } from 'node:crypto';
import { EvidenceError } from '../error.ts';
import { FileSigner } from '../file-signer.ts';
import { checkKeyName, ed25519PublicKey, keyHash } from '../note.ts';

/** C2SP tlog-cosignature: key IDs of Ed25519 cosigners use type byte 0x04, not the note's 0x01. */
export const ALG_COSIGNATURE_V1 = 0x04;
const EM_DASH = '\u2014';
/** 4-byte key ID, 8-byte big-endian timestamp, 64-byte Ed25519 signature. */
const BLOB_BYTES = 4 + 8 + 64;
/** The spec caps timestamps at 2^63 - 1; JS numbers are exact only to 2^53, which is plenty. */
const MAX_TIME = Number.MAX_SAFE_INTEGER;

/** The bytes an Ed25519 cosigner signs: two header lines, then the checkpoint note text. */
export function cosignatureMessage(noteText: string, time: number): Buffer {
  if (!Number.isSafeInteger(time) || time < 0 || time > MAX_TIME)
    throw new EvidenceError('BAD_ARGUMENT', `cosignature time ${time} is not a POSIX timestamp`);
  return Buffer.from(`cosignature/v1\ntime ${time}\n${noteText}`, 'utf8');
}

export function formatCosignerVkey(name: string, publicKey: Uint8Array): string {
  checkKeyName(name);
  const id = keyHash(name, ALG_COSIGNATURE_V1, publicKey).toString(16).padStart(8, '0');
  const material = Buffer.concat([Buffer.from([ALG_COSIGNATURE_V1]), publicKey]).toString('base64');
  return `${name}+${id}+${material}`;
}

/** A witness's signing side: its own Ed25519 key, used only for cosignature/v1 messages. */
export class Cosigner {
  readonly name: string;
  readonly keyHash: number;
  readonly publicKey: Buffer;
  readonly #key: FileSigner;

  constructor(key: FileSigner) {
    this.#key = key;
    this.name = key.name;
    this.publicKey = key.publicKey;
    this.keyHash = keyHash(key.name, ALG_COSIGNATURE_V1, key.publicKey);
  }

  static load(path: string, name: string): Cosigner {
    return new Cosigner(FileSigner.load(path, name));
  }

  /** Creates the key file (mode 0600, never overwriting) for a new witness. */
  static create(path: string, name: string): Cosigner {
    return new Cosigner(FileSigner.create(path, name));
  }

  get vkey(): string {
    return formatCosignerVkey(this.name, this.publicKey);
  }

  /** One note signature line, newline included, cosigning `noteText` as of `time`. */
  cosign(noteText: string, time: number): string {
    const sig = this.#key.sign(cosignatureMessage(noteText, time));
    const blob = Buffer.alloc(BLOB_BYTES);
    blob.writeUInt32BE(this.keyHash >>> 0, 0);
    blob.writeBigUInt64BE(BigInt(time), 4);
    Buffer.from(sig).copy(blob, 12);
    return `${EM_DASH} ${this.name} ${blob.toString('base64')}\n`;
  }
}

export interface CosignatureVerifier {
  readonly name: string;
  readonly keyHash: number;
  readonly publicKey: Buffer;
  readonly vkey: string;
  /** The cosignature's timestamp when `blob` (the bytes after the key ID) verifies, else undefined. */
  verify(noteText: string, blob: Uint8Array): number | undefined;
}

function bad(msg: string): never {
  throw new EvidenceError('NOTE_INVALID', msg);
}

const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses a witness vkey `<name>+<hex key ID>+<base64(0x04 || Ed25519 key)>`. */
export function parseCosignerVkey(text: string): CosignatureVerifier {
  const t = text.trim();
  if (t.length > 4096) bad('witness key longer than 4096 characters');
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(t);
  if (!m) bad(`witness key ${JSON.stringify(t.slice(0, 80))} is not <name>+<hex id>+<base64 key>`);
  const [, name, hex, material] = m as unknown as [string, string, string, string];
  if (!STRICT_B64.test(material)) bad(`witness key ${name}: key material is not base64`);
  const key = Buffer.from(material, 'base64');
  if (key[0] !== ALG_COSIGNATURE_V1)
    bad(`witness key ${name}: type ${key[0]} is not an Ed25519 cosignature/v1 key (4)`);
  if (key.length !== 33) bad(`witness key ${name}: an Ed25519 key is 32 bytes, not ${key.length - 1}`);
  const publicKey = Buffer.from(key.subarray(1));
  const id = keyHash(name, ALG_COSIGNATURE_V1, publicKey);
  if (id !== Number.parseInt(hex, 16)) bad(`witness key ${name}: key ID ${hex} does not match the key`);
  const ko = ed25519PublicKey(publicKey);
  return {
    name,
    keyHash: id,
    publicKey,
    vkey: t,
    verify(noteText, blob) {
      if (blob.length !== BLOB_BYTES - 4) return undefined;
      const b = Buffer.from(blob);
      const time = b.readBigUInt64BE(0);
      if (time > BigInt(MAX_TIME)) return undefined;
      const msg = cosignatureMessage(noteText, Number(time));
      return edVerify(null, msg, ko, b.subarray(8)) ? Number(time) : undefined;
    },
  };
}
