export { classifyKeyDer, keyFromPem, KEY_PEM_LABELS } from './der-keys.ts';
export { findJwks } from './jwk.ts';
export { findSshPublicKeys, parseOpenSshPrivateKey } from './openssh.ts';
export { isSshCertType, parseSshCertificate, SSH_CERT_TYPES } from './ssh-cert.ts';
export { parseSshPublicKey, SSH_KEY_TYPES } from './ssh-public.ts';
export { describePbe } from './pbe.ts';
