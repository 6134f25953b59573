import { useEffect, useRef, useState } from 'preact/hooks';
import { bounce, type RuleBody, rebind, suspend, suspendReadyQueue } from '../admin-api.js';
import { ApiError } from '../api.js';
import { Field } from '../components/field.js';
import { formatDuration, formatInt } from '../format.js';

/** What an action reports to the page's result line. */
export type Report = (tone: 'ok' | 'bad', text: string) => void;

interface Selection {
  domain: string;
  tenant: string;
  campaign: string;
}

const errorText = (error: unknown) =>
  error instanceof ApiError
    ? error.message
    : error instanceof Error
      ? error.message
      : String(error);

/** The selector's non-empty fields, trimmed. */
function selectorOf(s: Selection): Omit<RuleBody, 'reason'> {
  const domain = s.domain.trim();
  const tenant = s.tenant.trim();
  const campaign = s.campaign.trim();
  return {
    ...(domain ? { domain } : {}),
    ...(tenant ? { tenant } : {}),
    ...(campaign ? { campaign } : {}),
  };
}

/** `domain example.com, tenant acme` */
export function describeSelector(s: {
  domain?: string;
  tenant?: string;
  campaign?: string;
  queue_names?: readonly string[];
}): string {
  const parts = [
    s.domain ? `domain ${s.domain}` : '',
    s.tenant ? `tenant ${s.tenant}` : '',
    s.campaign ? `campaign ${s.campaign}` : '',
    s.queue_names?.length ? `queues ${s.queue_names.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'every queue';
}

/** Reads the duration field: whole seconds ≥ 1, or an error text. */
function seconds(text: string): number | string {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value < 1) {
    return `Duration (seconds) must be a whole number of seconds, 1 or more (got '${text}').`;
  }
  return value;
}

function SelectorFields({
  prefix,
  value,
  onChange,
  invalid,
}: {
  prefix: string;
  value: Selection;
  onChange: (value: Selection) => void;
  invalid: boolean;
}) {
  return (
    <>
      <Field
        id={`${prefix}-domain`}
        label="Domain"
        value={value.domain}
        invalid={invalid}
        onInput={(domain) => onChange({ ...value, domain })}
      />
      <Field
        id={`${prefix}-tenant`}
        label="Tenant"
        value={value.tenant}
        invalid={invalid}
        onInput={(tenant) => onChange({ ...value, tenant })}
      />
      <Field
        id={`${prefix}-campaign`}
        label="Campaign"
        value={value.campaign}
        invalid={invalid}
        onInput={(campaign) => onChange({ ...value, campaign })}
      />
    </>
  );
}

/** The fields a queue page can prefill (`#/actions?form=suspend&domain=…`). */
export interface Prefill {
  readonly form: string | null;
  readonly selection: Selection;
}

function useSelection(kind: string, prefill: Prefill) {
  const empty = { domain: '', tenant: '', campaign: '' };
  const [selection, setSelection] = useState<Selection>(
    prefill.form === kind ? prefill.selection : empty,
  );
  const reasonRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (prefill.form !== kind) return;
    setSelection(prefill.selection);
    reasonRef.current?.focus();
  }, [prefill, kind]);
  return { selection, setSelection, reasonRef };
}

/** The Suspend form (`POST api/admin/suspend/v1`). */
export function SuspendForm({ report, done, prefill }: FormProps & { prefill: Prefill }) {
  const { selection, setSelection, reasonRef } = useSelection('suspend', prefill);
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState('300');
  const [busy, setBusy] = useState(false);
  const [noSelector, setNoSelector] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const selector = selectorOf(selection);
    if (Object.keys(selector).length === 0) {
      setNoSelector(true);
      return report(
        'bad',
        'Suspend refused: give a domain, a tenant or a campaign (suspending every queue is not offered here).',
      );
    }
    setNoSelector(false);
    if (!reason.trim()) return report('bad', 'Suspend refused: give a reason.');
    const secs = seconds(duration);
    if (typeof secs === 'string') return report('bad', `Suspend refused: ${secs}`);
    setBusy(true);
    try {
      const { id } = await suspend({ ...selector, reason: reason.trim(), duration: secs });
      await done();
      report(
        'ok',
        `Suspended ${describeSelector(selector)} for ${formatDuration(secs)} (suspension ${id}).`,
      );
    } catch (error) {
      report('bad', `Suspend failed: ${errorText(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" aria-labelledby="suspend-h" noValidate onSubmit={submit}>
      <h2 id="suspend-h">Suspend</h2>
      <p class="hint">
        Holds matching scheduled queues: their messages wait until it ends or is cancelled.
      </p>
      <SelectorFields
        prefix="suspend"
        value={selection}
        onChange={setSelection}
        invalid={noSelector}
      />
      <Field
        id="suspend-reason"
        label="Reason"
        value={reason}
        onInput={setReason}
        required
        inputRef={reasonRef}
      />
      <Field
        id="suspend-duration"
        label="Duration (seconds)"
        type="number"
        value={duration}
        onInput={setDuration}
        required
      />
      <div class="form-end">
        <button type="submit" class="btn" disabled={busy}>
          Suspend
        </button>
      </div>
    </form>
  );
}

/** What each form gets from the page. */
export interface FormProps {
  readonly report: Report;
  /** Called after a success, before the report: the page refreshes its tables. */
  readonly done: () => Promise<void>;
}

/** The Bounce form: asks in a dialog, then `POST api/admin/bounce/v1`. */
export function BounceForm({ report, done, prefill }: FormProps & { prefill: Prefill }) {
  const { selection, setSelection, reasonRef } = useSelection('bounce', prefill);
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState('300');
  const [busy, setBusy] = useState(false);
  const [noSelector, setNoSelector] = useState(false);
  const [pending, setPending] = useState<(RuleBody & { duration: number }) | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const keepButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (pending && !d.open) {
      d.showModal();
      // The safe choice has the focus.
      keepButton.current?.focus();
    }
    if (!pending && d.open) d.close();
  }, [pending]);

  const ask = (event: Event) => {
    event.preventDefault();
    const selector = selectorOf(selection);
    if (Object.keys(selector).length === 0) {
      setNoSelector(true);
      return report(
        'bad',
        'Bounce refused: give a domain, a tenant or a campaign (bouncing every queue is not offered here).',
      );
    }
    setNoSelector(false);
    if (!reason.trim()) return report('bad', 'Bounce refused: give a reason.');
    const secs = seconds(duration);
    if (typeof secs === 'string') return report('bad', `Bounce refused: ${secs}`);
    setPending({ ...selector, reason: reason.trim(), duration: secs });
  };

  const confirm = async () => {
    const body = pending;
    if (!body) return;
    setPending(null);
    setBusy(true);
    try {
      const reply = await bounce(body);
      await done();
      report(
        'ok',
        `Bouncing ${describeSelector(body)} for ${formatDuration(body.duration)} (bounce ${reply.id}): ${formatInt(reply.total_bounced)} message(s) bounced now.`,
      );
    } catch (error) {
      report('bad', `Bounce failed: ${errorText(error)}`);
    } finally {
      setBusy(false);
      trigger.current?.focus();
    }
  };

  const keep = () => {
    setPending(null);
    report('ok', 'Nothing was bounced.');
    trigger.current?.focus();
  };

  return (
    <form class="card" aria-labelledby="bounce-h" noValidate onSubmit={ask}>
      <h2 id="bounce-h">Bounce</h2>
      <p class="hint">
        Removes matching queued messages now, and new ones while it lasts, with a bounce for each.
        It cannot be undone for messages already bounced.
      </p>
      <SelectorFields
        prefix="bounce"
        value={selection}
        onChange={setSelection}
        invalid={noSelector}
      />
      <Field
        id="bounce-reason"
        label="Reason"
        value={reason}
        onInput={setReason}
        required
        inputRef={reasonRef}
      />
      <Field
        id="bounce-duration"
        label="Duration (seconds)"
        type="number"
        value={duration}
        onInput={setDuration}
        required
      />
      <div class="form-end">
        <button type="submit" class="btn btn-danger" disabled={busy} ref={trigger}>
          Bounce…
        </button>
      </div>
      <dialog
        ref={dialog}
        aria-labelledby="bounce-dialog-h"
        aria-describedby="bounce-dialog-text"
        onCancel={(e) => {
          e.preventDefault();
          keep();
        }}
      >
        <h2 id="bounce-dialog-h">Bounce these messages?</h2>
        <p id="bounce-dialog-text">
          Every queued message of {pending ? describeSelector(pending) : ''} will be bounced now,
          and any new one for the next {pending ? formatDuration(pending.duration) : ''}. Reason:{' '}
          {pending?.reason}.
        </p>
        <div class="form-end">
          <button type="button" class="btn btn-danger" onClick={confirm}>
            Bounce messages
          </button>
          <button type="button" class="btn btn-secondary" onClick={keep} ref={keepButton}>
            Keep them
          </button>
        </div>
      </dialog>
    </form>
  );
}

/** The Suspend a ready queue form (`POST api/admin/suspend-ready-q/v1`). */
export function SuspendReadyForm({
  report,
  done,
  names,
}: FormProps & { names: readonly string[] }) {
  const [name, setName] = useState('');
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState('300');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!name.trim())
      return report('bad', 'Suspend ready queue refused: give the ready queue name.');
    if (!reason.trim()) return report('bad', 'Suspend ready queue refused: give a reason.');
    const secs = seconds(duration);
    if (typeof secs === 'string') return report('bad', `Suspend ready queue refused: ${secs}`);
    setBusy(true);
    try {
      const { id } = await suspendReadyQueue({
        name: name.trim(),
        reason: reason.trim(),
        duration: secs,
      });
      await done();
      report(
        'ok',
        `Suspended ready queue ${name.trim()} for ${formatDuration(secs)} (suspension ${id}).`,
      );
    } catch (error) {
      report('bad', `Suspend ready queue failed: ${errorText(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" aria-labelledby="ready-h" noValidate onSubmit={submit}>
      <h2 id="ready-h">Suspend a ready queue</h2>
      <p class="hint">Stops new connections of one egress path (its messages wait).</p>
      <Field
        id="ready-name"
        label="Ready queue name"
        value={name}
        onInput={setName}
        required
        wide
        list="ready-names"
        hint="<source>-><site>@<protocol>"
      >
        <datalist id="ready-names">
          {names.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </Field>
      <Field id="ready-reason" label="Reason" value={reason} onInput={setReason} required />
      <Field
        id="ready-duration"
        label="Duration (seconds)"
        type="number"
        value={duration}
        onInput={setDuration}
        required
      />
      <div class="form-end">
        <button type="submit" class="btn" disabled={busy}>
          Suspend ready queue
        </button>
      </div>
    </form>
  );
}

/** The Rebind form (`POST api/admin/rebind/v1`): sets a meta value and re-queues. */
export function RebindForm({ report, done }: FormProps) {
  const [selection, setSelection] = useState<Selection>({ domain: '', tenant: '', campaign: '' });
  const [reason, setReason] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const selector = selectorOf(selection);
    if (!reason.trim()) return report('bad', 'Rebind refused: give a reason.');
    if (!key.trim()) return report('bad', 'Rebind refused: give the meta key to set.');
    setBusy(true);
    try {
      await rebind({ ...selector, reason: reason.trim(), data: { [key.trim()]: value } });
      await done();
      report('ok', `Rebound ${describeSelector(selector)} with ${key.trim()} = '${value}'.`);
    } catch (error) {
      report('bad', `Rebind failed: ${errorText(error)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" aria-labelledby="rebind-h" noValidate onSubmit={submit}>
      <h2 id="rebind-h">Rebind</h2>
      <p class="hint">
        Sets a meta value on matching scheduled messages and puts them through queue selection again
        (empty selector fields match all).
      </p>
      <SelectorFields prefix="rebind" value={selection} onChange={setSelection} invalid={false} />
      <Field id="rebind-reason" label="Reason" value={reason} onInput={setReason} required />
      <Field id="rebind-key" label="Meta key" value={key} onInput={setKey} required />
      <Field id="rebind-value" label="Meta value" value={value} onInput={setValue} />
      <div class="form-end">
        <button type="submit" class="btn" disabled={busy}>
          Rebind
        </button>
      </div>
    </form>
  );
}
