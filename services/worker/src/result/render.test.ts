import { describe, expect, it } from 'vitest';
import { failedPage, type PageResult } from './page-result.ts';
import { renderMarkdown, renderText } from './render.ts';

const page = (n: number, paragraphs: string[]): PageResult => ({ page: n, engine: 'text_layer', paragraphs, text: paragraphs.join('\n\n'), chars: 1, ms: 1 });

describe('renderText', () => {
  it('separates pages with form feeds', () => {
    expect(renderText([page(1, ['a']), page(2, ['b'])])).toBe('a\n\fb');
  });
});

describe('renderMarkdown', () => {
  it('keeps paragraphs, marks pages, and escapes text that would become markdown syntax', () => {
    const md = renderMarkdown([page(1, ['# not a heading', 'plain\n- not a list\n1. not a list']), failedPage(2, 'page_failed', 'x')]);
    expect(md).toContain('<!-- page 1 -->\n\n\\# not a heading\n\nplain\n\\- not a list\n\\1. not a list');
    expect(md).toContain('<!-- page 2 -->\n\n> Page 2 could not be read (page_failed).');
  });
});
