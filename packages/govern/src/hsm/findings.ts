import type { Finding } from '@keywarden/core';
import type { HsmInventory, HsmInventoryObject } from './inventory.ts';

/**
 * Findings about how an HSM protects its signing keys. A key in an HSM is only worth its flags: one
 * that can be, or once could be, exported, or that was imported from outside, may exist elsewhere too.
 */

export const HSM_RULES: Record<string, string> = {
  'KW-HSM-KEY-EXTRACTABLE':
    'a signing key on an HSM has CKA_EXTRACTABLE true: it can be exported (wrapped) off the token',
  'KW-HSM-KEY-EVER-EXTRACTABLE':
    'a signing key on an HSM has CKA_NEVER_EXTRACTABLE false: it was extractable at some time, so copies may exist',
  'KW-HSM-KEY-NOT-SENSITIVE':
    'a signing key on an HSM has CKA_SENSITIVE false: its value can be read in plaintext',
  'KW-HSM-KEY-EVER-NOT-SENSITIVE':
    'a signing key on an HSM has CKA_ALWAYS_SENSITIVE false: its value was readable at some time',
  'KW-HSM-KEY-IMPORTED':
    'a signing key on an HSM has CKA_LOCAL false: it was generated elsewhere and imported, so it existed outside the token',
  'KW-HSM-KEY-UNIDENTIFIED':
    'a private key on an HSM has no public half or certificate under its CKA_ID, so it cannot be linked to anything it signed',
};

/** A private key that may sign: CKA_SIGN true, or unreadable (we do not assume the safe answer). */
function isSigningKey(o: HsmInventoryObject): boolean {
  return o.class === 'private-key' && !(o.usage.length > 0 && !o.usage.includes('sign'));
}

export function hsmFindings(inv: HsmInventory): Finding[] {
  const out: Finding[] = [];
  for (const o of inv.objects) {
    if (!isSigningKey(o)) continue;
    const name = `"${o.label ?? o.id ?? o.uri}" on token "${inv.token.label}"`;
    const subject = o.key?.keyId ?? o.uri;
    const subjects: string[] = o.key ? [o.key.keyId, o.uri] : [o.uri];
    const add = (rule: string, severity: Finding['severity'], message: string, evidence: string): void => {
      out.push({ rule, severity, subject, subjects, message, evidence: [evidence, `module ${inv.module}`] });
    };
    const f = o.flags;
    if (f.extractable === true)
      add('KW-HSM-KEY-EXTRACTABLE', 'high', `signing key ${name} is extractable`, 'CKA_EXTRACTABLE = true');
    else if (f.neverExtractable === false)
      add(
        'KW-HSM-KEY-EVER-EXTRACTABLE',
        'medium',
        `signing key ${name} was extractable at some time`,
        'CKA_NEVER_EXTRACTABLE = false',
      );
    if (f.sensitive === false)
      add(
        'KW-HSM-KEY-NOT-SENSITIVE',
        'high',
        `signing key ${name} is not sensitive`,
        'CKA_SENSITIVE = false',
      );
    // An imported key was necessarily readable before import; KW-HSM-KEY-IMPORTED already says so.
    else if (f.alwaysSensitive === false && f.local !== false)
      add(
        'KW-HSM-KEY-EVER-NOT-SENSITIVE',
        'medium',
        `signing key ${name} was not sensitive at some time`,
        'CKA_ALWAYS_SENSITIVE = false',
      );
    if (f.local === false)
      add(
        'KW-HSM-KEY-IMPORTED',
        'medium',
        `signing key ${name} was imported, not generated on the token`,
        'CKA_LOCAL = false',
      );
    if (!o.key)
      add(
        'KW-HSM-KEY-UNIDENTIFIED',
        'low',
        `private key ${name} has no public key or certificate to identify it`,
        o.keyProblem ?? (o.id ? `no public-key or certificate object with CKA_ID ${o.id}` : 'no CKA_ID'),
      );
  }
  return out;
}
