import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { GovernError } from '../error.ts';

export type Path = (string | number)[];

/**
 * Strict reading of one YAML document for ceremony scripts and runbook front matter: unknown fields,
 * wrong types and out-of-range values are refused with the file, the line and the field, so a typo in
 * a script never turns into a silently skipped check during a ceremony.
 */
export class StrictYaml {
  private constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
    readonly value: unknown,
  ) {}

  static parse(text: string, file: string, maxBytes: number, lineOffset = 0): StrictYaml {
    if (Buffer.byteLength(text) > maxBytes)
      throw new GovernError('POLICY_INVALID', `${file}: larger than ${maxBytes} bytes`);
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const line = e.linePos?.[0]?.line;
      throw new GovernError(
        'POLICY_INVALID',
        `${file}${line ? `:${line + lineOffset}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`,
      );
    }
    if (!isMap(doc.contents)) throw new GovernError('POLICY_INVALID', `${file}: must be a YAML mapping`);
    let value: unknown;
    try {
      // No aliases: a billion-laughs document is refused instead of expanded.
      value = doc.toJS({ maxAliasCount: 0 });
    } catch (err) {
      throw new GovernError('POLICY_INVALID', `${file}: ${(err as Error).message}`);
    }
    const r = new StrictYaml(file, doc, lines, value);
    r.lineOffset = lineOffset;
    return r;
  }

  lineOffset = 0;

  fail(path: Path, problem: string): never {
    const node = path.length
      ? (this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined)
      : undefined;
    const line = node?.range ? `:${this.lines.linePos(node.range[0]).line + this.lineOffset}` : '';
    const where = path.length ? ` ${path.join('.')}` : '';
    throw new GovernError('POLICY_INVALID', `${this.file}${line}:${where} ${problem}`);
  }

  object(v: unknown, path: Path, allowed: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Date)
      this.fail(path, 'must be a mapping');
    for (const k of Object.keys(v))
      if (!allowed.includes(k))
        this.fail([...path, k], `is not a known field (allowed: ${allowed.join(', ')})`);
    return v as Record<string, unknown>;
  }

  string(v: unknown, path: Path, opts: { re?: RegExp; max?: number } = {}): string {
    if (typeof v !== 'string' || v.trim().length === 0) this.fail(path, 'must be a non-empty string');
    const max = opts.max ?? 200;
    if (v.length > max) this.fail(path, `is longer than ${max} characters`);
    if (opts.re && !opts.re.test(v)) this.fail(path, `"${v}" does not match ${opts.re.source}`);
    return v;
  }

  optionalString(v: unknown, path: Path, opts: { re?: RegExp; max?: number } = {}): string | undefined {
    return v === undefined ? undefined : this.string(v, path, opts);
  }

  int(v: unknown, path: Path, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      this.fail(path, `must be a whole number from ${min} to ${max}`);
    return v;
  }

  bool(v: unknown, path: Path): boolean | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(path, 'must be true or false');
    return v;
  }

  list(v: unknown, path: Path, max: number, min = 1): unknown[] {
    if (!Array.isArray(v) || v.length < min)
      this.fail(path, min > 0 ? 'must be a non-empty list' : 'must be a list');
    if (v.length > max) this.fail(path, `holds more than ${max} items`);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: Path, values: readonly T[]): T {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      this.fail(path, `must be one of ${values.join(', ')}`);
    return v as T;
  }
}
