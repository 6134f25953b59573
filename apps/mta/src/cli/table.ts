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
 * Reads a ready queue name, or the `service` label KumoMTA gives its series
 * (`smtp_client:<ready queue>`): the prefix before the first `:` is dropped when the rest is a
 * ready queue name.
 */
export function parseReadyQueue(service: string): ReadyQueueName | undefined {
  let name = service;
  const colon = name.indexOf(':');
  const arrow = name.indexOf('->');
  if (colon >= 0 && arrow > colon) name = name.slice(colon + 1);
  const a = name.indexOf('->');
  const at = name.lastIndexOf('@');
  if (a < 0 || at < a) return undefined;
  return { source: name.slice(0, a), site: name.slice(a + 2, at), protocol: name.slice(at + 1) };
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
