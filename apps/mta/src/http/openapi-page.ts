import type { OpenApiDocument, OperationObject, ResponseObject } from './openapi-document.js';
import type { JsonSchema, ParameterObject } from './openapi-schema.js';

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** `text` safe in HTML content and in a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Escaped text with `code` spans and `**bold**`, the only markup the descriptions use. */
function prose(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => `<p>${prose(p)}</p>`)
    .join('');
}

/** A one-line reading of a schema's type, for the parameter table. */
function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(' | ');
  if ('const' in schema) return JSON.stringify(schema.const);
  if (schema.type === 'array' && schema.items) return `${typeOf(schema.items as JsonSchema)}[]`;
  return typeof schema.type === 'string' ? schema.type : 'any';
}

function schemaBlock(label: string, schema: JsonSchema): string {
  return `<details><summary>${escapeHtml(label)}</summary><pre><code>${escapeHtml(
    JSON.stringify(schema, null, 2),
  )}</code></pre></details>`;
}

function parameterTable(parameters: readonly ParameterObject[]): string {
  const rows = parameters
    .map(
      (p) =>
        `<tr><th scope="row"><code>${escapeHtml(p.name)}</code></th><td>${p.in}</td><td>${
          p.required ? 'yes' : 'no'
        }</td><td><code>${escapeHtml(typeOf(p.schema))}</code></td><td>${
          p.description ? prose(p.description) : ''
        }</td></tr>`,
    )
    .join('');
  return `<table><caption>Parameters</caption><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Required</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function responseList(responses: Record<string, ResponseObject>): string {
  const items = Object.entries(responses)
    .map(([status, response]) => {
      const content = Object.entries(response.content ?? {});
      const types = content.map(([type]) => `<code>${escapeHtml(type)}</code>`).join(', ');
      const schemas = content
        .filter(([, c]) => c.schema.type !== 'string' || Object.keys(c.schema).length > 1)
        .map(([type, c]) => schemaBlock(`Schema (${type})`, c.schema))
        .join('');
      return `<li><strong>${escapeHtml(status)}</strong> ${prose(response.description)}${
        types ? ` (${types})` : ''
      }${schemas}</li>`;
    })
    .join('');
  return `<h4>Responses</h4><ul>${items}</ul>`;
}

/** The `id` of an operation's section (also its link target). */
export function anchorOf(method: string, path: string): string {
  // A trailing slash stays a trailing dash: `/api-docs/` and `/api-docs` are two routes.
  return `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
}

const tagAnchor = (tag: string): string => `tag-${tag.replace(/[^A-Za-z0-9]+/g, '-')}`;

function operationSection(method: string, path: string, op: OperationObject): string {
  const body = op.requestBody
    ? `<h4>Request body${op.requestBody.required ? '' : ' (optional)'}</h4>${
        op.requestBody.description ? `<p>${prose(op.requestBody.description)}</p>` : ''
      }${Object.entries(op.requestBody.content)
        .map(([type, c]) => schemaBlock(`Schema (${type})`, c.schema))
        .join('')}`
    : '';
  const socket = op['x-websocket'] ? ' <span class="tag">WebSocket</span>' : '';
  return `<section id="${anchorOf(method, path)}" class="op"><h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(
    path,
  )}</code>${socket}</h3><p class="summary">${prose(op.summary ?? '(no summary)')}</p>${paragraphs(
    op.description,
  )}${op.parameters?.length ? parameterTable(op.parameters) : ''}${body}${responseList(op.responses)}</section>`;
}

type Entry = { method: string; path: string; op: OperationObject };

function groups(document: OpenApiDocument): Map<string, Entry[]> {
  const byTag = new Map<string, Entry[]>(document.tags.map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(document.paths))
    for (const [method, op] of Object.entries(item)) {
      const tag = op.tags[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op });
    }
  return byTag;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}
header,main,nav{max-width:60rem;margin:0 auto;padding:0 1rem}
a{color:#0645ad}a:focus,summary:focus{outline:3px solid #1a1a1a;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.75rem;overflow:auto}
.op{border-top:1px solid #767676;padding:.5rem 0}.summary{font-weight:600}
.method{display:inline-block;min-width:4.5rem;padding:0 .4rem;border-radius:3px;color:#fff;background:#333;text-align:center}
.get{background:#0b5a2a}.post{background:#0a4a8a}.delete{background:#9b1c1c}.put,.patch{background:#6b3f00}
.tag{font-size:.8em;border:1px solid #333;border-radius:3px;padding:0 .3rem}
table{border-collapse:collapse;margin:.5rem 0}caption{text-align:left;font-weight:600}
th,td{border:1px solid #767676;padding:.25rem .5rem;text-align:left;vertical-align:top}`;

/**
 * The browsable page of `document`: every operation with its method, path, summary, access,
 * parameters and schemas, grouped by tag, with a table of contents. Self-contained (one inline
 * style sheet, no script, no external asset); every text from the document is escaped.
 */
export function renderApiPage(document: OpenApiDocument, documentUrl: string): string {
  const byTag = groups(document);
  const descriptions = new Map(document.tags.map((t) => [t.name, t.description]));
  const toc = [...byTag]
    .filter(([, entries]) => entries.length > 0)
    .map(
      ([tag, entries]) =>
        `<li>${escapeHtml(tag)}<ul>${entries
          .map(
            (e) =>
              `<li><a href="#${anchorOf(e.method, e.path)}">${e.method.toUpperCase()} ${escapeHtml(e.path)}</a></li>`,
          )
          .join('')}</ul></li>`,
    )
    .join('');
  const sections = [...byTag]
    .filter(([, entries]) => entries.length > 0)
    .map(
      ([tag, entries]) =>
        `<section aria-labelledby="${tagAnchor(tag)}"><h2 id="${tagAnchor(tag)}">${escapeHtml(
          tag,
        )}</h2>${descriptions.has(tag) ? `<p>${prose(descriptions.get(tag)!)}</p>` : ''}${entries
          .map((e) => operationSection(e.method, e.path, e.op))
          .join('')}</section>`,
    )
    .join('');
  const { title, version, description } = document.info;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><a class="skip" href="#endpoints">Skip to the endpoints</a>
<header><h1>${escapeHtml(title)} <small>${escapeHtml(version)}</small></h1>${paragraphs(description)}
<p>The same description as OpenAPI 3.1: <a href="${escapeHtml(documentUrl)}">${escapeHtml(documentUrl)}</a>.</p></header>
<nav aria-label="Endpoints"><h2>Contents</h2><ul>${toc}</ul></nav>
<main id="endpoints">${sections}</main></body></html>
`;
}
