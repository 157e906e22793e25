// What a fuzz child (child.ts) and the runner (runner.ts) say to each other over IPC.

/** One input taking more CPU time than this counts as a hang. */
export const HANG_MS = 1000;
/** File in the child's scratch folder holding the input being run, for reports after a crash or a stall. */
export const CURRENT_INPUT = 'current-input.txt';

/** slowestMs is CPU time (what decides a hang), slowestWallMs the wall time of the slowest input. */
export interface Counts { done: number; ok: number; typed: number; untyped: number; hangs: number; slowestMs: number; slowestWallMs: number }
export interface Finding { kind: 'untyped' | 'hang' | 'crash'; message: string; input: string }
export type ChildMessage =
  | { kind: 'ready'; work: string }
  | { kind: 'progress'; counts: Counts; findings: Finding[] }
  | { kind: 'done'; counts: Counts; findings: Finding[]; shrunk?: Finding };

