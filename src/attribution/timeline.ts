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

  constructor(private readonly keepMs = 3_600_000) {}

  /** record stores one tick's shares for the wall-clock interval [startMs, endMs]; empty intervals are ignored. */
  record(startMs: number, endMs: number, shares: ReadonlyMap<string, number>): void {
    if (!(endMs > startMs)) return;
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
    for (const span of this.spans) {
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
