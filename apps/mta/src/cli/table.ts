/** A column of a text table: numbers are right-aligned. */
export interface Column {
  readonly title: string;
  readonly numeric?: boolean;
}

/** Renders rows under their titles, columns two spaces apart, no trailing blanks. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (string | number)[][],
): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = columns.map((column, i) =>
    Math.max(column.title.length, ...cells.map((row) => (row[i] ?? '').length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (columns[i]?.numeric ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.title)), ...cells.map(line)].join('\n')}\n`;
}

/** A ready queue name split into KumoMTA's parts: `<source>-><site>@<protocol>`. */
export interface ReadyQueueName {
  readonly source: string;
  readonly site: string;
  readonly protocol: string;
}

/**
 * Reads a ready queue name (`<source>-><site>@<protocol>`), or the `service` label KumoMTA gives
 * its series (`smtp_client:<source>-><site>`, the protocol first). Aggregate services
 * (`smtp_client`, `maildir`) are not ready queues: undefined.
 */
export function parseReadyQueue(service: string): ReadyQueueName | undefined {
  const arrow = service.indexOf('->');
  if (arrow < 0) return undefined;
  // The protocol may hold a colon itself (`lua:<constructor>`), site names do (`mx_list:…`):
  // the protocol ends at the last colon before the arrow.
  const colon = service.lastIndexOf(':', arrow);
  const prefixed = colon >= 0;
  const name = prefixed ? service.slice(colon + 1) : service;
  const a = name.indexOf('->');
  const at = name.lastIndexOf('@');
  const hasSuffix = at > a && /^[a-z_]+$/.test(name.slice(at + 1));
  if (!prefixed && !hasSuffix) return undefined;
  return {
    source: name.slice(0, a),
    site: name.slice(a + 2, hasSuffix ? at : undefined),
    protocol: prefixed ? service.slice(0, colon) : name.slice(at + 1),
  };
}

/** The destination domain of a scheduled queue name `[campaign:][tenant@]domain[!routing]`. */
export function scheduledQueueDomain(queue: string): string {
  let name = queue;
  const bang = name.indexOf('!');
  if (bang >= 0) name = name.slice(0, bang);
  const at = name.lastIndexOf('@');
  if (at >= 0) name = name.slice(at + 1);
  const colon = name.lastIndexOf(':');
  if (colon >= 0) name = name.slice(colon + 1);
  return name;
}
