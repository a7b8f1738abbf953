import { HSM_RULES } from '@keywarden/govern';
export { atLeast, isSeverity, SEVERITIES, type Finding, type Severity } from '@keywarden/core';

/** Rule ids and what they mean; the report prints this so a reader can look a finding up. */
export const RULES: Record<string, string> = {
  ...HSM_RULES,
  'KW-PRIVATE-KEY-SHARED':
    'one private key is found in several device or firmware images or device directories (a shared device identity)',
  'KW-TUF-ROLE-EXPIRED': 'a TUF/Uptane role is past its expires at the report instant; clients refuse it',
  'KW-TUF-THRESHOLD-NOT-MET':
    'a TUF/Uptane role carries fewer valid signatures from authorised keys than its threshold',
  'KW-TUF-ROLE-UNVERIFIED':
    'no root or delegating metadata beside a TUF/Uptane role names the keys to check it with',
  'KW-TUF-ROOT-ROTATION-UNSIGNED':
    "a TUF/Uptane root is not signed by a threshold of its predecessor's root keys",
  'KW-TUF-ROOT-KEY-ONLINE':
    'a TUF/Uptane root key is also authorised for the online timestamp or snapshot role',
  'KW-CERT-EXPIRED': 'certificate is past its notAfter at the report instant',
  'KW-CERT-EXPIRING-90D': 'certificate expires within 90 days of the report instant',
  'KW-CERT-EXPIRING-1Y': 'certificate expires within one year of the report instant',
  'KW-CERT-NOT-YET-VALID': 'certificate notBefore is after the report instant',
  'KW-CHAIN-ISSUER-MISSING': 'certificate is not self-signed and no issuer for it is in the inventory',
  'KW-CHAIN-SIGNATURE-INVALID':
    "an issuer candidate was found but its key does not verify the certificate's signature",
  'KW-CHAIN-INVALID':
    'the best path from the certificate to a trust anchor fails RFC 5280 validation (the failed rules are listed)',
  'KW-ANCHOR-UNCONTROLLED':
    'the path ends at a root found only in a plain file, in no trust store a device or service consults',
  'KW-ANCHOR-EXPIRES-BEFORE-SUPPORT-END': "a trust anchor in use expires before the product's support end",
  'KW-EXTENSION-UNKNOWN-CRITICAL':
    'a certificate on the path carries a critical extension no verifier here processes',
  'KW-REVOCATION-NONE': 'a certificate names no CRL distribution point and no OCSP responder',
  'KW-CRL-STALE': 'a CRL is past its nextUpdate, or has none, so revocations since are invisible',
  'KW-SERIAL-DUPLICATE': 'two different certificates from one issuer share a serial number',
  'KW-KEY-SHARED': 'one key is certified for several different subjects (devices or products share it)',
  'KW-RSA-SMALL-EXPONENT': 'an RSA public exponent below 65537',
  'KW-KEY-ROCA': 'an RSA modulus with the ROCA (CVE-2017-15361) fingerprint: the key can be factored',
  'KW-SIGNING-KEY-UNMANAGED':
    'a signing key (CA, code signing, or one that signed an artifact) unencrypted in a file or in CI configuration instead of an HSM',
  'KW-SIGNER-NO-CERTIFICATE':
    'an artifact is signed by a bare key that no certificate binds and no key ceremony record names',
  'KW-FIRMWARE-SIGNER-UNTRUSTED':
    "an Authenticode signer whose chain reaches no certificate in the estate's UEFI db/KEK/PK",
  'KW-KEY-PLAINTEXT': 'private key stored unencrypted in a plain file',
  'KW-KEY-WORLD-READABLE': 'unencrypted private key in a file that other users can read',
  'KW-WEAK-SIGNATURE': 'certificate signed with MD5 or SHA-1',
  'KW-WEAK-KEY': 'RSA or DSA key shorter than 2048 bits, or EC key shorter than 256 bits',
  'KW-SIGNATURE-INVALID':
    'a signature on an artifact does not verify (content changed after signing, or wrong key)',
  'KW-SIGNATURE-UNVERIFIED':
    "a signature on an artifact could not be checked: the signer's key is not in the store",
  'KW-UNPARSEABLE': 'something that looked like crypto material could not be parsed, read, or was refused',
};
