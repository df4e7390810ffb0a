export { startApi, type ApiServer } from './server.ts';
export { createApp } from './app.ts';
export type { ApiDeps } from './deps.ts';
