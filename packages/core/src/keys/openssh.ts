import { CoreError } from '../error.ts';
import type { Encoding, KeyInfo, Observation } from '../observation.ts';
import { isSshCertType, parseSshCertificate, SSH_CERT_TYPES } from './ssh-cert.ts';
import { parseSshPublicKey, SK_ECDSA, SK_ED25519, SSH_KEY_TYPES } from './ssh-public.ts';
import { peekType, SshReader, sshMalformed } from './ssh-wire.ts';

/**
 * OpenSSH's own private key container (PROTOCOL.key) and SSH public key text lines. The container
 * keeps the public key in the clear ahead of the (possibly encrypted) private section, so an
 * encrypted key still has an identity.
 */

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const MAX_COMMENT = 1024;

function keyOfBlob(blob: Uint8Array): KeyInfo {
  const type = peekType(blob);
  return type !== undefined && isSshCertType(type) ? parseSshCertificate(blob).key : parseSshPublicKey(blob);
}

/**
 * Step over one key's private fields (OpenSSH sshkey_private_serialize) to reach its comment. The
 * fields are skipped by length and never copied; types we cannot step over simply have no comment.
 */
function skipPrivateFields(r: SshReader, type: string): boolean {
  const skip = (n: number): void => {
    for (let i = 0; i < n; i++) r.bytes('private key field');
  };
  if (type === 'ssh-rsa')
    skip(6); // n e d iqmp p q
  else if (type === 'ssh-dss')
    skip(5); // p q g y x
  else if (type.startsWith('ecdsa-sha2-'))
    skip(3); // curve Q d
  else if (type === 'ssh-ed25519' || type === 'ssh-ed448')
    skip(2); // pk sk
  else if (type === SK_ED25519) {
    skip(2); // pk application
    r.u8('flags');
    skip(2); // key handle, reserved
  } else if (type === SK_ECDSA) {
    skip(3); // curve Q application
    r.u8('flags');
    skip(2);
  } else return false;
  return true;
}

/** The comment of the single key in a plaintext private section, if it can be reached. */
function plaintextComment(section: Uint8Array): string | undefined {
  const r = new SshReader(section);
  // Two equal random words; after decryption they tell a right passphrase from a wrong one.
  if (r.u32('check word') !== r.u32('check word')) sshMalformed('check words of an unencrypted key differ');
  const type = r.name('private key type');
  if (!skipPrivateFields(r, type)) return undefined;
  const comment = r.text('comment');
  return comment === '' ? undefined : comment.slice(0, MAX_COMMENT);
}

/** The binary body of an 'OPENSSH PRIVATE KEY' PEM block. */
export function parseOpenSshPrivateKey(data: Uint8Array, offset: number, encoding: Encoding): Observation {
  if (data.length < MAGIC.length || !MAGIC.equals(data.subarray(0, MAGIC.length)))
    return sshMalformed('missing openssh-key-v1 magic');
  const r = new SshReader(data, MAGIC.length);
  const cipher = r.name('cipher name');
  const kdf = r.name('KDF name');
  r.bytes('KDF options');
  const nkeys = r.u32('key count');
  // OpenSSH itself refuses anything but one key per file.
  if (nkeys !== 1) sshMalformed(`${nkeys} keys in an OpenSSH private key file; only 1 is defined`);
  const key = keyOfBlob(r.bytes('public key'));
  const section = r.bytes('private section');
  r.expectEnd('OpenSSH private key');
  const encrypted = cipher !== 'none';
  const comment = encrypted ? undefined : plaintextComment(section);
  return {
    type: 'private-key',
    offset,
    encoding,
    format: 'openssh',
    key,
    encrypted,
    ...(encrypted && { cipher: `${cipher}/${kdf}` }),
    ...(comment !== undefined && { comment }),
  };
}

const TYPE_PATTERN = [...SSH_KEY_TYPES, ...SSH_CERT_TYPES]
  .sort((a, b) => b.length - a.length)
  .map((t) => t.replace(/[.]/g, '\\.'))
  .join('|');

/**
 * `<type> <base64> [comment]` anywhere on a line: authorized_keys (after options), known_hosts
 * (after host patterns or markers), *.pub files, keys pasted into YAML or JSON. The look-behind keeps
 * us from starting inside a longer word; the base64 must end the token. 68 characters is the smallest
 * real blob (ssh-ed25519, 51 bytes): anything shorter is an elided example in documentation.
 */
const KEY_LINE = new RegExp(
  `(?<![A-Za-z0-9@._+/=-])(${TYPE_PATTERN})[ \\t]+([A-Za-z0-9+/]{68,}={0,2})(?![A-Za-z0-9+/=])(?:[ \\t]+([^\\r\\n]*))?`,
  'g',
);

function observeLine(blob: Uint8Array, type: string, at: number, comment: string | undefined): Observation {
  const extra = comment !== undefined && comment !== '' ? { comment: comment.slice(0, MAX_COMMENT) } : {};
  if (isSshCertType(type))
    return { type: 'ssh-certificate', offset: at, encoding: 'text', sshCert: parseSshCertificate(blob) };
  return {
    type: 'public-key',
    offset: at,
    encoding: 'text',
    format: 'ssh',
    key: parseSshPublicKey(blob),
    ...extra,
  };
}

/** Text is scanned in slices cut at line ends, so a huge file never becomes one huge string. */
const SLICE = 16 * 1024 * 1024;

function scanSlice(text: Buffer, start: number, end: number, offset: number, out: Observation[]): void {
  // latin1 maps bytes 1:1 to UTF-16 units, so string indices are byte offsets.
  const s = text.toString('latin1', start, end);
  for (const m of s.matchAll(KEY_LINE)) {
    const type = m[1]!;
    const b64 = m[2]!;
    const at = offset + start + m.index;
    if (b64.length % 4 === 1) continue;
    const blob = Buffer.from(b64, 'base64');
    if (peekType(blob) !== type) continue;
    const rawComment = m[3]?.trim();
    const comment = rawComment === undefined ? undefined : Buffer.from(rawComment, 'latin1').toString('utf8');
    try {
      out.push(observeLine(blob, type, at, comment));
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
      out.push({
        type: 'unparseable',
        offset: at,
        encoding: 'text',
        format: `ssh:${type}`,
        reason: e.message,
      });
    }
  }
}

/**
 * Every SSH public key or certificate written as a text line in `text`, with byte offsets (plus
 * `offset`, where `text` starts in its file). A token whose base64 does not begin with its own type
 * name is prose, not a key, and is skipped; one that does but then fails to decode is 'unparseable'.
 */
export function findSshPublicKeys(text: Buffer, offset = 0): Observation[] {
  const out: Observation[] = [];
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + SLICE, text.length);
    if (end < text.length) {
      const nl = text.lastIndexOf(0x0a, end);
      if (nl > start) end = nl + 1;
    }
    scanSlice(text, start, end, offset, out);
    start = end;
  }
  return out;
}
