export * from './der-writer.ts';
export {
  buildCertificate,
  EKU_OIDS,
  encodeName,
  formatName,
  keyFacts,
  keyIdentifier,
  signerFor,
  spkiKeyBits,
  type BuiltCertificate,
  type CertificateExtensions,
  type CertificateOptions,
  type CustomExtension,
  type ExtKeyUsageName,
  type KeyFacts,
  type KeyUsageName,
  type NameSpec,
  type SignatureScheme,
  type Signer,
  type SubjectAltNames,
} from './cert-builder.ts';
export { ed25519PublicBlob, openSshEd25519, type OpenSshKeyFiles } from './openssh.ts';
export {
  generateEstate,
  type CertificateEncoding,
  type CertificateRole,
  type EstateCertificate,
  type EstateExpectations,
  type EstateFile,
  type EstateKey,
  type EstateManifest,
  type EstateOptions,
  type FileKind,
  type KeyFormat,
  type Layer,
  type ValidityStatus,
} from './estate.ts';
export { prng } from './random.ts';
export { buildEfi, EFI_FILE_ALIGN, EFI_LFANEW } from './efi.ts';
export { hasTool, needTools, toolsMissing, opensslPkcs12, opensslSigner, SIGN_FILE } from './tools.ts';
export { buildMcubootImage, mcubootPublicBytes, type McubootBuildOptions } from './mcuboot.ts';
export {
  buildDsseEnvelope,
  buildSigstoreBundle,
  inTotoStatement,
  sigstoreSign,
  SIGSTORE_MEDIA_TYPES,
  type DsseOptions,
  type SigstoreBundleOptions,
  type SigstoreBundleVersion,
} from './sigstore.ts';
export { needSecuresystemslib, SECURESYSTEMSLIB, SYSTEM_PYTHON, tufRepository } from './tuf-repo.ts';
export { softHsmModule, softHsmToken, type SoftHsmToken } from './softhsm.ts';
