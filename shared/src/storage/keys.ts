/**
 * Object-store layout: everything of a job lives under one prefix, so deleting a job (cancel,
 * retention) is one prefix deletion.
 */
export const objectKeys = {
  jobPrefix: (jobId: string) => `jobs/${jobId}/`,
  source: (jobId: string) => `jobs/${jobId}/source.pdf`,
  pageChunk: (jobId: string, firstPage: number) => `jobs/${jobId}/pages/${String(firstPage).padStart(5, '0')}.json`,
  ocrPage: (jobId: string, page: number) => `jobs/${jobId}/pages/ocr-${String(page).padStart(5, '0')}.json`,
  result: (jobId: string, format: ResultFormat) => `jobs/${jobId}/document.${RESULT_EXTENSIONS[format]}`,
} as const;

export const RESULT_FORMATS = ['json', 'text', 'markdown'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

const RESULT_EXTENSIONS: Record<ResultFormat, string> = { json: 'json', text: 'txt', markdown: 'md' };

export const RESULT_CONTENT_TYPES: Record<ResultFormat, string> = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
};
