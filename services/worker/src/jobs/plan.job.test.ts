import { describe, expect, it } from 'vitest';
import { chunkPages } from './plan.job.ts';
import { chunkFailureCode } from './assemble.job.ts';

describe('chunkPages', () => {
  it('covers every page once, in runs of at most the chunk size', () => {
    expect(chunkPages(10, 4)).toEqual([
      { firstPage: 1, lastPage: 4 },
      { firstPage: 5, lastPage: 8 },
      { firstPage: 9, lastPage: 10 },
    ]);
    expect(chunkPages(1, 32)).toEqual([{ firstPage: 1, lastPage: 1 }]);
    const big = chunkPages(352, 32);
    expect(big).toHaveLength(11);
    expect(big.reduce((n, c) => n + c.lastPage - c.firstPage + 1, 0)).toBe(352);
  });
});

describe('chunkFailureCode', () => {
  it('reads a crashed or out-of-memory worker thread as page_too_large', () => {
    expect(chunkFailureCode('Unexpected exit code: 1 signal: null')).toBe('page_too_large');
    expect(chunkFailureCode('ERR_WORKER_OUT_OF_MEMORY')).toBe('page_too_large');
    expect(chunkFailureCode('The page took longer than 100 ms')).toBe('page_timeout');
    expect(chunkFailureCode('socket hang up')).toBe('page_failed');
  });
});
