import { EngineError, isSeverity, type Severity } from '@keywarden/engine';

/** Dates on the command line: YYYY-MM-DD (midnight UTC) or a full ISO 8601 instant. */
export function parseInstant(value: string, flag: string): number {
  const v = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t))
    throw new EngineError('BAD_ARGUMENT', `${flag}: "${value}" is not a date (use YYYY-MM-DD or ISO 8601)`);
  return t;
}

export function parseSeverity(value: string): Severity {
  if (!isSeverity(value))
    throw new EngineError(
      'BAD_ARGUMENT',
      `--fail-on: "${value}" is not one of info, low, medium, high, critical`,
    );
  return value;
}

export function parseCount(value: string, flag: string): number {
  if (!/^\d+$/.test(value))
    throw new EngineError('BAD_ARGUMENT', `${flag}: "${value}" is not a whole number`);
  return Number(value);
}

/** Sizes like 512, 64k, 256M, 2G. */
export function parseBytes(value: string, flag: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(value);
  if (!m) throw new EngineError('BAD_ARGUMENT', `${flag}: "${value}" is not a size (e.g. 64M)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()]!;
  return Number(m[1]) * unit;
}
