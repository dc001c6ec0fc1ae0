import { estimate, renderEstimate } from '../../src/estimate.js';
import { tableProvider } from '../../src/intensity/table.js';
import { checkedZone } from '../carbon-setup.js';
import { UsageError } from '../errors.js';

interface EstimateFlags {
  accelerators: number;
  watts: number;
  hours?: number;
  days?: number;
  pue?: number;
  intensity?: number;
  zone?: string;
  marketIntensity?: number;
  cfe?: number;
  json?: boolean;
}

/** estimateCommand is the paper's calculator: N × W × hours × PUE, then × intensity (no measurement). */
export function estimateCommand(flags: EstimateFlags): number {
  if ((flags.hours === undefined) === (flags.days === undefined)) throw new UsageError('estimate needs exactly one of --hours H or --days D');
  if (flags.intensity !== undefined && flags.zone !== undefined) throw new UsageError('give --intensity G or --zone Z, not both');
  if (flags.marketIntensity !== undefined && flags.cfe !== undefined) throw new UsageError('give --market-intensity G or --cfe F, not both');
  if (flags.cfe !== undefined && flags.cfe > 1) throw new UsageError(`--cfe is a fraction from 0 to 1 (e.g. 0.3), got ${flags.cfe}`);
  let intensityGramsPerKwh = flags.intensity;
  let intensitySource = flags.intensity !== undefined ? '--intensity' : undefined;
  if (flags.zone !== undefined) {
    const zone = checkedZone(flags.zone);
    const value = tableProvider(zone).lookup(Date.now());
    intensityGramsPerKwh = value.gramsPerKwh;
    intensitySource = `${value.source}, zone ${zone}`;
  }
  if (intensityGramsPerKwh === undefined) throw new UsageError('estimate needs the grid intensity: --intensity G (gCO2e/kWh) or --zone Z (see `wattprint zones`)');
  const result = estimate({
    accelerators: flags.accelerators,
    wattsPerAccelerator: flags.watts,
    hours: flags.hours ?? flags.days! * 24,
    ...(flags.pue !== undefined ? { pue: flags.pue } : {}),
    intensityGramsPerKwh,
    ...(intensitySource ? { intensitySource } : {}),
    ...(flags.marketIntensity !== undefined ? { marketIntensityGramsPerKwh: flags.marketIntensity } : {}),
    ...(flags.cfe !== undefined ? { cfe: flags.cfe } : {}),
  });
  process.stdout.write(renderEstimate(result, flags.json ?? false));
  return 0;
}
