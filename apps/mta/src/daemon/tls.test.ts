import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate } from './tls.js';

describe('the self-signed certificate', () => {
  it('names the listener hostname in its common name and subjectAltName, one pair per name', async () => {
    const first = await selfSignedCertificate('mx1.sterna.test');
    const cert = new X509Certificate(first.cert);
    expect(cert.subject).toBe('CN=mx1.sterna.test');
    expect(cert.subjectAltName).toBe('DNS:mx1.sterna.test');
    expect(cert.checkPrivateKey(createPrivateKey(first.key))).toBe(true);
    expect(await selfSignedCertificate('mx1.sterna.test')).toBe(first);
    const other = await selfSignedCertificate('mx2.sterna.test');
    expect(new X509Certificate(other.cert).subjectAltName).toBe('DNS:mx2.sterna.test');
  });

  it('names an address hostname as an IP subjectAltName', async () => {
    const { cert } = await selfSignedCertificate('192.0.2.25');
    expect(new X509Certificate(cert).subjectAltName).toBe('IP Address:192.0.2.25');
  });
});
