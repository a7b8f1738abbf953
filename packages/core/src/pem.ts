/** PEM blocks found anywhere in text: concatenated bundles, keys inside config files, logs, scripts. */
export interface PemBlock {
  /** The label between BEGIN and END, e.g. 'CERTIFICATE' or 'RSA PRIVATE KEY'. */
  readonly label: string;
  /** Byte offset of the BEGIN line in the input. */
  readonly offset: number;
  /** Decoded body; empty when the base64 is invalid (see `error`). */
  readonly der: Buffer;
  /** RFC 1421 headers such as Proc-Type and DEK-Info (legacy encrypted OpenSSL keys). */
  readonly headers: Readonly<Record<string, string>>;
  readonly error?: string;
}

const BEGIN = '-----BEGIN ';
const MAX_LABEL = 64;

/** Cheap test used before the full scan: avoids decoding binary files as text when there is no PEM. */
export function hasPem(buf: Uint8Array): boolean {
  return Buffer.prototype.indexOf.call(buf, BEGIN, 0, 'latin1') !== -1;
}

export function findPemBlocks(input: Buffer, maxBlocks = 1_000_000): PemBlock[] {
  const out: PemBlock[] = [];
  let pos = 0;
  while (out.length < maxBlocks) {
    const b = input.indexOf(BEGIN, pos, 'latin1');
    if (b === -1) break;
    const labelStart = b + BEGIN.length;
    const labelEnd = input.indexOf('-----', labelStart, 'latin1');
    if (labelEnd === -1 || labelEnd - labelStart > MAX_LABEL) {
      pos = labelStart;
      continue;
    }
    const label = input.toString('latin1', labelStart, labelEnd);
    if (!/^[A-Z0-9 #_-]+$/.test(label)) {
      pos = labelStart;
      continue;
    }
    const bodyStart = labelEnd + 5;
    const endMarker = `-----END ${label}-----`;
    const e = input.indexOf(endMarker, bodyStart, 'latin1');
    // The next BEGIN before our END means this block is truncated.
    const nextBegin = input.indexOf(BEGIN, bodyStart, 'latin1');
    if (e === -1 || (nextBegin !== -1 && nextBegin < e)) {
      out.push({ label, offset: b, der: Buffer.alloc(0), headers: {}, error: `no matching END ${label} line` });
      pos = bodyStart;
      continue;
    }
    let body = input.toString('latin1', bodyStart, e);
    const headers: Record<string, string> = {};
    const blank = body.search(/\r?\n\r?\n/);
    if (blank !== -1 && body.slice(0, blank).includes(':')) {
      for (const line of body.slice(0, blank).split(/\r?\n/)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim()] = line.slice(c + 1).trim();
      }
      body = body.slice(blank);
    }
    const b64 = body.replace(/[\s]+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) {
      out.push({ label, offset: b, der: Buffer.alloc(0), headers, error: 'invalid base64 in PEM body' });
    } else {
      out.push({ label, offset: b, der: Buffer.from(b64, 'base64'), headers });
    }
    pos = e + endMarker.length;
  }
  return out;
}
