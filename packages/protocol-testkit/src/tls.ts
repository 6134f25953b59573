import { generate } from 'selfsigned';

/** A PEM key and certificate. */
export interface TlsPair {
  readonly key: string;
  readonly cert: string;
}

let cached: Promise<TlsPair> | undefined;

/**
 * A self-signed certificate for `localhost`/127.0.0.1, made once per process (RSA key
 * generation is slow) and valid for a day.
 */
export function selfSignedPair(): Promise<TlsPair> {
  cached ??= generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return cached;
}
