import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { AppError, ValidationError, isTerminal, type JobRecord, type JobStatus } from '@folio/shared';
import type { ApiDeps } from '../deps.ts';
import { jobView } from '../jobs/job-view.ts';

/** Longest XREAD BLOCK: bounds how long a stream waits before it re-checks the job (and its client). */
const MAX_BLOCK_MS = 5_000;
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** The open event streams of this API process: a cap, and a way to end them all at shutdown. */
export class SseStreams {
  private readonly open = new Set<() => void>();
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.open.size;
  }

  /** Registers a stream; throws too_many_streams at the cap. Returns the release function. */
  acquire(end: () => void): () => void {
    if (this.open.size >= this.max) {
      throw new AppError('too_many_streams', `This API process already serves ${this.max} event streams; retry later or poll the job`);
    }
    this.open.add(end);
    return () => this.open.delete(end);
  }

  closeAll(): void {
    for (const end of [...this.open]) end();
  }
}

/** A stream entry as the SSE `data:` payload. */
function eventData(fields: string[]): { type: string; data: Record<string, unknown> } {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
  const type = f.type === 'status' ? 'status' : 'progress';
  return {
    type,
    data: {
      type,
      status: f.status ?? null,
      pages_total: num(f.pages_total),
      pages_done: num(f.pages_done) ?? 0,
      pages_failed: num(f.pages_failed) ?? 0,
      at: f.at ? new Date(Number(f.at)).toISOString() : null,
    },
  };
}

/**
 * `GET /jobs/:id/events`: the job's current state as an `event: status`, then every entry of its
 * event stream after `Last-Event-ID` (or `?last_event_id=`; from the start when absent) as
 * `id:`/`event:`/`data:`; `: ping` comments every SSE_HEARTBEAT_MS; ends after the terminal status.
 * Each stream reads with XREAD BLOCK on its own Redis connection, closed when the client goes.
 */
export async function streamJobEvents(deps: ApiDeps, streams: SseStreams, req: Request, res: Response, job: JobRecord): Promise<void> {
  const lastIdRaw = req.get('last-event-id') ?? (typeof req.query.last_event_id === 'string' ? req.query.last_event_id : undefined);
  if (lastIdRaw !== undefined && lastIdRaw !== '' && !STREAM_ID.test(lastIdRaw)) {
    throw new ValidationError('Last-Event-ID must be an event id from this stream (`<ms>-<seq>`)');
  }
  let cursor = lastIdRaw === undefined || lastIdRaw === '' ? '0-0' : lastIdRaw;

  let closed = false;
  let conn: Redis | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const end = (): void => {
    if (closed) return;
    closed = true;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    // Rejects a pending XREAD at once; the loop below sees `closed` and stops.
    conn?.disconnect();
    if (!res.writableEnded) res.end();
  };
  const release = streams.acquire(end);
  try {
    conn = deps.redis.duplicate({ lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    conn.on('error', () => undefined);
    req.on('close', end);
    res.on('close', end);

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const write = (chunk: string): void => {
      if (!closed) res.write(chunk);
    };
    write(`retry: 2000\nevent: status\ndata: ${JSON.stringify(jobView(job))}\n\n`);
    heartbeat = setInterval(() => write(': ping\n\n'), deps.config.sse.heartbeatMs);

    const key = deps.jobs.eventsKey(job.id);
    const block = Math.min(MAX_BLOCK_MS, Math.max(100, deps.config.sse.heartbeatMs));
    /** Writes the entries; true when the terminal status went out. */
    const emit = (entries: Array<[string, string[]]>): boolean => {
      for (const [id, fields] of entries) {
        cursor = id;
        const { type, data } = eventData(fields);
        write(`id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
        if (type === 'status' && isTerminal(data.status as JobStatus)) return true;
      }
      return false;
    };
    const read = async (blockMs: number | null): Promise<Array<[string, string[]]>> => {
      const args: Array<string | number> = ['COUNT', 200];
      if (blockMs !== null) args.push('BLOCK', blockMs);
      const out = (await (conn!.xread as (...a: Array<string | number>) => Promise<Array<[string, Array<[string, string[]]>]> | null>)(
        ...args,
        'STREAMS',
        key,
        cursor,
      )) as Array<[string, Array<[string, string[]]>]> | null;
      return out?.[0]?.[1] ?? [];
    };

    let terminal = isTerminal(job.status);
    let sentTerminal = terminal;
    while (!closed) {
      // A finished job: replay what is left without waiting, then end.
      const entries = await read(terminal ? null : block);
      if (emit(entries)) {
        sentTerminal = true;
        break;
      }
      if (entries.length > 0) continue;
      if (terminal) break;
      // Nothing new within the block time: the job may have ended before its stream existed
      // (or the stream expired); check the record.
      const status = await deps.jobs.getStatus(job.id);
      if (status === null) break;
      if (isTerminal(status)) terminal = true;
    }
    if (!closed && !sentTerminal) {
      // Ended without a terminal event in the stream (a job older than its stream): say how it ended.
      const rec = await deps.jobs.get(job.id);
      if (rec !== null) write(`event: status\ndata: ${JSON.stringify(jobView(rec))}\n\n`);
    }
  } catch (err) {
    if (!closed && !res.headersSent) throw err;
    if (!closed) deps.logger.warn({ jobId: job.id, err: err instanceof Error ? err.message : String(err) }, 'event stream failed');
  } finally {
    release();
    end();
  }
}
