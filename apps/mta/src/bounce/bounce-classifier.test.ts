import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeResponse } from '@sterna/core';
import { buildLogRecord, type LogRecord } from '@sterna/core/engine';
import { translateRegex } from '@sterna/lua';
import { describe, expect, it } from 'vitest';
import type { RecordSink } from '../queue/types.js';
import { asciiVariant } from './ascii-regex.js';
import {
  BounceClassifier,
  classifyingSink,
  responseText,
  responseTextOf,
  type SourcedRule,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'sterna-bounce-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const rules = (...pairs: [string, string][]): SourcedRule[] =>
  pairs.map(([category, pattern]) => ({ file: 'test.toml', category, pattern }));

describe('the bounce classifier', () => {
  it('gives the first matching rule, files in the order given', () => {
    const first = file('first.toml', '[rules]\nTransientFailure = ["blacklisted"]\n');
    const second = file(
      'second.toml',
      '[rules]\nSpamBlock = ["blacklisted", "^554 "]\nInvalidRecipient = ["^550 5\\\\.1\\\\.1 "]\n',
    );
    const c = BounceClassifier.load({ files: [first, second] });
    expect(c.size).toBe(4);
    expect(c.classifyText('554 5.7.1 you are blacklisted')).toBe('TransientFailure');
    expect(c.classifyText('554 5.7.1 go away')).toBe('SpamBlock');
    expect(c.classifyText('550 5.1.1 no such user')).toBe('InvalidRecipient');
    expect(c.classifyText('250 ok')).toBe('Uncategorized');
  });

  it('reads JSON rules files, and labels of the policy’s own', () => {
    const json = file('rules.json', JSON.stringify({ rules: { MyOwnLabel: ['^451 '] } }));
    expect(BounceClassifier.load({ files: [json] }).classifyText('451 later')).toBe('MyOwnLabel');
  });

  it("runs Rust's syntax: leading flags, \\d, POSIX classes, (?P<name>…), \\A", () => {
    const c = BounceClassifier.fromRules(
      rules(
        ['Caseless', '(?i)^4\\d{2} .*GREYLIST'],
        ['Posix', '^5[[:digit:]]{2} [[:alpha:]]+ quota'],
        ['Named', '^(?P<code>55\\d) named'],
        ['Start', '\\Astart'],
      ),
    );
    expect(c.classifyText('450 4.7.1 greylisted')).toBe('Caseless');
    expect(c.classifyText('552 over quota')).toBe('Posix');
    expect(c.classifyText('551 named')).toBe('Named');
    expect(c.classifyText('start here')).toBe('Start');
    expect(c.classifyText('not at start')).toBe('Uncategorized');
  });

  it('keeps rule order across RegExps of different flags', () => {
    const c = BounceClassifier.fromRules(
      rules(['A', 'alpha'], ['B', '(?i)BETA'], ['C', 'beta'], ['D', '(?P<x>gamma)'], ['E', 'g']),
    );
    expect(c.classifyText('beta')).toBe('B');
    expect(c.classifyText('gamma')).toBe('D');
    expect(c.classifyText('g alpha')).toBe('A');
    expect(c.classifyText('g')).toBe('E');
  });

  it('matches non-ASCII text with the Unicode forms, ASCII text with the fast ones', () => {
    const c = BounceClassifier.fromRules(rules(['Word', '\\bunbekannt\\b'], ['Digit', '^\\d+$']));
    expect(c.classifyText('550 Empfänger unbekannt')).toBe('Word');
    expect(c.classifyText('550 Empfängerunbekannt')).toBe('Uncategorized');
    expect(c.classifyText('550 éunbekannt')).toBe('Uncategorized'); // é is a word character
    expect(c.classifyText('٥٥٠')).toBe('Digit'); // Rust's \d is Unicode
    expect(c.classifyText('550')).toBe('Digit');
    expect(asciiVariant(translateRegex('(?i)\\bx\\d\\s[\\w-]\\W\\B'))).toEqual({
      source: '\\bx\\d\\s[\\w-]\\W\\B',
      flags: 'i',
    });
    expect(asciiVariant(translateRegex('\\p{Greek}\\b')).flags).toBe('u');
  });

  it('refuses a pattern JavaScript cannot run, naming the file, category and pattern', () => {
    const bad = file('bad.toml', '[rules]\nSpamBlock = ["ok", "a(?i)b"]\n');
    expect(() => BounceClassifier.load({ files: [bad] })).toThrow(
      `${bad}: rules.SpamBlock: pattern "a(?i)b": flags other than at the start`,
    );
    const broken = file('broken.toml', '[rules]\nSpamBlock = ["(unclosed"]\n');
    expect(() => BounceClassifier.load({ files: [broken] })).toThrow(
      `${broken}: rules.SpamBlock: pattern "(unclosed": Invalid regular expression`,
    );
  });

  it('refuses a malformed or missing rules file, naming it', () => {
    const toml = file('malformed.toml', '[rules\nX = 1');
    expect(() => BounceClassifier.load({ files: [toml] })).toThrow(`${toml}: not valid TOML`);
    const shape = file('shape.toml', '[rules]\nX = "not a list"\n');
    expect(() => BounceClassifier.load({ files: [shape] })).toThrow(
      `${shape}: rules.X: expected a list of regular expressions`,
    );
    const none = file('none.toml', 'title = "no rules"\n');
    expect(() => BounceClassifier.load({ files: [none] })).toThrow(`${none}: expected a [rules]`);
    const missing = join(dir, 'missing.toml');
    expect(() => BounceClassifier.load({ files: [missing] })).toThrow(
      `${missing}: cannot read the rules file (ENOENT)`,
    );
  });

  it('answers again from its caches, bounded in size', () => {
    const c = BounceClassifier.fromRules(rules(['A', '^5']), {
      cache_size: 2,
      uncategorized_cache_size: 0,
    });
    for (let i = 0; i < 10; i++) expect(c.classifyText(`5${i}0 x`)).toBe('A');
    expect(c.classifyText('250 ok')).toBe('Uncategorized');
    expect(c.classifyText('250 ok')).toBe('Uncategorized');
  });
});

describe('the line a response is matched as', () => {
  it("is KumoMTA's: code, enhanced code, content", () => {
    expect(responseText(makeResponse(550, '5.1.1 user unknown'))).toBe('550 5.1.1 user unknown');
    expect(responseText(makeResponse(421, 'try later'))).toBe('421 try later');
  });

  it('is read from a reply text or a response table given by a policy', () => {
    expect(responseTextOf('550-5.1.1 no\r\n550 5.1.1 such user')).toBe('550 5.1.1 no such user');
    expect(responseTextOf('not a reply')).toBe('not a reply');
    expect(
      responseTextOf({
        code: 552,
        enhanced_code: { class: 5, subject: 2, detail: 2 },
        content: 'full',
      }),
    ).toBe('552 5.2.2 full');
    expect(responseTextOf({ code: 452, enhanced_code: '4.2.2', content: 'full' })).toBe(
      '452 4.2.2 full',
    );
    expect(() => responseTextOf({ content: 'x' })).toThrow('needs a numeric code');
  });
});

describe('the classifying record sink', () => {
  const classifier = BounceClassifier.fromRules(rules(['InvalidRecipient', '^550 5\\.1\\.1 ']));
  const record = (type: LogRecord['type'], reply: string) =>
    buildLogRecord({
      type,
      recipient: 'a@example.com',
      response: makeResponse(Number(reply.slice(0, 3)), reply.slice(4)),
      nodeid: 'n',
    });

  it('fills bounce_classification on the types KumoMTA classifies, and only those', () => {
    const seen: LogRecord[] = [];
    const sink: RecordSink = { write: (r) => void seen.push(r) };
    const classifying = classifyingSink(sink, classifier);
    classifying.write(record('Bounce', '550 5.1.1 no such user'));
    classifying.write(record('TransientFailure', '451 4.4.4 later'));
    classifying.write(record('Delivery', '550 5.1.1 no such user'));
    classifying.write(record('Rejection', '550 5.1.1 no such user'));
    expect(seen.map((r) => r.bounce_classification)).toEqual([
      'InvalidRecipient',
      'Uncategorized',
      'Uncategorized',
      'InvalidRecipient',
    ]);
    expect(Object.keys(seen[0]!)).toEqual(Object.keys(record('Bounce', '550 x')));
  });
});
