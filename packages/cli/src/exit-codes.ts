import { KeywardenError } from '@keywarden/core';

export const EXIT = { ok: 0, findings: 1, usage: 2, input: 3, internal: 4 } as const;

/** The one table from error codes to exit codes. Unknown errors are internal. */
const BY_CODE: Record<string, number> = {
  BAD_ARGUMENT: EXIT.usage,
  INPUT_MISSING: EXIT.input,
  INPUT_INVALID: EXIT.input,
  STORE_OPEN: EXIT.input,
  STORE_NOT_FOUND: EXIT.input,
  DER_MALFORMED: EXIT.input,
  DER_UNEXPECTED: EXIT.input,
  PEM_MALFORMED: EXIT.input,
  KEY_MALFORMED: EXIT.input,
  KEY_UNSUPPORTED: EXIT.input,
  SSH_MALFORMED: EXIT.input,
  JWK_MALFORMED: EXIT.input,
  TUF_MALFORMED: EXIT.input,
  HSM_UNAVAILABLE: EXIT.input,
  HSM_OPERATION: EXIT.internal,
  LOG_CORRUPT: EXIT.input,
  NOTE_INVALID: EXIT.input,
  LOG_LOCKED: EXIT.input,
  LOG_WRITE: EXIT.internal,
  POLICY_INVALID: EXIT.input,
  QUORUM_NOT_MET: EXIT.findings,
  STORE_WRITE: EXIT.internal,
  SCAN_WORKER_FAILED: EXIT.internal,
};

export function exitCodeFor(err: unknown): number {
  if (err instanceof KeywardenError) return BY_CODE[err.code] ?? EXIT.internal;
  return EXIT.internal;
}
