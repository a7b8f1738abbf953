import { children, parseCertificate, readOne, Tag, type Certificate } from '@keywarden/core';
import { AnalyzeError } from '../error.ts';
import { CODE_SIGNING_LINTS } from './code-signing.ts';
import { ECU_LINTS } from './ecu.ts';
import { HARDWARE_MODULE_NAME_OID, IEEE8021AR_LINTS } from './ieee8021ar.ts';
import { MATTER_LINTS, MATTER_PID_OID, MATTER_VID_OID, matterAttr } from './matter.ts';
import { RFC5280_LINTS } from './rfc5280.ts';
import type { Lint, LintContext, LintProfile, LintResult } from './types.ts';
import { WEB_SERVER_LINTS } from './web-server.ts';

export const ALL_LINTS: readonly Lint[] = [
  ...RFC5280_LINTS,
  ...IEEE8021AR_LINTS,
  ...MATTER_LINTS,
  ...CODE_SIGNING_LINTS,
  ...ECU_LINTS,
  ...WEB_SERVER_LINTS,
];

export interface RawFacts {
  readonly notBeforeTag: LintContext['notBeforeTag'];
  readonly notAfterTag: LintContext['notAfterTag'];
  readonly serialOctets: number;
}

const timeTag = (tag: number | undefined): LintContext['notBeforeTag'] | undefined =>
  tag === Tag.UTCTime ? 'UTCTime' : tag === Tag.GeneralizedTime ? 'GeneralizedTime' : undefined;

/**
 * Encoding facts the parsed record normalises away. Call only on DER that parseCertificate accepted,
 * so the walk below can rely on the TBS layout it checked.
 */
export function rawFacts(der: Uint8Array): RawFacts {
  const [tbs] = children(der, readOne(der));
  const fields = tbs ? children(der, tbs, 16) : [];
  const i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[i];
  const validity = fields[i + 3];
  const [nb, na] = validity ? children(der, validity, 2) : [];
  const notBeforeTag = timeTag(nb?.tag);
  const notAfterTag = timeTag(na?.tag);
  if (!serial || !notBeforeTag || !notAfterTag)
    throw new AnalyzeError('BAD_ARGUMENT', 'certificate serial or validity could not be located');
  return { notBeforeTag, notAfterTag, serialOctets: serial.end - serial.start };
}

export interface ProfileChoice {
  readonly profile: LintProfile;
  readonly reason: string;
}

/**
 * Guess the profile from what the certificate says it is. Device evidence is checked before web
 * evidence, so a device certificate that happens to carry serverAuth is never held to Web-PKI rules.
 */
export function selectProfile(cert: Certificate, issuer?: Certificate): ProfileChoice {
  const vid = matterAttr(cert, MATTER_VID_OID);
  const pid = matterAttr(cert, MATTER_PID_OID);
  if (vid || pid) {
    const ca = cert.basicConstraints?.ca === true;
    if (!ca)
      return {
        profile: 'matter-dac',
        reason: 'Matter VID/PID subject attributes on an end-entity certificate',
      };
    if (cert.selfSigned)
      return { profile: 'matter-paa', reason: 'Matter VID subject attribute on a self-signed CA' };
    return { profile: 'matter-pai', reason: 'Matter VID/PID subject attributes on an intermediate CA' };
  }
  if (cert.subjectAltNames?.some((n) => n.type === 'otherName' && n.oid === HARDWARE_MODULE_NAME_OID))
    return { profile: 'idevid', reason: 'HardwareModuleName otherName in subjectAltName' };
  if (cert.notAfter === Date.UTC(9999, 11, 31, 23, 59, 59) && !cert.basicConstraints?.ca)
    return {
      profile: 'idevid',
      reason: 'end-entity certificate with notAfter 99991231235959Z (802.1AR shape)',
    };
  const eku = cert.extKeyUsage ?? [];
  if (eku.includes('codeSigning'))
    return { profile: 'code-signing', reason: 'codeSigning extended key usage' };
  const dns = cert.subjectAltNames?.some((n) => n.type === 'dns') === true;
  if (eku.includes('serverAuth') && dns && webStyleIssuer(cert, issuer))
    return { profile: 'web-server', reason: 'serverAuth EKU with a dNSName SAN from a separate issuing CA' };
  return {
    profile: 'rfc5280',
    reason: 'no device, code-signing or Web-PKI markers; general RFC 5280 lints only',
  };
}

/** Web-PKI leaves are never self-signed and (when the issuer is known) come from a CA. */
function webStyleIssuer(cert: Certificate, issuer?: Certificate): boolean {
  if (cert.selfIssued) return false;
  return issuer === undefined || issuer.basicConstraints?.ca === true;
}

export interface LintOptions {
  readonly profile?: LintProfile;
  readonly issuer?: Uint8Array;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface LintReport {
  readonly profile: LintProfile;
  readonly reason: string;
  readonly results: LintResult[];
}

/** RFC 5280 lints run under every profile; the rest only under the profiles they name. */
export function lintsFor(profile: LintProfile): Lint[] {
  return ALL_LINTS.filter((l) => l.profiles.includes(profile));
}

export function lintCertificate(der: Uint8Array, opts: LintOptions): LintReport {
  const cert = parseCertificate(der);
  const issuer = opts.issuer ? parseCertificate(opts.issuer) : undefined;
  const choice: ProfileChoice = opts.profile
    ? { profile: opts.profile, reason: 'profile given by the caller' }
    : selectProfile(cert, issuer);
  const ctx: LintContext = { cert, der, at: opts.at, ...rawFacts(der), ...(issuer ? { issuer } : {}) };
  const results: LintResult[] = [];
  for (const lint of lintsFor(choice.profile)) {
    try {
      results.push(...lint.check(ctx));
    } catch (e) {
      // One lint tripping over odd input must not hide the others' findings.
      results.push({
        id: lint.id,
        severity: 'error',
        message: `lint could not run: ${(e as Error).message}`,
        source: lint.source,
      });
    }
  }
  return { profile: choice.profile, reason: choice.reason, results };
}
