import {
  keyLabel,
  signerLabel,
  type CertificateItem,
  type KeyItem,
  type RoleItem,
  type SignatureItem,
} from '@keywarden/engine';

export function certificateLine(c: CertificateItem): string {
  const key = keyLabel(c.keyAlgorithm, c.keySize, c.curve);
  const where = c.occurrences.map((o) => `${o.path}${o.offset ? '@' + o.offset : ''}`).join(', ');
  return `${c.notAfter?.slice(0, 10) ?? '?'}  ${c.sha256.slice(0, 16)}  ${key.padEnd(12)}  ${c.subject ?? ''}  [${where}]`;
}

export function keyLine(k: KeyItem): string {
  const alg = keyLabel(k.algorithm, k.keySize, k.curve);
  const where = k.occurrences
    .map(
      (o) => `${o.path}${o.private ? (o.encrypted ? ' (private, encrypted)' : ' (PRIVATE, PLAINTEXT)') : ''}`,
    )
    .join(', ');
  return `${k.id.slice(0, 23).padEnd(23)}  ${alg.padEnd(14)}  ${where}`;
}

export function signatureLine(s: SignatureItem): string {
  const who = signerLabel(s.signer);
  const key = s.signer.keyId ? `key ${s.signer.keyId.slice(0, 16)}` : 'key unknown';
  const where = s.occurrences.map((o) => `${o.path}${o.offset ? '@' + o.offset : ''}`).join(', ');
  const why = s.reason ? ` (${s.reason})` : '';
  return `${s.status.toUpperCase().padEnd(10)}  ${s.format.padEnd(16)}  ${s.signatureAlgorithm.padEnd(24)}  ${who}, ${key}${why}  [${where}]`;
}

export function roleLine(r: RoleItem): string {
  const met = r.thresholdMet === 'unknown' ? 'UNCHECKED' : r.thresholdMet ? 'MET' : 'NOT MET';
  const rule = r.threshold !== undefined ? ` ${r.validKeys ?? 0}/${r.threshold}` : '';
  const repo = r.repository ? `${r.repository} ` : '';
  const where = r.occurrences.map((o) => o.path).join(', ');
  const rotation = r.rotation
    ? `, rotation from v${r.rotation.from} ${r.rotation.thresholdMet === true ? 'signed' : 'NOT SIGNED'}`
    : '';
  return `${(r.expires?.slice(0, 10) ?? '?').padEnd(10)}  ${`${repo}${r.role} v${r.version}`.padEnd(24)}  ${(met + rule).padEnd(14)}  ${r.keys.length} keys${rotation}  [${where}]`;
}
