import { GovernError } from '../error.ts';
import type { PinSource } from './hsm.ts';

const MAX_PIN = 256;

/**
 * The PIN from its source. Errors name the variable, never the value, and the PIN is returned to the
 * caller that hands it to C_Login and forgets it.
 */
export async function resolvePin(source: PinSource): Promise<string> {
  let pin: unknown;
  if ('env' in source) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(source.env))
      throw new GovernError('BAD_ARGUMENT', `"${source.env}" is not an environment variable name`);
    pin = process.env[source.env];
    if (pin === undefined || pin === '')
      throw new GovernError('HSM_UNAVAILABLE', `PIN variable ${source.env} is not set`);
  } else {
    try {
      pin = await source.callback();
    } catch {
      // The cause is dropped on purpose: a prompt's error could carry what was typed.
      throw new GovernError('HSM_UNAVAILABLE', 'the PIN callback failed');
    }
  }
  if (typeof pin !== 'string' || pin.length === 0)
    throw new GovernError('HSM_UNAVAILABLE', 'the PIN source gave no PIN');
  if (pin.length > MAX_PIN)
    throw new GovernError('HSM_UNAVAILABLE', `the PIN is longer than ${MAX_PIN} characters`);
  return pin;
}
