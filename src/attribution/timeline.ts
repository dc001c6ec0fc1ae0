/**
 * ShareTimeline remembers each tick's shares with the interval they cover, so energy that arrives for a longer
 * interval (a counter read every 5 s, energy recovered across a restart) is charged the time-weighted mean
 * share of the ticks it spans rather than the last tick's share.
 */

interface Span {
  startMs: number;
  endMs: number;
  shares: ReadonlyMap<string, number>;
}

/** ShareTimeline keeps the spans of the last `keepMs` milliseconds (default one hour). */
export class ShareTimeline {
  private readonly spans: Span[] = [];
  /** True while each span starts where or after the previous one ended (shareOver's early exit needs it). */
  private ordered = true;

  constructor(private readonly keepMs = 3_600_000) {}

  /** record stores one tick's shares for the wall-clock interval [startMs, endMs]; empty intervals are ignored. */
  record(startMs: number, endMs: number, shares: ReadonlyMap<string, number>): void {
    if (!(endMs > startMs)) return;
    const last = this.spans[this.spans.length - 1];
    if (last && startMs < last.endMs) this.ordered = false;
    this.spans.push({ startMs, endMs, shares });
    const horizon = endMs - this.keepMs;
    while (this.spans.length > 1 && this.spans[0]!.endMs < horizon) this.spans.shift();
  }

  /**
   * shareOver is the time-weighted mean share of `deviceId` over [startMs, endMs], from the recorded spans
   * that overlap it (time no span covers does not count); undefined when none overlaps or none has the device.
   */
  shareOver(deviceId: string, startMs: number, endMs: number): number | undefined {
    let weighted = 0;
    let covered = 0;
    // Spans are recorded in time order and energy mostly asks about the last tick: scan back from the newest
    // and stop at the first span wholly before the interval (a node agent asks once per job and device a tick).
    for (let i = this.spans.length - 1; i >= 0; i--) {
      const span = this.spans[i]!;
      if (this.ordered && span.endMs < startMs) break;
      const share = span.shares.get(deviceId);
      if (share === undefined) continue;
      const overlap = Math.min(endMs, span.endMs) - Math.max(startMs, span.startMs);
      if (overlap <= 0) continue;
      weighted += share * overlap;
      covered += overlap;
    }
    // A zero-length interval (a counter read twice in one instant) takes the span that holds it.
    if (covered === 0 && endMs === startMs) {
      const span = this.spans.find((s) => s.startMs <= startMs && startMs <= s.endMs && s.shares.has(deviceId));
      return span?.shares.get(deviceId);
    }
    return covered > 0 ? weighted / covered : undefined;
  }
}
