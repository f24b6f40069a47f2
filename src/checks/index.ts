// The checks of the claim, in the claim's order. The runner walks this list.
import { buildCheck } from './build.js';
import { entrypointParityCheck } from './entrypointParity.js';
import { hostParityCheck } from './hostParity.js';
import { noDropCheck } from './noDrop.js';
import { pathSupersetCheck } from './pathSuperset.js';
import { propagationCheck } from './propagation.js';
import { singleSourceCheck } from './singleSource.js';
import type { CheckDefinition } from './types.js';

export const CHECKS: readonly CheckDefinition[] = [
  buildCheck,
  singleSourceCheck,
  pathSupersetCheck,
  entrypointParityCheck,
  hostParityCheck,
  propagationCheck,
  noDropCheck,
];
