/**
 * The HSM adapter: the only face of a PKCS#11 token the rest of Keywarden sees. An implementation
 * reads attributes raw and never returns secret values; what they mean is decided in inventory.ts.
 */

/** Where the user PIN comes from. It is passed to the token and dropped; nothing logs or stores it. */
export type PinSource = { readonly env: string } | { readonly callback: () => string | Promise<string> };

export interface HsmOpenOptions {
  /** The PKCS#11 slot id (as pkcs11-tool --list-slots prints it). */
  readonly slot?: number;
  readonly tokenLabel?: string;
  /** Without a PIN the session is public: private objects stay invisible. */
  readonly pin?: PinSource;
  /** A read-write session, needed to generate keys. Inventory and signing do not need it. */
  readonly readWrite?: boolean;
}

export interface HsmVersion {
  readonly major: number;
  readonly minor: number;
}

export interface HsmSlot {
  readonly id: number;
  readonly description: string;
  readonly manufacturer: string;
  readonly flags: readonly string[];
  readonly hardwareVersion: HsmVersion;
  readonly firmwareVersion: HsmVersion;
  readonly tokenPresent: boolean;
}

export interface HsmToken {
  readonly slotId: number;
  readonly label: string;
  readonly manufacturer: string;
  readonly model: string;
  readonly serial: string;
  readonly flags: readonly string[];
  readonly hardwareVersion: HsmVersion;
  readonly firmwareVersion: HsmVersion;
}

/**
 * One object's attributes as the token gave them; absent when the token does not have or refuses
 * the attribute. Only public values appear: CKA_VALUE is read for certificates and nothing else.
 */
export interface HsmObjectAttributes {
  /** Session-local handle, hex: good for one session, not an identity. */
  readonly handle: string;
  /** CKO_* number. */
  readonly class: number;
  readonly keyType?: number;
  readonly label?: string;
  readonly id?: Uint8Array;
  readonly token?: boolean;
  readonly private?: boolean;
  readonly modifiable?: boolean;
  readonly sensitive?: boolean;
  readonly extractable?: boolean;
  readonly neverExtractable?: boolean;
  readonly alwaysSensitive?: boolean;
  readonly local?: boolean;
  readonly usage: Partial<Record<KeyUsageName, boolean>>;
  readonly modulus?: Uint8Array;
  readonly publicExponent?: Uint8Array;
  readonly ecParams?: Uint8Array;
  readonly ecPoint?: Uint8Array;
  readonly publicKeyInfo?: Uint8Array;
  readonly valueLength?: number;
  readonly certificateType?: number;
  /** The DER of an X.509 certificate object. */
  readonly certificate?: Uint8Array;
}

export const KEY_USAGES = [
  'encrypt',
  'decrypt',
  'wrap',
  'unwrap',
  'sign',
  'sign-recover',
  'verify',
  'verify-recover',
  'derive',
] as const;
export type KeyUsageName = (typeof KEY_USAGES)[number];

/** Which private key to use: CKA_ID (hex) and/or CKA_LABEL; it must match exactly one key. */
export interface KeyRef {
  readonly id?: string;
  readonly label?: string;
}

export type HashName = 'sha256' | 'sha384' | 'sha512';

export type SignMechanism =
  /** CKM_ECDSA over the digest computed here; `raw` is r||s as the token returns it, `der` X9.62. */
  | { readonly kind: 'ecdsa'; readonly hash: HashName; readonly format: 'der' | 'raw' }
  /** CKM_SHAxxx_RSA_PKCS: the token hashes the data. */
  | { readonly kind: 'rsa-pkcs1'; readonly hash: HashName }
  /** CKM_SHAxxx_RSA_PKCS_PSS with MGF1 of the same hash; salt defaults to the hash length. */
  | { readonly kind: 'rsa-pss'; readonly hash: HashName; readonly saltLength?: number }
  /** CKM_EDDSA (pure Ed25519/Ed448 over the message). */
  | { readonly kind: 'eddsa' };

export type KeyPairSpec =
  | { readonly kind: 'ec'; readonly curve: 'P-256' | 'P-384' | 'P-521' }
  | { readonly kind: 'rsa'; readonly bits: 2048 | 3072 | 4096 }
  | { readonly kind: 'ed25519' };

export interface GenerateOptions {
  readonly label: string;
  /** CKA_ID, hex; random 16 bytes when absent. */
  readonly id?: string;
}

export interface Hsm {
  open(modulePath: string, opts?: HsmOpenOptions): Promise<void>;
  slots(): HsmSlot[];
  tokens(): HsmToken[];
  /** The token the session is open on. */
  token(): HsmToken;
  objects(): HsmObjectAttributes[];
  sign(key: KeyRef, mechanism: SignMechanism, data: Uint8Array): Promise<Uint8Array>;
  /**
   * A key pair generated on the token for a ceremony: private half sensitive, never extractable,
   * sign only. Returns the attributes of both halves as the token reports them.
   */
  generateKeyPair(
    spec: KeyPairSpec,
    opts: GenerateOptions,
  ): Promise<{ privateKey: HsmObjectAttributes; publicKey: HsmObjectAttributes }>;
  close(): void;
}
