// Data-only description of an HTML run report (absorb / eval). Producers fill these plain objects;
// src/report/html.ts turns them into one self-contained file. Keeping the model free of rendering
// concerns means a report can also be saved as JSON, diffed, or re-rendered later.

/** A whole report: a header plus sections drawn top to bottom in order. */
export interface Report {
  title: string;
  subtitle?: string;
  /** ISO 8601 timestamp, shown as given (the renderer never reads the clock, so output is reproducible). */
  createdAt: string;
  sections: Section[];
}

/** One named series of points; x and y have the same length. Non-finite y values become gaps. */
export interface LineSeries {
  name: string;
  x: number[];
  y: number[];
}

/** Line chart with a numeric x axis, e.g. loss curves with one series per training stage. */
export interface LinesSection {
  kind: 'lines';
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
}

/**
 * Matrix of scores, e.g. gate values (layers × heads) or needle-in-a-haystack (context length × depth).
 * values is indexed [y][x]: values.length === yTicks.length and each row has xTicks.length entries;
 * null marks a cell that was not measured. min/max fix the colour scale (default: the data's range).
 */
export interface HeatmapSection {
  kind: 'heatmap';
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  xTicks: string[];
  yTicks: string[];
  values: (number | null)[][];
  min?: number;
  max?: number;
}

/** One group member of a grouped bar chart; values align with BarsSection.labels. */
export interface BarSeries {
  name: string;
  values: number[];
}

/** Grouped bar chart, e.g. one bar per method for each metric. */
export interface BarsSection {
  kind: 'bars';
  id: string;
  title: string;
  labels: string[];
  series: BarSeries[];
}

/** Plain table, e.g. a score table with rows = methods and columns = metrics. Numbers are right-aligned. */
export interface TableSection {
  kind: 'table';
  id: string;
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/** Preformatted text (configuration dumps, sample answers), shown in a monospace block. */
export interface TextSection {
  kind: 'text';
  id: string;
  title: string;
  text: string;
}

/** Key/value list, e.g. timings and output paths. */
export interface KvSection {
  kind: 'kv';
  id: string;
  title: string;
  entries: [string, string | number][];
}

export type Section = LinesSection | HeatmapSection | BarsSection | TableSection | TextSection | KvSection;

