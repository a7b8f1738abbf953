import { parseAlgorithmIdentifier } from '../algorithm.ts';
import { seq, type Tlv } from '../der.ts';
import { malformed } from '../error.ts';

/**
 * Names for the password-based encryption of an EncryptedPrivateKeyInfo (RFC 8018, PKCS#12 and
 * RFC 7914). The inventory cannot decrypt the key, but the scheme alone separates "AES-256 with
 * PBKDF2" from "40-bit RC2", which is exactly what a crypto review wants to see.
 */

export const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';

/** PBES1 (RFC 8018 A.3) and the PKCS#12 PBE schemes (RFC 7292 Appendix C) openssl can still write. */
export const PBE_SCHEMES: Record<string, string> = {
  '1.2.840.113549.1.5.1': 'pbeWithMD2AndDES-CBC',
  '1.2.840.113549.1.5.4': 'pbeWithMD2AndRC2-CBC',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC',
  '1.2.840.113549.1.5.6': 'pbeWithMD5AndRC2-CBC',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC',
  '1.2.840.113549.1.5.11': 'pbeWithSHA1AndRC2-CBC',
  '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
  '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
  '1.2.840.113549.1.12.1.3': 'pbeWithSHAAnd3-KeyTripleDES-CBC',
  '1.2.840.113549.1.12.1.4': 'pbeWithSHAAnd2-KeyTripleDES-CBC',
  '1.2.840.113549.1.12.1.5': 'pbeWithSHAAnd128BitRC2-CBC',
  '1.2.840.113549.1.12.1.6': 'pbeWithSHAAnd40BitRC2-CBC',
};

const KDFS: Record<string, string> = {
  [PBKDF2]: 'PBKDF2',
  '1.3.6.1.4.1.11591.4.11': 'scrypt',
};

/** PBES2 encryption schemes, spelled as openssl's cipher names. */
const CIPHERS: Record<string, string> = {
  '2.16.840.1.101.3.4.1.2': 'aes-128-cbc',
  '2.16.840.1.101.3.4.1.22': 'aes-192-cbc',
  '2.16.840.1.101.3.4.1.42': 'aes-256-cbc',
  '2.16.840.1.101.3.4.1.6': 'aes-128-gcm',
  '2.16.840.1.101.3.4.1.26': 'aes-192-gcm',
  '2.16.840.1.101.3.4.1.46': 'aes-256-gcm',
  '1.2.840.113549.3.7': 'des-ede3-cbc',
  '1.3.14.3.2.7': 'des-cbc',
  '1.2.840.113549.3.2': 'rc2-cbc',
  '1.2.840.113549.3.9': 'rc5-cbc',
  '1.2.392.200011.61.1.1.1.2': 'camellia-128-cbc',
  '1.2.392.200011.61.1.1.1.3': 'camellia-192-cbc',
  '1.2.392.200011.61.1.1.1.4': 'camellia-256-cbc',
  '1.2.410.200046.1.1.2': 'aria-128-cbc',
  '1.2.410.200046.1.1.7': 'aria-192-cbc',
  '1.2.410.200046.1.1.12': 'aria-256-cbc',
  '1.2.410.200004.1.4': 'seed-cbc',
  '1.2.156.10197.1.104.2': 'sm4-cbc',
};

/** True for the OIDs that mark an EncryptedPrivateKeyInfo; used to tell it apart from look-alikes. */
export function isPbeScheme(oid: string): boolean {
  return oid === PBES2 || PBE_SCHEMES[oid] !== undefined;
}

/**
 * 'PBES2/aes-256-cbc' for the usual PBKDF2 case, 'PBES2/scrypt/aes-256-cbc' when another KDF is
 * named, the PBES1/PKCS#12 scheme name otherwise, and the OID for anything we do not know.
 */
export function describePbe(der: Uint8Array, algT: Tlv): string {
  const { oid, params } = parseAlgorithmIdentifier(der, algT);
  if (oid !== PBES2) return PBE_SCHEMES[oid] ?? oid;
  const [kdfT, encT, extra] = seq(der, params, 'PBES2-params');
  if (!kdfT || !encT || extra) return malformed(`PBES2-params must have two elements`);
  const kdf = parseAlgorithmIdentifier(der, kdfT).oid;
  const enc = parseAlgorithmIdentifier(der, encT).oid;
  const cipher = CIPHERS[enc] ?? enc;
  return kdf === PBKDF2 ? `PBES2/${cipher}` : `PBES2/${KDFS[kdf] ?? kdf}/${cipher}`;
}
