import { X509Certificate } from 'node:crypto';
import type { SignatureSummary } from '@keywarden/core';
import type { Store } from '@keywarden/store';
import type { TrustAnalysis } from './chains.ts';
import type { Finding } from './findings.ts';
import { roleFindings } from './role-findings.ts';
import { rocaFingerprint } from './roca.ts';

/**
 * Gap findings of the chain of trust: what the paths, the trust stores and the key occurrences say
 * about assumptions nobody verified. Each finding names its subjects and the evidence that fired it.
 */

export interface GapOptions {
  readonly at: number;
  /** The product's support end: anchors must outlive it. */
  readonly supportEnd?: number;
}

// Paths that are CI configuration or secret stores rather than files a person manages.
const CI_SECRET =
  /(^|[/!])(\.github\/workflows|\.gitlab-ci\.ya?ml|\.circleci|Jenkinsfile|\.drone\.ya?ml|azure-pipelines\.ya?ml|bitbucket-pipelines\.ya?ml|\.env(\.[\w-]+)?$|secrets?\.(ya?ml|json|env))/i;

export async function gapFindings(store: Store, a: TrustAnalysis, opts: GapOptions): Promise<Finding[]> {
  const out: Finding[] = [];
  const label = (fp: string): string => a.byFingerprint.get(fp)?.row.subject ?? fp.slice(0, 16);

  for (const item of a.items) {
    const who = `"${item.subject ?? item.sha256.slice(0, 16)}"`;
    const evidence = item.errors.map((e) => `${e.rule} at ${e.index}: ${e.message}`);
    if (item.status === 'no-anchor')
      out.push({
        rule: 'KW-CHAIN-ISSUER-MISSING',
        severity: 'medium',
        subject: item.sha256,
        subjects: item.path,
        message: `no path from ${who} to a trust anchor: issuer "${item.issuer ?? '?'}" is not in the inventory`,
        evidence,
      });
    const sig = item.errors.filter((e) => e.rule === 'signature.invalid');
    if (sig.length > 0)
      out.push({
        rule: 'KW-CHAIN-SIGNATURE-INVALID',
        severity: 'high',
        subject: item.sha256,
        subjects: sig.map((e) => item.path[e.index] ?? item.sha256),
        message: `the issuer's key does not verify ${sig.map((e) => `"${label(item.path[e.index] ?? '')}"`).join(', ')} on the path of ${who}`,
        evidence: sig.map((e) => e.message),
      });
    // Expiry of the certificate itself has its own findings; here, what breaks the path beyond it.
    const other = item.errors.filter(
      (e) =>
        e.rule !== 'signature.invalid' &&
        e.rule !== 'path.no-anchor' &&
        !(e.index === 0 && e.rule.startsWith('validity.')),
    );
    if (item.status === 'invalid' && other.length > 0)
      out.push({
        rule: 'KW-CHAIN-INVALID',
        severity: 'high',
        subject: item.sha256,
        subjects: item.path,
        message: `path of ${who} fails RFC 5280 validation: ${[...new Set(other.map((e) => e.rule))].join(', ')}`,
        evidence: other.map((e) => `${e.rule} at ${e.index}: ${e.message}`),
      });
    if (item.anchor && item.anchor.trustStores.length === 0)
      out.push({
        rule: 'KW-ANCHOR-UNCONTROLLED',
        severity: 'medium',
        subject: item.anchor.sha256,
        subjects: [item.sha256, item.anchor.sha256],
        message: `${who} chains to "${item.anchor.subject}", which is in no trust store a device or service consults`,
        evidence: (a.byFingerprint.get(item.anchor.sha256)?.row.occurrences ?? []).map(
          (o) => `seen at ${o.path}`,
        ),
      });
    if (item.anchor && opts.supportEnd !== undefined) {
      const anchor = a.byFingerprint.get(item.anchor.sha256)?.input.cert;
      if (anchor && anchor.notAfter < opts.supportEnd)
        out.push({
          rule: 'KW-ANCHOR-EXPIRES-BEFORE-SUPPORT-END',
          severity: 'medium',
          subject: item.anchor.sha256,
          subjects: [item.anchor.sha256, item.sha256],
          message: `anchor "${item.anchor.subject}" expires ${iso(anchor.notAfter)}, before the support end ${iso(opts.supportEnd)}`,
        });
    }
    for (const e of item.errors.filter((x) => x.rule === 'extension.unknown-critical'))
      out.push({
        rule: 'KW-EXTENSION-UNKNOWN-CRITICAL',
        severity: 'high',
        subject: item.path[e.index] ?? item.sha256,
        message: e.message,
      });
  }
  out.push(...revocation(a, opts.at));
  out.push(...(await staleCrls(store, opts.at)));
  out.push(...duplicateSerials(a));
  out.push(...sharedDeviceKeys(a));
  out.push(...(await sharedPrivateKeys(store)));
  out.push(...rsaKeyChecks(a));
  out.push(...(await signingKeyCustody(store, a)));
  out.push(...(await firmwareTrust(store, a)));
  out.push(...(await roleFindings(store, opts.at)));
  return dedupe(out);
}

/** Certificates on a validated path (anchors excepted) that name no CRL and no OCSP responder. */
function revocation(a: TrustAnalysis, at: number): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const item of a.items) {
    if (!item.anchor) continue;
    for (const fp of item.path.slice(0, -1)) {
      if (seen.has(fp)) continue;
      seen.add(fp);
      const c = a.byFingerprint.get(fp)?.input.cert;
      if (!c || c.notAfter < at) continue;
      const crl = c.extensions.some((e) => e.value?.kind === 'cRLDistributionPoints');
      const ocsp = c.extensions.some(
        (e) => e.value?.kind === 'authorityInfoAccess' && e.value.access.some((x) => x.method === 'ocsp'),
      );
      if (!crl && !ocsp)
        out.push({
          rule: 'KW-REVOCATION-NONE',
          severity: 'medium',
          subject: fp,
          message: `"${c.subject.text}" names no CRL distribution point and no OCSP responder: a compromise cannot be revoked`,
        });
    }
  }
  return out;
}

async function staleCrls(store: Store, at: number): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const crl of store.assets({ kind: 'crl' })) {
    const next = (crl.record as { nextUpdate?: number } | null)?.nextUpdate;
    if (next === undefined)
      out.push({
        rule: 'KW-CRL-STALE',
        severity: 'low',
        subject: crl.identity,
        message: `CRL of "${crl.issuer ?? '?'}" has no nextUpdate: its freshness is unknown`,
      });
    else if (next < at)
      out.push({
        rule: 'KW-CRL-STALE',
        severity: 'medium',
        subject: crl.identity,
        message: `CRL of "${crl.issuer ?? '?'}" was due for renewal ${iso(next)}: revocations since then are invisible`,
        evidence: crl.occurrences.map((o) => `seen at ${o.path}`),
      });
  }
  return out;
}

function duplicateSerials(a: TrustAnalysis): Finding[] {
  const groups = new Map<string, string[]>();
  for (const c of a.certs) {
    const cert = c.input.cert;
    const k = `${cert.issuer.text}\0${cert.aki ?? ''}\0${cert.serial}`;
    groups.set(k, [...(groups.get(k) ?? []), cert.sha256]);
  }
  const out: Finding[] = [];
  for (const [k, fps] of groups) {
    if (fps.length < 2) continue;
    const [issuer, , serial] = k.split('\0');
    out.push({
      rule: 'KW-SERIAL-DUPLICATE',
      severity: 'high',
      subject: fps[0]!,
      subjects: fps,
      message: `${fps.length} different certificates from "${issuer}" share serial ${serial}: revocation by serial cannot tell them apart`,
    });
  }
  return out;
}

/**
 * One private key built into several device or firmware images (or device directories): every unit
 * carrying it can impersonate every other, and one extraction compromises the lot. A container is
 * the file the key sits in (the part of a nested path before the first `!`); plain copies in one
 * directory are one place, not a fleet.
 */
async function sharedPrivateKeys(store: Store): Promise<Finding[]> {
  const out: Finding[] = [];
  for await (const k of store.assets({ kind: 'key' })) {
    const places = new Set<string>();
    for (const o of k.occurrences) {
      if (!o.private || (o.layer !== 'device' && o.layer !== 'firmware')) continue;
      const container = o.path.split('!')[0]!;
      places.add(o.path.includes('!') ? container : container.slice(0, container.lastIndexOf('/')));
    }
    if (places.size > 1)
      out.push({
        rule: 'KW-PRIVATE-KEY-SHARED',
        severity: 'high',
        subject: k.id,
        subjects: [k.id, ...places],
        message: `one private key is built into ${places.size} device or firmware images or directories: any unit can impersonate the others`,
        evidence: k.occurrences.filter((o) => o.private).map((o) => `private key at ${o.path} (${o.layer})`),
      });
  }
  return out;
}

/** One key in end-entity certificates of different subjects: devices (or products) share an identity. */
function sharedDeviceKeys(a: TrustAnalysis): Finding[] {
  const byKey = new Map<string, Set<string>>();
  const fps = new Map<string, string[]>();
  for (const c of a.certs) {
    const cert = c.input.cert;
    if (cert.basicConstraints?.ca || cert.selfSigned) continue;
    const k = cert.publicKey.keyId;
    byKey.set(k, (byKey.get(k) ?? new Set()).add(cert.subject.text));
    fps.set(k, [...(fps.get(k) ?? []), cert.sha256]);
  }
  const out: Finding[] = [];
  for (const [k, subjects] of byKey)
    if (subjects.size > 1)
      out.push({
        rule: 'KW-KEY-SHARED',
        severity: 'high',
        subject: `key:${k}`,
        subjects: fps.get(k)!,
        message: `one key is certified for ${subjects.size} different subjects (${[...subjects].slice(0, 3).join('; ')}${subjects.size > 3 ? '; …' : ''}): one extraction compromises all`,
      });
  return out;
}

function rsaKeyChecks(a: TrustAnalysis): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const c of a.certs) {
    const k = c.input.cert.publicKey;
    if ((k.algorithm !== 'RSA' && k.algorithm !== 'RSA-PSS') || seen.has(k.keyId)) continue;
    seen.add(k.keyId);
    if (k.rsaExponent !== undefined && k.rsaExponent < 65537)
      out.push({
        rule: 'KW-RSA-SMALL-EXPONENT',
        severity: 'medium',
        subject: `key:${k.keyId}`,
        subjects: [c.input.cert.sha256],
        message: `"${c.input.cert.subject.text}" has RSA public exponent ${k.rsaExponent} (below 65537)`,
      });
    const n = modulus(c.input.der);
    if (n !== undefined && rocaFingerprint(n))
      out.push({
        rule: 'KW-KEY-ROCA',
        severity: 'critical',
        subject: `key:${k.keyId}`,
        subjects: [c.input.cert.sha256],
        message: `"${c.input.cert.subject.text}" has an RSA modulus with the ROCA (CVE-2017-15361) fingerprint: the private key can be factored`,
      });
  }
  return out;
}

function modulus(der: Uint8Array): bigint | undefined {
  try {
    const jwk = new X509Certificate(der).publicKey.export({ format: 'jwk' });
    return jwk.n ? BigInt(`0x${Buffer.from(jwk.n, 'base64url').toString('hex')}`) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A private key that signs (it made a signature found on an artifact, or it is the key of a CA or
 * code-signing certificate) lying unencrypted in a file or a CI secret instead of an HSM.
 */
async function signingKeyCustody(store: Store, a: TrustAnalysis): Promise<Finding[]> {
  const signing = new Map<string, string>();
  for (const e of await store.edges({ kind: 'signed-by' }))
    if (e.to.startsWith('key:')) signing.set(e.to.slice(4), 'made a signature found on an artifact');
  for (const c of a.certs) {
    const cert = c.input.cert;
    if (cert.basicConstraints?.ca)
      signing.set(cert.publicKey.keyId, `is the key of CA "${cert.subject.text}"`);
    else if (cert.extKeyUsage?.includes('codeSigning'))
      signing.set(cert.publicKey.keyId, `is the key of code-signing certificate "${cert.subject.text}"`);
  }
  const out: Finding[] = [];
  for await (const k of store.assets({ kind: 'key', ids: [...signing.keys()].map((id) => `key:${id}`) })) {
    const why = signing.get(k.identity);
    for (const o of k.occurrences.filter((x) => x.private)) {
      const ci = CI_SECRET.test(o.path);
      if (!ci && o.encrypted !== false) continue;
      out.push({
        rule: 'KW-SIGNING-KEY-UNMANAGED',
        severity: ci ? 'critical' : 'high',
        subject: k.id,
        subjects: [k.id, o.path],
        message: `a signing key (it ${why}) sits ${ci ? 'in CI configuration' : 'unencrypted in a plain file'} at ${o.path}, not in an HSM`,
      });
    }
  }
  return out;
}

/**
 * Firmware signatures: a signer with no certificate at all (a self-generated raw key with no
 * ceremony on record), an Authenticode signer whose path ends at no certificate the estate's UEFI
 * signature lists hold, and a FIT signed by a key no U-Boot control DTB holds. (MCUboot's slot keys
 * are compiled into the bootloader as bare DER, indistinguishable from other embedded keys, so
 * MCUboot images are not judged here.)
 */
async function firmwareTrust(store: Store, a: TrustAnalysis): Promise<Finding[]> {
  const out: Finding[] = [];
  const uefiTrusted = new Set<string>();
  let hasUefiStore = false;
  for (const c of a.certs)
    if (c.row.occurrences.some((o) => o.format.startsWith('efi-signature-list'))) {
      hasUefiStore = true;
      uefiTrusted.add(c.input.cert.sha256);
    }
  const items = new Map(a.items.map((i) => [i.sha256, i]));
  // U-Boot verifies a FIT only with the keys in its control DTB: those are the target's trust store.
  const ubootKeys = new Map<string, string>();
  for await (const k of store.assets({ kind: 'key' }))
    for (const o of k.occurrences) if (o.format === 'u-boot-dtb') ubootKeys.set(k.identity, o.path);
  for await (const s of store.assets({ kind: 'signature' })) {
    const sum = s.record as SignatureSummary;
    const where = s.occurrences[0]?.path ?? sum.artifact.sha256;
    if (!sum.signer.certificate && sum.signer.keyId && !sum.signer.issuer)
      out.push({
        rule: 'KW-SIGNER-NO-CERTIFICATE',
        severity: 'medium',
        subject: `key:${sum.signer.keyId}`,
        subjects: [s.id, `key:${sum.signer.keyId}`],
        message: `${sum.format} signature on ${where} is made by a bare ${sum.signer.keyAlgorithm ?? ''} key that no certificate binds and no key ceremony record names`,
      });
    // Only a valid signature is judged: invalid and unverified ones have findings of their own.
    if (
      sum.format === 'fit' &&
      sum.status === 'valid' &&
      ubootKeys.size > 0 &&
      !ubootKeys.has(sum.signer.keyId ?? '')
    )
      out.push({
        rule: 'KW-FIRMWARE-SIGNER-UNTRUSTED',
        severity: 'high',
        subject: s.id,
        subjects: [s.id, ...(sum.signer.keyId ? [`key:${sum.signer.keyId}`] : [])],
        message: `${where} is signed by ${sum.signer.keyId ? `key ${sum.signer.keyId.slice(0, 16)}` : `an unknown key (${sum.signer.subject ?? 'no name'})`}, which no U-Boot control DTB in the estate holds: U-Boot will refuse it`,
        evidence: [...ubootKeys].map(([k, path]) => `control DTB at ${path} holds key ${k.slice(0, 16)}`),
      });
    if (sum.format !== 'authenticode' || !hasUefiStore || !sum.signer.certificate) continue;
    const item = items.get(sum.signer.certificate);
    const trusted = item?.path.some((fp) => uefiTrusted.has(fp)) ?? uefiTrusted.has(sum.signer.certificate);
    if (!trusted)
      out.push({
        rule: 'KW-FIRMWARE-SIGNER-UNTRUSTED',
        severity: 'high',
        subject: s.id,
        subjects: [s.id, sum.signer.certificate],
        message: `${where} is signed by "${sum.signer.subject ?? '?'}", whose chain reaches no certificate in the UEFI db/KEK/PK found in the estate: the target will refuse to boot it`,
        evidence: [...uefiTrusted].map(
          (fp) => `UEFI signature list holds ${a.byFingerprint.get(fp)?.row.subject ?? fp}`,
        ),
      });
  }
  return out;
}

function dedupe(fs: Finding[]): Finding[] {
  const seen = new Set<string>();
  return fs.filter((f) => {
    const k = `${f.rule}\0${f.subject}\0${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const iso = (t: number): string => new Date(t).toISOString();
