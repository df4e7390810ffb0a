/**
 * Vetting of outbound URLs (SSRF defences) shared by the URL fetcher (`process-url`) and webhook
 * delivery: only http(s), no credentials, no internal names, every resolved address public (or
 * admitted by an allow-list), and a pinned `lookup` so the socket connects to exactly the vetted
 * addresses (no DNS rebinding between check and connect).
 *
 * Error messages end up in API responses, so they name at most origin + path, never the query
 * string and never the internal address a name resolved to.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import { UrlFetchError, UrlNotAllowedError } from '../errors/errors.ts';

/** DNS lookup with `dns.lookup(..., {all: true})` semantics. */
export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

// ---------------------------------------------------------------------------------------------
// Addresses and CIDRs. Both families are held as bigint so one containment test serves both.

interface Ip {
  family: 4 | 6;
  value: bigint;
}

interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

/** Parses a canonical IP literal (what `net.isIP` accepts, brackets and zone id tolerated). */
function parseIp(input: string): Ip | undefined {
  // Zone ids (fe80::1%eth0) only pick an interface; the address itself decides what it reaches.
  const text = input.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = net.isIP(text);
  if (family === 4) return { family: 4, value: parseV4(text) };
  if (family === 6) return { family: 6, value: parseV6(text) };
  return undefined;
}

/** Only called on strings `net.isIP` validated as dotted-decimal IPv4. */
function parseV4(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Only called on strings `net.isIP` validated as IPv6, so the syntax needs no re-checking. */
function parseV6(text: string): bigint {
  let s = text;
  // A dotted IPv4 tail (::ffff:1.2.3.4) is the last two 16-bit groups written differently.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail?.[1] !== undefined) {
    const v4 = parseV4(tail[1]);
    s = `${s.slice(0, tail.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros: string[] = rest === undefined ? [] : new Array(8 - headGroups.length - restGroups.length).fill('0');
  return [...headGroups, ...zeros, ...restGroups].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses "10.0.0.0/8", "::1/128", or a bare address (treated as a single-host CIDR). */
function parseCidr(entry: string): Cidr | undefined {
  const [addr = '', prefixText, extra] = entry.split('/');
  const ip = parseIp(addr);
  if (ip === undefined || extra !== undefined) return undefined;
  const width = ip.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= width)) return undefined;
  // Mask the host bits so "10.1.2.3/24" means 10.1.2.0/24, as people expect.
  return { family: ip.family, network: ip.value & mask(width, prefix), prefix };
}

function mask(width: number, prefix: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return all ^ ((1n << BigInt(width - prefix)) - 1n);
}

function contains(cidr: Cidr, ip: Ip): boolean {
  return cidr.family === ip.family && (ip.value & mask(ip.family === 4 ? 32 : 128, cidr.prefix)) === cidr.network;
}

function cidrs(list: readonly string[]): Cidr[] {
  return list.map((entry) => {
    const cidr = parseCidr(entry);
    if (cidr === undefined) throw new Error(`Bad built-in CIDR ${entry}`);
    return cidr;
  });
}

/** Special-purpose IPv4 space (RFC 6890 and friends): nothing a public document lives on. */
const BLOCKED_V4 = cidrs([
  '0.0.0.0/8', // "this network"; 0.0.0.0 reaches the local host on Linux
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, including the 169.254.169.254 cloud metadata endpoint
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, including the 255.255.255.255 broadcast address
]);

const BLOCKED_V6 = cidrs([
  '::/128', // unspecified
  '::1/128', // loopback
  'fc00::/7', // unique local, including fd00:ec2::254 (AWS metadata over IPv6)
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local: still private wherever it is used
  'ff00::/8', // multicast
  '2001:db8::/32', // documentation
  '64:ff9b::/96', // NAT64: would translate to an arbitrary (possibly private) IPv4 address
]);

const V4_MAPPED = cidrs(['::ffff:0:0/96'])[0]!;
const V4_COMPATIBLE = cidrs(['::/96'])[0]!;
const SIX_TO_FOUR = cidrs(['2002::/16'])[0]!;

/**
 * The IPv4 address an IPv6 address stands for, where the kernel or a relay would really deliver
 * to that IPv4 host: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 * Without this, "::ffff:127.0.0.1" would sail past an IPv4-only rule.
 */
function embeddedV4(ip: Ip): Ip | undefined {
  if (ip.family !== 6) return undefined;
  if (contains(V4_MAPPED, ip) || contains(V4_COMPATIBLE, ip)) return { family: 4, value: ip.value & 0xffffffffn };
  if (contains(SIX_TO_FOUR, ip)) return { family: 4, value: (ip.value >> 80n) & 0xffffffffn };
  return undefined;
}

function inBlockedRange(ip: Ip): boolean {
  return (ip.family === 4 ? BLOCKED_V4 : BLOCKED_V6).some((cidr) => contains(cidr, ip));
}

/** Pure: true when `address` is not a public unicast address (unparseable input counts as blocked). */
export function isAddressBlocked(address: string): boolean {
  const ip = parseIp(address);
  if (ip === undefined) return true; // fail closed: we cannot vouch for what we cannot parse
  const v4 = embeddedV4(ip);
  return inBlockedRange(ip) || (v4 !== undefined && inBlockedRange(v4));
}

// ---------------------------------------------------------------------------------------------
// Allow-list and name rules.

export interface AllowList {
  hosts: ReadonlySet<string>;
  cidrs: readonly Cidr[];
}

/** Hostnames compare case-insensitively and without the root dot ("Files.Internal." = "files.internal"). */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const ranges: Cidr[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    const cidr = parseCidr(entry);
    if (cidr !== undefined) ranges.push(cidr);
    // A malformed CIDR is a configuration mistake; treating it as a hostname would silently admit nothing.
    else if (entry.includes('/') || net.isIP(entry.replace(/^\[(.*)\]$/, '$1')) !== 0) throw new Error(`Invalid allow-list entry: ${raw}`);
    else if (entry !== '') hosts.add(normaliseName(entry));
  }
  return { hosts, cidrs: ranges };
}

function admitted(allow: AllowList, address: string): boolean {
  const ip = parseIp(address);
  if (ip === undefined) return false;
  // "127.0.0.0/8" should also admit ::ffff:127.0.0.1, the same host reached over a v6 socket.
  const v4 = embeddedV4(ip);
  return allow.cidrs.some((cidr) => contains(cidr, ip) || (v4 !== undefined && contains(cidr, v4)));
}

/** Names that point inside the machine or the cloud control plane whatever DNS says. */
function isForbiddenName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || name === 'metadata.google.internal';
}

// ---------------------------------------------------------------------------------------------
// Fetching.

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface Target {
  url: URL;
  /** URL hostname without IPv6 brackets. */
  host: string;
  /** Every address here has passed the checks; the socket may use any of them. */
  addresses: ResolvedAddress[];
}


/** What error messages may say about a URL: origin + path, never credentials, query or fragment. */
export function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export async function defaultLookup(hostname: string): Promise<ResolvedAddress[]> {
  const answers = await dns.lookup(hostname, { all: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/** Scheme, credentials, names and addresses: the complete check, run again for every redirect hop. */
export async function vetUrl(url: URL, allow: AllowList, lookup: LookupAll, signal: AbortSignal): Promise<Target> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlNotAllowedError(`Only http and https URLs can be fetched, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials would be sent to whoever the host turns out to be, and would end up in logs.
    throw new UrlNotAllowedError('URLs with credentials (user:password@) are not accepted');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const hostAdmitted = allow.hosts.has(normaliseName(host));
  if (!hostAdmitted && isForbiddenName(normaliseName(host))) {
    throw new UrlNotAllowedError(`${describeUrl(url)} points to an internal host name`);
  }

  let addresses: ResolvedAddress[];
  const literalFamily = net.isIP(host);
  if (literalFamily !== 0) {
    // WHATWG URL has already turned 0x7f.1, 2130706433 and friends into dotted decimal.
    addresses = [{ address: host, family: literalFamily === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await abortable(lookup(host), signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new UrlFetchError(`Could not resolve the host of ${describeUrl(url)}`, { code: errorCode(err) });
    }
    // Trust the address text, not the family a lookup override claims.
    addresses = addresses.map((a) => ({ address: a.address, family: net.isIP(a.address) === 6 ? 6 : 4 }));
  }
  if (addresses.length === 0) throw new UrlFetchError(`Could not resolve the host of ${describeUrl(url)}`);

  // ANY bad address refuses the URL: the socket might pick it, and a mixed answer is a classic
  // way to slip a private address past a check that looks only at the first one.
  if (!hostAdmitted && addresses.some((a) => isAddressBlocked(a.address) && !admitted(allow, a.address))) {
    throw new UrlNotAllowedError(`${describeUrl(url)} resolves to a private, loopback, link-local or otherwise non-public address`);
  }
  return { url, host, addresses };
}

/**
 * A `lookup` for http.request that answers only with the vetted addresses, so the connection goes
 * where the check said it would even if DNS now answers differently. Handles both call shapes:
 * `all: true` (used by Happy Eyeballs / autoSelectFamily) and the single-address form.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): net.LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error('No vetted address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) {
      callback(null, usable.map((a) => ({ address: a.address, family: a.family })));
    } else {
      callback(null, first.address, first.family);
    }
  };
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Resolves/rejects like `promise`, or rejects with the abort reason first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

