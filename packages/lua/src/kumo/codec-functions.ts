import { readFileSync } from 'node:fs';
import { errorText } from '@sterna/core';
import { decorateFunction, LuaRawResult, type LuaThread } from 'wasmoon';
import type { ContextImplementations } from '../host/host-calls.js';
import { pushBytes, readBytes } from '../shared/lua-bytes.js';
import { readLuaValue } from '../shared/lua-values.js';
import { DECODERS, digest, ENCODERS } from './encoding.js';

const raw = { receiveThread: true, receiveArgsQuantity: true } as const;
const utf8 = new TextEncoder();

/** A digest input: strings as bytes, anything else as its JSON text (as KumoMTA does). */
function input(thread: LuaThread, index: number): Uint8Array {
  return (
    readBytes(thread, index) ?? utf8.encode(JSON.stringify(readLuaValue(thread, index) ?? null))
  );
}

/** An HMAC key: a KeySource (a file path, or `{ key_data = … }`). */
function keyBytes(thread: LuaThread, index: number): Uint8Array {
  const text = readBytes(thread, index);
  if (text) return readFileSync(Buffer.from(text).toString('utf8'));
  const source = readLuaValue(thread, index) as { key_data?: unknown } | undefined;
  if (typeof source?.key_data === 'string') return utf8.encode(source.key_data);
  throw new Error('expected a key source: a file path or { key_data = ... }');
}

/** The host functions behind `kumo.digest` and `kumo.encode` (bytes in and out, exactly). */
export function codecFunctions() {
  return {
    encode: decorateFunction((thread: LuaThread) => {
      const kind = String(thread.getValue(1));
      const bytes = readBytes(thread, 2);
      const encoder = ENCODERS[kind];
      if (!encoder || !bytes) throw `kumo.encode.${kind}_encode: expected a string`;
      return encoder(bytes);
    }, raw),
    decode: decorateFunction((thread: LuaThread) => {
      const kind = String(thread.getValue(1));
      const text = thread.getValue(2);
      const decoder = DECODERS[kind];
      if (!decoder || typeof text !== 'string')
        throw `kumo.encode.${kind}_decode: expected a string`;
      try {
        pushBytes(thread, decoder(text));
      } catch (error) {
        throw `kumo.encode.${kind}_decode: ${errorText(error)}`;
      }
      return new LuaRawResult(1);
    }, raw),
    secret: decorateFunction((thread: LuaThread) => {
      try {
        pushBytes(thread, keyBytes(thread, 1));
      } catch (error) {
        throw `kumo.secrets.load: ${errorText(error)}`;
      }
      return new LuaRawResult(1);
    }, raw),
    digest: decorateFunction((thread: LuaThread, count: number) => {
      const algorithm = String(thread.getValue(1));
      try {
        const parts: Uint8Array[] = [];
        for (let i = 2; i <= count; i++) {
          parts.push(
            i === 2 && algorithm.startsWith('hmac_') ? keyBytes(thread, i) : input(thread, i),
          );
        }
        pushBytes(thread, digest(algorithm, parts));
      } catch (error) {
        throw `kumo.digest.${algorithm}: ${errorText(error)}`;
      }
      return new LuaRawResult(1);
    }, raw),
  } satisfies Partial<ContextImplementations>;
}
