import { describe, expect, it } from 'vitest';
import { TraceHub } from './hub.js';
import type { ClientTraceEvent, ServerTraceEvent } from './types.js';

describe('TraceHub', () => {
  it('is inactive, and drops events, until someone subscribes; watchers hear each switch', () => {
    const hub = new TraceHub();
    const switches: boolean[] = [];
    hub.server.watch((on) => switches.push(on));
    const session = hub.tracer.begin({ ready_queue: 'q' });
    expect(session.active).toBe(false);
    session.emit('Connected'); // nobody listens: nothing happens
    const got: ServerTraceEvent[] = [];
    const off = hub.server.subscribe({
      filter: () => true,
      terse: false,
      send: (e) => got.push(e),
    });
    expect(hub.server.active).toBe(true);
    off();
    expect(hub.server.active).toBe(false);
    expect(switches).toEqual([false, true, false]);
  });

  it('gives each outbound session its queue names, a number, and what it learns later', () => {
    const hub = new TraceHub();
    const got: ClientTraceEvent[] = [];
    hub.client.subscribe({ filter: () => true, terse: false, send: (e) => got.push(e) });
    const tracer = hub.tracer.with({ ready_queue: 'src->site@smtp_client', egress_pool: 'p' });
    const session = tracer.begin();
    session.emit('BeginSession');
    session.update({ mx_host: 'mx.example' });
    session.emit({ Write: 'EHLO me\r\n' });
    expect(got.map((e) => e.payload)).toEqual(['BeginSession', { Write: 'EHLO me\r\n' }]);
    expect(got[0]!.conn_meta).toMatchObject({
      ready_queue: 'src->site@smtp_client',
      egress_pool: 'p',
    });
    expect(got[0]!.conn_meta).not.toHaveProperty('mx_host');
    expect(got[1]!.conn_meta).toMatchObject({ mx_host: 'mx.example' });
    expect(typeof got[1]!.conn_meta.session_id).toBe('number');
  });

  it('abbreviates multi-line data for terse subscribers only, and filters per subscriber', () => {
    const hub = new TraceHub();
    const full: ServerTraceEvent[] = [];
    const terse: ServerTraceEvent[] = [];
    const none: ServerTraceEvent[] = [];
    hub.server.subscribe({ filter: () => true, terse: false, send: (e) => full.push(e) });
    hub.server.subscribe({ filter: () => true, terse: true, send: (e) => terse.push(e) });
    hub.server.subscribe({ filter: () => false, terse: false, send: (e) => none.push(e) });
    const data = 'Subject: hi\r\n\r\nbody\r\n';
    hub.server.publish({ conn_meta: {}, payload: { Read: data }, when: '' });
    hub.server.publish({ conn_meta: {}, payload: { Read: 'QUIT\r\n' }, when: '' });
    expect(full.map((e) => e.payload)).toEqual([{ Read: data }, { Read: 'QUIT\r\n' }]);
    expect(terse.map((e) => e.payload)).toEqual([
      { AbbreviatedRead: { snippet: 'Subject: hi\r\n', len: data.length } },
      { Read: 'QUIT\r\n' },
    ]);
    expect(none).toEqual([]);
  });
});
