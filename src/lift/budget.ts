// Every LIFT length derived from one number: the context budget B, the tokens the model sees at answer time
// (its usable window). The paper (docs/method.md §1, §2, §6) fixes them for an 8k window; we keep its ratios:
//
//   paper (B = 8192)                 here
//   segment ℓ = 2048                 ℓ = round(B / 4)
//   stride  s = 768 = 3/8 ℓ          s = round(3/8 · ℓ)
//   CT context front+back = 4096     ctContext = round(B / 2)              (§2: a + b = 4096)
//   answer truncation 7800           truncation = B − answerReserve        (§6)
//                                    answerReserve = round(B · 392 / 8192) (the paper's 392 = 8192 − 7800:
//                                    room left in the window for the generated answer)
//
// `truncation` is the token budget of the whole answer prompt (title, document, question): the document is
// cut in the middle so the prompt fits it, and the answer is generated into the remaining answerReserve tokens.
// Any of these can be overridden; overrides are validated against each other.

export interface LiftLengths {
  /** B: tokens the model sees at answer time. */
  budget: number;
  /** ℓ: tokens per memorisation segment (§1). */
  segmentLength: number;
  /** s: distance between segment starts (§1). */
  stride: number;
  /** Tokens of document context (front + "..." + back) before each contextualized segment (§2). */
  ctContext: number;
  /** Token budget of the answer prompt, document middle-truncated to fit (§6; 7800 of 8192 in the paper). */
  truncation: number;
}

export interface LiftLengthOverrides {
  segmentLength?: number;
  stride?: number;
  ctContext?: number;
  truncation?: number;
  /** Tokens kept free for the generated answer when `truncation` is derived (default round(B·392/8192)). */
  answerReserve?: number;
}

/** The paper's reference window and answer-prompt budget (§6). */
export const PAPER_WINDOW = 8192;
export const PAPER_TRUNCATION = 7800;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`liftLengths: ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Derives ℓ, s, the CT context and the answer truncation from the budget B with the paper's ratios.
 * liftLengths(8192) = { budget: 8192, segmentLength: 2048, stride: 768, ctContext: 4096, truncation: 7800 }.
 */
export function liftLengths(budget: number, opts: LiftLengthOverrides = {}): LiftLengths {
  positiveInt('budget', budget);
  if (budget < 16) throw new RangeError(`liftLengths: budget ${budget} is too small (need at least 16 tokens)`);
  const segmentLength = positiveInt('segmentLength', opts.segmentLength ?? Math.max(1, Math.round(budget / 4)));
  const stride = positiveInt('stride', opts.stride ?? Math.max(1, Math.round((3 * segmentLength) / 8)));
  const ctContext = positiveInt('ctContext', opts.ctContext ?? Math.round(budget / 2));
  const reserve = opts.answerReserve ?? Math.max(1, Math.round((budget * (PAPER_WINDOW - PAPER_TRUNCATION)) / PAPER_WINDOW));
  if (!Number.isInteger(reserve) || reserve < 0) throw new RangeError(`liftLengths: answerReserve must be a non-negative integer, got ${reserve}`);
  const truncation = positiveInt('truncation', opts.truncation ?? budget - reserve);
  if (stride > segmentLength) throw new RangeError(`liftLengths: stride ${stride} exceeds segmentLength ${segmentLength}: segments would leave gaps`);
  if (segmentLength > budget) throw new RangeError(`liftLengths: segmentLength ${segmentLength} exceeds the budget ${budget}`);
  if (truncation > budget) throw new RangeError(`liftLengths: truncation ${truncation} exceeds the budget ${budget}`);
  // A contextualized sample is ctContext + "..." + the recite prompt + one segment: it must fit the window.
  if (ctContext + segmentLength >= budget) {
    throw new RangeError(`liftLengths: ctContext ${ctContext} + segmentLength ${segmentLength} leaves no room for the recite prompt in the budget ${budget}`);
  }
  return { budget, segmentLength, stride, ctContext, truncation };
}
