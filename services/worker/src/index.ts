export { startWorkers, type WorkerSet } from './worker-set.ts';
