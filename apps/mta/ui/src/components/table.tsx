import type { ComponentChildren } from 'preact';
import { useMemo, useState } from 'preact/hooks';

/** One column of a {@link SortableTable}. */
export interface Column<Row> {
  readonly key: string;
  readonly label: string;
  /** What sorting compares; columns without it are not sortable. */
  readonly sort?: (row: Row) => string | number;
  readonly render: (row: Row) => ComponentChildren;
  /** Right-aligned, tabular figures. */
  readonly numeric?: boolean;
}

type Direction = 'ascending' | 'descending';

/**
 * A table with a caption whose column headers sort it (a button in each sortable `<th>`,
 * `aria-sort` on the sorted one). It scrolls horizontally inside its own container on narrow
 * screens; the first column's cells are row headers.
 */
export function SortableTable<Row>({
  caption,
  columns,
  rows,
  rowKey,
  initialSort,
  empty,
}: {
  readonly caption: ComponentChildren;
  readonly columns: readonly Column<Row>[];
  readonly rows: readonly Row[];
  readonly rowKey: (row: Row) => string;
  readonly initialSort?: { readonly key: string; readonly direction: Direction };
  /** Shown in the body when there are no rows. */
  readonly empty: string;
}) {
  const [sort, setSort] = useState(initialSort ?? null);
  const sorted = useMemo(() => {
    const column = sort && columns.find((c) => c.key === sort.key);
    if (!sort || !column?.sort) return rows;
    const value = column.sort;
    const factor = sort.direction === 'ascending' ? 1 : -1;
    return [...rows].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const order =
        typeof x === 'number' && typeof y === 'number'
          ? x - y
          : String(x).localeCompare(String(y), undefined, { numeric: true });
      return order * factor || rowKey(a).localeCompare(rowKey(b));
    });
  }, [rows, columns, sort, rowKey]);

  const toggle = (key: string) =>
    setSort((current) =>
      current?.key === key
        ? { key, direction: current.direction === 'ascending' ? 'descending' : 'ascending' }
        : { key, direction: 'ascending' },
    );

  return (
    <div class="table-scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => {
              const sorted = sort?.key === column.key ? sort.direction : undefined;
              return (
                <th
                  key={column.key}
                  scope="col"
                  class={column.numeric ? 'num' : undefined}
                  aria-sort={column.sort ? (sorted ?? 'none') : undefined}
                >
                  {column.sort ? (
                    <button type="button" class="sort" onClick={() => toggle(column.key)}>
                      {column.label}
                      <span class="sort-mark" aria-hidden="true">
                        {sorted === 'ascending' ? '▲' : sorted === 'descending' ? '▼' : '↕'}
                      </span>
                    </button>
                  ) : (
                    column.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="empty">
                {empty}
              </td>
            </tr>
          ) : (
            sorted.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((column, i) =>
                  i === 0 ? (
                    <th key={column.key} scope="row" class={column.numeric ? 'num' : undefined}>
                      {column.render(row)}
                    </th>
                  ) : (
                    <td key={column.key} class={column.numeric ? 'num' : undefined}>
                      {column.render(row)}
                    </td>
                  ),
                )}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
