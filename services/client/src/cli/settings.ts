/**
 * Where the CLI finds its server and token: flags first, then the CLI's own environment
 * (`FOLIO_URL`, `FOLIO_TOKEN`). This is the one place the CLI reads the environment; the server's
 * configuration rules do not apply to this client process.
 */
export const DEFAULT_SERVER = 'http://127.0.0.1:5058';

export interface ClientSettings {
  server: string;
  token: string | undefined;
}

export function clientSettings(flags: { server?: string | undefined; token?: string | undefined }, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const server = flags.server || env.FOLIO_URL || DEFAULT_SERVER;
  const token = flags.token || env.FOLIO_TOKEN || undefined;
  return { server, token };
}
