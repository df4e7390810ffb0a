/**
 * Character error rate: Levenshtein distance between the OCR text and the ground truth, with
 * whitespace folded (runs of whitespace become one space, ends trimmed), over the truth's length.
 */
export function cer(hypothesis: string, truth: string): { errors: number; length: number; rate: number } {
  const norm = (s: string) => s.replace(/\s+/g, ' ').trim();
  const a = norm(hypothesis);
  const b = norm(truth);
  const errors = levenshtein(a, b);
  return { errors, length: b.length, rate: b.length === 0 ? (a.length === 0 ? 0 : 1) : errors / b.length };
}

export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}
