// ggml's tensor storage types that we read and write: their GGUF type ids and block layouts (ggml-common.h).
// A row of n values is n / block consecutive blocks of `bytes` bytes; a [rows, cols] weight is its rows
// back to back. F32/F16/BF16 are "blocks" of one value. The arithmetic lives in native/quant-formats.cc.
export const GGML_TYPES = {
  F32: { id: 0, block: 1, bytes: 4 },
  F16: { id: 1, block: 1, bytes: 2 },
  Q4_0: { id: 2, block: 32, bytes: 18 },
  Q4_1: { id: 3, block: 32, bytes: 20 },
  Q5_0: { id: 6, block: 32, bytes: 22 },
  Q5_1: { id: 7, block: 32, bytes: 24 },
  Q8_0: { id: 8, block: 32, bytes: 34 },
  Q2_K: { id: 10, block: 256, bytes: 84 },
  Q3_K: { id: 11, block: 256, bytes: 110 },
  Q4_K: { id: 12, block: 256, bytes: 144 },
  Q5_K: { id: 13, block: 256, bytes: 176 },
  Q6_K: { id: 14, block: 256, bytes: 210 },
  BF16: { id: 30, block: 1, bytes: 2 },
} as const;

export type GGMLTypeName = keyof typeof GGML_TYPES;
/** Block-quantized types (not F32/F16/BF16). */
export type QuantName = Exclude<GGMLTypeName, 'F32' | 'F16' | 'BF16'>;
export const QUANT_NAMES = Object.keys(GGML_TYPES).filter((k) => GGML_TYPES[k as GGMLTypeName].block > 1) as QuantName[];

const BY_ID = new Map<number, GGMLTypeName>(Object.entries(GGML_TYPES).map(([k, v]) => [v.id, k as GGMLTypeName]));
export function ggmlTypeById(id: number): GGMLTypeName | undefined {
  return BY_ID.get(id);
}

/** Bits per weight of a type (Q4_K: 144·8/256 = 4.5). */
export function bitsPerWeight(t: GGMLTypeName): number {
  const { block, bytes } = GGML_TYPES[t];
  return (bytes * 8) / block;
}

/** Bytes for a row-major tensor whose innermost dimension is `cols`, or undefined when cols is not whole blocks. */
export function ggmlByteLength(t: GGMLTypeName, numel: number, cols: number): number | undefined {
  const { block, bytes } = GGML_TYPES[t];
  if (block > 1 && (cols <= 0 || cols % block !== 0 || numel % cols !== 0)) return numel === 0 ? 0 : undefined;
  return (numel / block) * bytes;
}
