/**
 * `data` as bytes that own their whole buffer, copied only when `data` is a view into a larger
 * one. Posting a view to another thread clones its entire buffer: a short `Buffer` lives in
 * Node's shared 8 KiB pool, a slice of a spool segment in the segment. (`Buffer#slice` is no
 * copy: it is another view of the same memory.)
 */
export function ownedBytes(data: Uint8Array): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? data
    : new Uint8Array(data);
}
