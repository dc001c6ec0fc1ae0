import type { Collector, CollectorName } from '../collectors/types.js';
import { CollectorDown } from './collector-runner.js';

/**
 * downCollector stands for a collector that was asked for (--collectors) or whose probe failed, so that
 * `wattprint_collector_up{collector}` shows it, at 0, with the reason, for the whole session.
 */
export function downCollector(name: CollectorName, why: string): Collector {
  return {
    name,
    devices: [],
    read() {
      throw new CollectorDown(why);
    },
    close() {},
  };
}
