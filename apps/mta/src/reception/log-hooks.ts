import { errorText, type Logger, type MetaValue } from '@sterna/core';
import { type LogRecord, newSpoolId } from '@sterna/core/engine';
import { selectHeaders, selectMeta } from '../logs/index.js';
import { type ReceptionPolicy, rejectionOf } from '../policy/types.js';
import type { RecordContext, RecordSink } from '../queue/types.js';
import type { Receiver } from './receiver.js';

/** `kumo.configure_log_hook{…}` as the daemon uses it. */
export interface LogHookParams {
  readonly name: string;
  readonly meta: readonly string[];
  readonly headers: readonly string[];
  readonly per_record: Readonly<Record<string, { readonly enable?: boolean }>>;
  /**
   * Keep each record's message in memory until it first has to wait (a transient failure),
   * rather than spooling it before it is queued; a crash loses what is held. @default false
   */
  readonly deferred_spool?: boolean;
}

/**
 * KumoMTA's log hooks: each record becomes a message (data: the record's JSON and a newline;
 * meta `log_record`: the record) offered to `should_enqueue_log_record(msg, hook_name)`; when the
 * policy says yes it is queued wherever the policy pointed it (usually a `custom_lua` webhook).
 * Records of such messages are never hooked again, so a hook cannot feed itself.
 */
export class LogHooks implements RecordSink {
  readonly #hooks: readonly LogHookParams[];
  readonly #policy: ReceptionPolicy;
  readonly #receiver: () => Receiver | undefined;
  readonly #log: Logger;
  #pending = new Set<Promise<void>>();

  constructor(
    hooks: readonly LogHookParams[],
    policy: ReceptionPolicy,
    receiver: () => Receiver | undefined,
    log: Logger,
  ) {
    this.#hooks = hooks;
    this.#policy = policy;
    this.#receiver = receiver;
    this.#log = log;
  }

  write(record: LogRecord, context?: RecordContext): void {
    if (record.reception_protocol === 'LogRecord' || this.#hooks.length === 0) return;
    if (!this.#policy.hasEvent('should_enqueue_log_record')) return;
    for (const hook of this.#hooks) {
      const params = hook.per_record[record.type] ?? hook.per_record.Any;
      if (params?.enable === false) continue;
      const work = this.#offer(hook, record, context).finally(() => this.#pending.delete(work));
      this.#pending.add(work);
    }
  }

  /** Waits for records being offered to the policy. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #offer(
    hook: LogHookParams,
    record: LogRecord,
    context: RecordContext | undefined,
  ): Promise<void> {
    const receiver = this.#receiver();
    if (!receiver) return;
    const hooked: LogRecord = {
      ...record,
      meta: context
        ? (selectMeta(context.meta, hook.meta) as Record<string, MetaValue>)
        : record.meta,
      headers: context ? selectHeaders(context.headers, hook.headers) : record.headers,
    };
    const recipients = Array.isArray(hooked.recipient) ? hooked.recipient : [hooked.recipient];
    const message = {
      id: newSpoolId(),
      sender: hooked.sender,
      recipients: recipients.length > 0 ? recipients : ['postmaster@localhost'],
      meta: {
        log_record: hooked as unknown as MetaValue,
        reception_protocol: 'LogRecord',
      } as Record<string, MetaValue>,
      data: Buffer.from(`${JSON.stringify(hooked)}\n`),
    };
    try {
      const { result, message: after } = await this.#policy.callWithMessage(
        'should_enqueue_log_record',
        message,
        [hook.name],
      );
      if (result !== true) return;
      await receiver.accept(
        [
          {
            ...after,
            recipients: [...after.recipients],
            meta: { ...after.meta } as Record<string, MetaValue>,
          },
        ],
        null,
        { deferredSpool: hook.deferred_spool === true },
      );
    } catch (error) {
      const rejection = rejectionOf(error);
      this.#log.warn(`log hook ${hook.name} did not take a ${record.type} record`, {
        error: rejection ? `${rejection.code} ${rejection.text}` : errorText(error),
      });
    }
  }
}

/** Sends every record to several sinks. */
export function fanOut(sinks: readonly RecordSink[]): RecordSink {
  return {
    write(record, context) {
      for (const sink of sinks) sink.write(record, context);
    },
  };
}
