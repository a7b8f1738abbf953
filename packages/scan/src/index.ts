export { walk, type WalkEntry, type WalkOptions } from './walk.ts';
export { guessLayer, type Layer } from './layer.ts';
export { detect, type Detected } from './detect.ts';
export { scanFile, type FileResult } from './scan-file.ts';
export { DetectorPool } from './pool.ts';
export { ScanError, type ScanErrorCode } from './error.ts';
