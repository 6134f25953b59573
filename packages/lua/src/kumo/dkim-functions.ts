import { errorText } from '@sterna/core';
import type { ContextImplementations, DkimKind } from '../host/host-calls.js';
import { type MessageTable, messageIn } from '../message/message-functions.js';
import { fromLua, toLua } from '../shared/json-text.js';
import { dkimSignature, parseSigner } from './dkim.js';
import {
  type AuthenticationResult,
  authenticationResultsField,
  dkimVerify,
} from './dkim-verify.js';

/**
 * The host functions behind `kumo.dkim` and the message's DKIM methods (`msg:dkim_sign`,
 * `msg:dkim_verify`, `msg:add_authentication_results`). Errors are thrown as strings so Lua
 * sees a plain message.
 */
export function dkimFunctions(
  messages: MessageTable,
  lookupTxt: (name: string) => Promise<string[]>,
) {
  const get = (h: unknown) => messageIn(messages, h);
  return {
    dkim_signer: (kind: DkimKind, params: unknown) => {
      try {
        return toLua(parseSigner(kind, fromLua(params)));
      } catch (error) {
        throw errorText(error);
      }
    },
    msg_dkim_sign: (h: number, kind: DkimKind, params: unknown) => {
      const state = get(h);
      try {
        const signer = parseSigner(kind, fromLua(params));
        const header = dkimSignature(
          state.data,
          kind === 'rsa_sha256' ? 'rsa-sha256' : 'ed25519-sha256',
          signer,
        );
        state.prependRaw(header);
      } catch (error) {
        throw `dkim_sign: ${errorText(error)}`;
      }
    },
    msg_dkim_verify: (h: number) =>
      dkimVerify(get(h).data, lookupTxt).then(toLua, (error: unknown) => {
        throw `dkim_verify: ${errorText(error)}`;
      }),
    msg_add_auth_results: (h: number, serverId: unknown, results: unknown) => {
      const list = fromLua(results ?? []);
      const entries = Array.isArray(list) ? list : [];
      get(h).prependRaw(
        authenticationResultsField(String(serverId), entries as Partial<AuthenticationResult>[]),
      );
    },
  } satisfies Partial<ContextImplementations>;
}
