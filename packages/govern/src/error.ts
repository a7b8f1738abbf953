import { KeywardenError } from '@keywarden/core';

export type GovernErrorCode =
  | 'HSM_UNAVAILABLE' // the PKCS#11 module could not be loaded or the token not opened
  | 'HSM_OPERATION' // the token refused an operation
  | 'POLICY_INVALID' // a quorum policy, roster or ceremony file is malformed; nothing was applied
  | 'QUORUM_NOT_MET' // the approvals do not satisfy the policy in force; the operation did not run
  | 'BAD_ARGUMENT';

export class GovernError extends KeywardenError<GovernErrorCode> {}
