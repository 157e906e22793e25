// Whether decode-sized products (≤ MATVEC_MAX_ROWS rows of x) take native/matvec.cc instead of sgemm or the
// dequantize-a-row loop; one switch for linear() (f32 weights) and quantLinear() (f16/bf16 storage). Tests turn
// it off to compare the two paths.

/** Inputs of at most this many rows take the matrix-vector kernel (memory-bound decode). */
export const MATVEC_MAX_ROWS = 4;
let on = true;

/** Turns the decode matrix-vector path off (the general kernels for every size) or back on; returns the previous setting. */
export function useMatvec(enabled: boolean): boolean {
  const was = on;
  on = enabled;
  return was;
}

export function matvecEnabled(): boolean {
  return on;
}
