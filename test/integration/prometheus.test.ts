/**
 * A real Prometheus scrapes a Folio stack: after documents are processed it has a throughput
 * series (folio_pages_processed_total increasing) and the queue depth (folio_queue_jobs); Folio's
 * alert rules load and evaluate against the real series without error; and `promtool check
 * metrics` finds nothing to fix in /metrics. Needs the `prometheus` and `promtool` binaries
 * (Debian's `prometheus` package, which .ci/run installs); skipped, saying so, without them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitAndWait } from '../support/client.ts';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';

const RULES = path.resolve(import.meta.dirname, '../../infra/prometheus/rules/folio.rules.yml');
const DOC = corpusFile('born-digital/tracemonkey.pdf');

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

const prometheusBin = which('prometheus');
const promtoolBin = which('promtool');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!prometheusBin)(
  prometheusBin ? 'Prometheus scraping Folio' : 'Prometheus scraping Folio (SKIPPED: no `prometheus` binary on PATH; `apt-get install prometheus`, as .ci/run does)',
  () => {
    let stack: TestStack;
    let prom: ChildProcess | undefined;
    let promUrl = '';
    let dir = '';
    const promLog: string[] = [];

    /** Polls an instant query until `ok` accepts its result, or fails with the last one after `timeoutMs`. */
    async function waitForQuery(query: string, ok: (r: Sample[]) => boolean, timeoutMs = 30_000): Promise<Sample[]> {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      for (;;) {
        const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query })}`);
        const body = (await res.json()) as { status: string; data?: { result: Sample[] }; error?: string };
        if (body.status !== 'success') throw new Error(`${query}: ${body.error ?? res.status}`);
        last = body.data!.result;
        if (ok(body.data!.result)) return body.data!.result;
        if (Date.now() > deadline) throw new Error(`${query}: no acceptable answer within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${promLog.join('')}`);
        await sleep(500);
      }
    }

    beforeAll(async () => {
      stack = await startTestStack();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-prometheus-'));
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      const config = path.join(dir, 'prometheus.yml');
      fs.writeFileSync(
        config,
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          '  evaluation_interval: 1s',
          'rule_files:',
          `  - ${JSON.stringify(RULES)}`,
          'scrape_configs:',
          '  - job_name: folio',
          '    metrics_path: /metrics',
          '    static_configs:',
          `      - targets: [${JSON.stringify(new URL(stack.url).host)}]`,
          '',
        ].join('\n'),
      );
      prom = spawn(
        prometheusBin!,
        [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      prom.stderr!.on('data', (b: Buffer) => {
        if (promLog.length < 200) promLog.push(b.toString());
      });
      const exited = new Promise<never>((_, reject) => prom!.once('exit', (code) => reject(new Error(`prometheus exited (${code}):\n${promLog.join('')}`))));
      const ready = (async () => {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const r = await fetch(`${promUrl}/-/ready`).catch(() => undefined);
          if (r?.ok) return;
          if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${promLog.join('')}`);
          await sleep(200);
        }
      })();
      await Promise.race([ready, exited]);
      exited.catch(() => undefined);
    }, 60_000);

    afterAll(async () => {
      if (prom && prom.exitCode === null && prom.signalCode === null) {
        const gone = new Promise((r) => prom!.once('exit', r));
        prom.kill('SIGTERM');
        const timer = setTimeout(() => prom!.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      await stack?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('scrapes throughput and queue depth while documents are processed', async () => {
      await waitForQuery('up{job="folio"}', (r) => r[0]?.value[1] === '1');

      // The first document makes the page counter appear (at its first value, which increase()
      // cannot see); the second one increases it.
      const first = await submitAndWait(stack.url, DOC);
      expect(first.status).toBe('completed');
      await waitForQuery('folio_pages_processed_total', (r) => r.length > 0);
      const second = await submitAndWait(stack.url, DOC);
      expect(second.status).toBe('completed');

      const pages = await waitForQuery('sum by (engine) (increase(folio_pages_processed_total{outcome="ok"}[1m]))', (r) => r.some((s) => Number(s.value[1]) > 0));
      expect(pages.map((s) => s.metric.engine)).toContain('text_layer');

      // Queue depth: one series per queue and state, with the states the dashboard and KEDA use.
      const queue = await waitForQuery('folio_queue_jobs{queue="pages"}', (r) => r.length > 0);
      expect(queue.map((s) => s.metric.state)).toEqual(expect.arrayContaining(['waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed']));
      await waitForQuery('sum(max by (queue) (folio_queue_jobs{queue=~"pages|ocr",state="waiting"}))', (r) => r.length === 1 && Number.isFinite(Number(r[0]!.value[1])));
      // The stack's own workers are connected: FolioNoWorkerAlive's series.
      await waitForQuery('max by (queue) (folio_workers{queue="pages"})', (r) => Number(r[0]?.value[1]) >= 1);
    }, 120_000);

    it('loads the alert rules and evaluates them against the real series without error', async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
          data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
        };
        const rules = body.data.groups.flatMap((g) => g.rules);
        expect(rules.length).toBeGreaterThanOrEqual(7);
        const notOk = rules.filter((r) => r.health !== 'ok');
        if (notOk.length === 0) break;
        if (Date.now() > deadline) throw new Error(`rules not evaluated cleanly: ${JSON.stringify(notOk)}`);
        await sleep(500);
      }
      // No Folio alert is even pending on a healthy stack.
      const pending = await waitForQuery('ALERTS{alertname=~"Folio.*"}', () => true);
      expect(pending.map((s) => `${s.metric.alertname} ${s.metric.alertstate}`)).toEqual([]);
    }, 60_000);

    it('every folio_ metric on /metrics is documented in docs/OPERATIONS.md', async () => {
      const text = await (await fetch(`${stack.url}/metrics`)).text();
      const exposed = [...text.matchAll(/^# TYPE (folio_\w+) /gm)].map((m) => m[1]!);
      expect(exposed).toEqual(expect.arrayContaining(['folio_pages_processed_total', 'folio_queue_jobs', 'folio_workers']));
      const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/OPERATIONS.md'), 'utf8');
      expect(exposed.filter((m) => !doc.includes(`\`${m}\``))).toEqual([]);
    });

    it.skipIf(!promtoolBin)(`promtool check metrics finds no problem in /metrics${promtoolBin ? '' : ' (SKIPPED: no promtool)'}`, async () => {
      const text = await (await fetch(`${stack.url}/metrics`)).text();
      expect(text).toMatch(/^folio_pages_processed_total\{/m);
      const r = spawnSync(promtoolBin!, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    });
  },
);
