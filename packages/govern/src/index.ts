export * from './error.ts';
export * from './hsm/hsm.ts';
export { GrapheneHsm } from './hsm/graphene-hsm.ts';
export { takeInventory, describeObjects } from './hsm/inventory.ts';
export type {
  HsmCertificateSummary,
  HsmInventory,
  HsmInventoryObject,
  HsmKeyFlags,
  KeySource,
} from './hsm/inventory.ts';
export { hsmFindings, HSM_RULES } from './hsm/findings.ts';
export { publicKeyOf, type KeyIdentity } from './hsm/spki.ts';
export { ecdsaRawToDer } from './hsm/ecdsa-signature.ts';
export { pkcs11Uri } from './hsm/pkcs11-uri.ts';
export { resolvePin } from './hsm/pin.ts';
