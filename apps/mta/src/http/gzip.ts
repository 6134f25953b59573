import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Fastify's own code for an oversized body, so one error handler answers both cases with 413. */
const TOO_LARGE = 'FST_ERR_CTP_BODY_TOO_LARGE';

/** Stops a stream once more than `limit` bytes have passed (a gzip bomb must not fill memory). */
class LimitStream extends Transform {
  #seen = 0;
  readonly #limit: number;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) {
      done(Object.assign(new Error('length limit exceeded'), { code: TOO_LARGE, statusCode: 413 }));
      return;
    }
    done(null, chunk);
  }
}

/**
 * The request body as fastify should read it: gunzipped when `Content-Encoding: gzip` (the body
 * limit then applies to the decompressed bytes), as is when not encoded. Any other encoding is
 * refused with 415. `receivedEncodedLength` tells fastify how many bytes came over the wire, for
 * its Content-Length check.
 */
export function decodeBody(
  payload: NodeJS.ReadableStream,
  encoding: string | undefined,
  limit: number,
): NodeJS.ReadableStream {
  const name = encoding?.trim().toLowerCase();
  if (!name || name === 'identity') return payload;
  if (name !== 'gzip' && name !== 'x-gzip') {
    throw Object.assign(new Error(`unsupported Content-Encoding '${encoding}'`), {
      statusCode: 415,
    });
  }
  const out = new LimitStream(limit) as LimitStream & { receivedEncodedLength: number };
  out.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
  });
  const gunzip = createGunzip();
  // Not stream.pipeline: it would destroy the request, and with it the socket the 413 or 400
  // answer must go out on. Node discards the rest of the upload once the reply is sent.
  const stop = () => {
    payload.unpipe(gunzip);
    gunzip.unpipe(out);
    gunzip.destroy();
  };
  gunzip.on('error', (error) => {
    stop();
    out.destroy(
      Object.assign(new Error(`the gzip request body is corrupt: ${error.message}`), {
        statusCode: 400,
      }),
    );
  });
  out.on('error', stop);
  payload.pipe(gunzip).pipe(out);
  return out;
}
