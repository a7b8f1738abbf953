export { main, program } from './main.ts';
export { EXIT, exitCodeFor } from './exit-codes.ts';
