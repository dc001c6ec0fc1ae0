import { describe, expect, it } from 'vitest';
import { naturalCompare } from '../../../collectors/lib/sysfs.js';

// listDir orders sysfs entries (RAPL zones, DRM cards, hwmon, TPU chips) with naturalCompare, which replaced
// localeCompare(…, 'en', { numeric: true }) so an agent does not load ICU's collation data. The orders it
// produces for sysfs names must be the ones the collator gave.
const collator = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

describe('naturalCompare', () => {
  it('orders sysfs names as the numeric collator did', () => {
    const names = [
      'intel-rapl:1', 'intel-rapl:0:10', 'intel-rapl:0', 'intel-rapl:0:2', 'intel-rapl:0:1', 'intel-rapl:10', 'intel-rapl:2',
      'card10', 'card2', 'card1', 'card0', 'renderD128', 'hwmon3', 'hwmon12', 'accel0', 'accel11', 'accel3', 'vfio', 'cpu9', 'cpu10', 'cpu100',
    ];
    expect([...names].sort(naturalCompare)).toEqual([...names].sort(collator));
    expect([...names].sort(naturalCompare).slice(0, 3)).toEqual(['accel0', 'accel3', 'accel11']);
  });

  it('compares digit runs by value, leading zeros aside, and a prefix first', () => {
    expect(naturalCompare('card2', 'card10')).toBeLessThan(0);
    expect(naturalCompare('card10', 'card2')).toBeGreaterThan(0);
    expect(naturalCompare('a007', 'a7')).toBe(0);
    expect(naturalCompare('a008', 'a7')).toBeGreaterThan(0);
    expect(naturalCompare('intel-rapl:0', 'intel-rapl:0:0')).toBeLessThan(0);
    expect(naturalCompare('x', 'x')).toBe(0);
    expect(naturalCompare('', 'a')).toBeLessThan(0);
    expect(naturalCompare('99999999999999999999', '100000000000000000000')).toBeLessThan(0);
  });
});
