import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { EvidenceError } from './error.ts';
import { sha256 } from './hash.ts';

/** C2SP signed-note: signature type 0x01 is Ed25519. */
export const ALG_ED25519 = 0x01;
const EM_DASH = '\u2014';

/** Bounds: the spec asks verifiers to accept at least 16 signatures; post-quantum ones near 5 kB. */
export const MAX_NOTE_BYTES = 1 << 20;
export const MAX_SIGNATURES = 100;

/** Anything that can sign a note: a key file, an HSM over PKCS#11, a remote service. */
export interface NoteSigner {
  readonly name: string;
  /** The 32-bit key ID written in front of each signature. */
  readonly keyHash: number;
  sign(msg: Uint8Array): Promise<Uint8Array> | Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: number;
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyHash: number;
  /** The signature bytes after the 4-byte key ID. */
  signature: Buffer;
  /** The line as it appeared, with its final newline, so unknown signatures can be carried along. */
  line: string;
}

export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

export interface OpenedNote extends ParsedNote {
  /** Names of the trusted keys whose signatures verified. */
  verifiedBy: string[];
}

function invalid(msg: string): never {
  throw new EvidenceError('NOTE_INVALID', msg);
}

export function checkKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || /\p{Cc}/u.test(name))
    throw new EvidenceError(
      'BAD_ARGUMENT',
      `key name ${JSON.stringify(name)} must be non-empty with no spaces, '+' or control characters`,
    );
}

/** Key ID = first 4 bytes of SHA-256(name || 0x0A || type || public key), big-endian. */
export function keyHash(name: string, alg: number, publicKey: Uint8Array): number {
  const h = sha256(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, alg]), publicKey]));
  return h.readUInt32BE(0);
}

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32)
    throw new EvidenceError('BAD_ARGUMENT', `an Ed25519 public key is 32 bytes, not ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

export function formatVkey(name: string, publicKey: Uint8Array): string {
  checkKeyName(name);
  const id = keyHash(name, ALG_ED25519, publicKey).toString(16).padStart(8, '0');
  return `${name}+${id}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]).toString('base64')}`;
}

const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function b64(s: string, what: string): Buffer {
  if (!STRICT_B64.test(s)) invalid(`${what} is not base64`);
  return Buffer.from(s, 'base64');
}

/** Parses `<name>+<hex key ID>+<base64(0x01 || key)>` into an Ed25519 verifier. */
export function parseVkey(text: string): NoteVerifier & { publicKey: Buffer; vkey: string } {
  const t = text.trim();
  if (t.length > 4096) invalid('verifier key longer than 4096 characters');
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(t);
  if (!m) invalid(`verifier key ${JSON.stringify(t.slice(0, 80))} is not <name>+<hex id>+<base64 key>`);
  const [, name, hex, material] = m as unknown as [string, string, string, string];
  const key = b64(material, 'verifier key material');
  if (key[0] !== ALG_ED25519) invalid(`verifier key ${name}: signature type ${key[0]} is not Ed25519 (1)`);
  if (key.length !== 33) invalid(`verifier key ${name}: an Ed25519 key is 32 bytes, not ${key.length - 1}`);
  const publicKey = key.subarray(1);
  const id = keyHash(name, ALG_ED25519, publicKey);
  if (id !== Number.parseInt(hex, 16)) invalid(`verifier key ${name}: key ID ${hex} does not match the key`);
  const ko = ed25519PublicKey(publicKey);
  return {
    name,
    keyHash: id,
    publicKey: Buffer.from(publicKey),
    vkey: t,
    verify: (msg, sig) => sig.length === 64 && edVerify(null, msg, ko, sig),
  };
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) invalid('note text must end with a newline');
  // Control characters other than newline would let a note display differently from what was signed.
  if (/[\p{Cc}]/u.test(text.replace(/\n/g, ''))) invalid('note text holds control characters');
}

export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  checkText(text);
  if (signers.length === 0) throw new EvidenceError('BAD_ARGUMENT', 'a note needs at least one signer');
  const msg = Buffer.from(text, 'utf8');
  let lines = '';
  for (const s of signers) {
    checkKeyName(s.name);
    const sig = await s.sign(msg);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(s.keyHash >>> 0, 0);
    lines += `${EM_DASH} ${s.name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
  }
  return `${text}\n${lines}`;
}

function decodeUtf8(b: Uint8Array): string {
  if (b.length > MAX_NOTE_BYTES) invalid(`note larger than ${MAX_NOTE_BYTES} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return invalid('note is not valid UTF-8');
  }
}

export function parseNote(note: string | Uint8Array): ParsedNote {
  const s = typeof note === 'string' ? note : decodeUtf8(note);
  if (Buffer.byteLength(s, 'utf8') > MAX_NOTE_BYTES) invalid(`note larger than ${MAX_NOTE_BYTES} bytes`);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) invalid('note has no blank line before its signatures');
  const text = s.slice(0, split + 1);
  const sigText = s.slice(split + 2);
  checkText(text);
  if (sigText.length === 0 || !sigText.endsWith('\n'))
    invalid('note signatures must be non-empty lines ending in a newline');
  const lines = sigText.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) invalid(`note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) invalid(`signature line ${i + 1} is not "\u2014 <name> <base64>"`);
    const blob = b64(m[2]!, `signature line ${i + 1}`);
    if (blob.length < 5) invalid(`signature line ${i + 1} is too short`);
    return { name: m[1]!, keyHash: blob.readUInt32BE(0), signature: blob.subarray(4), line: `${line}\n` };
  });
  return { text, signatures };
}

/**
 * Verifies a note against trusted keys: signatures by unknown keys are kept but ignored (witness
 * cosignatures ride along this way); a bad signature by a known key rejects the note, and so does a
 * note no known key signed.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const parsed = parseNote(note);
  const msg = Buffer.from(parsed.text, 'utf8');
  const verifiedBy: string[] = [];
  for (const sig of parsed.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyHash === sig.keyHash);
    if (!v) continue;
    if (!v.verify(msg, sig.signature)) invalid(`the signature by ${sig.name} does not verify`);
    if (!verifiedBy.includes(v.name)) verifiedBy.push(v.name);
  }
  if (verifiedBy.length === 0) {
    const names = parsed.signatures.map((x) => x.name).join(', ');
    invalid(`no signature by a trusted key (signed by: ${names || 'nobody'})`);
  }
  return { ...parsed, verifiedBy };
}
