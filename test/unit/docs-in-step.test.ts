import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ENV_SCHEMA, ERROR_CATALOG } from '@folio/shared';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

const envKeys = Object.keys(ENV_SCHEMA.shape);
const errorCodes = Object.keys(ERROR_CATALOG);

describe('configuration docs', () => {
  const envExample = read('.env.example');
  const configDoc = read('docs/CONFIGURATION.md');

  it.each(envKeys)('.env.example has a line for %s', (key) => {
    // `NAME=` or `# NAME=`: a mention in a comment alone does not count.
    expect(envExample).toMatch(new RegExp(`^(# )?${key}=`, 'm'));
  });

  it.each(envKeys)('docs/CONFIGURATION.md documents %s', (key) => {
    expect(configDoc).toContain(`\`${key}\``);
  });

  it('.env.example sets no variable the schema lacks', () => {
    const named = [...envExample.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect(named.filter((n) => !envKeys.includes(n as string))).toEqual([]);
  });
});

describe('docs/ERRORS.md', () => {
  const errorsDoc = read('docs/ERRORS.md');

  it.each(errorCodes)('documents `%s`', (code) => {
    expect(errorsDoc).toContain(`\`${code}\``);
  });

  it('has no table row for a code the catalog lacks', () => {
    const rowCodes = [...errorsDoc.matchAll(/^\|\s*`([^`]+)`/gm)].map((m) => m[1]);
    expect(rowCodes.length).toBeGreaterThan(0);
    expect(rowCodes.filter((c) => !errorCodes.includes(c as string))).toEqual([]);
  });

  it('has one row per code', () => {
    const rowCodes = [...errorsDoc.matchAll(/^\|\s*`([^`]+)`/gm)].map((m) => m[1]);
    expect([...rowCodes].sort()).toEqual([...errorCodes].sort());
  });
});
