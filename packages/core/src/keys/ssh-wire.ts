import { CoreError } from '../error.ts';

/**
 * The SSH wire encoding (RFC 4251 section 5): uint32, uint64, string, mpint. Every read is checked
 * against the bytes that remain, so a hostile length fails here instead of allocating or overrunning.
 */

export function sshMalformed(message: string): never {
  throw new CoreError('SSH_MALFORMED', message);
}

export class SshReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(n: number, what: string): number {
    if (n > this.remaining) sshMalformed(`${what} of ${n} bytes at offset ${this.pos} runs past the end`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(what: string): number {
    return this.buf[this.take(1, what)]!;
  }

  u32(what: string): number {
    const at = this.take(4, what);
    return (
      ((this.buf[at]! << 24) | (this.buf[at + 1]! << 16) | (this.buf[at + 2]! << 8) | this.buf[at + 3]!) >>> 0
    );
  }

  u64(what: string): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A length-prefixed byte string, as a view into the input (no copy). */
  bytes(what: string): Uint8Array {
    const n = this.u32(what);
    const at = this.take(n, what);
    return this.buf.subarray(at, at + n);
  }

  /** A string read as UTF-8 text (comments, key ids, principals). */
  text(what: string): string {
    return Buffer.from(this.bytes(what)).toString('utf8');
  }

  /** An algorithm or option name: short printable ASCII by RFC 4251 and OpenSSH practice. */
  name(what: string): string {
    const b = this.bytes(what);
    if (b.length > 256) sshMalformed(`${what} of ${b.length} bytes is too long for a name`);
    for (const c of b) if (c < 0x20 || c > 0x7e) sshMalformed(`${what} is not a printable name`);
    return Buffer.from(b).toString('latin1');
  }

  /** A non-negative mpint's two's-complement bytes (leading zero kept; DER INTEGER uses the same form). */
  mpint(what: string): Uint8Array {
    const b = this.bytes(what);
    if (b.length > 0 && b[0]! & 0x80) sshMalformed(`${what} is negative`);
    if (b.length > 1 && b[0] === 0 && !(b[1]! & 0x80)) sshMalformed(`${what} has a redundant leading zero`);
    return b;
  }

  expectEnd(what: string): void {
    if (this.remaining !== 0) sshMalformed(`${this.remaining} trailing bytes after ${what}`);
  }
}

/** A string field that itself holds a sequence of strings (certificate principals, option lists). */
export function readStringList(
  field: Uint8Array,
  what: string,
  max: number,
  each: (r: SshReader, i: number) => void,
): void {
  const r = new SshReader(field);
  for (let i = 0; r.remaining > 0; i++) {
    if (i >= max) sshMalformed(`more than ${max} entries in ${what}`);
    each(r, i);
  }
}

/** The leading string of a blob (its key type), or undefined when the blob does not start with one. */
export function peekType(blob: Uint8Array): string | undefined {
  try {
    return new SshReader(blob).name('key type');
  } catch (e) {
    if (e instanceof CoreError) return undefined;
    throw e;
  }
}
