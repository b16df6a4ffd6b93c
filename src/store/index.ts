/** The store's public surface: what the rest of nightshift imports. */
export * from './types.ts';
export { StoreError, isStoreError, type StoreErrorCode } from './errors.ts';
export { openStore, type OpenStoreOptions } from './open.ts';
