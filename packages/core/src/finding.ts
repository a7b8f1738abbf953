/**
 * A finding is a domain noun every layer produces (the engine's analyses, the HSM adapter, custody
 * checks), so its shape lives here, below them all.
 */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  /** What the finding is about: a certificate fingerprint, key id or path. */
  readonly subject: string;
  readonly message: string;
  /** Every asset the finding is about, when there is more than one (a path, the holders of one key). */
  readonly subjects?: readonly string[];
  /** What fired it, in words an auditor can check: the failed rules, where things were seen. */
  readonly evidence?: readonly string[];
}

export function atLeast(s: Severity, floor: Severity): boolean {
  return SEVERITIES.indexOf(s) >= SEVERITIES.indexOf(floor);
}

export function isSeverity(s: string): s is Severity {
  return (SEVERITIES as readonly string[]).includes(s);
}
