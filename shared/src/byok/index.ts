export * from './crypto/index.ts';
export * from './catalog/index.ts';
export * from './key-store.ts';
export * from './catalog-store.ts';
export * from './master-key.ts';
export * from './optimizer.ts';
export * from './engine-plan.ts';
export * from './admission/index.ts';
