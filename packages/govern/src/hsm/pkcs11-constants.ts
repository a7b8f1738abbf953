/**
 * The PKCS#11 numbers we read and write (PKCS#11 v3.0 base specification, pkcs11t.h). Kept as plain
 * numbers so the adapter reads attributes raw and this package, not the binding, decides what they mean.
 */

export const CKA = {
  CLASS: 0x0000,
  TOKEN: 0x0001,
  PRIVATE: 0x0002,
  LABEL: 0x0003,
  VALUE: 0x0011,
  CERTIFICATE_TYPE: 0x0080,
  KEY_TYPE: 0x0100,
  ID: 0x0102,
  SENSITIVE: 0x0103,
  ENCRYPT: 0x0104,
  DECRYPT: 0x0105,
  WRAP: 0x0106,
  UNWRAP: 0x0107,
  SIGN: 0x0108,
  SIGN_RECOVER: 0x0109,
  VERIFY: 0x010a,
  VERIFY_RECOVER: 0x010b,
  DERIVE: 0x010c,
  MODULUS: 0x0120,
  MODULUS_BITS: 0x0121,
  PUBLIC_EXPONENT: 0x0122,
  PUBLIC_KEY_INFO: 0x0129,
  VALUE_LEN: 0x0161,
  EXTRACTABLE: 0x0162,
  LOCAL: 0x0163,
  NEVER_EXTRACTABLE: 0x0164,
  ALWAYS_SENSITIVE: 0x0165,
  MODIFIABLE: 0x0170,
  EC_PARAMS: 0x0180,
  EC_POINT: 0x0181,
} as const;

/** Object classes (CKO_*) by number. */
export const OBJECT_CLASSES: Record<number, string> = {
  0: 'data',
  1: 'certificate',
  2: 'public-key',
  3: 'private-key',
  4: 'secret-key',
  5: 'hw-feature',
  6: 'domain-parameters',
  7: 'mechanism',
  8: 'otp-key',
  9: 'profile',
};

export const CKO = { CERTIFICATE: 1, PUBLIC_KEY: 2, PRIVATE_KEY: 3 } as const;

/** Key types (CKK_*) by number; the names follow the specification without the prefix. */
export const KEY_TYPES: Record<number, string> = {
  0x00: 'RSA',
  0x01: 'DSA',
  0x02: 'DH',
  0x03: 'EC',
  0x10: 'GENERIC_SECRET',
  0x13: 'DES3',
  0x1f: 'AES',
  0x40: 'EC_EDWARDS',
  0x41: 'EC_MONTGOMERY',
};

export const CKK = { RSA: 0x00, EC: 0x03, EC_EDWARDS: 0x40 } as const;

/** CKC_X_509: the only certificate type we parse. */
export const CKC_X_509 = 0;

export const CKM = {
  RSA_PKCS_KEY_PAIR_GEN: 0x0000,
  SHA256_RSA_PKCS: 0x0040,
  SHA384_RSA_PKCS: 0x0041,
  SHA512_RSA_PKCS: 0x0042,
  SHA256_RSA_PKCS_PSS: 0x0043,
  SHA384_RSA_PKCS_PSS: 0x0044,
  SHA512_RSA_PKCS_PSS: 0x0045,
  SHA256: 0x0250,
  SHA384: 0x0260,
  SHA512: 0x0270,
  EC_KEY_PAIR_GEN: 0x1040,
  ECDSA: 0x1041,
  EC_EDWARDS_KEY_PAIR_GEN: 0x1055,
  EDDSA: 0x1057,
} as const;

/** CKG_MGF1_* for PSS parameters. */
export const CKG_MGF1 = { sha256: 2, sha384: 3, sha512: 4 } as const;

/** Token flags (CKF_* of CK_TOKEN_INFO) we name in the inventory. */
export const TOKEN_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'rng'],
  [0x2, 'write-protected'],
  [0x4, 'login-required'],
  [0x8, 'user-pin-initialized'],
  [0x20, 'restore-key-not-needed'],
  [0x40, 'clock-on-token'],
  [0x100, 'protected-authentication-path'],
  [0x200, 'dual-crypto-operations'],
  [0x400, 'token-initialized'],
  [0x800, 'secondary-authentication'],
  [0x10000, 'user-pin-count-low'],
  [0x20000, 'user-pin-final-try'],
  [0x40000, 'user-pin-locked'],
  [0x80000, 'user-pin-to-be-changed'],
  [0x100000, 'so-pin-count-low'],
  [0x200000, 'so-pin-final-try'],
  [0x400000, 'so-pin-locked'],
  [0x800000, 'so-pin-to-be-changed'],
  [0x1000000, 'error-state'],
];

export const SLOT_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x1, 'token-present'],
  [0x2, 'removable-device'],
  [0x4, 'hardware-slot'],
];

export function flagNames(value: number, table: ReadonlyArray<readonly [number, string]>): string[] {
  // Bitwise on numbers above 2^31 would go negative; the flags we name all fit below it.
  return table.filter(([bit]) => (value & bit) !== 0).map(([, name]) => name);
}
