import type { Certificate } from '@keywarden/core';

export const LINT_PROFILES = [
  'rfc5280',
  'idevid',
  'ldevid',
  'matter-dac',
  'matter-pai',
  'matter-paa',
  'ecu-identity',
  'code-signing',
  'web-server',
] as const;

export type LintProfile = (typeof LINT_PROFILES)[number];

export type LintSeverity = 'error' | 'warning' | 'notice';

/** Where a rule comes from, so a finding can be traced to the text that demands it. */
export interface LintSource {
  readonly document: string;
  readonly section: string;
}

export interface LintResult {
  readonly id: string;
  readonly severity: LintSeverity;
  readonly message: string;
  readonly source: LintSource;
}

/**
 * What a lint sees. Raw encoding facts (time tag, serial octet count) are carried beside the parsed
 * record because the parsed record normalises them away and several device profiles depend on them.
 */
export interface LintContext {
  readonly cert: Certificate;
  readonly der: Uint8Array;
  readonly issuer?: Certificate;
  /** Epoch milliseconds; lints never read the clock. */
  readonly at: number;
  readonly notBeforeTag: 'UTCTime' | 'GeneralizedTime';
  readonly notAfterTag: 'UTCTime' | 'GeneralizedTime';
  /** Length of the serialNumber INTEGER content, sign octet included, as RFC 5280 4.1.2.2 counts it. */
  readonly serialOctets: number;
}

export interface Lint {
  readonly id: string;
  readonly profiles: readonly LintProfile[];
  readonly source: LintSource;
  readonly severity: LintSeverity;
  readonly description: string;
  check(ctx: LintContext): LintResult[];
}

export function isLintProfile(value: string): value is LintProfile {
  return (LINT_PROFILES as readonly string[]).includes(value);
}

/** A finding of `lint`, carrying its id, severity and source so callers never have to look them up. */
export function finding(lint: Lint, message: string): LintResult {
  return { id: lint.id, severity: lint.severity, message, source: lint.source };
}

/** Build a lint whose check returns a message per problem (or nothing) instead of whole results. */
export function defineLint(
  meta: Omit<Lint, 'check'>,
  problems: (ctx: LintContext) => string | string[] | undefined,
): Lint {
  const lint: Lint = {
    ...meta,
    check(ctx) {
      const p = problems(ctx);
      if (p === undefined) return [];
      return (Array.isArray(p) ? p : [p]).map((m) => finding(lint, m));
    },
  };
  return lint;
}

export const DAY_MS = 86_400_000;

/** RFC 5280 4.1.2.5 counts both ends as inside the period, so a period is notAfter - notBefore + 1 s. */
export function validityMs(ctx: LintContext): number {
  return ctx.cert.notAfter - ctx.cert.notBefore + 1000;
}
