import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import {
  type AdminRule,
  cancelLever,
  type LeverKind,
  listBounces,
  listReadySuspensions,
  listSuspensions,
  type ReadyQueueSuspension,
} from '../admin-api.js';
import { ApiError } from '../api.js';
import { Time } from '../components/time.js';
import { formatDuration } from '../format.js';
import { useLive } from '../store.js';
import {
  BounceForm,
  describeSelector,
  type Prefill,
  RebindForm,
  type Report,
  SuspendForm,
  SuspendReadyForm,
} from './action-forms.js';

const REFRESH_MS = 5000;

interface Levers {
  readonly suspensions: readonly AdminRule[];
  readonly bounces: readonly AdminRule[];
  readonly ready: readonly ReadyQueueSuspension[];
}

const errorText = (error: unknown) => (error instanceof ApiError ? error.message : String(error));

function RuleTable({
  caption,
  rules,
  noun,
  onCancel,
}: {
  caption: string;
  rules: readonly AdminRule[] | null;
  noun: string;
  onCancel: (id: string) => void;
}) {
  return (
    <div class="table-scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Applies to</th>
            <th scope="col">Reason</th>
            <th scope="col">Time left</th>
            <th scope="col">
              <span class="visually-hidden">Cancel</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rules === null ? (
            <tr>
              <td colSpan={5} class="empty">
                Loading…
              </td>
            </tr>
          ) : rules.length === 0 ? (
            <tr>
              <td colSpan={5} class="empty">
                None.
              </td>
            </tr>
          ) : (
            rules.map((rule) => (
              <tr key={rule.id}>
                <th scope="row">
                  <code class="wrap">{rule.id}</code>
                </th>
                <td>{describeSelector(rule)}</td>
                <td class="wrap">{rule.reason}</td>
                <td class="num">{formatDuration(rule.duration)}</td>
                <td>
                  <button
                    type="button"
                    class="btn btn-secondary btn-small"
                    aria-label={`Cancel ${noun} ${rule.id}`}
                    onClick={() => onCancel(rule.id)}
                  >
                    Cancel
                  </button>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

function ReadyTable({
  rules,
  onCancel,
}: {
  rules: readonly ReadyQueueSuspension[] | null;
  onCancel: (id: string) => void;
}) {
  return (
    <div class="table-scroll">
      <table>
        <caption>Active ready-queue suspensions</caption>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Ready queue</th>
            <th scope="col">Reason</th>
            <th scope="col">Ends</th>
            <th scope="col">
              <span class="visually-hidden">Cancel</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rules === null || rules.length === 0 ? (
            <tr>
              <td colSpan={5} class="empty">
                {rules === null ? 'Loading…' : 'None.'}
              </td>
            </tr>
          ) : (
            rules.map((rule) => (
              <tr key={rule.id}>
                <th scope="row">
                  <code class="wrap">{rule.id}</code>
                </th>
                <td>
                  <span class="queue-name">{rule.name}</span>
                </td>
                <td class="wrap">{rule.reason}</td>
                <td>
                  <Time ms={Date.parse(rule.expires)} />{' '}
                  <span class="muted">({rule.duration} left)</span>
                </td>
                <td>
                  <button
                    type="button"
                    class="btn btn-secondary btn-small"
                    aria-label={`Cancel ready-queue suspension ${rule.id}`}
                    onClick={() => onCancel(rule.id)}
                  >
                    Cancel
                  </button>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** `#/actions`: suspend, bounce, suspend a ready queue, rebind; the active levers. */
export function ActionsPage({ params }: { readonly params: URLSearchParams }) {
  const { queues } = useLive();
  const [levers, setLevers] = useState<Levers | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [result, setResult] = useState<{ tone: 'ok' | 'bad'; text: string } | null>(null);

  const key = params.toString();
  const prefill = useMemo<Prefill>(() => {
    const query = new URLSearchParams(key);
    return {
      form: query.get('form'),
      selection: {
        domain: query.get('domain') ?? '',
        tenant: query.get('tenant') ?? '',
        campaign: query.get('campaign') ?? '',
      },
    };
  }, [key]);

  const refresh = useCallback(async () => {
    try {
      const [suspensions, bounces, ready] = await Promise.all([
        listSuspensions(),
        listBounces(),
        listReadySuspensions(),
      ]);
      setLevers({ suspensions, bounces, ready });
      setListError(null);
    } catch (error) {
      setListError(errorText(error));
    }
  }, []);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const report: Report = useCallback((tone, text) => setResult({ tone, text }), []);
  const done = refresh;

  const cancel = (kind: LeverKind, noun: string) => async (id: string) => {
    try {
      await cancelLever(kind, id);
      await refresh();
      report('ok', `Cancelled ${noun} ${id}.`);
    } catch (error) {
      await refresh();
      report('bad', `Cancelling ${noun} ${id} failed: ${errorText(error)}`);
    }
  };

  const names = useMemo(() => (queues?.ready ?? []).map((r) => r.name), [queues]);

  return (
    <>
      <h1>Actions</h1>
      <p class="muted">
        The same levers as KumoMTA's admin API and the CLI; each is recorded like theirs.
      </p>
      <p
        id="action-result"
        role="status"
        aria-live="polite"
        class={`notice action-result ${result ? `notice-${result.tone}` : ''}`}
      >
        {result?.text ?? ''}
      </p>
      <div class="forms">
        <SuspendForm report={report} done={done} prefill={prefill} />
        <BounceForm report={report} done={done} prefill={prefill} />
        <SuspendReadyForm report={report} done={done} names={names} />
        <RebindForm report={report} done={done} />
      </div>
      <section aria-labelledby="active-h">
        <h2 id="active-h">Active levers</h2>
        {listError ? (
          <p class="notice notice-bad">Could not list the active levers: {listError}</p>
        ) : null}
        <RuleTable
          caption="Active suspensions"
          noun="suspension"
          rules={levers?.suspensions ?? null}
          onCancel={cancel('suspend', 'suspension')}
        />
        <RuleTable
          caption="Active bounces"
          noun="bounce"
          rules={levers?.bounces ?? null}
          onCancel={cancel('bounce', 'bounce')}
        />
        <ReadyTable
          rules={levers?.ready ?? null}
          onCancel={cancel('suspend-ready-q', 'ready-queue suspension')}
        />
      </section>
    </>
  );
}
