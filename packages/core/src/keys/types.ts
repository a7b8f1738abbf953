import type { Observation } from '../observation.ts';

export type PublicKeyObservation = Extract<Observation, { type: 'public-key' }>;
export type PrivateKeyObservation = Extract<Observation, { type: 'private-key' }>;

type Unlocated<T> = T extends unknown ? Omit<T, 'offset' | 'encoding'> : never;

/**
 * What a structure parser found, before the caller says where it was found. Parsers do not know
 * whether their input came from PEM, a DER file or a JSON member; the caller adds offset and encoding.
 */
export type KeyFinding = Unlocated<PublicKeyObservation | PrivateKeyObservation>;
