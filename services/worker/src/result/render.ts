import type { JobRecord } from '@folio/shared';
import type { PageResult } from './page-result.ts';

/** Plain text: pages separated by a form feed, as pdftotext does, so page numbers can be recovered. */
export function renderText(pages: readonly PageResult[]): string {
  return pages.map((p) => p.text).join('\n\f');
}

/** Characters that would turn the start of a line into markdown syntax. */
const MD_LINE_START = /^(\s*)([#>*+\-=|]|\d+[.)]\s|```|~~~)/;

function escapeMarkdownLine(line: string): string {
  return line.replace(MD_LINE_START, (_m, ws: string, tok: string) => `${ws}\\${tok}`);
}

/** Markdown: paragraphs kept, each page opened by an HTML comment naming it. */
export function renderMarkdown(pages: readonly PageResult[]): string {
  return pages
    .map((p) => {
      const body = p.paragraphs.map((para) => para.split('\n').map(escapeMarkdownLine).join('\n')).join('\n\n');
      const head = `<!-- page ${p.page} -->`;
      if (p.error) return `${head}\n\n> Page ${p.page} could not be read (${p.error.code}).`;
      return body.length > 0 ? `${head}\n\n${body}` : head;
    })
    .join('\n\n')
    .concat('\n');
}

export function renderJson(job: JobRecord, pages: readonly PageResult[], status: string): unknown {
  const costMicroUsd = pages.reduce((sum, p) => sum + (p.cost_micro_usd ?? 0), 0);
  return {
    job_id: job.id,
    status,
    filename: job.filename,
    sha256: job.sha256,
    page_count: pages.length,
    engines: countBy(pages.map((p) => p.engine)),
    cost: { micro_usd: costMicroUsd, usd: costMicroUsd / 1e6 },
    ...(job.optimization === undefined ? {} : { byok_optimization: { ...(job.optimization as object), actual_cost_usd: costMicroUsd / 1e6 } }),
    pages: pages.map((p) => ({
      page: p.page,
      engine: p.engine,
      ...(p.classification ? { classification: p.classification } : {}),
      text: p.text,
      chars: p.chars,
      ...(p.confidence === undefined ? {} : { confidence: p.confidence }),
      timing_ms: p.ms,
      ...(p.render ? { render: p.render, ocr_ms: p.ocr_ms } : {}),
      ...(p.model ? { model: p.model } : {}),
      ...(p.tokens ? { tokens: p.tokens, cost_usd: (p.cost_micro_usd ?? 0) / 1e6 } : {}),
      ...(p.attempts ? { attempts: p.attempts } : {}),
      ...(p.words ? { words: p.words } : {}),
      ...(p.error ? { error: p.error } : {}),
    })),
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
