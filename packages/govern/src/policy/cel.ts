import { Environment } from '@marcbachmann/cel-js';

/**
 * One CEL environment for every policy: the variables are fixed, so a condition naming anything else
 * fails type checking when the policy loads rather than when an approval is judged. The limits keep a
 * hostile policy from costing more than a trivial one.
 */
function environment(): Environment {
  return new Environment({
    limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
  })
    .registerVariable('request', 'map')
    .registerVariable('approval', 'map')
    .registerVariable('approver', 'map');
}

const ENV = environment();
export const MAX_CEL_CHARS = 2048;

export type CelFacts = Partial<Record<'request' | 'approval' | 'approver', Record<string, unknown>>>;
export type Condition = (facts: CelFacts) => boolean;

/** Parses and type-checks; returns an error text (for POLICY_INVALID) or the compiled condition. */
export function compileCondition(expr: string): Condition | string {
  if (expr.length > MAX_CEL_CHARS) return `CEL condition longer than ${MAX_CEL_CHARS} characters`;
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = ENV.parse(expr);
    const checked = ENV.check(expr);
    if (!checked.valid) return `CEL condition does not type-check: ${firstLine(checked.error)}`;
    if (checked.type !== 'bool' && checked.type !== 'dyn')
      return `CEL condition must be a bool, not ${String(checked.type)}`;
  } catch (err) {
    return `CEL condition does not parse: ${firstLine(err)}`;
  }
  return (facts) => {
    // Missing fields and type errors are a false condition: fail closed, never an allow.
    try {
      return parsed(facts) === true;
    } catch {
      return false;
    }
  };
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}
