// A schema-less protobuf wire-format reader for tests: enough to walk OTLP export requests by
// field number (https://protobuf.dev/programming-guides/encoding/), so a test can check what an
// exporter really sent without trusting the exporter's own code.

/** One decoded field: its number and raw value (varint as bigint, bytes for length-delimited). */
export interface WireField {
  field: number;
  wireType: number;
  varint?: bigint;
  bytes?: Uint8Array;
  fixed?: Uint8Array;
}

export function decodeMessage(buf: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wireType = key & 7;
    if (wireType === 0) out.push({ field, wireType, varint: varint() });
    else if (wireType === 1) {
      out.push({ field, wireType, fixed: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wireType === 2) {
      const len = Number(varint());
      out.push({ field, wireType, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wireType === 5) {
      out.push({ field, wireType, fixed: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wireType}`);
  }
  return out;
}

/** Every sub-message at `field`. */
export function messages(buf: Uint8Array, field: number): Uint8Array[] {
  return decodeMessage(buf)
    .filter((f) => f.field === field && f.bytes)
    .map((f) => f.bytes!);
}

/** The string at `field`, or undefined. */
export function str(buf: Uint8Array, field: number): string | undefined {
  const f = decodeMessage(buf).find((x) => x.field === field && x.bytes);
  return f ? Buffer.from(f.bytes!).toString('utf8') : undefined;
}

/** The varint at `field` as a number, or undefined. */
export function int(buf: Uint8Array, field: number): number | undefined {
  const f = decodeMessage(buf).find((x) => x.field === field && x.varint !== undefined);
  return f ? Number(f.varint) : undefined;
}

/** The bytes at `field` as hex, or undefined. */
export function hex(buf: Uint8Array, field: number): string | undefined {
  const f = decodeMessage(buf).find((x) => x.field === field && x.bytes);
  return f ? Buffer.from(f.bytes!).toString('hex') : undefined;
}

/** OTLP KeyValue list (field `field` of `buf`) as a plain object of string/int values. */
export function attributes(buf: Uint8Array, field: number): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of messages(buf, field)) {
    const key = str(kv, 1)!;
    const anyValue = messages(kv, 2)[0];
    if (anyValue === undefined) continue;
    const fields = decodeMessage(anyValue);
    const f = fields[0];
    if (f === undefined) continue;
    if (f.field === 1)
      out[key] = Buffer.from(f.bytes!).toString('utf8'); // string_value
    else if (f.field === 2)
      out[key] = f.varint === 1n; // bool_value
    else if (f.field === 3)
      out[key] = Number(BigInt.asIntN(64, f.varint!)); // int_value
    else if (f.field === 4) out[key] = Buffer.from(f.fixed!).readDoubleLE(0); // double_value
  }
  return out;
}
