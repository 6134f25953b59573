import { useEffect, useState } from 'preact/hooks';
import type { Overview, QueuesSnapshot, RateSample } from '../../src/dashboard/wire.js';
import { openEventStream } from './api.js';

/** The most samples kept: 15 minutes of one-second samples. */
export const MAX_SAMPLES = 900;

/** What the event stream has told the app. */
export interface LiveState {
  /** The stream is open. */
  readonly live: boolean;
  readonly overview: Overview | null;
  /** Oldest first, at most {@link MAX_SAMPLES}. */
  readonly history: readonly RateSample[];
  readonly queues: QueuesSnapshot | null;
}

let state: LiveState = { live: false, overview: null, history: [], queues: null };
const listeners = new Set<(s: LiveState) => void>();

function update(change: Partial<LiveState>): void {
  state = { ...state, ...change };
  for (const listener of listeners) listener(state);
}

/** The current state (outside components). */
export function liveState(): LiveState {
  return state;
}

/** Starts the app's one event stream feeding the store; returns its stop function. */
export function startLive(): () => void {
  return openEventStream({
    open: (live) => {
      if (live !== state.live) update({ live });
    },
    hello: (hello) =>
      update({
        live: true,
        overview: hello.overview,
        history: hello.history.slice(-MAX_SAMPLES),
        queues: hello.queues,
      }),
    tick: ({ sample, overview }) => {
      const last = state.history.at(-1);
      // A reconnect's hello may already hold this second.
      const history =
        last && last.t >= sample.t
          ? state.history
          : [...state.history.slice(-(MAX_SAMPLES - 1)), sample];
      update({ overview, history });
    },
    queues: (queues) => update({ queues }),
  });
}

/** The live state, re-rendering the component on each change. */
export function useLive(): LiveState {
  const [value, setValue] = useState(state);
  useEffect(() => {
    listeners.add(setValue);
    setValue(state);
    return () => {
      listeners.delete(setValue);
    };
  }, []);
  return value;
}
