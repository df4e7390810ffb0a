import { describe, expect, it } from 'vitest';
import { SseParser, parseSse } from './sse.ts';

describe('SSE parser', () => {
  it('parses id, event and data lines; blank line dispatches; comments ignored', () => {
    const events = parseSse(': hello\nid: 1\nevent: progress\ndata: {"pages_done":3}\n\n:keepalive\n\nid: 2\nevent: status\ndata: {"status":"completed"}\n\n');
    expect(events).toEqual([
      { id: '1', event: 'progress', data: '{"pages_done":3}' },
      { id: '2', event: 'status', data: '{"status":"completed"}' },
    ]);
  });

  it('joins multi-line data, defaults the type to message, strips one space only', () => {
    expect(parseSse('data: a\ndata:  b\ndata\n\n')).toEqual([{ event: 'message', data: 'a\n b\n' }]);
  });

  it('handles CRLF and CR line endings, split across chunks (even inside CRLF)', () => {
    const p = new SseParser();
    const out = [...p.push('id: 7\r'), ...p.push('\nevent: x\r\ndata: y\r'), ...p.push('\r'), ...p.push('data: z\rdata: w\r\n\r\n')];
    expect(out).toEqual([
      { id: '7', event: 'x', data: 'y' },
      { id: '7', event: 'message', data: 'z\nw' },
    ]);
  });

  it('keeps the last id for later events and as lastEventId; ignores ids with NUL', () => {
    const p = new SseParser();
    const out = p.push('id: 5\ndata: a\n\ndata: b\n\nid: bad\0\ndata: c\n\n');
    expect(out.map((e) => e.id)).toEqual(['5', '5', '5']);
    expect(p.lastEventId).toBe('5');
  });

  it('reads retry only when it is digits; drops events without data and the unfinished tail', () => {
    const p = new SseParser();
    expect(p.push('retry: 1500\n\nretry: soon\nevent: x\n\ndata: tail')).toEqual([]);
    expect(p.retryMs).toBe(1500);
    expect(p.end()).toEqual([]);
  });

  it('strips a leading BOM and ignores unknown fields', () => {
    expect(parseSse('\ufeffdata: a\nfoo: bar\n\n')).toEqual([{ event: 'message', data: 'a' }]);
  });

  it('parses byte-by-byte the same as whole', () => {
    const text = 'id: 1\nevent: status\ndata: {"status":"processing"}\n\n: c\r\nid: 2\r\ndata: x\r\n\r\n';
    const p = new SseParser();
    const out = [...text].flatMap((ch) => p.push(ch));
    expect(out).toEqual(parseSse(text));
    expect(out).toHaveLength(2);
  });
});
