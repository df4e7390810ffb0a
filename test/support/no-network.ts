import net from 'node:net';

/**
 * Tests talk to loopback only (the private Redis, s3rver, the API, local fixture servers). Any
 * attempt to connect elsewhere throws, so a forgotten CDN fetch or a real provider call fails the
 * test instead of leaving the machine.
 */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;
const original = net.Socket.prototype.connect;

export const blockedConnections: string[] = [];

net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]) {
  const first = args[0] as { host?: string; path?: string; lookup?: unknown } | number | string;
  let host: string | undefined;
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    if (first.path !== undefined) return (original as (...a: unknown[]) => net.Socket).apply(this, args); // unix socket
    if (typeof first.lookup === 'function') {
      // A custom lookup (the SSRF-safe fetcher pins vetted addresses this way): check what it returns.
      const inner = first.lookup as (h: string, o: unknown, cb: (...r: unknown[]) => void) => void;
      const checked = { ...first, lookup: (h: string, o: unknown, cb: (...r: unknown[]) => void) =>
        inner(h, o, (err: unknown, addr: unknown, family: unknown) => {
          const list = Array.isArray(addr) ? (addr as Array<{ address: string }>).map((a) => a.address) : [String(addr)];
          const bad = err ? undefined : list.find((a) => !LOOPBACK.test(a));
          if (bad !== undefined) {
            blockedConnections.push(bad);
            cb(new Error(`test tried to connect to ${bad}: tests may only reach loopback`));
          } else cb(err, addr, family);
        }) };
      return (original as (...a: unknown[]) => net.Socket).apply(this, [checked, ...args.slice(1)]);
    }
    host = first.host ?? 'localhost';
  } else if (typeof first === 'number') {
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  }
  if (host !== undefined && !LOOPBACK.test(host)) {
    blockedConnections.push(host);
    throw new Error(`test tried to connect to ${host}: tests may only reach loopback`);
  }
  return (original as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
