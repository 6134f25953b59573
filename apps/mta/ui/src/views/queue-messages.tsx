import { useEffect, useState } from 'preact/hooks';
import { inspectScheduledQueue, type ScheduledQueueInspection } from '../admin-api.js';
import { ApiError } from '../api.js';
import { LeverBadge } from '../components/lever.js';
import { Time } from '../components/time.js';
import { formatInt } from '../format.js';
import { messagesHref } from '../router.js';
import { useLive } from '../store.js';

/** `campaign:tenant@domain!routing_domain` read into its parts (when no live row says). */
export function parseQueueName(name: string): {
  domain: string;
  tenant?: string;
  campaign?: string;
} {
  const bang = name.indexOf('!');
  const head = bang === -1 ? name : name.slice(0, bang);
  const at = head.lastIndexOf('@');
  const domain = at === -1 ? head : head.slice(at + 1);
  const prefix = at === -1 ? '' : head.slice(0, at);
  const colon = prefix.indexOf(':');
  const campaign = colon === -1 ? undefined : prefix.slice(0, colon);
  const tenant = colon === -1 ? prefix : prefix.slice(colon + 1);
  return {
    domain,
    ...(tenant ? { tenant } : {}),
    ...(campaign ? { campaign } : {}),
  };
}

function actionHref(kind: 'suspend' | 'bounce', fields: Record<string, string | undefined>) {
  const params = new URLSearchParams({ form: kind });
  for (const [key, value] of Object.entries(fields)) if (value) params.set(key, value);
  return `#/actions?${params}`;
}

/** `#/queues/scheduled/<name>`: the first 100 messages of one scheduled queue. */
export function QueueMessagesPage({ name }: { readonly name: string }) {
  const { queues } = useLive();
  const [state, setState] = useState<
    | { kind: 'loading' }
    | { kind: 'error'; text: string }
    | { kind: 'ok'; reply: ScheduledQueueInspection }
  >({ kind: 'loading' });
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    setState((s) => (s.kind === 'ok' && reload > 0 ? s : { kind: 'loading' }));
    inspectScheduledQueue(name, abort.signal).then(
      (reply) => setState({ kind: 'ok', reply }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const text = error instanceof ApiError ? error.message : String(error);
        setState({ kind: 'error', text });
      },
    );
    return () => abort.abort();
  }, [name, reload]);

  const row = queues?.scheduled.find((q) => q.name === name);
  const parts = row
    ? {
        domain: row.domain,
        ...(row.tenant ? { tenant: row.tenant } : {}),
        ...(row.campaign ? { campaign: row.campaign } : {}),
      }
    : parseQueueName(name);
  const now = queues?.now ?? Date.now();

  return (
    <>
      <p class="small">
        <a href="#/queues">← All queues</a>
      </p>
      <h1>Messages in {name}</h1>
      <section aria-labelledby="queue-facts-h" class="panel">
        <h2 id="queue-facts-h">This queue</h2>
        <p>
          Domain <strong>{parts.domain}</strong>
          {parts.tenant ? (
            <>
              , tenant <strong>{parts.tenant}</strong>
            </>
          ) : null}
          {parts.campaign ? (
            <>
              , campaign <strong>{parts.campaign}</strong>
            </>
          ) : null}
          {row ? (
            <>
              {' '}
              · <span class="num">{formatInt(row.count)}</span> message(s) now
            </>
          ) : (
            ' · not in the latest report (empty or gone)'
          )}
        </p>
        {row?.suspended ? (
          <p>
            <LeverBadge label="Suspended" tone="warn" lever={row.suspended} now={now} />
          </p>
        ) : null}
        {row?.bounced ? (
          <p>
            <LeverBadge label="Bouncing" tone="bad" lever={row.bounced} now={now} />
          </p>
        ) : null}
        <p class="form-end">
          <a class="btn-link" href={actionHref('suspend', parts)}>
            Suspend this queue's messages…
          </a>
          <a class="btn-link" href={actionHref('bounce', parts)}>
            Bounce this queue's messages…
          </a>
          <button
            type="button"
            class="btn btn-secondary btn-small"
            onClick={() => setReload((n) => n + 1)}
          >
            Refresh the list
          </button>
        </p>
      </section>
      {state.kind === 'loading' ? <p aria-busy="true">Loading the queue's messages…</p> : null}
      {state.kind === 'error' ? (
        <p class="notice notice-bad" role="alert">
          Could not read this queue: {state.text}
        </p>
      ) : null}
      {state.kind === 'ok' ? <MessageTable reply={state.reply} /> : null}
    </>
  );
}

function MessageTable({ reply }: { readonly reply: ScheduledQueueInspection }) {
  const now = Date.parse(reply.now) || Date.now();
  return (
    <div class="table-scroll">
      <table>
        <caption>
          {reply.messages.length < reply.num_scheduled
            ? `The first ${formatInt(reply.messages.length)} of ${formatInt(reply.num_scheduled)} messages`
            : `${formatInt(reply.messages.length)} message(s)`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Spool id</th>
            <th scope="col">Sender</th>
            <th scope="col">Recipients</th>
            <th scope="col">Due</th>
            <th scope="col" class="num">
              Attempts
            </th>
          </tr>
        </thead>
        <tbody>
          {reply.messages.length === 0 ? (
            <tr>
              <td colSpan={5} class="empty">
                The queue holds no message.
              </td>
            </tr>
          ) : (
            reply.messages.map(({ id, message }) => {
              const recipients =
                typeof message.recipient === 'string' ? [message.recipient] : message.recipient;
              return (
                <tr key={id}>
                  <th scope="row">
                    <a href={messagesHref(id)} class="queue-name" aria-label={`Journey of ${id}`}>
                      {id}
                    </a>
                  </th>
                  <td class="nowrap">
                    {message.sender || <span class="muted">(null sender)</span>}
                  </td>
                  <td class="nowrap">
                    {recipients.map((r) => (
                      <div key={r}>{r}</div>
                    ))}
                  </td>
                  <td>
                    <Time ms={Date.parse(message.due)} relativeTo={now} />
                  </td>
                  <td class="num">{formatInt(message.num_attempts)}</td>
                </tr>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}
