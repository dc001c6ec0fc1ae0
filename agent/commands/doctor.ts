import type { Command } from 'commander';
import { detectCloud } from '../cloud.js';
import { addCarbonOptions, addHardwareOptions } from '../options.js';
import type { CommandContext } from './shared.js';
import { collectDoctor, renderDoctor } from '../doctor.js';
import { setupCarbon, type CarbonFlags } from '../carbon-setup.js';
import { collectorContext } from '../collector-context.js';
import type { TrackingFlags } from '../session.js';
import { selectCollectors } from '../select-collectors.js';

type DoctorFlags = CarbonFlags & Pick<TrackingFlags, 'sysfs' | 'procfs' | 'nvidiaSmi' | 'nvmlLibrary' | 'metadataUrl' | 'gpus' | 'cpuTdp' | 'simDevices' | 'collectors' | 'dropCollector'> & { json?: boolean };

/** doctorCommand probes every collector the way `run` would and says what it found, why not, and the fix. */
export async function doctorCommand(flags: DoctorFlags, env: NodeJS.ProcessEnv): Promise<number> {
  const ctx = collectorContext(flags, env);
  const cloud = await detectCloud({ sysfsRoot: flags.sysfs, metadataUrl: flags.metadataUrl, env });
  const carbon = await setupCarbon(flags, { cloud, env, firstFetchMs: 15_000 });
  const selection = await selectCollectors(ctx, flags.collectors, flags.dropCollector ?? []);
  for (const c of selection.collectors) c.close();
  const now = carbon.intensity.lookup(Date.now());
  const result = collectDoctor(
    selection.probes.map((p) => ({ name: p.name, ...p.result, ...(p.skipped ? { why: p.skipped } : {}) })),
    cloud,
    carbon.pue,
    { intensityGramsPerKwh: now.gramsPerKwh, source: now.source, ...(carbon.zone ? { zone: carbon.zone } : {}) },
  );
  process.stdout.write(renderDoctor(result, flags.json ? 'json' : 'text'));
  return 0;
}

/** register adds `wattprint doctor`. */
export function register(program: Command, { env, done }: CommandContext): void {
  addCarbonOptions(addHardwareOptions(program.command('doctor').description('what wattprint would measure here, how, and what it would apply')))
    .option('--json', 'JSON output')
    .action(async (opts) => done(await doctorCommand(opts, env)));
}
