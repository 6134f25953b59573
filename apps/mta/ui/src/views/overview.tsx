import type { Overview } from '../../../src/dashboard/wire.js';
import { RateChart } from '../components/chart.js';
import { UsageBar } from '../components/meter.js';
import { Time } from '../components/time.js';
import { formatBytes, formatDuration, formatInt, formatPercent } from '../format.js';
import { useLive } from '../store.js';

function Counter({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <div class="counter">
      <dt>{label}</dt>
      <dd class="num" data-testid={testId} title={formatInt(value)}>
        {String(value)}
      </dd>
    </div>
  );
}

function Counters({ overview }: { readonly overview: Overview }) {
  const { totals } = overview;
  return (
    <section aria-labelledby="totals-h">
      <h2 id="totals-h">Since the daemon started</h2>
      <dl class="counters">
        <Counter label="Received" value={totals.received} testId="total-received" />
        <Counter label="Delivered" value={totals.delivered} testId="total-delivered" />
        <Counter label="Transient failures" value={totals.transient} testId="total-transient" />
        <Counter label="Bounced" value={totals.bounced} testId="total-bounced" />
        <Counter label="Held now" value={overview.held} testId="held" />
      </dl>
      <p class="muted small">
        Expired: <span class="num">{formatInt(totals.expired)}</span> · in scheduled queues:{' '}
        <span class="num">{formatInt(overview.scheduled)}</span> · in ready queues:{' '}
        <span class="num">{formatInt(overview.ready)}</span> · open delivery connections:{' '}
        <span class="num">{formatInt(overview.connections)}</span>
      </p>
    </section>
  );
}

function Levers({ overview }: { readonly overview: Overview }) {
  const { suspensions, ready_suspensions, bounces } = overview.levers;
  const none = suspensions + ready_suspensions + bounces === 0;
  return (
    <section aria-labelledby="levers-h" class="panel">
      <h2 id="levers-h">Admin levers</h2>
      {none ? (
        <p>No suspension or bounce is active.</p>
      ) : (
        <ul class="plain">
          <li>
            <span class="num">{formatInt(suspensions)}</span> queue suspension(s)
          </li>
          <li>
            <span class="num">{formatInt(ready_suspensions)}</span> ready-queue suspension(s)
          </li>
          <li>
            <span class="num">{formatInt(bounces)}</span> bounce rule(s)
          </li>
        </ul>
      )}
      <p>
        <a href="#/actions">Manage them in Actions</a>
      </p>
    </section>
  );
}

function Storage({ overview }: { readonly overview: Overview }) {
  const { memory, disks } = overview;
  return (
    <section aria-labelledby="storage-h" class="panel">
      <h2 id="storage-h">Spool, disks and memory</h2>
      {disks.length === 0 ? <p>No watched directory.</p> : null}
      {disks.map((disk) => (
        <div key={disk.name} class="disk">
          <UsageBar
            label={disk.name}
            used={1 - disk.free_percent / 100}
            detail={`${formatBytes(disk.free_bytes)} free of ${formatBytes(disk.total_bytes)}`}
          />
          <p class="muted small">
            <code>{disk.path}</code> · inodes {formatPercent(disk.free_inodes_percent / 100)} free
          </p>
        </div>
      ))}
      {memory.limit > 0 ? (
        <UsageBar
          label="Memory (RSS)"
          used={memory.rss / memory.limit}
          detail={`${formatBytes(memory.rss)} of ${formatBytes(memory.limit)}`}
        />
      ) : (
        <p>
          Memory (RSS): <span class="num">{formatBytes(memory.rss)}</span> (no limit known)
        </p>
      )}
    </section>
  );
}

function Setup({ overview }: { readonly overview: Overview }) {
  const { policy, listeners, drivers, log_dirs } = overview;
  return (
    <section aria-labelledby="setup-h" class="panel">
      <h2 id="setup-h">Node</h2>
      <dl class="facts">
        <dt>Node id</dt>
        <dd>{overview.node_id}</dd>
        <dt>Version</dt>
        <dd>{overview.version}</dd>
        <dt>Up since</dt>
        <dd>
          <Time ms={overview.started_at} /> (
          {formatDuration((overview.now - overview.started_at) / 1000)})
        </dd>
        <dt>Policy</dt>
        <dd>
          <code class="wrap">{policy.path}</code>
          <br />
          loaded at <Time ms={policy.loaded_at} />
          {policy.reloaded_at === null ? (
            ', not reloaded since'
          ) : (
            <>
              , reloaded at <Time ms={policy.reloaded_at} />
            </>
          )}
        </dd>
        <dt>Listeners</dt>
        <dd>
          {listeners.length === 0 ? (
            'none'
          ) : (
            <ul class="plain">
              {listeners.map((l) => (
                <li key={`${l.kind} ${l.address}`}>
                  <span class="badge">{l.kind.toUpperCase()}</span> <code>{l.address}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Drivers</dt>
        <dd>
          {drivers.length === 0 ? (
            'none'
          ) : (
            <ul class="plain">
              {drivers.map((d) => (
                <li key={d.protocol}>
                  <code>{d.protocol}</code>
                  {d.package ? <span class="muted"> from {d.package}</span> : ' (built in)'}
                </li>
              ))}
            </ul>
          )}
        </dd>
        <dt>Logs</dt>
        <dd>
          {log_dirs === null || log_dirs.length === 0 ? (
            'no local logs configured'
          ) : (
            <ul class="plain">
              {log_dirs.map((dir) => (
                <li key={dir}>
                  <code class="wrap">{dir}</code>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </section>
  );
}

/** `#/`: the counters, the live chart, storage, levers and what the node runs. */
export function OverviewPage() {
  const { overview, history } = useLive();
  return (
    <>
      <h1>Overview</h1>
      {overview ? (
        <>
          <Counters overview={overview} />
          <section aria-labelledby="rates-h">
            <h2 id="rates-h" class="visually-hidden">
              Rates
            </h2>
            <RateChart history={history} />
          </section>
          <div class="panels">
            <Storage overview={overview} />
            <Levers overview={overview} />
            <Setup overview={overview} />
          </div>
        </>
      ) : (
        <p aria-busy="true">Waiting for the daemon's first report…</p>
      )}
    </>
  );
}
