import fs from 'node:fs';
import { openPdf, buildPageText, isTextItem } from '@folio/shared';
const bytes = new Uint8Array(fs.readFileSync('../shared/corpus/born-digital/freeculture.pdf'));
const t0 = performance.now();
const pdf = await openPdf(bytes);
console.log('open', Math.round(performance.now() - t0));
const times: Array<[number, number]> = [];
for (let n = 1; n <= pdf.numPages; n++) {
  const s = performance.now();
  const page = await pdf.doc.getPage(n);
  const c = await page.getTextContent();
  buildPageText(c.items.filter(isTextItem));
  page.cleanup();
  times.push([n, performance.now() - s]);
}
console.log('total', Math.round(performance.now() - t0));
console.log(times.sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, t]) => `${n}:${Math.round(t)}`).join(' '));
await pdf.close();
