import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { EvidenceError } from './error.ts';
import { ALG_ED25519, checkKeyName, formatVkey, keyHash, type NoteSigner } from './note.ts';

/**
 * The log's own Ed25519 key, kept as a PKCS#8 PEM file readable by its owner only. The key bytes stay
 * inside the KeyObject: nothing here prints or returns them.
 */
export class FileSigner implements NoteSigner {
  readonly name: string;
  readonly keyHash: number;
  readonly publicKey: Buffer;
  readonly #key: KeyObject;

  private constructor(name: string, key: KeyObject) {
    checkKeyName(name);
    if (key.asymmetricKeyType !== 'ed25519')
      throw new EvidenceError('BAD_ARGUMENT', `log signing keys are Ed25519, not ${key.asymmetricKeyType}`);
    this.name = name;
    this.#key = key;
    this.publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
    this.keyHash = keyHash(name, ALG_ED25519, this.publicKey);
  }

  /** Generates a key and writes it with mode 0600; refuses to overwrite an existing file. */
  static create(path: string, name: string): FileSigner {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      throw new EvidenceError('LOG_WRITE', `cannot create the log key file ${path}`, { cause: err });
    }
    try {
      writeSync(fd, String(pem));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(path, 0o600);
    return new FileSigner(name, privateKey);
  }

  static load(path: string, name: string): FileSigner {
    let text: string;
    try {
      if ((statSync(path).mode & 0o077) !== 0)
        throw new EvidenceError(
          'BAD_ARGUMENT',
          `the log key file ${path} is readable by others; chmod 600 it`,
        );
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (err instanceof EvidenceError) throw err;
      throw new EvidenceError('BAD_ARGUMENT', `cannot read the log key file ${path}`, { cause: err });
    }
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: text, format: 'pem' });
    } catch (err) {
      throw new EvidenceError('BAD_ARGUMENT', `the log key file ${path} is not a PKCS#8 PEM private key`, {
        cause: err,
      });
    }
    return new FileSigner(name, key);
  }

  /** For tests and interop: a signer from a raw 32-byte Ed25519 seed. */
  static fromSeed(name: string, seed: Uint8Array): FileSigner {
    if (seed.length !== 32) throw new EvidenceError('BAD_ARGUMENT', 'an Ed25519 seed is 32 bytes');
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    return new FileSigner(name, createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  }

  get vkey(): string {
    return formatVkey(this.name, this.publicKey);
  }

  sign(msg: Uint8Array): Uint8Array {
    return sign(null, msg, this.#key);
  }
}
