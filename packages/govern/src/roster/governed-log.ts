import type { Statement } from '@keywarden/evidence';

/** What govern needs of the evidence log; EvidenceLog satisfies it. */
export interface GovernLog {
  readonly size: number;
  statement(index: number): Statement;
  append(statement: Statement): Promise<number>;
}

/** Read side only, for auditors with a read-only log. */
export type ReadableLog = Pick<GovernLog, 'size' | 'statement'>;

export function* entriesOf(
  log: ReadableLog,
  upTo = log.size,
): Generator<{ index: number; statement: Statement }> {
  for (let index = 0; index < upTo; index++) yield { index, statement: log.statement(index) };
}
