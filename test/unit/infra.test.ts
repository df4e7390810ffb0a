/**
 * The deployment files stay valid and in step with Folio: every YAML/JSON file under infra/ and
 * docker-compose.yml parses; the compose file, the Kubernetes manifests, the Grafana dashboard and
 * the alert rules have the structure the docs promise; dashboards and rules name only metrics
 * Folio defines (METRICS below, documented in docs/OPERATIONS.md); and promtool checks the
 * Prometheus config, the rules and their unit tests, and the PromQL of the dashboard.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ENV_SCHEMA } from '@folio/shared';

const root = path.resolve(import.meta.dirname, '../..');
const abs = (rel: string) => path.join(root, rel);
const read = (rel: string) => fs.readFileSync(abs(rel), 'utf8');

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Every metric Folio exposes, with its labels (besides `role`, set on all, and Prometheus's `job`
 * and `instance`). Dashboards, rules and the autoscaler may name only these; docs/OPERATIONS.md
 * documents each one.
 */
const METRICS: Record<string, { type: 'counter' | 'gauge' | 'histogram'; labels: string[] }> = {
  // shared/src/metrics/registry.ts
  folio_http_requests_total: { type: 'counter', labels: ['method', 'route', 'status'] },
  folio_http_request_duration_seconds: { type: 'histogram', labels: ['method', 'route'] },
  folio_jobs_finished_total: { type: 'counter', labels: ['status'] },
  folio_pages_processed_total: { type: 'counter', labels: ['engine', 'outcome'] },
  folio_job_duration_seconds: { type: 'histogram', labels: ['status'] },
  folio_page_duration_seconds: { type: 'histogram', labels: ['engine'] },
  // shared/src/metrics/queue-metrics.ts (read from BullMQ on each scrape)
  folio_queue_jobs: { type: 'gauge', labels: ['queue', 'state'] },
  folio_workers: { type: 'gauge', labels: ['queue'] },
  // shared/src/metrics/cluster-metrics.ts (cluster-wide counters kept in Redis)
  folio_provider_requests_total: { type: 'counter', labels: ['provider', 'model', 'outcome'] },
  folio_provider_tokens_total: { type: 'counter', labels: ['provider', 'model', 'direction'] },
  folio_provider_cost_usd_total: { type: 'counter', labels: ['provider', 'model'] },
  folio_provider_latency_seconds: { type: 'histogram', labels: ['provider', 'model'] },
  folio_rate_limit_waits_total: { type: 'counter', labels: ['provider'] },
  folio_budget_rejections_total: { type: 'counter', labels: ['scope'] },
  folio_key_decryption_failures_total: { type: 'counter', labels: [] },
  // services/api/src/usage-metrics.ts (the usage ledger's aggregates)
  folio_usage_zero_priced_calls: { type: 'gauge', labels: [] },
  folio_usage_cost_usd: { type: 'gauge', labels: ['provider'] },
  // prom-client's default metrics, prefixed folio_ (createMetricsRegistry)
  folio_process_cpu_user_seconds_total: { type: 'counter', labels: [] },
  folio_process_cpu_system_seconds_total: { type: 'counter', labels: [] },
  folio_process_cpu_seconds_total: { type: 'counter', labels: [] },
  folio_process_start_time_seconds: { type: 'gauge', labels: [] },
  folio_process_resident_memory_bytes: { type: 'gauge', labels: [] },
  folio_process_virtual_memory_bytes: { type: 'gauge', labels: [] },
  folio_process_heap_bytes: { type: 'gauge', labels: [] },
  folio_process_open_fds: { type: 'gauge', labels: [] },
  folio_process_max_fds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_min_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_max_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_mean_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_stddev_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_p50_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_p90_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_eventloop_lag_p99_seconds: { type: 'gauge', labels: [] },
  folio_nodejs_active_resources: { type: 'gauge', labels: ['type'] },
  folio_nodejs_active_handles: { type: 'gauge', labels: ['type'] },
  folio_nodejs_active_requests: { type: 'gauge', labels: ['type'] },
  folio_nodejs_heap_size_total_bytes: { type: 'gauge', labels: [] },
  folio_nodejs_heap_size_used_bytes: { type: 'gauge', labels: [] },
  folio_nodejs_external_memory_bytes: { type: 'gauge', labels: [] },
  folio_nodejs_heap_space_size_total_bytes: { type: 'gauge', labels: ['space'] },
  folio_nodejs_heap_space_size_used_bytes: { type: 'gauge', labels: ['space'] },
  folio_nodejs_heap_space_size_available_bytes: { type: 'gauge', labels: ['space'] },
  folio_nodejs_version_info: { type: 'gauge', labels: ['version', 'major', 'minor', 'patch'] },
  folio_nodejs_gc_duration_seconds: { type: 'histogram', labels: ['kind'] },
};

/** Labels every series has once scraped (`role` is a default label of Folio's registries). */
const COMMON_LABELS = ['role', 'job', 'instance'];

const ALERTS = [
  'FolioQueueBacklogGrowing',
  'FolioJobFailureRatioHigh',
  'FolioProviderErrorRatioHigh',
  'FolioBudgetNearExhaustion',
  'FolioNoWorkerAlive',
  'FolioKeyDecryptionFailures',
  'FolioZeroPricedProviderCalls',
];

// ---------------------------------------------------------------------------------------------
// Helpers

function walk(dir: string): string[] {
  return fs.readdirSync(abs(dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    return e.isDirectory() ? walk(rel) : [rel];
  });
}

/** Every document of a YAML file (multi-document files allowed); parse errors fail the test. */
function yamlDocs(rel: string): Json[] {
  const docs = parseAllDocuments(read(rel), { merge: true }); // compose's `<<: *anchor`
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    const errors = d.errors.map((e) => e.message);
    if (errors.length > 0) throw new Error(`${rel}: ${errors.join('; ')}`);
  }
  return list.map((d) => d.toJS({ maxAliasCount: 100 })).filter((d) => d !== null && d !== undefined);
}

const yaml1 = (rel: string): Json => {
  const docs = yamlDocs(rel);
  if (docs.length !== 1) throw new Error(`${rel}: expected one document, got ${docs.length}`);
  return docs[0];
};

/** Metric names an expression uses (histogram series folded to their metric). */
function metricsIn(expr: string): string[] {
  const names = [...expr.matchAll(/\bfolio_[a-zA-Z0-9_]+/g)].map((m) => m[0]);
  return [...new Set(names.map((n) => {
    const base = n.replace(/_(bucket|sum|count)$/, '');
    return base !== n && METRICS[base]?.type === 'histogram' ? base : n;
  }))];
}

/** Label names an expression's selectors and `by`/`without` clauses use, against its metrics' labels. */
function unknownLabels(expr: string): string[] {
  const metrics = metricsIn(expr).filter((m) => METRICS[m] !== undefined);
  const known = new Set([...COMMON_LABELS, ...metrics.flatMap((m) => METRICS[m]!.labels)]);
  if (/_bucket\b/.test(expr)) known.add('le');
  const used: string[] = [];
  for (const m of expr.matchAll(/\bfolio_[a-zA-Z0-9_]+\{([^}]*)\}/g)) {
    for (const l of (m[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) used.push(l[1]!);
  }
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    used.push(...(m[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  }
  return [...new Set(used.filter((l) => !known.has(l)))];
}

/** GitHub's anchor of a Markdown heading. */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');

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

function run(bin: string, args: string[], cwd = root) {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

// ---------------------------------------------------------------------------------------------
// Every file parses

const infraFiles = walk('infra').filter((f) => /\.(ya?ml|json)$/.test(f));
const yamlFiles = [...infraFiles.filter((f) => !f.endsWith('.json')), 'docker-compose.yml'];
const jsonFiles = infraFiles.filter((f) => f.endsWith('.json'));

describe('infra files parse', () => {
  it('finds the files to check', () => {
    expect(yamlFiles.length).toBeGreaterThan(10);
    expect(jsonFiles).toContain('infra/grafana/dashboards/folio.json');
  });

  it.each(yamlFiles)('%s is valid YAML', (rel) => {
    expect(yamlDocs(rel).length).toBeGreaterThan(0);
  });

  it.each(jsonFiles)('%s is valid JSON', (rel) => {
    expect(() => JSON.parse(read(rel))).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

describe('docker-compose.yml', () => {
  const compose = yaml1('docker-compose.yml');
  const services = compose.services as Record<string, Json>;
  const envKeys = new Set(Object.keys(ENV_SCHEMA.shape));

  it('has the services of a scaled-out deployment', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'minio', 'minio-init', 'api', 'worker', 'prometheus', 'grafana']));
  });

  it('runs Redis with append-only persistence and noeviction', () => {
    const cmd = (services.redis.command as string[]).join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    expect(services.redis.volumes.join(' ')).toMatch(/:\/data\b/);
  });

  it('creates the MinIO bucket before Folio starts', () => {
    expect(JSON.stringify(services['minio-init'].entrypoint)).toMatch(/mc mb --ignore-existing local\/folio/);
    for (const name of ['api', 'worker']) {
      expect(services[name].depends_on['minio-init']).toEqual({ condition: 'service_completed_successfully' });
      expect(services[name].depends_on.redis).toEqual({ condition: 'service_healthy' });
    }
  });

  it('lets the worker scale with --scale (no container_name, no host ports)', () => {
    const w = services.worker;
    expect(w.container_name).toBeUndefined();
    expect(w.ports).toBeUndefined();
    expect(w.command).toEqual(['node', 'services/worker/src/main.ts']);
  });

  it('gives Folio only variables the configuration schema knows', () => {
    for (const name of ['api', 'worker']) {
      const unknown = Object.keys(services[name].environment).filter((k) => !envKeys.has(k));
      expect(unknown, name).toEqual([]);
    }
    expect(services.api.environment.BYOK_ENCRYPTION_KEY).toMatch(/^\$\{BYOK_ENCRYPTION_KEY:\?/);
  });

  it('mounts only files and directories that exist', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) expect(fs.existsSync(abs(src)), `${name}: ${v}`).toBe(true);
      }
    }
  });

  it('gives Prometheus its config and the rules that config loads', () => {
    const mounts = services.prometheus.volumes as string[];
    expect(mounts).toContain('./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(mounts).toContain('./infra/prometheus/rules:/etc/prometheus/rules:ro');
    const prom = yaml1('infra/prometheus/prometheus.yml');
    // rule_files are relative to the config file: the same relative paths hold in the container.
    for (const glob of prom.rule_files as string[]) {
      const [dir, pattern] = [path.posix.dirname(glob), path.posix.basename(glob)];
      const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
      const matches = fs.readdirSync(abs(path.posix.join('infra/prometheus', dir))).filter((f) => re.test(f));
      expect(matches, glob).toContain('folio.rules.yml');
      expect(matches, 'promtool test files are not rules').not.toContain('folio.rules.test.yml');
    }
  });

  it('scrapes the api and every worker replica by their compose DNS names', () => {
    const prom = yaml1('infra/prometheus/prometheus.yml');
    const jobs = Object.fromEntries((prom.scrape_configs as Json[]).map((j) => [j.job_name, j]));
    expect(jobs['folio-api'].static_configs[0].targets).toEqual(['api:5058']);
    expect(jobs['folio-worker'].dns_sd_configs[0]).toMatchObject({ names: ['worker'], type: 'A', port: 5058 });
  });

  it('provisions Grafana with the data source and the Folio dashboard', () => {
    const mounts = services.grafana.volumes as string[];
    expect(mounts).toContain('./infra/grafana/provisioning:/etc/grafana/provisioning:ro');
    const dash = mounts.find((m) => m.startsWith('./infra/grafana/dashboards:'));
    expect(dash).toBeDefined();
    const target = dash!.split(':')[1];
    const provider = yaml1('infra/grafana/provisioning/dashboards/folio.yml');
    expect(provider.providers[0].options.path).toBe(target);
    expect(services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${target}/folio.json`);
  });
});

// ---------------------------------------------------------------------------------------------
// Kubernetes

describe('infra/k8s', () => {
  const kustomization = yaml1('infra/k8s/kustomization.yaml');
  const resources = kustomization.resources as string[];
  const all = walk('infra/k8s').filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'));
  const objects = resources.flatMap((r) => yamlDocs(`infra/k8s/${r}`));
  const find = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
    if (!o) throw new Error(`no ${kind} ${name}`);
    return o;
  };
  const envKeys = new Set(Object.keys(ENV_SCHEMA.shape));
  const config = find('ConfigMap', 'folio-config');
  const secret = find('Secret', 'folio-secrets');

  it('lists every top-level manifest in kustomization.yaml, and only existing ones', () => {
    for (const r of resources) expect(fs.existsSync(abs(`infra/k8s/${r}`)), r).toBe(true);
    const topLevel = all.filter((f) => path.posix.dirname(f) === 'infra/k8s').map((f) => path.posix.basename(f));
    expect([...topLevel].sort()).toEqual([...resources].sort());
    expect(kustomization.namespace).toBe('folio');
  });

  it.each(all)('%s: every object has apiVersion, kind and a name', (rel) => {
    for (const o of yamlDocs(rel)) {
      expect(o.apiVersion, rel).toEqual(expect.any(String));
      expect(o.kind, rel).toEqual(expect.any(String));
      expect(o.metadata?.name, rel).toEqual(expect.any(String));
    }
  });

  it('configures Folio only with variables the schema knows, secrets as placeholders', () => {
    expect(Object.keys(config.data).filter((k) => !envKeys.has(k))).toEqual([]);
    expect(Object.keys(secret.stringData).filter((k) => !envKeys.has(k))).toEqual([]);
    expect(Object.keys(secret.stringData)).toEqual(expect.arrayContaining(['BYOK_ENCRYPTION_KEY', 'ADMIN_TOKEN', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']));
    for (const v of Object.values(secret.stringData)) expect(v).toMatch(/REPLACE-ME/);
    // No secret in the ConfigMap.
    for (const k of Object.keys(config.data)) expect(k).not.toMatch(/KEY|TOKEN|SECRET|PASSWORD|REDIS_URL/);
  });

  const podChecks = (name: string, portName: string) => {
    const d = find('Deployment', name);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels[k]).toBe(v);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(c.resources.limits.memory).toEqual(expect.any(String));
    expect(c.ports.map((p: Json) => p.name)).toContain(portName);
    expect(c.ports.find((p: Json) => p.name === portName).containerPort).toBe(Number(config.data.PORT));
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'folio-config' } }, { secretRef: { name: 'folio-secrets' } }]);
    // DATA_DIR is a writable emptyDir (the root file system is read-only), and so is /tmp.
    const mountAt = (p: string) => c.volumeMounts.find((m: Json) => m.mountPath === p);
    for (const p of [config.data.DATA_DIR, '/tmp']) {
      const m = mountAt(p);
      expect(m, p).toBeDefined();
      expect(pod.volumes.find((v: Json) => v.name === m.name).emptyDir).toBeDefined();
    }
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: portName });
    return { d, pod, c };
  };

  it('runs the API non-root, read-only, with /healthz and /readyz probes', () => {
    const { c } = podChecks('folio-api', 'http');
    expect(c.command).toEqual(['node', 'services/api/src/main.ts']);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const svc = find('Service', 'folio-api');
    expect(svc.spec.ports[0].targetPort).toBe('http');
    expect(svc.spec.selector).toEqual(find('Deployment', 'folio-api').spec.selector.matchLabels);
  });

  it('runs the worker with its command, metrics port and /healthz probes', () => {
    const { c, pod } = podChecks('folio-worker', 'metrics');
    expect(c.command).toEqual(['node', 'services/worker/src/main.ts']);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });

  it('scales the workers on the pages and ocr backlog with KEDA', () => {
    const so = find('ScaledObject', 'folio-worker');
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec.scaleTargetRef.name).toBe('folio-worker');
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    const trigger = so.spec.triggers[0];
    expect(trigger.type).toBe('prometheus');
    expect(trigger.metadata.query).toMatch(/folio_queue_jobs\{queue=~"pages\|ocr",state="waiting"\}/);
    expect(metricsIn(trigger.metadata.query).filter((m) => !METRICS[m])).toEqual([]);
    expect(Number(trigger.metadata.threshold)).toBeGreaterThan(0);
  });

  it('offers an HPA on an external metric as the alternative', () => {
    const [hpa] = yamlDocs('infra/k8s/alternatives/hpa-external-metric.yaml');
    expect(hpa.kind).toBe('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef.name).toBe('folio-worker');
    expect(hpa.spec.metrics[0].type).toBe('External');
  });

  const kubectl = which('kubectl');
  it.skipIf(!kubectl)(`kustomize builds the manifests${kubectl ? '' : ' (SKIPPED: kubectl is not on PATH)'}`, () => {
    const r = run(kubectl!, ['kustomize', 'infra/k8s']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/kind: ScaledObject/);
  });
});

// ---------------------------------------------------------------------------------------------
// Grafana

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(read('infra/grafana/dashboards/folio.json')) as Json;
  const datasource = yaml1('infra/grafana/provisioning/datasources/prometheus.yml').datasources[0];
  const panels = (dashboard.panels as Json[]).flatMap((p) => [p, ...((p.panels as Json[] | undefined) ?? [])]);
  const dataPanels = panels.filter((p) => p.type !== 'row');
  const exprs: string[] = dataPanels.flatMap((p) => (p.targets as Json[]).map((t) => t.expr as string));

  it('is a provisionable dashboard (uid, title, schemaVersion ≥ 36)', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.id ?? null).toBeNull();
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) expect(p.gridPos, p.title).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
  });

  it('queries the provisioned Prometheus data source by its uid in every panel and target', () => {
    expect(datasource.uid).toBeTruthy();
    for (const p of dataPanels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: datasource.uid });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) {
        expect(t.datasource, p.title).toEqual({ type: 'prometheus', uid: datasource.uid });
        expect(t.expr, p.title).toMatch(/\S/);
      }
    }
  });

  it('names only metrics and labels Folio defines', () => {
    const unknown = exprs.flatMap((e) => metricsIn(e).filter((m) => !METRICS[m]).map((m) => `${m} in ${e}`));
    expect(unknown).toEqual([]);
    const badLabels = exprs.flatMap((e) => unknownLabels(e).map((l) => `${l} in ${e}`));
    expect(badLabels).toEqual([]);
  });

  it('covers throughput, latency, backlog, engine mix, cost, errors, rate limits and budgets', () => {
    const used = new Set(exprs.flatMap(metricsIn));
    for (const m of [
      'folio_pages_processed_total', 'folio_jobs_finished_total', 'folio_http_request_duration_seconds', 'folio_page_duration_seconds',
      'folio_job_duration_seconds', 'folio_queue_jobs', 'folio_workers', 'folio_provider_cost_usd_total', 'folio_usage_cost_usd',
      'folio_http_requests_total', 'folio_provider_requests_total', 'folio_rate_limit_waits_total', 'folio_budget_rejections_total',
    ]) expect(used, m).toContain(m);
    expect(exprs.some((e) => /folio_http_requests_total\{[^}]*status=~"5\.\."/.test(e))).toBe(true);
    expect(exprs.some((e) => /histogram_quantile\(0\.95,.*folio_page_duration_seconds_bucket/.test(e))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Alert rules

describe('alert rules', () => {
  const rules = yaml1('infra/prometheus/rules/folio.rules.yml').groups.flatMap((g: Json) => g.rules) as Json[];
  const alerts = rules.filter((r) => r.alert);
  const ruleTests = yaml1('infra/prometheus/rules/folio.rules.test.yml');
  const operations = read('docs/OPERATIONS.md');
  const anchors = new Set([...operations.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));

  it('has the alerts of the runbook', () => {
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(ALERTS));
  });

  it.each(alerts.map((a) => [a.alert as string, a]))('%s has for, severity, summary, description and a runbook anchor that exists', (_name, a) => {
    expect(a.for).toMatch(/^\d+[smh]$/);
    expect(['warning', 'critical']).toContain(a.labels.severity);
    expect(a.annotations.summary).toMatch(/\S/);
    expect(a.annotations.description).toMatch(/\S/);
    const m = /^docs\/OPERATIONS\.md#([a-z0-9-]+)$/.exec(a.annotations.runbook_url);
    expect(m, a.annotations.runbook_url).not.toBeNull();
    expect(anchors, a.annotations.runbook_url).toContain(m![1]);
    expect(metricsIn(a.expr).filter((n) => !METRICS[n])).toEqual([]);
    expect(unknownLabels(a.expr)).toEqual([]);
  });

  it.each(alerts.map((a) => a.alert as string))('%s has promtool cases where it fires and where it does not', (name) => {
    const cases = (ruleTests.tests as Json[]).flatMap((t) => (t.alert_rule_test as Json[]).filter((c) => c.alertname === name));
    expect(cases.some((c) => (c.exp_alerts ?? []).length > 0), 'fires').toBe(true);
    expect(cases.some((c) => (c.exp_alerts ?? []).length === 0), 'does not fire').toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// docs/OPERATIONS.md

describe('docs/OPERATIONS.md', () => {
  const operations = read('docs/OPERATIONS.md');

  it.each(Object.keys(METRICS))('documents %s', (name) => {
    expect(operations).toContain(`\`${name}\``);
  });

  it('documents no folio_ metric Folio lacks', () => {
    // Whole names only (`folio_http_*` stands for a family); a histogram's series count as it.
    const named = [...operations.matchAll(/\b(folio_[a-z0-9_]*[a-z0-9])(?=[`{\[( ,.;:)]|$)/gm)].map((m) => m[1]!);
    expect([...new Set(named.filter((n) => !METRICS[n] && !METRICS[n.replace(/_(bucket|sum|count)$/, '')]))]).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// promtool

const promtool = which('promtool');
describe.skipIf(!promtool)(
  promtool ? 'promtool' : 'promtool (SKIPPED: promtool is not on PATH; `apt-get install prometheus` provides it, .ci/run installs it)',
  () => {
    it('check config: infra/prometheus/prometheus.yml', () => {
      const r = run(promtool!, ['check', 'config', 'infra/prometheus/prometheus.yml']);
      expect(r.status, r.output).toBe(0);
      // The rules the config loads are checked with it.
      expect(r.output).toMatch(/folio\.rules\.yml/);
    });

    it('check rules: infra/prometheus/rules/folio.rules.yml', () => {
      const r = run(promtool!, ['check', 'rules', 'infra/prometheus/rules/folio.rules.yml']);
      expect(r.status, r.output).toBe(0);
    });

    it('test rules: every alert fires and stays quiet as its unit tests expect', () => {
      const r = run(promtool!, ['test', 'rules', 'folio.rules.test.yml'], abs('infra/prometheus/rules'));
      expect(r.status, r.output).toBe(0);
      expect(r.output).toMatch(/SUCCESS/);
    });

    it('the PromQL of the dashboard and of the autoscalers parses', () => {
      const dashboard = JSON.parse(read('infra/grafana/dashboards/folio.json')) as Json;
      const exprs: string[] = (dashboard.panels as Json[]).flatMap((p) => ((p.targets as Json[] | undefined) ?? []).map((t) => t.expr as string));
      exprs.push(yamlDocs('infra/k8s/keda-scaledobject.yaml')[0].spec.triggers[0].metadata.query);
      // Grafana's interval variables become plain durations.
      const group = {
        name: 'dashboard',
        rules: exprs.map((e, i) => ({ record: `folio_dashboard:expr_${i}`, expr: e.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h') })),
      };
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-promql-'));
      try {
        const file = path.join(dir, 'dashboard.rules.json');
        fs.writeFileSync(file, JSON.stringify({ groups: [group] }));
        const r = run(promtool!, ['check', 'rules', file]);
        expect(r.status, r.output).toBe(0);
        expect(r.output).toMatch(new RegExp(`${exprs.length} rules found`));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
