// LIFT.ts's public API: load a model, absorb a document into an adapter, ask questions, keep the adapter.
//   const loaded = loadModelFromPath('stories260K.bin');
//   const { adapter } = await absorb(loaded, { title, text }, { adapter: 'lora', contextBudget: 128 });
//   const answer = await ask(loaded, adapter, 'Who found the key?', { title, document: text, contextBudget: 128 });
//   saveAdapter('doc.lift', adapter, { base: { model: loaded.model, id: loaded.id, revision: loaded.revision } });
export * as engine from './engine/index.js';
export { loadModelFromPath, detectFormat, type LoadedModel, type LoadOptions, type ModelFormat } from './model/load.js';
export { parseHFConfig, type LlamaConfig } from './model/config.js';
export { LlamaModel, type AdapterHooks, type ProjName, type LowRankTerm, type MemorySpec } from './model/llama.js';
export { useNativeDecode } from './model/native-decode.js';
export { KVCache } from './model/kv-cache.js';
export { generate, generateText, type GenerateOptions } from './model/generate.js';
export { Sampler } from './model/sampling.js';
export { meanNll } from './model/perplexity.js';
export { convertModel } from './model/convert.js';
export { resolveModelFiles, parseModelSpec } from './io/hub.js';
export type { Tokenizer } from './text/tokenizer.js';
export { applyChatTemplate } from './text/chat-template.js';
export { LoraAdapter, ALL_LINEAR, type LoraConfig } from './adapters/lora.js';
export { GatedMemoryAdapter, type GatedMemoryOptions } from './adapters/gated-memory.js';
export { AdapterRouter, type RouteChoice, type RoutablePart } from './adapters/route.js';
export { splitDocument, absorbInParts, type PartsResult } from './lift/parts.js';
export { saveAdapter, loadAdapter, BaseModelMismatchError, type Adapter, type LiftManifest } from './adapters/files.js';
export { absorb, PAPER_DEFAULTS, type AnchorOn, type AbsorbOptions, type AbsorbEvent, type AbsorbResult } from './lift/absorb.js';
// The recipe as data (one type, one table of checks, defaults → preset → file → flags) and the presets, which are
// partial recipes of it: recipeAbsorbOptions is the one way from a recipe to absorb()'s options.
export { parseRecipe, readRecipeFile, mergeRecipes, recipeAbsorbOptions, recipeOptimizer, RecipeError, RECIPE_FIELDS, type Recipe, type RecipeOptimizer } from './lift/recipe.js';
export { PRESETS, OURS_DEFAULTS, presetByName, presetRecipe, presetAbsorbOptions, presetAskOptions, presetBudget, presetRecord, type Preset, type AnswerStop, type QAAcceptance } from './lift/presets.js';
export { MEASURED_PRESETS, TINY_PRESET, measuredPresetFor, type MeasuredPreset } from './lift/measured.js';
export { ask, type AskOptions } from './lift/ask.js';
export { train, type TrainSample, type TrainerOptions, type TrainEvent } from './lift/trainer.js';
export { answerMask, answerRecitations } from './lift/answers.js';
export { recall, recallPrompt, inContextPrompt, type RecallItem, type RecallResult } from './eval/recall.js';
export { evaluateAbsorbed, containsAnswer, type Evaluation, type EvaluationInput } from './eval/absorbed.js';
export { plantedDocument, type PlantedDocument, type PlantedFact } from './eval/datasets/planted.js';
export { liftLengths, type LiftLengths } from './lift/budget.js';
export { makeQAGenerator, BuiltinQAGenerator, OpenAIQAGenerator, type QAGenerator, type QAPair } from './lift/qa/index.js';
export { readDocument, loadDocument } from './lift/document.js';
export { extractDocument, type DocumentFormat, type Extracted } from './docs/index.js';
