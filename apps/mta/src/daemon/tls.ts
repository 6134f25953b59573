import { hostname } from 'node:os';
import { generate } from 'selfsigned';

let pair: Promise<{ key: string; cert: string }> | undefined;

/**
 * The certificate listeners offer when the policy names none: self-signed for this host,
 * made at start (never smtp-server's built-in one, whose key is public).
 */
export function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  pair ??= generate([{ name: 'commonName', value: hostname() }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return pair;
}
