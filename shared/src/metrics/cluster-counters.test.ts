import { describe, expect, it } from 'vitest';
import { boundLabel, decodeSeries, encodeSeries, latencyBucket } from './cluster-counters.ts';
import { SharedRead, withDeadline } from './collect.ts';

describe('cluster counter fields', () => {
  it('round-trip a series name and its labels, escapes included', () => {
    const labels = { provider: 'openai_compatible', model: 'qwen2.5vl:7b', odd: 'a"b\\c\nd,e}' };
    const field = encodeSeries('folio_provider_requests_total', labels);
    expect(field).toBe('folio_provider_requests_total{provider="openai_compatible",model="qwen2.5vl:7b",odd="a\\"b\\\\c\\nd,e}"}');
    expect(decodeSeries(field)).toEqual({ name: 'folio_provider_requests_total', labels });
    expect(decodeSeries('folio_key_decryption_failures_total')).toEqual({ name: 'folio_key_decryption_failures_total', labels: {} });
    expect(decodeSeries('not a field{')).toBeNull();
    expect(decodeSeries('x{a="1"b="2"}')).toBeNull();
  });

  it('bounds label values and picks latency buckets', () => {
    expect(boundLabel('Qwen/Qwen2.5-VL-7B-Instruct')).toBe('Qwen/Qwen2.5-VL-7B-Instruct');
    expect(boundLabel('x'.repeat(100))).toHaveLength(64);
    expect(boundLabel('a b{c}')).toBe('a_b_c_');
    expect(boundLabel(undefined)).toBe('none');
    expect(latencyBucket(0.1)).toBe('0.25');
    expect(latencyBucket(1)).toBe('1');
    expect(latencyBucket(1.01)).toBe('2');
    expect(latencyBucket(500)).toBe('+Inf');
  });
});

describe('shared reads', () => {
  it('time out, keep the last good value, and share one read between concurrent callers', async () => {
    let calls = 0;
    let mode: 'ok' | 'hang' | 'fail' = 'ok';
    const read = new SharedRead(
      'test',
      async () => {
        calls++;
        if (mode === 'hang') return new Promise<number>(() => undefined);
        if (mode === 'fail') throw new Error('down');
        return calls;
      },
      { timeoutMs: 50, maxAgeMs: 0 },
    );
    const [a, b] = await Promise.all([read.get(), read.get()]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    mode = 'hang';
    const t0 = performance.now();
    expect(await read.get()).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1_000);
    mode = 'fail';
    expect(await read.get()).toBe(1);
    mode = 'ok';
    expect(await read.get()).toBe(4);
    await expect(withDeadline(new Promise(() => undefined), 10, 'never')).rejects.toThrow(/never: no answer within 10 ms/);
  });
});
