import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { GovernError } from '../error.ts';
import { digestOf, type Digest } from './canonical.ts';
import { compileCondition, type Condition } from './cel.ts';
import { parseDuration } from './duration.ts';
import { isOperation, keyMatches as keyMatchesPattern, OPERATIONS, type Operation } from './operations.ts';

export const POLICY_KIND = 'keywarden/quorum-policy';
const MAX_POLICY_BYTES = 32 * 1024; // it travels whole inside a policy.changed log entry (< 64 KiB)
const MAX_RULES = 100;
const MAX_KEYS = 100;
const MAX_COUNT = 50;

/** A rule as written (defaults filled in); this is what the policy-version hash covers. */
export interface QuorumRuleDoc {
  id: string;
  description?: string;
  operations: Operation[];
  /** Key patterns the rule covers; absent means every key. */
  keys?: string[];
  /** CEL over `request`: the rule applies only when true. */
  when?: string;
  approvals: {
    count: number;
    role: string;
    excludeRequester: boolean;
    /** Approvals count only within this long after the request was made ("24h"). */
    within: string;
    /** CEL over `request`, `approval`, `approver`: an approval counts only when true. */
    condition?: string;
  };
}

export interface QuorumPolicyDoc {
  kind: typeof POLICY_KIND;
  version: number;
  rules: QuorumRuleDoc[];
}

export interface QuorumRule extends QuorumRuleDoc {
  withinMs: number;
  whenFn?: Condition;
  conditionFn?: Condition;
}

export interface QuorumPolicy {
  version: number;
  rules: QuorumRule[];
  /** The policy-version hash: SHA-256 of the canonical JSON of the document. */
  digest: Digest;
  document: QuorumPolicyDoc;
}

const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ROLE = /^[a-z][a-z0-9-]{0,63}$/;

type Path = (string | number)[];

/** Strict reader: every problem names the file, the line when the YAML has one, and the field. */
class Reader {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  fail(path: Path, problem: string): never {
    const node = path.length
      ? (this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined)
      : undefined;
    const line = node?.range ? `:${this.lines.linePos(node.range[0]).line}` : '';
    const where = path.length ? ` ${path.join('.')}` : '';
    throw new GovernError('POLICY_INVALID', `${this.file}${line}:${where} ${problem}`);
  }

  object(v: unknown, path: Path, allowed: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be a mapping');
    for (const k of Object.keys(v))
      if (!allowed.includes(k))
        this.fail([...path, k], `is not a known field (allowed: ${allowed.join(', ')})`);
    return v as Record<string, unknown>;
  }

  string(v: unknown, path: Path, re?: RegExp): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(path, 'must be a non-empty string');
    if (re && !re.test(v)) this.fail(path, `"${v}" does not match ${re.source}`);
    return v;
  }

  int(v: unknown, path: Path, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      this.fail(path, `must be a whole number from ${min} to ${max}`);
    return v;
  }

  list(v: unknown, path: Path, max: number): unknown[] {
    if (!Array.isArray(v) || v.length === 0) this.fail(path, 'must be a non-empty list');
    if (v.length > max) this.fail(path, `holds more than ${max} items`);
    return v;
  }
}

/** Parses and validates a quorum policy; nothing partial is ever returned. */
export function parseQuorumPolicy(text: string, file = 'quorum policy'): QuorumPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES)
    throw new GovernError('POLICY_INVALID', `${file}: larger than ${MAX_POLICY_BYTES} bytes`);
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
  });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.pos ? lines.linePos(e.pos[0]).line : undefined;
    throw new GovernError(
      'POLICY_INVALID',
      `${file}${line ? `:${line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`,
    );
  }
  if (!isMap(doc.contents))
    throw new GovernError('POLICY_INVALID', `${file}: the policy must be a YAML mapping`);
  const r = new Reader(file, doc, lines);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    throw new GovernError('POLICY_INVALID', `${file}: ${(err as Error).message}`);
  }
  const top = r.object(raw, [], ['kind', 'version', 'rules']);
  if (top.kind !== POLICY_KIND) r.fail(['kind'], `must be "${POLICY_KIND}"`);
  const version = r.int(top.version, ['version'], 1, 1_000_000);
  if (!isSeq(doc.get('rules', true))) r.fail(['rules'], 'must be a list of rules');
  const ids = new Set<string>();
  const rules = r.list(top.rules, ['rules'], MAX_RULES).map((x, i) => readRule(r, x, ['rules', i], ids));
  const document: QuorumPolicyDoc = { kind: POLICY_KIND, version, rules: rules.map(toDoc) };
  return { version, rules, digest: digestOf(document), document };
}

function readRule(r: Reader, v: unknown, path: Path, ids: Set<string>): QuorumRule {
  const o = r.object(v, path, ['id', 'description', 'operations', 'keys', 'when', 'approvals']);
  const id = r.string(o.id, [...path, 'id'], ID);
  if (ids.has(id)) r.fail([...path, 'id'], `"${id}" is used by an earlier rule`);
  ids.add(id);
  const operations = r.list(o.operations, [...path, 'operations'], OPERATIONS.length).map((op, j) => {
    if (!isOperation(op))
      r.fail([...path, 'operations', j], `${JSON.stringify(op)} is not one of ${OPERATIONS.join(', ')}`);
    return op;
  });
  const keys =
    o.keys === undefined
      ? undefined
      : r
          .list(o.keys, [...path, 'keys'], MAX_KEYS)
          .map((k, j) => r.string(k, [...path, 'keys', j], /^[A-Za-z0-9._:*?/@+-]{1,200}$/));
  const a = r.object(
    o.approvals,
    [...path, 'approvals'],
    ['count', 'role', 'excludeRequester', 'within', 'condition'],
  );
  const ap = [...path, 'approvals'];
  const count = r.int(a.count, [...ap, 'count'], 1, MAX_COUNT);
  const role = r.string(a.role, [...ap, 'role'], ROLE);
  if (a.excludeRequester !== undefined && typeof a.excludeRequester !== 'boolean')
    r.fail([...ap, 'excludeRequester'], 'must be true or false');
  const within = r.string(a.within, [...ap, 'within']);
  const withinMs = parseDuration(within);
  if (withinMs === undefined) r.fail([...ap, 'within'], `"${within}" is not a duration like 30m, 24h or 7d`);
  const rule: QuorumRule = {
    id,
    operations,
    approvals: { count, role, excludeRequester: a.excludeRequester !== false, within },
    withinMs,
  };
  if (o.description !== undefined) rule.description = r.string(o.description, [...path, 'description']);
  if (keys) rule.keys = keys;
  if (o.when !== undefined) {
    rule.when = r.string(o.when, [...path, 'when']);
    rule.whenFn = cel(r, rule.when, [...path, 'when']);
  }
  if (a.condition !== undefined) {
    rule.approvals.condition = r.string(a.condition, [...ap, 'condition']);
    rule.conditionFn = cel(r, rule.approvals.condition, [...ap, 'condition']);
  }
  return rule;
}

function cel(r: Reader, expr: string, path: Path): Condition {
  const c = compileCondition(expr);
  if (typeof c === 'string') r.fail(path, c);
  return c;
}

function toDoc(rule: QuorumRule): QuorumRuleDoc {
  const { id, description, operations, keys, when, approvals } = rule;
  return { id, description, operations, keys, when, approvals: { ...approvals } };
}

export function loadQuorumPolicy(file: string): QuorumPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GovernError(
      'POLICY_INVALID',
      `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseQuorumPolicy(text, file);
}

/** Rebuilds a policy from the document a policy.changed entry carries (the auditor's path). */
export function policyFromDocument(doc: unknown, where: string): QuorumPolicy {
  // Round-trip through YAML text so the logged document gets exactly the same strict checks.
  return parseQuorumPolicy(JSON.stringify(doc), where);
}

/** The rules that govern an operation on a key: operation and key pattern match and `when` holds. */
export function rulesFor(
  policy: QuorumPolicy,
  operation: Operation,
  keyId: string,
  request: Record<string, unknown>,
): QuorumRule[] {
  return policy.rules.filter(
    (r) =>
      r.operations.includes(operation) &&
      (!r.keys || r.keys.some((k) => keyMatchesPattern(k, keyId))) &&
      (!r.whenFn || r.whenFn({ request })),
  );
}
