import fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FolioClient } from '../sdk/client.ts';
import { FolioError } from '../sdk/errors.ts';
import { JOB_STATUSES, type JobStatus, type ProcessOptions, type ResultFormat } from '../sdk/types.ts';
import { Display, type DisplayMode } from './display.ts';
import { FORMATS, ingest, type FormatFlag } from './ingest.ts';
import { DEFAULT_SERVER, clientSettings } from './settings.ts';

const HELP = `folio — the Folio command line

Usage:
  folio ingest <files|dirs|globs...> --out DIR [options]   process PDFs in bulk (resumable)
  folio jobs [--status STATUS] [--limit N]                 your recent jobs
  folio result JOB_ID [--format markdown|text|json]        a job's result on stdout
  folio wait JOB_ID                                        wait for a job to finish
  folio cancel JOB_ID                                      cancel (or delete) a job
  folio keys add PROVIDER [--key KEY] [--name N] [--environment E]   store a provider key (admin; key from stdin when --key is absent)
  folio keys list PROVIDER                                 the provider's keys (admin)
  folio keys remove PROVIDER NAME                          delete a key (admin)
  folio usage [--from YYYY-MM-DD] [--to YYYY-MM-DD]        usage totals

Connection (every command):
  --server URL        default: $FOLIO_URL, else ${DEFAULT_SERVER}
  --token TOKEN       default: $FOLIO_TOKEN
  --json              machine-readable output (ingest: one JSON object per line)

ingest:
  --out DIR           where results, summary.json and .folio-state.json go (required)
  --concurrency N     files in flight at once (default 4)
  --format LIST       md,txt,json (default: all three)
  --quiet             print nothing but errors
  --retry-failed      process files that failed in an earlier run again
  --ocr auto|always|never   --languages eng+fra   --dpi N   --password P
  --ai-provider ID    --model M   --quality high|balanced|low_cost
  --fallback cascade|none     --budget USD     --advanced

Exit codes: 0 all files done, 1 some failed (or an error), 2 usage error, 130 interrupted.
`;

const OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  out: { type: 'string', short: 'o' },
  concurrency: { type: 'string', short: 'c' },
  format: { type: 'string', short: 'f' },
  quiet: { type: 'boolean', short: 'q' },
  'retry-failed': { type: 'boolean' },
  ocr: { type: 'string' },
  languages: { type: 'string' },
  dpi: { type: 'string' },
  password: { type: 'string' },
  'ai-provider': { type: 'string' },
  model: { type: 'string' },
  quality: { type: 'string' },
  fallback: { type: 'string' },
  budget: { type: 'string' },
  advanced: { type: 'boolean' },
  status: { type: 'string' },
  limit: { type: 'string' },
  key: { type: 'string' },
  name: { type: 'string' },
  environment: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} satisfies ParseArgsConfig['options'];

class UsageError extends Error {}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

export async function main(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
  } catch (err) {
    process.stderr.write(`folio: ${(err as Error).message}\nRun folio --help for usage.\n`);
    return 2;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  const settings = clientSettings({ server: values.server, token: values.token });
  const client = new FolioClient({ baseUrl: settings.server, ...(settings.token ? { token: settings.token } : {}) });
  const print = (human: string, json: unknown) => process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${human}\n`);

  try {
    switch (command) {
      case 'ingest': {
        if (rest.length === 0) throw new UsageError('ingest needs at least one file, directory or glob');
        if (!values.out) throw new UsageError('ingest needs --out DIR');
        const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError('--concurrency must be an integer from 1 to 64');
        const formats = (values.format ?? 'md,txt,json').split(',').map((f) => f.trim()).filter(Boolean);
        for (const f of formats) if (!(f in FORMATS)) throw new UsageError(`--format: unknown format ${f} (md, txt, json)`);
        const mode: DisplayMode = values.json ? 'json' : values.quiet ? 'quiet' : process.stdout.isTTY ? 'tty' : 'plain';
        const controller = new AbortController();
        const onSigint = () => {
          if (controller.signal.aborted) process.exit(130);
          process.stderr.write('\nfolio: interrupted; jobs already submitted keep running on the server. Run the same command again to resume.\n');
          controller.abort();
        };
        process.on('SIGINT', onSigint);
        try {
          return await ingest(
            { inputs: rest, out: values.out, concurrency, formats: formats as FormatFlag[], options: processOptions(values), retryFailed: values['retry-failed'] === true, server: settings.server },
            client,
            new Display(mode),
            controller.signal,
          );
        } finally {
          process.off('SIGINT', onSigint);
        }
      }
      case 'jobs': {
        if (values.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(values.status)) throw new UsageError(`--status must be one of ${JOB_STATUSES.join(', ')}`);
        const list = await client.listJobs({
          ...(values.status ? { status: values.status as JobStatus } : {}),
          ...(values.limit ? { limit: Number(values.limit) } : {}),
        });
        const rows = list.jobs.map((j) => `${j.job_id}  ${j.status.padEnd(10)}  ${String(j.progress.pages_done).padStart(5)}/${String(j.progress.pages_total ?? '?').padEnd(5)}  ${j.timings.created_at}  ${j.filename}${j.error ? `  ${j.error.code}` : ''}`);
        print(rows.length > 0 ? rows.join('\n') : 'no jobs', list);
        return 0;
      }
      case 'result': {
        const id = rest[0];
        if (!id) throw new UsageError('result needs a job id');
        const format = (values.format ?? 'markdown') as string;
        const api: ResultFormat | undefined = format in FORMATS ? FORMATS[format as FormatFlag].api : (['json', 'text', 'markdown'] as const).find((f) => f === format);
        if (!api) throw new UsageError('--format must be markdown (md), text (txt) or json');
        const body = api === 'json' ? `${JSON.stringify(await client.result(id, 'json'), null, 2)}\n` : await client.result(id, api);
        process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
        return 0;
      }
      case 'wait': {
        const id = rest[0];
        if (!id) throw new UsageError('wait needs a job id');
        const job = await client.waitFor(id, {
          onProgress: (j) => {
            if (!values.json) process.stderr.write(`${j.status} ${j.progress.pages_done}/${j.progress.pages_total ?? '?'} pages\n`);
          },
        });
        print(`${job.job_id} ${job.status}${job.error ? ` ${job.error.code}: ${job.error.message}` : ''}`, job);
        return job.status === 'completed' || job.status === 'partial' ? 0 : 1;
      }
      case 'cancel': {
        const id = rest[0];
        if (!id) throw new UsageError('cancel needs a job id');
        const r = await client.cancel(id);
        print(`${r.job_id} ${r.status}`, r);
        return 0;
      }
      case 'keys': {
        const [sub, provider, name] = rest;
        if (!provider || !['add', 'list', 'remove'].includes(sub ?? '')) throw new UsageError('keys add|list|remove PROVIDER …');
        if (sub === 'add') {
          const key = values.key ?? fs.readFileSync(0, 'utf8').trim();
          if (!key) throw new UsageError('keys add: give the key with --key or on stdin');
          const k = await client.addKey(provider, key, { ...(values.name ? { keyName: values.name } : {}), ...(values.environment ? { environment: values.environment } : {}) });
          print(`stored ${k.provider}/${k.key_name} (${k.environment}) …${k.last4} ${k.fingerprint}`, k);
        } else if (sub === 'list') {
          const l = await client.listKeys(provider);
          print(l.keys.length > 0 ? l.keys.map((k) => `${k.key_name}  ${k.environment}  ${k.status}  …${k.last4}  ${k.fingerprint}  ${k.updated_at}`).join('\n') : 'no keys', l);
        } else {
          if (!name) throw new UsageError('keys remove PROVIDER NAME');
          const d = await client.removeKey(provider, name);
          print(`deleted ${d.provider}/${d.key_name} (${d.deleted})`, d);
        }
        return 0;
      }
      case 'usage': {
        const u = await client.usage({ ...(values.from ? { from: values.from } : {}), ...(values.to ? { to: values.to } : {}) });
        const lines = [`tenant ${u.tenant ?? 'all'}: cost $${u.totals.cost_usd.toFixed(4)}`, ...Object.entries(u.totals).filter(([k]) => k !== 'cost_usd').map(([k, v]) => `  ${k}: ${v}`)];
        for (const [p, t] of Object.entries(u.by_provider)) lines.push(`  ${p}: $${t.cost_usd.toFixed(4)}`);
        print(lines.join('\n'), u);
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`folio: ${err.message}\nRun folio --help for usage.\n`);
      return 2;
    }
    if (err instanceof FolioError) {
      if (values.json) process.stdout.write(`${JSON.stringify({ error: { code: err.code, status: err.status, message: err.message, details: err.details, request_id: err.requestId } })}\n`);
      else process.stderr.write(`folio: ${err.code}: ${err.message}${err.requestId ? ` (request ${err.requestId})` : ''}\n`);
      return 1;
    }
    throw err;
  }
}

/** The processing options of the option flags (API field names). */
function processOptions(v: Values): ProcessOptions {
  const o: ProcessOptions = {};
  if (v.ocr !== undefined) {
    if (!['auto', 'always', 'never'].includes(v.ocr)) throw new UsageError('--ocr must be auto, always or never');
    o.ocr = v.ocr as ProcessOptions['ocr'];
  }
  if (v.languages !== undefined) o.languages = v.languages;
  if (v.dpi !== undefined) o.dpi = Number(v.dpi);
  if (v.password !== undefined) o.password = v.password;
  if (v['ai-provider'] !== undefined) o.ai_provider = v['ai-provider'];
  if (v.model !== undefined) o.model = v.model;
  if (v.quality !== undefined) o.quality = v.quality as ProcessOptions['quality'];
  if (v.fallback !== undefined) o.fallback_strategy = v.fallback as ProcessOptions['fallback_strategy'];
  if (v.budget !== undefined) {
    const b = Number(v.budget);
    if (!(b > 0)) throw new UsageError('--budget must be a positive number of USD');
    o.budget_constraint = b;
  }
  if (v.advanced) o.use_advanced_comprehension = true;
  return o;
}

process.exitCode = await main(process.argv.slice(2));
