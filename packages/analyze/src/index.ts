export * from './error.ts';
export * from './path/types.ts';
export { SignatureCache, certSignatureValid, type SignatureVerdict } from './path/signature.ts';
export { validatePath } from './path/validate.ts';
export { CertIndex, buildPaths, validateBest, type BuildLimits } from './path/paths.ts';
