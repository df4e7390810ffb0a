import { COMPONENT_SCHEMAS, type JsonSchema } from './json-schema.ts';
import { HTTP_METHODS, type MediaType, type OpenApiDocument, type Operation, type Parameter, type Reference, type ResponseObject } from './types.ts';

/**
 * `/docs`: the OpenAPI document rendered once, on the server, as one HTML page — no script, no
 * stylesheet or font from elsewhere, so it works on an air-gapped host and under a CSP that allows
 * nothing but its own inline style. (Swagger UI's npm package pulls a telemetry postinstall; a UI
 * bundle would also be megabytes of JavaScript for what is a reference page.)
 */

/** Sent with the page: nothing may load, run or frame it; only the inline style applies. */
export const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The little markdown the document's texts use: paragraphs and `code`. */
const prose = (s: string): string =>
  s
    .split(/\n{2,}/)
    .map((para) => `<p>${esc(para).replace(/`([^`]+)`/g, '<code>$1</code>')}</p>`)
    .join('');

const inline = (s: string): string => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

const anchor = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '-');

function isRef(x: unknown): x is Reference {
  return typeof x === 'object' && x !== null && typeof (x as Reference).$ref === 'string';
}

/** One line saying what a schema is: a link to a named schema, a type with its constraints, or a union. */
function schemaSummary(s: JsonSchema): string {
  if (typeof s.$ref === 'string') {
    const name = s.$ref.startsWith(COMPONENT_SCHEMAS) ? s.$ref.slice(COMPONENT_SCHEMAS.length) : s.$ref;
    return `<a href="#schema-${anchor(name)}">${esc(name)}</a>`;
  }
  const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  if (union) return union.map((u) => (u.type === 'null' ? '<span class="t">null</span>' : schemaSummary(u))).join(' | ');
  if ('const' in s) return `<code>${esc(JSON.stringify(s.const))}</code>`;
  const parts: string[] = [];
  if (s.type === 'array') {
    parts.push(Array.isArray(s.prefixItems) ? `[${(s.prefixItems as JsonSchema[]).map(schemaSummary).join(', ')}]` : `array of ${s.items ? schemaSummary(s.items as JsonSchema) : 'anything'}`);
  } else if (s.type === 'object' && s.properties === undefined && typeof s.additionalProperties === 'object') {
    parts.push(`map of ${schemaSummary(s.additionalProperties as JsonSchema)}`);
  } else if (typeof s.type === 'string') {
    parts.push(`<span class="t">${esc(s.type)}</span>`);
  } else if (s.type === undefined && s.properties === undefined) {
    parts.push('<span class="t">any</span>');
  }
  if (typeof s.format === 'string') parts.push(`<span class="c">${esc(s.format)}</span>`);
  if (typeof s.contentMediaType === 'string') parts.push(`<span class="c">${esc(s.contentMediaType)}</span>`);
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((v) => `<code>${esc(String(v))}</code>`).join(', ')}`);
  const bounds: Array<[string, string]> = [
    ['minimum', '≥'],
    ['exclusiveMinimum', '>'],
    ['maximum', '≤'],
    ['exclusiveMaximum', '<'],
    ['minLength', 'length ≥'],
    ['maxLength', 'length ≤'],
    ['minItems', 'items ≥'],
  ];
  for (const [k, label] of bounds) if (typeof s[k] === 'number') parts.push(`<span class="c">${label} ${String(s[k])}</span>`);
  if (typeof s.pattern === 'string') parts.push(`<span class="c">matches <code>${esc(s.pattern)}</code></span>`);
  if (s.default !== undefined) parts.push(`<span class="c">default <code>${esc(JSON.stringify(s.default))}</code></span>`);
  return parts.join(' ');
}

/** A schema with its properties (recursively, inline objects only; named schemas are links). */
function schemaHtml(s: JsonSchema, depth = 0): string {
  const head = `${schemaSummary(s)}${typeof s.description === 'string' ? ` <span class="d">${inline(s.description)}</span>` : ''}`;
  const union = (s.oneOf ?? s.anyOf) as JsonSchema[] | undefined;
  if (union && depth < 6 && union.some((u) => u.properties !== undefined)) {
    return `${head}<ul>${union.map((u) => `<li>${schemaHtml(u, depth + 1)}</li>`).join('')}</ul>`;
  }
  const props = s.properties as Record<string, JsonSchema> | undefined;
  if (props === undefined || depth >= 6) return head;
  const required = new Set((s.required as string[] | undefined) ?? []);
  const rows = Object.entries(props).map(([name, p]) => {
    const child = p.type === 'array' && p.items && (p.items as JsonSchema).properties ? (p.items as JsonSchema) : p;
    const nested = child.properties !== undefined || (child.oneOf ?? child.anyOf) !== undefined;
    return `<li><code class="p">${esc(name)}</code>${required.has(name) ? '<span class="req" title="required">*</span>' : ''} ${nested && child !== p ? `array of ${schemaHtml(child, depth + 1)}` : schemaHtml(p, depth + 1)}</li>`;
  });
  return `${s.type === 'object' && depth > 0 ? '' : head}<ul>${rows.join('')}</ul>`;
}

function parametersHtml(doc: OpenApiDocument, params: Array<Parameter | Reference>): string {
  const rows = params.map((x) => {
    const prm = isRef(x) ? doc.components.parameters[x.$ref.split('/').pop() ?? ''] : x;
    if (prm === undefined) return '';
    return `<tr><td><code>${esc(prm.name)}</code>${prm.required ? '<span class="req">*</span>' : ''}</td><td>${prm.in}</td><td>${schemaSummary(prm.schema)}${prm.description ? `<div class="d">${inline(prm.description)}</div>` : ''}</td></tr>`;
  });
  return `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>schema</th></tr>${rows.join('')}</table>`;
}

const mediaHtml = (content: Record<string, MediaType>): string =>
  Object.entries(content)
    .map(([type, m]) => `<div class="media"><span class="mt">${esc(type)}</span> ${schemaHtml(m.schema)}</div>`)
    .join('');

function responsesHtml(doc: OpenApiDocument, responses: Record<string, ResponseObject | Reference>): string {
  const rows = Object.entries(responses).map(([status, r]) => {
    const res = isRef(r) ? doc.components.responses[r.$ref.split('/').pop() ?? ''] : r;
    if (res === undefined) return '';
    const headers = Object.entries(res.headers ?? {})
      .map(([h, v]) => `<div class="d">header <code>${esc(h)}</code>: ${inline(v.description)}</div>`)
      .join('');
    // A shared error response: its codes are in the description; the body is the Error shape.
    const body = isRef(r) ? `<div class="media"><span class="mt">application/json</span> <a href="#schema-Error">Error</a></div>` : res.content ? mediaHtml(res.content) : '';
    return `<tr><td class="st s${status[0]}">${esc(status)}</td><td>${prose(res.description)}${headers}${body}</td></tr>`;
  });
  return `<h4>Responses</h4><table>${rows.join('')}</table>`;
}

function operationHtml(doc: OpenApiDocument, path: string, method: string, op: Operation): string {
  const access = op.security?.length === 0 ? '<span class="badge pub">public</span>' : op['x-folio-role'] ? `<span class="badge adm">${esc(op['x-folio-role'])} role</span>` : '<span class="badge">token</span>';
  const body = op.requestBody;
  const parts = [
    op.description ? prose(op.description) : '',
    op.parameters?.length ? parametersHtml(doc, op.parameters) : '',
    body ? `<h4>Request body${body.required ? '' : ' (optional)'}</h4>${body.description ? prose(body.description) : ''}${mediaHtml(body.content)}` : '',
    responsesHtml(doc, op.responses),
    `<p class="d">operationId <code>${esc(op.operationId)}</code></p>`,
  ];
  const summary = `<span class="m ${method}">${method.toUpperCase()}</span> <code class="path">${esc(path)}</code> <span class="sum">${inline(op.summary)}</span> ${access}`;
  return `<details id="op-${anchor(op.operationId)}"><summary>${summary}</summary><div class="op">\n${parts.filter((x) => x !== '').join('\n')}\n</div></details>`;
}

export function renderDocsPage(doc: OpenApiDocument): string {
  const byTag = new Map<string, Array<{ path: string; method: string; op: Operation }>>(doc.tags.map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      for (const tag of op.tags) byTag.get(tag)?.push({ path, method, op });
    }
  }
  const nav = doc.tags
    .map((t) => `<li><a href="#tag-${anchor(t.name)}">${esc(t.name)}</a><ul>${(byTag.get(t.name) ?? []).map(({ path, method, op }) => `<li><a href="#op-${anchor(op.operationId)}"><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}</a></li>`).join('')}</ul></li>`)
    .join('');
  const sections = doc.tags
    .map((t) => `<section id="tag-${anchor(t.name)}"><h2>${esc(t.name)}</h2>${prose(t.description)}${(byTag.get(t.name) ?? []).map(({ path, method, op }) => operationHtml(doc, path, method, op)).join('\n')}</section>`)
    .join('\n');
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, s]) => `<details id="schema-${anchor(name)}" class="schema"><summary><code>${esc(name)}</code></summary><div class="op">${schemaHtml(s)}</div></details>`)
    .join('\n');
  const auth = Object.entries(doc.components.securitySchemes)
    .map(([name, s]) => `<p><code>${esc(name)}</code>: HTTP ${esc(s.scheme)} — ${inline(s.description)}</p>`)
    .join('');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} ${esc(doc.info.version)}</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#fafbfc}
.wrap{display:grid;grid-template-columns:minmax(14rem,20rem) 1fr;min-height:100vh}
nav{background:#1d2330;color:#cfd6e2;padding:1rem;position:sticky;top:0;height:100vh;overflow:auto;font-size:13px}
nav a{color:#cfd6e2;text-decoration:none}nav ul{list-style:none;padding-left:.6rem;margin:.2rem 0}nav>ul{padding:0}
main{padding:1.5rem 2rem;max-width:72rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em;background:#eef1f5;padding:0 .25em;border-radius:3px}
details{border:1px solid #dde2ea;border-radius:6px;margin:.5rem 0;background:#fff}
summary{cursor:pointer;padding:.45rem .7rem}.op{padding:0 1rem .6rem;border-top:1px solid #eef1f5}
.m{display:inline-block;min-width:3.6rem;text-align:center;font:600 12px ui-monospace,monospace;border-radius:3px;padding:.1rem .3rem;color:#fff}
.get{background:#2f6fd6}.post{background:#1f9d55}.patch{background:#b7791f}.delete{background:#c53030}.put{background:#6b46c1}
.path{background:none;font-weight:600}.sum{color:#4a5568}.badge{font-size:11px;border:1px solid #a0aec0;border-radius:9px;padding:0 .45rem;color:#4a5568}
.badge.pub{border-color:#68d391;color:#276749}.badge.adm{border-color:#f6ad55;color:#9c4221}
table{border-collapse:collapse;width:100%;margin:.3rem 0}td,th{border-top:1px solid #eef1f5;padding:.3rem .5rem;vertical-align:top;text-align:left}
.st{font-weight:700;width:3.5rem}.s2{color:#1f9d55}.s4{color:#b7791f}.s5{color:#c53030}
.t{color:#6b46c1}.c,.d{color:#5a6473;font-size:13px}.req{color:#c53030;margin-left:1px}.mt{font:12px ui-monospace,monospace;color:#2f6fd6}
ul{margin:.2rem 0;padding-left:1.2rem}td p{margin:.1rem 0}h4{margin:.8rem 0 .2rem}
</style></head>
<body><div class="wrap"><nav><p><strong>${esc(doc.info.title)}</strong> ${esc(doc.info.version)}</p><p><a href="/openapi.json">openapi.json</a></p><ul>${nav}<li><a href="#schemas">Schemas</a></li></ul></nav>
<main><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>
<p>${inline(doc.info.summary)}</p>${prose(doc.info.description)}
<p>The machine-readable description: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI ${esc(doc.openapi)}). <span class="req">*</span> marks required fields.</p>
<h2>Authentication</h2>${auth}
${sections}
<section id="schemas"><h2>Schemas</h2>${schemas}</section>
</main></div></body></html>
`;
}
