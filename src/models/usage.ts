// Token and request accounting per model, so a stage can print what its model calls cost.
import type { UsageTotals } from './types.js';

export class UsageMeter {
  private readonly totals = new Map<string, UsageTotals>();

  private entry(key: string): UsageTotals {
    let totals = this.totals.get(key);
    if (!totals) {
      totals = { requests: 0, cached: 0, failed: 0, retries: 0, promptTokens: 0, completionTokens: 0 };
      this.totals.set(key, totals);
    }
    return totals;
  }

  record(key: string, event: Partial<UsageTotals>): void {
    const totals = this.entry(key);
    for (const [field, n] of Object.entries(event) as Array<[keyof UsageTotals, number]>) totals[field] += n;
  }

  snapshot(): Record<string, UsageTotals> {
    return Object.fromEntries([...this.totals].map(([key, totals]) => [key, { ...totals }]));
  }
}

/** One line per model: `model: 12 requests (3 cached, 1 failed, 2 retries), 1234 prompt + 56 completion tokens`. */
export function formatUsage(usage: Record<string, UsageTotals>): string[] {
  return Object.entries(usage).map(
    ([key, t]) =>
      `${key}: ${t.requests} requests (${t.cached} cached, ${t.failed} failed, ${t.retries} retries), ` +
      `${t.promptTokens} prompt + ${t.completionTokens} completion tokens`,
  );
}
