// What `m2rag doctor` reports: per part of the store, what was checked, what is wrong, what --repair fixed.

/** The bytes at `url` fetched anew, or undefined when they cannot be. */
export type BlobRefetch = (url: string) => Promise<Uint8Array | undefined>;

export interface DoctorOptions {
  repair: boolean;
  /** Bytes of an image URL fetched anew (a safe fetch the caller provides), to restore a lost blob. */
  refetch?: BlobRefetch;
}

/** What doctor found in one part of the store (a record kind, an index, the blobs, the database). */
export interface PartReport {
  part: string;
  checked: number;
  /** Problems still there, one line each (the first few are named). */
  problems: string[];
  problemCount: number;
  /** What --repair fixed, one line each. */
  repaired: string[];
}

export interface DoctorReport {
  store: string;
  parts: PartReport[];
  /** Problems left after any repair: doctor exits non-zero when there are any. */
  remaining: number;
}

const NAMED = 5;

export function newPart(part: string): PartReport {
  return { part, checked: 0, problems: [], problemCount: 0, repaired: [] };
}

export function addProblem(report: PartReport, line: string): void {
  report.problemCount++;
  if (report.problems.length < NAMED) report.problems.push(line);
}
