import { useMemo, useState } from 'preact/hooks';
import type { ReadyQueueRow, ScheduledQueueRow } from '../../../src/dashboard/wire.js';
import { LeverBadge } from '../components/lever.js';
import { type Column, SortableTable } from '../components/table.js';
import { Time } from '../components/time.js';
import { formatDecimal, formatInt, formatRelative } from '../format.js';
import { queueHref } from '../router.js';
import { useLive } from '../store.js';

const dash = <span class="muted">–</span>;

function scheduledColumns(now: number): Column<ScheduledQueueRow>[] {
  return [
    {
      key: 'name',
      label: 'Queue',
      sort: (r) => r.name,
      render: (r) => (
        <a class="queue-name" href={queueHref(r.name)}>
          {r.name}
        </a>
      ),
    },
    { key: 'domain', label: 'Domain', sort: (r) => r.domain, render: (r) => r.domain },
    {
      key: 'tenant',
      label: 'Tenant',
      sort: (r) => r.tenant ?? '',
      render: (r) => r.tenant ?? dash,
    },
    {
      key: 'campaign',
      label: 'Campaign',
      sort: (r) => r.campaign ?? '',
      render: (r) => r.campaign ?? dash,
    },
    {
      key: 'count',
      label: 'Messages',
      numeric: true,
      sort: (r) => r.count,
      render: (r) => formatInt(r.count),
    },
    {
      key: 'state',
      label: 'State',
      sort: (r) => (r.bounced ? 2 : r.suspended ? 1 : 0),
      render: (r) =>
        r.suspended || r.bounced ? (
          <>
            {r.suspended ? (
              <LeverBadge label="Suspended" tone="warn" lever={r.suspended} now={now} />
            ) : null}
            {r.suspended && r.bounced ? <br /> : null}
            {r.bounced ? (
              <LeverBadge label="Bouncing" tone="bad" lever={r.bounced} now={now} />
            ) : null}
          </>
        ) : (
          <span class="muted">active</span>
        ),
    },
    {
      key: 'delayed',
      label: 'Delayed by rate',
      numeric: true,
      sort: (r) => r.delayed_by_rate,
      render: (r) => formatInt(r.delayed_by_rate),
    },
  ];
}

function rates(r: ReadyQueueRow) {
  if (!r.rates) return <span class="muted">measuring…</span>;
  return (
    <span class="lines num">
      <span>{formatDecimal(r.rates.delivered)} delivered</span>
      <span>{formatDecimal(r.rates.transient)} transient</span>
      <span>{formatDecimal(r.rates.failed)} failed</span>
    </span>
  );
}

function readyColumns(now: number): Column<ReadyQueueRow>[] {
  return [
    {
      key: 'name',
      label: 'Queue',
      sort: (r) => r.name,
      render: (r) => <span class="queue-name">{r.name}</span>,
    },
    { key: 'site', label: 'Site', sort: (r) => r.site, render: (r) => r.site },
    {
      key: 'source',
      label: 'Source',
      sort: (r) => r.source ?? '',
      render: (r) => r.source ?? dash,
    },
    { key: 'pool', label: 'Pool', sort: (r) => r.pool ?? '', render: (r) => r.pool ?? dash },
    { key: 'protocol', label: 'Protocol', sort: (r) => r.protocol, render: (r) => r.protocol },
    {
      key: 'count',
      label: 'Messages',
      numeric: true,
      sort: (r) => r.count,
      render: (r) => formatInt(r.count),
    },
    {
      key: 'connections',
      label: 'Connections',
      numeric: true,
      sort: (r) => r.connections,
      render: (r) => formatInt(r.connections),
    },
    {
      key: 'limit',
      label: 'Limits',
      render: (r) => (
        <span class="lines small">
          <span>
            {r.connection_limit === null
              ? 'no connection limit'
              : `${r.connection_limit} connections`}
          </span>
          {r.max_message_rate ? <span>{r.max_message_rate} messages</span> : null}
          {r.max_connection_rate ? <span>{r.max_connection_rate} connections</span> : null}
        </span>
      ),
    },
    {
      key: 'rates',
      label: 'Rates /s',
      sort: (r) => r.rates?.delivered ?? -1,
      render: rates,
    },
    {
      key: 'waiting',
      label: 'Waiting on',
      sort: (r) => r.waiting_on?.kind ?? '',
      render: (r) =>
        r.waiting_on ? (
          <span>
            <span class="badge badge-warn">
              {r.waiting_on.kind === 'connection_limit' ? 'Connection limit' : 'Connection rate'}
            </span>{' '}
            <span class="small muted">
              {r.waiting_on.context}, since <Time ms={r.waiting_on.since} /> (
              {formatRelative(r.waiting_on.since, now)})
            </span>
          </span>
        ) : (
          dash
        ),
    },
    {
      key: 'suspended',
      label: 'Suspended',
      sort: (r) => (r.suspended ? 1 : 0),
      render: (r) =>
        r.suspended ? (
          <LeverBadge label="Suspended" tone="warn" lever={r.suspended} now={now} />
        ) : (
          'no'
        ),
    },
  ];
}

function Select({
  label,
  id,
  value,
  options,
  onChange,
}: {
  label: string;
  id: string;
  value: string;
  options: readonly string[];
  onChange: (value: string) => void;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">All</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

const distinct = (values: readonly (string | null)[]) =>
  [...new Set(values.filter((v): v is string => v !== null && v !== ''))].sort();

/** `#/queues`: the scheduled and ready queues, live, sortable and filtered. */
export function QueuesPage() {
  const { queues } = useLive();
  const [text, setText] = useState('');
  const [site, setSite] = useState('');
  const [source, setSource] = useState('');
  const [pool, setPool] = useState('');
  const now = queues?.now ?? Date.now();
  const scheduledCols = useMemo(() => scheduledColumns(now), [now]);
  const readyCols = useMemo(() => readyColumns(now), [now]);

  const needle = text.trim().toLowerCase();
  const matches = (...fields: (string | null)[]) =>
    !needle || fields.some((f) => f?.toLowerCase().includes(needle));
  const scheduled = useMemo(
    () =>
      (queues?.scheduled ?? []).filter((r) =>
        matches(r.name, r.domain, r.tenant, r.campaign, r.routing_domain),
      ),
    [queues, needle],
  );
  const ready = useMemo(
    () =>
      (queues?.ready ?? []).filter(
        (r) =>
          matches(r.name, r.site, r.source, r.pool, r.protocol) &&
          (!site || r.site === site) &&
          (!source || r.source === source) &&
          (!pool || r.pool === pool),
      ),
    [queues, needle, site, source, pool],
  );

  if (!queues) {
    return (
      <>
        <h1>Queues</h1>
        <p aria-busy="true">Waiting for the daemon's first report…</p>
      </>
    );
  }
  const all = queues.ready;
  return (
    <>
      <h1>Queues</h1>
      <p class="muted small">
        Updated live; last report at <Time ms={queues.now} />. {formatInt(queues.scheduled.length)}{' '}
        scheduled and {formatInt(queues.ready.length)} ready queue(s).
      </p>
      <search class="filters">
        <div class="field">
          <label for="queue-filter">Filter queues</label>
          <input
            id="queue-filter"
            type="search"
            value={text}
            placeholder="name, domain, site…"
            aria-describedby="queue-filter-hint"
            onInput={(e) => setText(e.currentTarget.value)}
          />
          <span id="queue-filter-hint" class="hint">
            Filters both tables.
          </span>
        </div>
        <Select
          label="Site"
          id="f-site"
          value={site}
          options={distinct(all.map((r) => r.site))}
          onChange={setSite}
        />
        <Select
          label="Source"
          id="f-source"
          value={source}
          options={distinct(all.map((r) => r.source))}
          onChange={setSource}
        />
        <Select
          label="Pool"
          id="f-pool"
          value={pool}
          options={distinct(all.map((r) => r.pool))}
          onChange={setPool}
        />
      </search>
      <SortableTable
        caption="Scheduled queues"
        columns={scheduledCols}
        rows={scheduled}
        rowKey={(r) => r.name}
        initialSort={{ key: 'count', direction: 'descending' }}
        empty={
          needle ? 'No scheduled queue matches the filter.' : 'No scheduled queue holds a message.'
        }
      />
      <SortableTable
        caption="Ready queues"
        columns={readyCols}
        rows={ready}
        rowKey={(r) => r.name}
        initialSort={{ key: 'count', direction: 'descending' }}
        empty={
          needle || site || source || pool
            ? 'No ready queue matches the filter.'
            : 'No ready queue is open.'
        }
      />
    </>
  );
}
