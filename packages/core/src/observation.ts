import type { SignatureAlgorithm } from './algorithm.ts';
import type { Certificate } from './x509.ts';

/** A public key as the inventory records it. `keyId` is the key identity (SHA-256 of SPKI DER, hex). */
export interface KeyInfo {
  /**
   * Absent when no SPKI can be built: encrypted PKCS#8 (needs the passphrase), FIDO sk-* keys, and
   * PQC or unknown PKCS#8 algorithms without an embedded public key.
   */
  readonly keyId?: string;
  readonly algorithm: string;
  readonly size?: number;
  readonly curve?: string;
}

export type Encoding = 'pem' | 'der' | 'text' | 'json' | 'binary';

/** What a detector saw at one place in one file. Never carries private key bytes. */
export type Observation =
  | {
      readonly type: 'certificate';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly cert: Certificate;
      /** The certificate's DER: public, and needed later to verify the signatures that link a chain. */
      readonly der: Uint8Array;
    }
  | {
      readonly type: 'csr';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly csr: CertificationRequestSummary;
    }
  | { readonly type: 'crl'; readonly offset: number; readonly encoding: Encoding; readonly crl: CrlSummary }
  | {
      readonly type: 'public-key';
      readonly offset: number;
      readonly encoding: Encoding;
      /** spki | pkcs1 | ssh | openssh | jwk */
      readonly format: string;
      readonly key: KeyInfo;
      readonly comment?: string;
    }
  | {
      readonly type: 'private-key';
      readonly offset: number;
      readonly encoding: Encoding;
      /** pkcs1 | pkcs8 | encrypted-pkcs8 | sec1 | openssh | jwk */
      readonly format: string;
      readonly key: KeyInfo;
      /** Protected by a passphrase (PKCS#8 PBES2, legacy PEM Proc-Type ENCRYPTED, OpenSSH cipher != none). */
      readonly encrypted: boolean;
      /** The cipher or KDF named by the container, when it names one. */
      readonly cipher?: string;
      readonly comment?: string;
    }
  | {
      readonly type: 'ssh-certificate';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly sshCert: SshCertificateSummary;
    }
  | {
      readonly type: 'signature';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly signature: SignatureSummary;
    }
  | {
      readonly type: 'crypto-library';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly library: CryptoLibrary;
    }
  | {
      /** A CycloneDX document with cryptographic-asset components, carried to the engine for import. */
      readonly type: 'declared-bom';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly bom: DeclaredBom;
    }
  | {
      /** A TUF or Uptane metadata file: one role, its keys, delegations and signatures. */
      readonly type: 'role';
      readonly offset: number;
      readonly encoding: Encoding;
      readonly role: RoleSummary;
    }
  | {
      readonly type: 'unparseable';
      readonly offset: number;
      readonly encoding: Encoding;
      /** What it claimed to be, e.g. 'pem:CERTIFICATE' or 'der'. */
      readonly format: string;
      readonly reason: string;
    };

/** A TUF/Uptane role as one metadata file states it. */
export interface RoleSummary {
  /** Top-level role name, or the delegated role's name (from the file name when nothing else says). */
  readonly name: string;
  readonly type: 'root' | 'targets' | 'snapshot' | 'timestamp' | 'delegated';
  /** Uptane director or image repository, when recognisable; undefined for plain TUF. */
  readonly repository?: 'director' | 'image';
  readonly version: number;
  readonly specVersion?: string;
  /** Epoch ms. */
  readonly expires?: number;
  /** The signing threshold for this role, when the authority is in the same file (root). */
  readonly threshold?: number;
  /** Keys the file declares (root keys, delegation keys); keyId is our key identity. */
  readonly keys: readonly {
    readonly keyId?: string;
    readonly declaredKeyId: string;
    readonly keytype: string;
    readonly scheme: string;
    readonly algorithm?: string;
    readonly size?: number;
    readonly curve?: string;
    /** SubjectPublicKeyInfo DER, base64: public, and what a later pass checks other files' signatures with. */
    readonly spki?: string;
  }[];
  /** Root: who may sign each top-level role; targets: delegated roles. */
  readonly delegations: readonly {
    readonly name: string;
    readonly threshold: number;
    readonly keyIds: readonly string[];
    readonly paths?: readonly string[];
    readonly terminating?: boolean;
  }[];
  readonly signatures: readonly {
    readonly declaredKeyId: string;
    readonly keyId?: string;
    readonly status: Verification;
    readonly reason?: string;
  }[];
  /** 'unknown' when the signing role's keys are in another file. */
  readonly thresholdMet: boolean | 'unknown';
  /** Distinct authorised keys whose signature holds, once the authority is known. */
  readonly validKeys?: number;
  /**
   * What a later pass needs to check the signatures once the authority (root, or the delegating
   * targets; for a root after version 1, the previous root) is in the store: the canonical signed
   * bytes (base64) and the signatures as written. Dropped once checked; absent when there is nothing
   * to check across files or the document is too large to carry.
   */
  readonly pending?: {
    readonly signed: string;
    readonly signatures: readonly { keyid: string; sig: string }[];
  };
  readonly targets: number;
  /** Root only, once the previous version is known: does it carry a threshold of the old root keys? */
  readonly rotation?: {
    readonly from: number;
    readonly thresholdMet: boolean | 'unknown';
    readonly validKeys: number;
    readonly threshold?: number;
  };
  /** Set once checked across files: the role (and version) whose keys it was checked against. */
  readonly authority?: { readonly role: string; readonly version: number };
  /** SHA-256 of the metadata file. */
  readonly sha256: string;
}

export interface CertificationRequestSummary {
  readonly sha256: string;
  readonly subject: string;
  readonly key: KeyInfo;
  readonly signatureAlgorithm: string;
  readonly extensions: readonly { oid: string; name: string; critical: boolean }[];
}

export interface CrlSummary {
  readonly sha256: string;
  readonly issuer: string;
  readonly thisUpdate: number;
  readonly nextUpdate?: number;
  readonly crlNumber?: string;
  readonly aki?: string;
  readonly signatureAlgorithm: string;
  readonly entries: number;
}

export interface SshCertificateSummary {
  /** SHA-256 of the certificate blob, hex. */
  readonly sha256: string;
  /** e.g. ssh-ed25519-cert-v01@openssh.com */
  readonly type: string;
  readonly certType: 'user' | 'host';
  readonly serial: string;
  readonly keyIdentifier: string;
  readonly principals: readonly string[];
  /** Epoch ms; validBefore of 2^64-1 ("forever") is reported as undefined. */
  readonly validAfter: number;
  readonly validBefore?: number;
  readonly key: KeyInfo;
  readonly signatureKey: KeyInfo;
  readonly criticalOptions: readonly string[];
  readonly extensions: readonly string[];
}

/** Whether a signature was checked, and how it came out. */
export type Verification = 'valid' | 'invalid' | 'unverified';

/** Who made a signature, as far as the container tells. */
export interface Signer {
  /** Key identity of the signing key, when its public key is known (signer certificate, embedded key). */
  readonly keyId?: string;
  /** SHA-256 fingerprint of the signer's certificate, when the container carries it. */
  readonly certificate?: string;
  readonly subject?: string;
  /** How the container names the signer: CMS issuer and serial, or subject key identifier. */
  readonly issuer?: string;
  readonly serial?: string;
  readonly ski?: string;
  /** Signer key algorithm, size or curve, when known. */
  readonly keyAlgorithm?: string;
  readonly keySize?: number;
  readonly curve?: string;
}

/** One signature found on an artifact: what signed it, over what, and whether it holds. */
export interface SignatureSummary {
  /** SHA-256 of the signature value octets: the signature's identity. */
  readonly sha256: string;
  /** Container format: authenticode, module-signature, cms, ... */
  readonly format: string;
  readonly signer: Signer;
  /** Signature algorithm as the container names it (openssl-style name or OID). */
  readonly signatureAlgorithm: string;
  readonly digestAlgorithm?: string;
  /** The digest the signature covers, as the container states it (hex). */
  readonly digest?: string;
  readonly status: Verification;
  /** Why it is invalid or unverified. */
  readonly reason?: string;
  /** Signing time from signed attributes, or the timestamp's time, epoch ms. */
  readonly signedAt?: number;
  /** The artifact the signature covers: SHA-256 of the container's bytes, its format and size. */
  readonly artifact: { readonly sha256: string; readonly format: string; readonly size: number };
  /** SHA-256 fingerprints of every certificate the container carries. */
  readonly certificates: readonly string[];
  /** Timestamps and countersignatures on this signature. */
  readonly countersignatures: readonly {
    readonly kind: string;
    readonly signer: Signer;
    readonly status: Verification;
    readonly reason?: string;
    readonly at?: number;
  }[];
  /**
   * Public material for checking the signature later, when the container leaves out the signer's
   * certificate (kernel modules) and it turns up elsewhere in the estate. Absent once checked.
   */
  readonly pending?: {
    readonly signatureAlgorithm: SignatureAlgorithm;
    /** The signature value, hex. */
    readonly value: string;
    /** The signed attributes as signed (DER SET), hex: the signature covers these when present. */
    readonly signedAttributes?: string;
    /** Otherwise the digest of the content, computed with digestAlgorithm. */
    readonly contentDigest?: string;
  };
  /** Nested signatures (Authenticode's second signature), each summarised the same way. */
  readonly nested?: readonly Omit<SignatureSummary, 'artifact'>[];
}

/** A cryptographic library a software bill of materials declares. */
export interface CryptoLibrary {
  /** The canonical name (openssl, mbedtls, wolfssl, ...) the declared name was recognised as. */
  readonly library: string;
  /** The name and version as the SBOM writes them. */
  readonly name: string;
  readonly version?: string;
  readonly purl?: string;
  readonly cpe?: string;
  /** The SBOM format and who it says produced the component or the document. */
  readonly declaredIn: 'cyclonedx' | 'spdx';
  readonly supplier?: string;
}

/** A CycloneDX BOM (JSON, or XML converted to the JSON model) whose crypto assets are to be imported. */
export interface DeclaredBom {
  readonly format: 'cyclonedx';
  /** The document in the JSON model, as text; bounded by the reader. */
  readonly json: string;
  readonly cryptoAssets: number;
  /** Who the document says supplied it, for provenance. */
  readonly supplier?: string;
}
