import { KeywardenError } from '@keywarden/core';

export type AnalyzeErrorCode =
  | 'POLICY_INVALID' // an organisation policy or lint profile file is malformed; nothing was applied
  | 'BAD_ARGUMENT';

export class AnalyzeError extends KeywardenError<AnalyzeErrorCode> {}
