/** One page of a document's result, as chunk files and `document.json` hold it. */
export interface PageResult {
  page: number;
  engine: 'text_layer' | 'none';
  text: string;
  paragraphs: string[];
  chars: number;
  ms: number;
  error?: { code: string; message: string };
}

export interface ChunkFile {
  jobId: string;
  firstPage: number;
  lastPage: number;
  pages: PageResult[];
}

export function failedPage(page: number, code: string, message: string): PageResult {
  return { page, engine: 'none', text: '', paragraphs: [], chars: 0, ms: 0, error: { code, message } };
}
