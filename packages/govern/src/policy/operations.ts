/** The sensitive operations that go through an approval request. */
export const OPERATIONS = [
  'generate',
  'import',
  'destroy',
  'sign',
  'revoke',
  'policy-change',
  'roster-change',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export function isOperation(s: unknown): s is Operation {
  return typeof s === 'string' && (OPERATIONS as readonly string[]).includes(s);
}

/** Key patterns: literal ids, `*` for any run of characters, `?` for one. */
export function keyMatches(pattern: string, keyId: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(keyId);
}

export const isKeyPattern = (p: string): boolean => /[*?]/.test(p);
