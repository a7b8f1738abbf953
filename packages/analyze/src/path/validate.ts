import type { Certificate } from '@keywarden/core';
import { inhibitAnyPolicy, policyConstraints, policyMappings } from './extensions.ts';
import { applyNameConstraints, checkNames, initialNameState } from './name-constraints.ts';
import { nameKey } from './name-key.ts';
import { ANY_POLICY, PolicyTree } from './policy-tree.ts';
import { certSignatureValid } from './signature.ts';
import type { CertInput, PathError, PathResult, Purpose, ValidationOptions } from './types.ts';

/**
 * RFC 5280 §6.1 basic path validation at an explicit instant. The chain runs leaf first, trust anchor
 * last; the anchor is trust-anchor information (its name and key), so its own validity and
 * extensions constrain nothing (§6.1.1(d)); an expired anchor is only a warning. Every failure is
 * collected, not just the first, and each names the rule and the position (0 = leaf).
 */

/** Extensions this validator processes; any other critical extension fails the path (§6.1.3-6.1.5). */
const PROCESSED = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.30', // nameConstraints
  '2.5.29.31', // cRLDistributionPoints
  '2.5.29.32', // certificatePolicies
  '2.5.29.33', // policyMappings
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.36', // policyConstraints
  '2.5.29.37', // extKeyUsage
  '2.5.29.46', // freshestCRL
  '2.5.29.54', // inhibitAnyPolicy
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
]);

const PURPOSE_EKU: Record<Exclude<Purpose, 'any'>, string> = {
  'code-signing': 'codeSigning',
  'client-auth': 'clientAuth',
  'server-auth': 'serverAuth',
};

// Key usage a leaf needs for each purpose: any one of the listed bits suffices.
const PURPOSE_KU: Record<Exclude<Purpose, 'any'>, readonly string[]> = {
  'code-signing': ['digitalSignature'],
  'client-auth': ['digitalSignature', 'keyAgreement'],
  'server-auth': ['digitalSignature', 'keyEncipherment', 'keyAgreement'],
};

const iso = (t: number): string => new Date(t).toISOString();

export function validatePath(chain: readonly CertInput[], opts: ValidationOptions): PathResult {
  const errors: PathError[] = [];
  const warnings: PathError[] = [];
  const err = (rule: string, index: number, message: string): void => {
    errors.push({ rule, index, message });
  };
  const path = chain.map((c) => c.cert.sha256);
  const anchorIndex = chain.length - 1;
  const anchor = chain[anchorIndex];
  if (!anchor)
    return {
      valid: false,
      path,
      errors: [{ rule: 'path.empty', index: 0, message: 'no certificate given' }],
    };
  if (anchor.cert.notAfter < opts.at || anchor.cert.notBefore > opts.at)
    warnings.push({
      rule: 'anchor.validity',
      index: anchorIndex,
      message: `trust anchor "${anchor.cert.subject.text}" is outside its validity (${iso(anchor.cert.notBefore)} to ${iso(anchor.cert.notAfter)}) at ${iso(opts.at)}`,
    });
  // A lone anchor is trusted by being one.
  if (chain.length === 1) return { valid: true, path, errors, warnings };

  const n = chain.length - 1;
  let explicitPolicy = opts.requireExplicitPolicy ? 0 : n + 1;
  let inhibitAny = opts.inhibitAnyPolicy ? 0 : n + 1;
  let policyMapping = opts.inhibitPolicyMapping ? 0 : n + 1;
  let maxPathLength = n;
  let names = initialNameState();
  const tree = new PolicyTree();
  let workingIssuer = anchor;

  for (let i = 1; i <= n; i++) {
    const idx = anchorIndex - i;
    const { cert } = chain[idx]!;
    const leaf = i === n;
    const who = `"${cert.subject.text}"`;

    // §6.1.3(a): signature, validity, name chaining.
    const sig = certSignatureValid(chain[idx]!, workingIssuer, opts.signatureCache);
    if (sig === 'unsupported')
      err(
        'signature.unsupported',
        idx,
        `${cert.signatureAlgorithm.name} signature of ${who} cannot be checked with this issuer key`,
      );
    else if (!sig)
      err(
        'signature.invalid',
        idx,
        `the key of "${workingIssuer.cert.subject.text}" does not verify the signature of ${who}`,
      );
    if (cert.notAfter < opts.at) err('validity.expired', idx, `${who} expired ${iso(cert.notAfter)}`);
    if (cert.notBefore > opts.at)
      err('validity.not-yet-valid', idx, `${who} is valid only from ${iso(cert.notBefore)}`);
    if (nameKey(cert.issuer) !== nameKey(workingIssuer.cert.subject))
      err(
        'name.chaining',
        idx,
        `${who} names issuer "${cert.issuer.text}", not "${workingIssuer.cert.subject.text}"`,
      );
    duplicates(cert, idx, err);

    // §6.1.3(b)(c): name constraints, except on self-issued intermediates.
    if (leaf || !cert.selfIssued) for (const e of checkNames(names, cert)) errors.push({ ...e, index: idx });

    // §6.1.3(d)-(f): certificate policies.
    const cp = cert.extensions.find((e) => e.value?.kind === 'certificatePolicies');
    if (cp?.value?.kind === 'certificatePolicies' && !tree.empty)
      tree.processCertificate(
        cp.value.policies.map((p) => p.oid),
        inhibitAny === 0,
        inhibitAny > 0 || (!leaf && cert.selfIssued),
      );
    else tree.clear();
    if (explicitPolicy === 0 && tree.empty)
      err(
        'policy.explicit-required',
        idx,
        `an explicit policy is required and no acceptable policy remains at ${who}`,
      );

    if (!leaf) {
      // §6.1.4(a)(b): policy mappings.
      let mappings: { issuer: string; subject: string }[] | undefined;
      try {
        mappings = policyMappings(cert);
      } catch (e) {
        err('extension.malformed', idx, `policyMappings of ${who}: ${(e as Error).message}`);
      }
      if (mappings?.some((m) => m.issuer === ANY_POLICY || m.subject === ANY_POLICY))
        err('policy.mapping-any', idx, `${who} maps anyPolicy, which RFC 5280 §6.1.4(a) forbids`);
      else if (mappings) tree.applyMappings(mappings, policyMapping > 0, inhibitAny === 0);

      // §6.1.4(g): name constraints of this CA bind everything below.
      const nc = cert.extensions.find((e) => e.value?.kind === 'nameConstraints');
      if (nc?.value?.kind === 'nameConstraints') names = applyNameConstraints(names, nc.value.value);

      // §6.1.4(h)-(j): the policy counters.
      if (!cert.selfIssued) {
        if (explicitPolicy > 0) explicitPolicy--;
        if (policyMapping > 0) policyMapping--;
        if (inhibitAny > 0) inhibitAny--;
      }
      try {
        const pc = policyConstraints(cert);
        if (pc?.requireExplicitPolicy !== undefined)
          explicitPolicy = Math.min(explicitPolicy, pc.requireExplicitPolicy);
        if (pc?.inhibitPolicyMapping !== undefined)
          policyMapping = Math.min(policyMapping, pc.inhibitPolicyMapping);
        const ia = inhibitAnyPolicy(cert);
        if (ia !== undefined) inhibitAny = Math.min(inhibitAny, ia);
      } catch (e) {
        err('extension.malformed', idx, `policy constraints of ${who}: ${(e as Error).message}`);
      }

      // §6.1.4(k)-(n): a CA, within its path length, allowed to sign certificates.
      if (cert.version < 3)
        err(
          'version.v1-intermediate',
          idx,
          `${who} is a version ${cert.version} certificate and cannot act as a CA`,
        );
      else if (!cert.basicConstraints?.ca)
        err(
          'basic-constraints.not-ca',
          idx,
          `${who} issues certificates but is not a CA (basicConstraints cA is not set)`,
        );
      if (!cert.selfIssued) {
        if (maxPathLength <= 0)
          err('basic-constraints.path-length', idx, `${who} exceeds the path length a CA above it allows`);
        else maxPathLength--;
      }
      const pathLen = cert.basicConstraints?.pathLen;
      if (pathLen !== undefined && pathLen < maxPathLength) maxPathLength = pathLen;
      if (cert.keyUsage && !cert.keyUsage.includes('keyCertSign'))
        err(
          'key-usage.key-cert-sign',
          idx,
          `${who} signs certificates but its key usage (${cert.keyUsage.join(', ')}) lacks keyCertSign`,
        );
      nestedEku(cert, idx, opts.purpose, err);
    }
    unknownCritical(cert, idx, err);
    workingIssuer = chain[idx]!;
  }

  // §6.1.5: wrap-up on the leaf.
  const leaf = chain[0]!.cert;
  if (explicitPolicy > 0) explicitPolicy--;
  try {
    if (policyConstraints(leaf)?.requireExplicitPolicy === 0) explicitPolicy = 0;
  } catch (e) {
    err('extension.malformed', 0, `policyConstraints of the leaf: ${(e as Error).message}`);
  }
  const policies = tree.finish(opts.initialPolicies ?? [ANY_POLICY]);
  if (
    explicitPolicy === 0 &&
    policies.length === 0 &&
    !errors.some((e) => e.rule === 'policy.explicit-required')
  )
    err(
      'policy.explicit-required',
      0,
      `an explicit policy is required and no policy acceptable to the user remains`,
    );
  purpose(leaf, opts.purpose ?? 'any', err);
  if (opts.name !== undefined) nameMatch(leaf, opts.name, err);

  return {
    valid: errors.length === 0,
    path,
    errors,
    ...(policies.length > 0 && { policies }),
    warnings,
  };
}

type Err = (rule: string, index: number, message: string) => void;

function duplicates(cert: Certificate, idx: number, err: Err): void {
  const seen = new Set<string>();
  for (const e of cert.extensions) {
    if (seen.has(e.oid))
      err('extension.duplicate', idx, `"${cert.subject.text}" carries ${e.name} twice (RFC 5280 §4.2)`);
    seen.add(e.oid);
  }
}

function unknownCritical(cert: Certificate, idx: number, err: Err): void {
  for (const e of cert.extensions)
    if (e.critical && (!PROCESSED.has(e.oid) || e.error))
      err(
        'extension.unknown-critical',
        idx,
        `"${cert.subject.text}" has critical extension ${e.name} (${e.oid}) that ${e.error ? `does not decode: ${e.error}` : 'this validator does not process'}`,
      );
}

/** A leaf's key usage and extended key usage must allow the purpose. */
function purpose(leaf: Certificate, p: Purpose, err: Err): void {
  if (p === 'any') return;
  const eku = leaf.extKeyUsage;
  if (eku && !eku.includes(PURPOSE_EKU[p]) && !eku.includes('anyExtendedKeyUsage'))
    err(
      'eku.purpose',
      0,
      `"${leaf.subject.text}" is not valid for ${p}: its extended key usage is ${eku.join(', ')}`,
    );
  const ku = leaf.keyUsage;
  if (ku && !PURPOSE_KU[p].some((b) => ku.includes(b)))
    err(
      'key-usage.leaf',
      0,
      `"${leaf.subject.text}" key usage (${ku.join(', ')}) does not allow ${p} (needs ${PURPOSE_KU[p].join(' or ')})`,
    );
}

/**
 * EKU in a CA certificate is not in RFC 5280 §6, but every major verifier (and the CA/B Forum
 * profiles) treats it as a constraint on what the CA may issue for: a CA with EKU that excludes the
 * requested purpose fails the path. Without a purpose there is nothing to constrain.
 */
function nestedEku(cert: Certificate, idx: number, p: Purpose | undefined, err: Err): void {
  if (!p || p === 'any' || !cert.extKeyUsage) return;
  if (!cert.extKeyUsage.includes(PURPOSE_EKU[p]) && !cert.extKeyUsage.includes('anyExtendedKeyUsage'))
    err(
      'eku.purpose',
      idx,
      `CA "${cert.subject.text}" is restricted to ${cert.extKeyUsage.join(', ')} and cannot issue for ${p}`,
    );
}

/**
 * The leaf must name `name` in its subjectAltName (dNSName with a left-most wildcard label, or an
 * iPAddress). The subject CN is consulted only when there is no SAN at all, as RFC 6125 allows for
 * legacy certificates.
 */
function nameMatch(leaf: Certificate, name: string, err: Err): void {
  const want = name.toLowerCase().replace(/\.$/, '');
  const san = leaf.subjectAltNames;
  const dns = san ? san.filter((g) => g.type === 'dns').map((g) => String(g.value)) : [];
  const ips = san ? san.filter((g) => g.type === 'ip').map((g) => String(g.value)) : [];
  if (!san) {
    const cn = leaf.subject.rdns.flat().find((a) => a.type === 'CN');
    if (cn) dns.push(cn.value);
  }
  const ok = ips.includes(name) || dns.some((d) => dnsMatches(d.toLowerCase().replace(/\.$/, ''), want));
  if (!ok)
    err(
      'name.mismatch',
      0,
      `"${leaf.subject.text}" is not valid for ${name} (names: ${[...dns, ...ips].join(', ') || 'none'})`,
    );
}

function dnsMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.startsWith('*.')) return false;
  const rest = pattern.slice(1);
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot) === rest;
}
