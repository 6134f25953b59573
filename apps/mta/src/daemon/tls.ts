import { isIP } from 'node:net';
import { hostname as machineName } from 'node:os';

/** A certificate and its private key, PEM text. */
export interface CertificatePair {
  readonly key: string;
  readonly cert: string;
}

// One pair per distinct name for the life of the process: listeners that share a hostname share
// a certificate, and making a 2048-bit key is not repeated.
const pairs = new Map<string, Promise<CertificatePair>>();

/**
 * The certificate a listener offers when the policy names none: self-signed, made at start,
 * naming the listener's `hostname` as KumoMTA's does (common name and subjectAltName; an IP
 * address for a hostname that is one), never smtp-server's built-in pair, whose key is public.
 * @param name the listener's `hostname`. @default the machine's name
 */
export function selfSignedCertificate(name: string = machineName()): Promise<CertificatePair> {
  let pair = pairs.get(name);
  if (!pair) {
    pair = make(name);
    pairs.set(name, pair);
    // A failure is not remembered: the next listener asking for the name tries again.
    pair.catch(() => pairs.delete(name));
  }
  return pair;
}

async function make(name: string): Promise<CertificatePair> {
  const ip = isIP(name) !== 0;
  // Loaded when a certificate is first made (its X.509 and ASN.1 libraries take ~0.1–0.2 s of
  // CPU to load), not with the daemon's modules.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: name }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: name } : { type: 2, value: name }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
