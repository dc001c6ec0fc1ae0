import { Command, InvalidArgumentError, Option } from 'commander';
import { parseEmbodiedList, type EmbodiedSettings } from '../src/carbon/embodied.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { allowedHost, fraction, intervalSeconds, label, list, listenAddress, nonNegativeNumber, positiveNumber, pueValue } from './parse.js';

/** defaultDbPath is $WATTPRINT_DB's fallback: $XDG_DATA_HOME/wattprint/wattprint.db or ~/.local/share/wattprint/wattprint.db. */
export function defaultDbPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'wattprint', 'wattprint.db');
}

/** envName is the environment variable of a long option: --run-id → WATTPRINT_RUN_ID. */
export function envName(long: string): string {
  return `WATTPRINT_${long.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

function opt(flags: string, description: string): Option {
  const o = new Option(flags, description);
  const long = flags.split(/[ ,]+/).find((f) => f.startsWith('--') && !f.startsWith('--no-'));
  return long ? o.env(envName(long)) : o;
}

/** addDbOption adds --db to a command. */
export function addDbOption(cmd: Command): Command {
  return cmd.addOption(opt('--db <path>', 'SQLite database (default: $XDG_DATA_HOME/wattprint/wattprint.db or ~/.local/share/wattprint/wattprint.db)'));
}

/** addHardwareOptions adds collector selection and the injectable roots (run, agent, doctor). */
export function addHardwareOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--collectors <names>', 'only these collectors, comma-separated: nvml,nvidia-smi,rapl,amdgpu,tpu,cpu,ram,sim').argParser(list))
    // Written --no-collector X by users; main.ts rewrites it, since commander reads --no-* as a negation.
    .addOption(new Option('--drop-collector <name>', 'drop a collector (repeatable; also --no-collector NAME)').argParser(list))
    .addOption(opt('--gpus <list>', "GPUs of this job: indices or UUIDs (default: CUDA_VISIBLE_DEVICES, else all)").argParser(list))
    .addOption(opt('--sysfs <path>', 'sysfs root').default('/sys'))
    .addOption(opt('--procfs <path>', 'procfs root').default('/proc'))
    .addOption(opt('--nvidia-smi <path>', 'nvidia-smi binary').default('nvidia-smi'))
    .addOption(opt('--nvml-library <path>', 'NVML library').default('libnvidia-ml.so.1'))
    .addOption(opt('--metadata-url <url>', 'cloud metadata base URL (default: the detected provider\'s own address, only after DMI evidence)'))
    .addOption(opt('--cpu-tdp <watts>', 'CPU TDP per socket for the CPU model when the model is not in the table').argParser(positiveNumber('--cpu-tdp')))
    .addOption(opt('--sim-devices <n>', 'devices of the simulated collector (for trying wattprint without hardware)').argParser(positiveNumber('--sim-devices')).hideHelp());
}

/** addCarbonOptions adds PUE and intensity options (run, agent, doctor, replay). */
export function addCarbonOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--pue <n>', 'datacenter PUE (default: the detected cloud\'s published figure, else 1.58, the 2023 industry average)').argParser(pueValue))
    .addOption(opt('--intensity <g>', 'grid intensity, gCO2e/kWh (constant)').argParser(nonNegativeNumber('--intensity')))
    .addOption(opt('--zone <zone>', 'grid zone or country (e.g. DE, FR, US-CAL-CISO): annual average or an hourly source'))
    .addOption(opt('--intensity-source <name>', 'constant|table|csv|electricitymaps|uk|watttime'))
    .addOption(opt('--intensity-file <path>', 'hourly intensity CSV (Electricity Maps export or datetime,zone,intensity_g_per_kwh[,cfe])'))
    .addOption(opt('--intensity-url <url>', 'override the intensity provider\'s base URL'))
    .addOption(opt('--emission-factor <kind>', 'lifecycle|direct columns of Electricity Maps files').choices(['lifecycle', 'direct']).default('lifecycle'))
    .addOption(opt('--market-intensity <g>', 'market-based: contractual intensity of all consumption, gCO2e/kWh').argParser(nonNegativeNumber('--market-intensity')))
    .addOption(opt('--cfe <fraction>', 'market-based: contracted carbon-free fraction of the supply (PPAs, certificates; 0..1)').argParser(fraction))
    .addOption(opt('--residual-mix <g>', 'market-based: residual mix for the share no contract covers, gCO2e/kWh (default: the location intensity, marked assumed)').argParser(nonNegativeNumber('--residual-mix')))
    .addOption(opt('--uk-region <n>', 'carbonintensity.org.uk region 1..17 for --intensity-source uk (13 is London; default: national)').argParser(positiveNumber('--uk-region')));
}

/** EmbodiedFlags are --embodied-kg and --lifetime-years as parsed. */
export interface EmbodiedFlags {
  embodiedKg?: EmbodiedSettings['kg'];
  lifetimeYears?: EmbodiedSettings['lifetimeYears'];
}

const embodiedList = (flag: string) => (value: string, previous?: Record<string, number>) => {
  try {
    return parseEmbodiedList(value, flag, previous);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

/** addEmbodiedOptions adds the embodied-emissions overrides (run, agent, replay, report). */
export function addEmbodiedOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--embodied-kg <kg>', 'embodied (manufacturing) kgCO2e: gpu=150,tpu=150,host=2500 per unit, or one number for the whole node').argParser(embodiedList('--embodied-kg')))
    .addOption(opt('--lifetime-years <years>', 'service life the embodied emissions are amortised over: one number for all, or gpu=6,host=4').argParser(embodiedList('--lifetime-years')));
}

/** embodiedSettings turns the flags into settings, or undefined when neither was given. */
export function embodiedSettings(flags: EmbodiedFlags): EmbodiedSettings | undefined {
  if (!flags.embodiedKg && !flags.lifetimeYears) return undefined;
  return { ...(flags.embodiedKg ? { kg: flags.embodiedKg } : {}), ...(flags.lifetimeYears ? { lifetimeYears: flags.lifetimeYears } : {}) };
}

/** addTrackingOptions adds the options of run and agent. */
export function addTrackingOptions(cmd: Command): Command {
  addDbOption(cmd);
  addHardwareOptions(cmd);
  addCarbonOptions(cmd);
  addEmbodiedOptions(cmd);
  return cmd
    .addOption(opt('--interval <seconds>', 'seconds between readings, 0.05 to 3600 (fractions allowed)').argParser(intervalSeconds).default(1))
    .addOption(opt('--run-id <id>', 'run id (default: slurm-$SLURM_JOB_ID, torchelastic-$TORCHELASTIC_RUN_ID, else generated); an existing id resumes that run'))
    .addOption(opt('--label <key=value>', 'label the run (repeatable; at most 64, keys ≤ 100 and values ≤ 256 characters)').argParser(label))
    .addOption(opt('--listen <host:port>', 'serve /metrics, /ws and the dashboard here').argParser(listenAddress).default(listenAddress('127.0.0.1:9477'), '127.0.0.1:9477'))
    .addOption(new Option('--no-listen', 'serve nothing'))
    .addOption(opt('--token <token>', 'bearer token required by /metrics, /ws and /api (needed to listen beyond loopback); visible in `ps`: prefer --token-file or WATTPRINT_TOKEN'))
    .addOption(opt('--token-file <path>', 'read the bearer token from the first line of this file'))
    .addOption(opt('--insecure', 'allow listening beyond loopback without --token'))
    .addOption(opt('--allowed-host <name>', 'another name (NAME or NAME:PORT) requests may give in their Host header; other names get 403 (repeatable)').argParser(allowedHost))
    .addOption(opt('--pushgateway <url>', 'push final totals to this Prometheus Pushgateway when the run ends'))
    .addOption(opt('--expected-duration <seconds>', 'expected run length, for projections').argParser(positiveNumber('--expected-duration')))
    .addOption(opt('--report-file <path>', 'also write the final report here (.json, .md, .csv, else text)'))
    .addOption(opt('--sample-retention <seconds>', 'keep raw samples this long; energy is kept per minute for ever').argParser(nonNegativeNumber('--sample-retention')).default(600))
    .addOption(opt('--quiet', 'print nothing but errors'))
    .addOption(opt('--attribution <scope>', 'what `run` charges the job: auto (its cgroup when it has its own, else its process tree), process-tree, cgroup, or node (whole devices)').choices(['auto', 'process-tree', 'cgroup', 'node']).default('auto'))
    .addOption(opt('--idle-attribution <policy>', 'proportional: share each device\'s whole power by use; none: charge only the capacity the job used').choices(['proportional', 'none']).default('proportional'))
    .addOption(opt('--cgroup <name>', 'the job\'s cgroup for --attribution cgroup (e.g. train.scope, system.slice/x.scope)'))
    .addOption(opt('--cgroup-root <path>', 'cgroup filesystem root').default('/sys/fs/cgroup'))
    .addOption(opt('--config <path>', 'JSON config file: {"interval": 2, "pue": 1.1, "zone": "DE", "label": {"team": "ml"}, ...}'));
}
