/**
 * Just enough of SentencePiece's ModelProto (protobuf) to list its pieces: the wasm encoder
 * exposes no piece count, and the trainer needs the vocabulary size and the end-of-line id.
 * ModelProto field 1 = repeated SentencePiece { 1: piece (string), 2: score (float), 3: type }.
 */
export interface ModelPiece {
  piece: string;
  /** 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE */
  type: number;
}

class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw new Error('truncated field');
  }
}

function parsePiece(buf: Uint8Array): ModelPiece {
  const r = new ProtoReader(buf);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let piece = '';
  let type = 1;
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) piece = decoder.decode(r.bytes());
    else if (field === 3 && wire === 0) type = r.varint();
    else r.skip(wire);
  }
  return { piece, type };
}

/** The pieces of a .model file in id order; throws on bytes that are not a ModelProto. */
export function parseModelPieces(model: Uint8Array): ModelPiece[] {
  const r = new ProtoReader(model);
  const pieces: ModelPiece[] = [];
  while (!r.done) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 1 && wire === 2) pieces.push(parsePiece(r.bytes()));
    else r.skip(wire);
  }
  return pieces;
}
