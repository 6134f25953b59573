import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** Records of one name served by {@link startDnsServer}. */
export interface Records {
  MX?: { exchange: string; priority: number }[];
  A?: string[];
  TXT?: string[][];
  PTR?: string[];
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0]),
  ]);
}

function readName(packet: Buffer, at: number): [string, number] {
  const labels: string[] = [];
  while (packet[at]! > 0) {
    const length = packet[at]!;
    labels.push(packet.subarray(at + 1, at + 1 + length).toString());
    at += length + 1;
  }
  return [labels.join('.'), at + 1];
}

/**
 * A minimal authoritative DNS server on 127.0.0.1 for tests (UDP; MX, A, TXT, PTR): names not in
 * `records` answer NXDOMAIN, known names without the asked type answer NODATA.
 */
export async function startDnsServer(records: Record<string, Records>) {
  const socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    const [name, end] = readName(query, 12);
    const type = query.readUInt16BE(end);
    const known = records[name.toLowerCase()];
    const answers: Buffer[] = [];
    if (known && type === 15) {
      for (const mx of known.MX ?? []) {
        const rdata = Buffer.concat([
          Buffer.from([mx.priority >> 8, mx.priority & 0xff]),
          encodeName(mx.exchange),
        ]);
        answers.push(answer(15, rdata));
      }
    } else if (known && type === 1) {
      for (const a of known.A ?? []) answers.push(answer(1, Buffer.from(a.split('.').map(Number))));
    } else if (known && type === 16) {
      for (const parts of known.TXT ?? []) {
        answers.push(
          answer(
            16,
            Buffer.concat(
              parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
            ),
          ),
        );
      }
    } else if (known && type === 12) {
      for (const ptr of known.PTR ?? []) answers.push(answer(12, encodeName(ptr)));
    }
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(known ? 0x8580 : 0x8583, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(
      Buffer.concat([header, query.subarray(12, end + 4), ...answers]),
      peer.port,
      peer.address,
    );
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

function answer(type: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0);
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(1, 4);
  fixed.writeUInt32BE(60, 6);
  fixed.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([fixed, rdata]);
}
