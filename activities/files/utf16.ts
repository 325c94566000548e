/**
 * UTF-16 purchase files (Excel's "Unicode" exports: the BOM `FF FE`; `FE FF` for big-endian) are
 * transcoded to UTF-8 before the readers, which split lines and cells on bytes. Every offset a
 * reader reports (ReaderState.byte, a piece's end) is then of the transcoded bytes, so a resumed
 * load reads the file from its start and skips, as it does for a gzip file. A lone surrogate (not
 * UTF-16 text) comes out as the byte 0xFF, which is not UTF-8 either: the readers judge it as they
 * judge bad UTF-8 (the record is quarantined; the raw zone keeps the exact bytes).
 */

export type Utf16 = 'utf-16le' | 'utf-16be';

/** The encoding a file's first two bytes name by their BOM, or null (UTF-8 or no BOM). */
export function utf16Bom(first: Buffer): Utf16 | null {
  if (first[0] === 0xff && first[1] === 0xfe) return 'utf-16le';
  if (first[0] === 0xfe && first[1] === 0xff) return 'utf-16be';
  return null;
}

const NOT_TEXT = Buffer.from([0xff]);
const LONE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const HAS_LONE_SURROGATE = new RegExp(LONE);
const LONE_SURROGATES = new RegExp(LONE, 'g');

/** Whole UTF-16 code units as UTF-8; each lone surrogate as the byte 0xFF. */
function toUtf8(units: Buffer, encoding: Utf16): Buffer {
  const text = (encoding === 'utf-16be' ? Buffer.from(units).swap16() : units).toString('utf16le');
  if (!HAS_LONE_SURROGATE.test(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let from = 0;
  for (const m of text.matchAll(LONE_SURROGATES)) {
    parts.push(Buffer.from(text.slice(from, m.index), 'utf8'), NOT_TEXT);
    from = m.index + 1;
  }
  parts.push(Buffer.from(text.slice(from), 'utf8'));
  return Buffer.concat(parts);
}

/** The file's bytes after its BOM, as UTF-8. A code unit or surrogate pair cut by a chunk edge waits for the next chunk. */
async function* transcode(chunks: AsyncIterable<Buffer>, encoding: Utf16, bomLeft: number): AsyncGenerator<Buffer> {
  let carry: Buffer = Buffer.alloc(0);
  let skip = bomLeft;
  for await (const piece of chunks) {
    let buf = carry.length ? Buffer.concat([carry, piece]) : piece;
    if (skip) {
      const cut = Math.min(skip, buf.length);
      buf = buf.subarray(cut);
      skip -= cut;
    }
    let whole = buf.length & ~1;
    if (whole >= 2) {
      const last = encoding === 'utf-16be' ? buf.readUInt16BE(whole - 2) : buf.readUInt16LE(whole - 2);
      if (last >= 0xd800 && last <= 0xdbff) whole -= 2; // a high surrogate: its pair may come next
    }
    carry = Buffer.from(buf.subarray(whole));
    if (whole) yield toUtf8(buf.subarray(0, whole), encoding);
  }
  // The file ends inside a pair or a code unit: what is whole, then 0xFF for the cut one.
  if (carry.length) {
    const whole = carry.length & ~1;
    const head = whole ? toUtf8(carry.subarray(0, whole), encoding) : Buffer.alloc(0);
    yield carry.length % 2 ? Buffer.concat([head, NOT_TEXT]) : head;
  }
}

/**
 * The bytes the readers read: as they are, or transcoded when the file is UTF-16. `state.encoding`
 * is set when a read from byte 0 finds the BOM, and a resumed read (`state.byte` > 0, the whole file
 * given) goes by it.
 */
export async function* decodedText(stream: AsyncIterable<Buffer | string>, state: { byte: number; encoding?: Utf16 }): AsyncGenerator<Buffer> {
  const body = (async function* () {
    for await (const piece of stream) yield typeof piece === 'string' ? Buffer.from(piece) : piece;
  })();
  if (state.byte > 0) {
    if (state.encoding) yield* transcode(body, state.encoding, 2);
    else yield* body;
    return;
  }
  const it = body[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 2) {
    const r = await it.next();
    if (r.done) break;
    head = head.length ? Buffer.concat([head, r.value]) : r.value;
  }
  const rest = (async function* () {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  const encoding = utf16Bom(head);
  if (!encoding) {
    yield* rest;
    return;
  }
  state.encoding = encoding;
  yield* transcode(rest, encoding, 2);
}
