import type { Command } from 'commander';
import { nonNegativeNumber, positiveNumber, pueValue } from '../parse.js';
import type { CommandContext } from './shared.js';
import { estimate, renderEstimate } from '../../src/carbon/estimate.js';
import { tableProvider, worldAverageProvider } from '../../src/intensity/table.js';
import { checkIntensityFlags, checkedZone } from '../carbon-setup.js';
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
  residualMix?: number;
  json?: boolean;
}

/** estimateCommand is the paper's calculator: N × W × hours × PUE, then × intensity (no measurement). */
export function estimateCommand(flags: EstimateFlags): number {
  if ((flags.hours === undefined) === (flags.days === undefined)) throw new UsageError('estimate needs exactly one of --hours H or --days D');
  checkIntensityFlags(flags);
  if (flags.marketIntensity !== undefined && flags.cfe !== undefined) throw new UsageError('give --market-intensity G or --cfe F, not both');
  if (flags.marketIntensity !== undefined && flags.residualMix !== undefined) throw new UsageError('give --market-intensity G or --residual-mix G, not both: the residual mix is for the share --cfe leaves uncovered');
  if (flags.cfe !== undefined && flags.cfe > 1) throw new UsageError(`--cfe is a fraction from 0 to 1 (e.g. 0.3), got ${flags.cfe}`);
  let intensityGramsPerKwh = flags.intensity;
  let intensitySource = flags.intensity !== undefined ? '--intensity' : undefined;
  if (flags.zone !== undefined) {
    const zone = checkedZone(flags.zone);
    const value = tableProvider(zone).lookup(Date.now());
    intensityGramsPerKwh = value.gramsPerKwh;
    intensitySource = `${value.source}, zone ${zone}`;
  }
  if (intensityGramsPerKwh === undefined) {
    // As `run` does: the world average, and the result says it was assumed.
    const world = worldAverageProvider().lookup(Date.now());
    intensityGramsPerKwh = world.gramsPerKwh;
    intensitySource = world.source;
  }
  const result = estimate({
    accelerators: flags.accelerators,
    wattsPerAccelerator: flags.watts,
    hours: flags.hours ?? flags.days! * 24,
    ...(flags.pue !== undefined ? { pue: flags.pue } : {}),
    intensityGramsPerKwh,
    ...(intensitySource ? { intensitySource } : {}),
    ...(flags.marketIntensity !== undefined ? { marketIntensityGramsPerKwh: flags.marketIntensity } : {}),
    ...(flags.cfe !== undefined ? { cfe: flags.cfe } : {}),
    ...(flags.residualMix !== undefined ? { residualMixGramsPerKwh: flags.residualMix } : {}),
  });
  process.stdout.write(renderEstimate(result, flags.json ?? false));
  return 0;
}

/** register adds `wattprint estimate`. */
export function register(program: Command, { done }: CommandContext): void {
  program.command('estimate').description('the paper\'s calculator without measurement: accelerators × watts × time × PUE × intensity')
    .requiredOption('--accelerators <n>', 'number of accelerators (chips)', positiveNumber('--accelerators'))
    .requiredOption('--watts <w>', 'average system power per accelerator, watts', positiveNumber('--watts'))
    .option('--hours <h>', 'training time in hours', positiveNumber('--hours'))
    .option('--days <d>', 'training time in days', positiveNumber('--days'))
    .option('--pue <n>', 'datacenter PUE (default 1.58, the 2023 industry average)', pueValue)
    .option('--intensity <g>', 'grid intensity, gCO2e/kWh (default: the world average, marked assumed)', nonNegativeNumber('--intensity'))
    .option('--zone <zone>', 'grid zone or country: its annual average intensity')
    .option('--market-intensity <g>', 'market-based intensity, gCO2e/kWh', nonNegativeNumber('--market-intensity'))
    .option('--cfe <fraction>', 'contracted carbon-free energy fraction 0..1', nonNegativeNumber('--cfe'))
    .option('--residual-mix <g>', 'residual mix for the share no contract covers, gCO2e/kWh (default: the location intensity)', nonNegativeNumber('--residual-mix'))
    .option('--json', 'JSON output')
    .action((opts) => done(estimateCommand(opts)));
}
