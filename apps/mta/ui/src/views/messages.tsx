import { useEffect, useState } from 'preact/hooks';
import type { Journey, JourneyEvent, JourneySearch } from '../../../src/dashboard/wire.js';
import { ApiError, searchJourneys } from '../api.js';
import { LeverBadge } from '../components/lever.js';
import { Time } from '../components/time.js';
import { formatInt } from '../format.js';
import { messagesHref, queueHref } from '../router.js';

const OUTCOME: Record<Journey['outcome'], { text: string; tone: string }> = {
  delivered: { text: 'Delivered', tone: 'ok' },
  bounced: { text: 'Bounced', tone: 'bad' },
  expired: { text: 'Expired', tone: 'bad' },
  queued: { text: 'Queued', tone: 'warn' },
  unknown: { text: 'Unknown', tone: '' },
};

const EVENT_TONE: Record<string, string> = {
  Reception: '',
  Delivery: 'ok',
  TransientFailure: 'warn',
  Bounce: 'bad',
  Expiration: 'bad',
  AdminBounce: 'bad',
};

function EventItem({ event }: { readonly event: JourneyEvent }) {
  const recipients = typeof event.recipient === 'string' ? [event.recipient] : event.recipient;
  const code = event.response.enhanced_code;
  const where = event.peer_address
    ? `${event.peer_address.name} (${event.peer_address.addr})`
    : event.site || null;
  return (
    <li>
      <span class={`badge ${EVENT_TONE[event.type] ? `badge-${EVENT_TONE[event.type]}` : ''}`}>
        {event.type}
      </span>{' '}
      <Time ms={event.time} />
      {event.num_attempts > 0 ? (
        <span class="muted"> · attempt {formatInt(event.num_attempts)}</span>
      ) : null}
      <br />
      <span class="small">
        {recipients.length > 0 ? <>to {recipients.join(', ')}</> : null}
        {where ? (
          <>
            {' '}
            · {event.type === 'Reception' ? 'from' : 'via'} {where}
          </>
        ) : null}
        {event.queue ? <> · queue {event.queue}</> : null}
        {event.egress_source || event.egress_pool ? (
          <>
            {' '}
            · source {event.egress_source ?? '–'}, pool {event.egress_pool ?? '–'}
          </>
        ) : null}
      </span>
      <br />
      <span class="response">
        <code>
          {event.response.code}
          {code ? ` ${code.class}.${code.subject}.${code.detail}` : ''}
        </code>{' '}
        {event.response.content}
      </span>
      {event.bounce_classification && event.bounce_classification !== 'Uncategorized' ? (
        <span class="muted small"> ({event.bounce_classification})</span>
      ) : null}
    </li>
  );
}

function JourneyCard({ journey }: { readonly journey: Journey }) {
  const outcome = OUTCOME[journey.outcome];
  const headingId = `journey-${journey.id}`;
  const where = journey.now;
  return (
    <article class="journey" aria-label={`Message ${journey.id}`}>
      <h2 id={headingId}>
        <code>{journey.id}</code>{' '}
        <span class={`badge ${outcome.tone ? `badge-${outcome.tone}` : ''}`}>{outcome.text}</span>
      </h2>
      <p class="small">
        From <strong>{journey.sender || '(null sender)'}</strong> to{' '}
        <strong>{journey.recipients.join(', ') || '(no recipient)'}</strong>
      </p>
      <h3>Where it is now</h3>
      {where ? (
        <dl class="facts">
          <dt>Queue</dt>
          <dd>
            {where.where === 'scheduled' ? (
              <a href={queueHref(where.queue)}>{where.queue}</a>
            ) : (
              where.queue
            )}{' '}
            <span class="muted">({where.where === 'scheduled' ? 'scheduled' : 'ready to go'})</span>
          </dd>
          <dt>Due</dt>
          <dd>
            <Time ms={where.due} relativeTo={Date.now()} />
          </dd>
          <dt>Attempts</dt>
          <dd>{formatInt(where.num_attempts)}</dd>
          {where.held_by ? (
            <>
              <dt>Held by</dt>
              <dd>
                <LeverBadge label="Suspended" tone="warn" lever={where.held_by} now={Date.now()} />
              </dd>
            </>
          ) : null}
        </dl>
      ) : (
        <p>Not held: the engine no longer has this message.</p>
      )}
      <h3>Events</h3>
      {journey.events.length === 0 ? (
        <p class="muted">No log record of this message was found.</p>
      ) : (
        <ol class="events">
          {journey.events.map((event, i) => (
            <EventItem key={`${event.time}-${i}`} event={event} />
          ))}
        </ol>
      )}
    </article>
  );
}

function Notes({ result }: { readonly result: JourneySearch }) {
  const notes: string[] = [];
  if (result.logs === null) {
    notes.push(
      'No local logs are configured (configure_local_logs), so only messages the engine still holds are shown, without their history.',
    );
  } else if (result.logs.truncated) {
    notes.push(
      `Only the newest ${formatInt(result.logs.segments_read)} log segment(s) were read: older events may be missing.`,
    );
  }
  if (result.engine?.truncated) {
    notes.push(
      `The engine's held messages were searched only in part (${formatInt(result.engine.scanned)} looked at).`,
    );
  }
  return (
    <>
      {notes.map((note) => (
        <p key={note} class="notice notice-warn">
          {note}
        </p>
      ))}
    </>
  );
}

type SearchState =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'error'; text: string }
  | { kind: 'ok'; result: JourneySearch };

/** `#/messages?q=`: a message's journey by spool id, recipient or sender. */
export function MessagesPage({ query }: { readonly query: string }) {
  const [text, setText] = useState(query);
  const [state, setState] = useState<SearchState>({ kind: 'idle' });
  const [round, setRound] = useState(0);

  useEffect(() => setText(query), [query]);

  useEffect(() => {
    void round;
    const q = query.trim();
    if (!q) {
      setState({ kind: 'idle' });
      return;
    }
    const abort = new AbortController();
    setState({ kind: 'loading' });
    searchJourneys(q, abort.signal).then(
      (result) => setState({ kind: 'ok', result }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        const why = error instanceof ApiError ? error.message : String(error);
        setState({
          kind: 'error',
          text:
            error instanceof ApiError && error.status === 400
              ? `The search was refused: ${why}`
              : `The search failed: ${why}`,
        });
      },
    );
    return () => abort.abort();
  }, [query, round]);

  const submit = (event: Event) => {
    event.preventDefault();
    const q = text.trim();
    if (q === query.trim()) setRound((n) => n + 1);
    else location.hash = messagesHref(q);
  };

  return (
    <>
      <h1>Messages</h1>
      <search>
        <form class="search" onSubmit={submit}>
          <label for="journey-q">Spool id, recipient or sender</label>
          <div class="search-row">
            <input
              id="journey-q"
              type="search"
              value={text}
              autoComplete="off"
              spellcheck={false}
              aria-describedby="journey-hint"
              onInput={(e) => setText(e.currentTarget.value)}
            />
            <button type="submit" class="btn">
              Search
            </button>
          </div>
          <span id="journey-hint" class="hint">
            A spool id finds that message; an address finds the newest 50 messages sent to or by it.
          </span>
        </form>
      </search>
      <div aria-live="polite" aria-busy={state.kind === 'loading'}>
        {state.kind === 'idle' ? (
          <p class="muted">Enter a spool id, a recipient or a sender to see a message's journey.</p>
        ) : null}
        {state.kind === 'loading' ? <p>Searching…</p> : null}
        {state.kind === 'error' ? <p class="notice notice-bad">{state.text}</p> : null}
        {state.kind === 'ok' ? (
          <>
            <Notes result={state.result} />
            <p>
              {state.result.journeys.length === 0
                ? `No message found for ${state.result.query}.`
                : `${formatInt(state.result.journeys.length)} message(s) for ${state.result.query} (by ${state.result.by === 'id' ? 'spool id' : 'address'}), newest first.`}
            </p>
          </>
        ) : null}
      </div>
      {state.kind === 'ok'
        ? state.result.journeys.map((journey) => <JourneyCard key={journey.id} journey={journey} />)
        : null}
    </>
  );
}
