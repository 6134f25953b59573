import { describe, expect, it } from 'vitest';
import { BounceClassifier, STARTER_RULES_PATH } from './index.js';

// Responses as providers and Sterna itself send them (addresses and IPs made up).
const CASES: [response: string, category: string][] = [
  [
    '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in local recipient table',
    'InvalidRecipient',
  ],
  [
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n550 5.1.1 double-checking the recipient's email address for typos",
    'InvalidRecipient',
  ],
  ['550 5.5.0 Requested action not taken: mailbox unavailable', 'InvalidRecipient'],
  [
    '550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [x.prod.outlook.com]',
    'InvalidRecipient',
  ],
  [
    "554 delivery error: dd This user doesn't have a yahoo.com account (bob@yahoo.com) [0] - mta1.mail.example",
    'InvalidRecipient',
  ],
  ['550 5.1.1 no such user', 'InvalidRecipient'],
  ['553 5.1.3 KumoMTA internal: address "a b@c" cannot be sent', 'InvalidRecipient'],
  ['550 5.2.1 The email account that you tried to reach is disabled.', 'InactiveMailbox'],
  ['552 5.2.2 The email account that you tried to reach is over quota.', 'QuotaIssues'],
  [
    '452 4.2.2 The email account that you tried to reach is over quota and inactive.',
    'QuotaIssues',
  ],
  ['552 5.2.2 Mailbox full', 'QuotaIssues'],
  ['552 5.3.4 message too big', 'QuotaIssues'],
  ['421 4.7.0 Try again later, closing connection. (EHLO) rate limited', 'TransientFailure'],
  [
    '421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1',
    'SpamBlock',
  ],
  [
    '421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address.',
    'SpamBlock',
  ],
  [
    '450 4.2.1 The user you are trying to contact is receiving mail too quickly.',
    'TransientFailure',
  ],
  [
    '451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77719)',
    'TransientFailure',
  ],
  ['450 4.7.1 Greylisted, please try again in 300 seconds', 'TransientFailure'],
  [
    '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org',
    'SpamBlock',
  ],
  ['550 5.7.606 Access denied, banned sending IP [192.0.2.1].', 'SpamBlock'],
  [
    '550-5.7.1 Our system has detected that this message is likely unsolicited mail.',
    'SpamContent',
  ],
  ['554 5.7.1 Message rejected as spam by Content Filtering.', 'SpamContent'],
  [
    '550 5.7.26 This mail has been blocked because the sender is unauthenticated.',
    'AuthenticationFailed',
  ],
  [
    '550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification',
    'AuthenticationFailed',
  ],
  ['554 5.7.1 <x@example.com>: Relay access denied', 'RelayDenied'],
  ['556 5.1.10 Recipient address has a null MX', 'BadDomain'],
  [
    '550 5.4.4 KumoMTA internal: mx (127.0.0.1) is on the list of prohibited_hosts ["127.0.0.0/8"]',
    'RoutingErrors',
  ],
  ['551 5.4.7 Next delivery time would exceed the expiry time', 'MessageExpired'],
  ['551 5.7.1 Administrator bounced with reason: cleanup', 'PolicyRelated'],
  ['554 5.7.9 Message not accepted for policy reasons.', 'PolicyRelated'],
  ['452 4.5.3 too many recipients', 'TooManyRecipients'],
  ['503 5.5.1 bad sequence', 'ProtocolErrors'],
  ['554 5.7.1 Message rejected: virus found (Eicar-Test-Signature)', 'VirusRelated'],
  ['550 5.7.1 Sender address rejected: Domain not found', 'InvalidSender'],
  ['250 2.0.0 OK', 'Uncategorized'],
  ['554 transaction failed', 'Uncategorized'],
];

describe("Sterna's starter rules file", () => {
  const classifier = BounceClassifier.load({ files: [STARTER_RULES_PATH] });

  it.each(CASES)('%s → %s', (response, category) => {
    expect(classifier.classifyText(responseLine(response))).toBe(category);
  });

  it("loads by its short name 'sterna:bounce-rules.toml'", () => {
    const short = BounceClassifier.load({ files: ['sterna:bounce-rules.toml'] });
    expect(short.size).toBe(classifier.size);
  });

  it("refuses a 'sterna:' name that is a path, so it never reads outside the shipped folder", () => {
    for (const name of ['sterna:../package.json', 'sterna:/etc/passwd', 'sterna:..', 'sterna:'])
      expect(() => BounceClassifier.load({ files: [name] })).toThrow(/a bare file name, no path/);
  });

  it("stands in for KumoMTA's bundled iana.toml where that file is not installed, saying so", () => {
    const kumo = '/opt/kumomta/share/bounce_classifier/iana.toml';
    const standIn = BounceClassifier.load({ files: [kumo] });
    expect(standIn.size).toBe(classifier.size);
    expect(standIn.notes).toEqual([
      expect.stringContaining(`${kumo} is KumoMTA's bundled rules file`),
    ]);
    expect(classifier.notes).toEqual([]);
    // Any other missing file is still an error naming it.
    expect(() => BounceClassifier.load({ files: ['/opt/kumomta/share/other.toml'] })).toThrow(
      /other\.toml: cannot read the rules file \(ENOENT\)/,
    );
  });
});

// Folds a (multi-line) reply as records hold it: code, enhanced code, text.
function responseLine(reply: string): string {
  const lines = reply.split(/\r\n/);
  const code = lines[0]!.slice(0, 3);
  const rest = lines.map((l) => l.slice(4)).join(' ');
  return `${code} ${rest}`;
}
