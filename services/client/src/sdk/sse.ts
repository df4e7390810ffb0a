import type { ServerSentEvent } from './types.ts';

/**
 * An incremental parser of the Server-Sent Events wire format (the HTML standard's "event stream
 * interpretation"): lines end with CRLF, LF or CR (also split across chunks); `field: value` with
 * one optional space after the colon; `data` lines join with newlines; a line starting with `:` is
 * a comment; a blank line dispatches the event (none when it has no data); `id` persists for
 * later events (and is ignored when it holds NUL); `retry` takes digits only; a leading BOM goes.
 */
export class SseParser {
  private buffer = '';
  private started = false;
  private data: string[] = [];
  private hasData = false;
  private eventType = '';
  private idSeen = false;
  /** The last event id: sent back as `Last-Event-ID` when reconnecting. */
  lastEventId: string | undefined;
  /** The server's reconnection time (`retry:` field), in milliseconds. */
  retryMs: number | undefined;

  /** Feeds decoded text; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    if (!this.started) {
      if (chunk.length === 0) return [];
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c !== '\n' && c !== '\r') continue;
      // A CR at the end of the chunk may be the first half of CRLF: wait for the next chunk.
      if (c === '\r' && i === buf.length - 1) break;
      const line = buf.slice(start, i);
      if (c === '\r' && buf[i + 1] === '\n') i++;
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = buf.slice(start);
    return events;
  }

  /** The stream ended: a trailing CR still ends its line; an event without its blank line is dropped (as the standard says). */
  end(): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    if (this.buffer.endsWith('\r')) {
      const event = this.line(this.buffer.slice(0, -1));
      if (event) events.push(event);
    }
    this.buffer = '';
    this.data = [];
    this.hasData = false;
    this.eventType = '';
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.lastEventId = value;
          this.idSeen = true;
        }
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    const hasData = this.hasData;
    const event: ServerSentEvent = {
      event: this.eventType === '' ? 'message' : this.eventType,
      data: this.data.join('\n'),
      ...(this.idSeen && this.lastEventId !== undefined ? { id: this.lastEventId } : {}),
      ...(this.retryMs === undefined ? {} : { retry: this.retryMs }),
    };
    this.data = [];
    this.hasData = false;
    this.eventType = '';
    return hasData ? event : undefined;
  }
}

/** Parses a whole event stream (tests, small bodies). */
export function parseSse(text: string): ServerSentEvent[] {
  const p = new SseParser();
  return [...p.push(text), ...p.end()];
}
