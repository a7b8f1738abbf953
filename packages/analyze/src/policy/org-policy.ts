// An organisation's own crypto policy, layered over an authority's rules. The YAML shape
// (docs/policy-example.yaml is a worked sample):
//
//   version: 1
//   overrides:                      # checked in order, before the authority's rules
//     - id: org-rsa-2048            # optional; defaults to org-<n>
//       algorithm: RSA              # a family (RSA, EC, EdDSA, PQC, SHA-1, SHA-224, SHA-2)
//                                   # or one exact algorithm name (ML-DSA-44, Ed25519)
//       minSize: 2048               # optional, bits, inclusive
//       maxSize: 3071               # optional, bits, inclusive
//       curves: [P-256]             # optional; the asset's curve must be one of these
//       use: any                    # signature | key-establishment | hash | any (default any)
//       steps:                      # ascending dates; each status holds from its day (UTC)
//         - { status: acceptable, from: 1970-01-01 }
//         - { status: disallowed, from: 2029-01-01 }
//       reason: why the organisation departs from the authority   # required
//
// A malformed file is refused as a whole (nothing half-applied), with the file, line and field.
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { AnalyzeError } from '../error.ts';
import type { Rule, Status, Use } from './authorities.ts';

export interface OrgPolicy {
  file: string;
  rules: Rule[];
}

const MAX_BYTES = 1 << 20;
const MAX_OVERRIDES = 1000;
const MAX_STEPS = 16;
const STATUSES: readonly Status[] = ['acceptable', 'legacy', 'deprecated', 'disallowed'];
const USES: readonly Use[] = ['signature', 'key-establishment', 'hash', 'any'];
const OVERRIDE_KEYS = ['id', 'algorithm', 'minSize', 'maxSize', 'curves', 'use', 'steps', 'reason'];

class Reader {
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  fail(node: Node | undefined | null, field: string, why: string): never {
    const offset = node?.range?.[0];
    const line = offset === undefined ? '?' : this.lines.linePos(offset).line;
    throw new AnalyzeError('POLICY_INVALID', `${this.file}:${line}: ${field}: ${why}`);
  }

  map(node: unknown, field: string): YAMLMap {
    if (!isMap(node)) this.fail(node as Node, field, 'expected a mapping');
    return node;
  }

  string(node: unknown, field: string): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '')
      this.fail(node as Node, field, 'expected a non-empty string');
    if (node.value.length > 200) this.fail(node, field, 'longer than 200 characters');
    return node.value;
  }

  bits(node: unknown, field: string): number {
    if (!isScalar(node) || !Number.isInteger(node.value) || (node.value as number) <= 0)
      this.fail(node as Node, field, 'expected a positive whole number of bits');
    return node.value as number;
  }

  /** A calendar date; YAML may already have turned an unquoted one into a Date. */
  date(node: unknown, field: string): string {
    const v = isScalar(node) ? node.value : undefined;
    const s = v instanceof Date ? v.toISOString().slice(0, 10) : v;
    if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s))
      this.fail(node as Node, field, 'expected a date YYYY-MM-DD');
    const ms = Date.parse(s + 'T00:00:00Z');
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== s)
      this.fail(node as Node, field, `${s} is not a calendar date`);
    return s;
  }

  oneOf<T extends string>(node: unknown, field: string, allowed: readonly T[]): T {
    const s = this.string(node, field);
    if (!allowed.includes(s as T)) this.fail(node as Node, field, `expected one of ${allowed.join(', ')}`);
    return s as T;
  }
}

function override(r: Reader, node: unknown, at: string, n: number): Rule {
  const m = r.map(node, at);
  for (const p of m.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '?';
    if (!OVERRIDE_KEYS.includes(k)) r.fail(p.key as Node, `${at}.${k}`, 'unknown field');
  }
  const reasonNode = m.get('reason', true);
  if (reasonNode === undefined) r.fail(m, `${at}.reason`, 'required: say why the organisation overrides');
  const algNode = m.get('algorithm', true);
  if (algNode === undefined) r.fail(m, `${at}.algorithm`, 'required');
  const stepsNode = m.get('steps', true);
  if (!isSeq(stepsNode) || stepsNode.items.length === 0)
    r.fail((stepsNode as Node | undefined) ?? m, `${at}.steps`, 'expected a non-empty list');
  if (stepsNode.items.length > MAX_STEPS) r.fail(stepsNode, `${at}.steps`, `more than ${MAX_STEPS}`);
  const steps = stepsNode.items.map((s, i) => {
    const sm = r.map(s, `${at}.steps[${i}]`);
    return {
      status: r.oneOf(sm.get('status', true), `${at}.steps[${i}].status`, STATUSES),
      from: r.date(sm.get('from', true), `${at}.steps[${i}].from`),
    };
  });
  for (let i = 1; i < steps.length; i++)
    if (steps[i]!.from <= steps[i - 1]!.from)
      r.fail(stepsNode.items[i] as Node, `${at}.steps[${i}].from`, 'dates must ascend');
  const rule: Rule = {
    id: m.has('id') ? r.string(m.get('id', true), `${at}.id`) : `org-${n + 1}`,
    family: r.string(algNode, `${at}.algorithm`),
    use: m.has('use') ? r.oneOf(m.get('use', true), `${at}.use`, USES) : 'any',
    steps,
    source: { document: 'organisation policy', section: at, url: '' },
    confidence: 'verified',
    reason: r.string(reasonNode, `${at}.reason`),
  };
  if (m.has('minSize')) rule.minSize = r.bits(m.get('minSize', true), `${at}.minSize`);
  if (m.has('maxSize')) rule.maxSize = r.bits(m.get('maxSize', true), `${at}.maxSize`);
  if (rule.minSize !== undefined && rule.maxSize !== undefined && rule.minSize > rule.maxSize)
    r.fail(m.get('maxSize', true) as Node, `${at}.maxSize`, 'smaller than minSize');
  if (m.has('curves')) {
    const c = m.get('curves', true);
    if (!isSeq(c) || c.items.length === 0) r.fail(c as Node, `${at}.curves`, 'expected a non-empty list');
    rule.curves = c.items.map((x, i) => r.string(x, `${at}.curves[${i}]`));
  }
  return rule;
}

/** Parse and validate policy text; `file` names it in errors and in each rule's source. */
export function parseOrgPolicy(text: string, file: string): OrgPolicy {
  if (text.length > MAX_BYTES)
    throw new AnalyzeError('POLICY_INVALID', `${file}: larger than ${MAX_BYTES} bytes`);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const r: Reader = new Reader(file, lines);
  const err = doc.errors[0];
  if (err) {
    const line = err.pos ? lines.linePos(err.pos[0]).line : '?';
    throw new AnalyzeError('POLICY_INVALID', `${file}:${line}: YAML: ${err.message.split('\n')[0]}`);
  }
  const top = r.map(doc.contents, '(document)');
  for (const p of top.items) {
    const k = isScalar(p.key) ? String(p.key.value) : '?';
    if (k !== 'version' && k !== 'overrides') r.fail(p.key as Node, k, 'unknown field');
  }
  const version = top.get('version', true);
  if (!isScalar(version) || version.value !== 1)
    r.fail((version as Node | undefined) ?? top, 'version', 'expected 1');
  const list = top.get('overrides', true);
  if (list === undefined) return { file, rules: [] };
  if (!isSeq(list)) r.fail(list as Node, 'overrides', 'expected a list');
  if (list.items.length > MAX_OVERRIDES) r.fail(list, 'overrides', `more than ${MAX_OVERRIDES} entries`);
  const rules = list.items.map((o, i) => override(r, o, `overrides[${i}]`, i));
  for (const x of rules) x.source = { ...x.source, document: `organisation policy ${file}` };
  return { file, rules };
}

export function loadOrgPolicy(file: string): OrgPolicy {
  let text: string;
  try {
    if (statSync(file).size > MAX_BYTES)
      throw new AnalyzeError('POLICY_INVALID', `${file}: larger than ${MAX_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof AnalyzeError) throw e;
    throw new AnalyzeError('POLICY_INVALID', `${file}: cannot read: ${(e as Error).message}`);
  }
  return parseOrgPolicy(text, file);
}
