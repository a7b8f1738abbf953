import { hash } from 'node:crypto';
import type { KeyInfo, SshCertificateSummary } from '../observation.ts';
import { parseSshPublicKey, readSshKeyFields, SK_ECDSA, SK_ED25519, SSH_KEY_TYPES } from './ssh-public.ts';
import { peekType, readStringList, SshReader, sshMalformed } from './ssh-wire.ts';

/** OpenSSH certificates (PROTOCOL.certkeys): a public key, its validity and principals, signed by a CA key. */

const CERT_SUFFIX = '-cert-v01@openssh.com';

/** Certificate type -> the plain key type whose public fields it embeds. A Map: type names are input. */
const CERT_BASE_TYPES: ReadonlyMap<string, string> = new Map([
  [`ssh-rsa${CERT_SUFFIX}`, 'ssh-rsa'],
  [`ssh-dss${CERT_SUFFIX}`, 'ssh-dss'],
  [`ssh-ed25519${CERT_SUFFIX}`, 'ssh-ed25519'],
  [`ssh-ed448${CERT_SUFFIX}`, 'ssh-ed448'],
  [`ecdsa-sha2-nistp256${CERT_SUFFIX}`, 'ecdsa-sha2-nistp256'],
  [`ecdsa-sha2-nistp384${CERT_SUFFIX}`, 'ecdsa-sha2-nistp384'],
  [`ecdsa-sha2-nistp521${CERT_SUFFIX}`, 'ecdsa-sha2-nistp521'],
  [`sk-ssh-ed25519${CERT_SUFFIX}`, SK_ED25519],
  [`sk-ecdsa-sha2-nistp256${CERT_SUFFIX}`, SK_ECDSA],
]);

export const SSH_CERT_TYPES: readonly string[] = [...CERT_BASE_TYPES.keys()];

export function isSshCertType(type: string): boolean {
  return CERT_BASE_TYPES.has(type);
}

/** Far more than any real certificate has; bounds the work a crafted one can cause. */
const MAX_LIST = 4096;
const FOREVER = 0xffff_ffff_ffff_ffffn;

function optionNames(field: Uint8Array, what: string): string[] {
  const names: string[] = [];
  readStringList(field, what, MAX_LIST, (r) => {
    names.push(r.name(`${what} name`));
    r.bytes(`${what} data`);
  });
  return names;
}

/** The CA key. A type we cannot decode is still worth naming: it is the signer of record. */
function signatureKeyInfo(blob: Uint8Array): KeyInfo {
  const type = peekType(blob);
  if (type === undefined) return sshMalformed('signature key has no type');
  if (isSshCertType(type)) return sshMalformed('signature key is itself a certificate');
  return SSH_KEY_TYPES.includes(type) ? parseSshPublicKey(blob) : { algorithm: type };
}

export function parseSshCertificate(blob: Uint8Array): SshCertificateSummary {
  const r = new SshReader(blob);
  const type = r.name('certificate type');
  const base = CERT_BASE_TYPES.get(type);
  if (!base) return sshMalformed(`${type} is not an OpenSSH certificate type`);
  r.bytes('nonce');
  const key = readSshKeyFields(r, base);
  const serial = r.u64('serial').toString();
  const certTypeCode = r.u32('certificate role');
  if (certTypeCode !== 1 && certTypeCode !== 2)
    sshMalformed(`certificate role ${certTypeCode} is neither user nor host`);
  const keyIdentifier = r.text('key id');
  const principals: string[] = [];
  readStringList(r.bytes('valid principals'), 'valid principals', MAX_LIST, (p) => {
    principals.push(p.text('principal'));
  });
  const validAfter = r.u64('valid after');
  const validBefore = r.u64('valid before');
  const criticalOptions = optionNames(r.bytes('critical options'), 'critical option');
  const extensions = optionNames(r.bytes('extensions'), 'extension');
  r.bytes('reserved');
  const signatureKey = signatureKeyInfo(r.bytes('signature key'));
  r.bytes('signature');
  r.expectEnd('certificate');
  return {
    sha256: hash('sha256', blob, 'hex'),
    type,
    certType: certTypeCode === 1 ? 'user' : 'host',
    serial,
    keyIdentifier,
    principals,
    // Seconds to ms. Absurd far-future values stay (imprecise) numbers: reported, not rejected.
    validAfter: Number(validAfter) * 1000,
    ...(validBefore !== FOREVER && { validBefore: Number(validBefore) * 1000 }),
    key,
    signatureKey,
    criticalOptions,
    extensions,
  };
}
