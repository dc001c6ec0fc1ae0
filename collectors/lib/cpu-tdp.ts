/**
 * CPU thermal design power per socket, gathered from vendor specification pages. Each block names its
 * source; a row is [model as the vendor prints it, TDP W per socket, physical cores, hardware threads].
 * Where a vendor lists a configurable TDP range (cTDP), the default TDP is used. Rows are looked up
 * by normaliseCpuName(), so the vendor's (R)/(TM) marks, "CPU @ x GHz" and "N-Core Processor" suffixes
 * do not matter. test/conformance/cpu-tdp-fixtures.test.ts compares rows against CodeCarbon's table.
 */

/** CpuTdpRow is one CPU model: TDP in watts per socket, with cores and threads per socket. */
export interface CpuTdpRow {
  model: string;
  tdpWatts: number;
  cores: number;
  threads: number;
  source: string;
}

type Row = [model: string, tdpWatts: number, cores: number, threads: number];

const ARK = 'ark.intel.com product specifications (TDP / Processor Base Power)';
const AMD = 'amd.com product specifications (Default TDP)';

const BLOCKS: { source: string; rows: Row[] }[] = [
  {
    source: `${ARK}: Xeon Scalable 1st gen (Skylake-SP, 2017)`,
    rows: [
      ['Xeon Platinum 8180', 205, 28, 56], ['Xeon Platinum 8176', 165, 28, 56], ['Xeon Platinum 8170', 165, 26, 52],
      ['Xeon Platinum 8168', 205, 24, 48], ['Xeon Platinum 8164', 150, 26, 52], ['Xeon Platinum 8160', 150, 24, 48],
      ['Xeon Platinum 8153', 125, 16, 32], ['Xeon Gold 6154', 200, 18, 36], ['Xeon Gold 6152', 140, 22, 44],
      ['Xeon Gold 6148', 150, 20, 40], ['Xeon Gold 6140', 140, 18, 36], ['Xeon Gold 6138', 125, 20, 40],
      ['Xeon Gold 6136', 150, 12, 24], ['Xeon Gold 6132', 140, 14, 28], ['Xeon Gold 6130', 125, 16, 32],
      ['Xeon Gold 6126', 125, 12, 24], ['Xeon Gold 5120', 105, 14, 28], ['Xeon Gold 5118', 105, 12, 24],
      ['Xeon Silver 4116', 85, 12, 24], ['Xeon Silver 4114', 85, 10, 20], ['Xeon Silver 4110', 85, 8, 16],
      ['Xeon Silver 4108', 85, 8, 16], ['Xeon Bronze 3106', 85, 8, 8],
    ],
  },
  {
    source: `${ARK}: Xeon Scalable 2nd gen (Cascade Lake, 2019/2020 "R" refresh)`,
    rows: [
      ['Xeon Platinum 9282', 400, 56, 112], ['Xeon Platinum 8280', 205, 28, 56], ['Xeon Platinum 8276', 165, 28, 56],
      ['Xeon Platinum 8270', 205, 26, 52], ['Xeon Platinum 8268', 205, 24, 48], ['Xeon Platinum 8260', 165, 24, 48],
      ['Xeon Platinum 8253', 125, 16, 32], ['Xeon Gold 6258R', 205, 28, 56], ['Xeon Gold 6248R', 205, 24, 48],
      ['Xeon Gold 6254', 200, 18, 36], ['Xeon Gold 6252', 150, 24, 48], ['Xeon Gold 6248', 150, 20, 40],
      ['Xeon Gold 6242', 150, 16, 32], ['Xeon Gold 6240', 150, 18, 36], ['Xeon Gold 6238', 140, 22, 44],
      ['Xeon Gold 6230', 125, 20, 40], ['Xeon Gold 6226R', 150, 16, 32], ['Xeon Gold 5220', 125, 18, 36],
      ['Xeon Gold 5218', 125, 16, 32], ['Xeon Gold 5218R', 125, 20, 40], ['Xeon Gold 5217', 115, 8, 16],
      ['Xeon Silver 4216', 100, 16, 32], ['Xeon Silver 4214', 85, 12, 24], ['Xeon Silver 4210', 85, 10, 20],
      ['Xeon Silver 4210R', 100, 10, 20], ['Xeon Silver 4208', 85, 8, 16],
    ],
  },
  {
    source: `${ARK}: Xeon Scalable 3rd gen (Ice Lake-SP, 2021)`,
    rows: [
      ['Xeon Platinum 8380', 270, 40, 80], ['Xeon Platinum 8368', 270, 38, 76], ['Xeon Platinum 8362', 265, 32, 64],
      ['Xeon Platinum 8360Y', 250, 36, 72], ['Xeon Platinum 8358', 250, 32, 64], ['Xeon Platinum 8352Y', 205, 32, 64],
      ['Xeon Gold 6348', 235, 28, 56], ['Xeon Gold 6338', 205, 32, 64], ['Xeon Gold 6336Y', 185, 24, 48],
      ['Xeon Gold 6330', 205, 28, 56], ['Xeon Gold 6326', 185, 16, 32], ['Xeon Gold 6354', 205, 18, 36],
      ['Xeon Gold 5320', 185, 26, 52], ['Xeon Gold 5318Y', 165, 24, 48], ['Xeon Silver 4316', 150, 20, 40],
      ['Xeon Silver 4314', 135, 16, 32], ['Xeon Silver 4310', 120, 12, 24],
    ],
  },
  {
    source: `${ARK}: Xeon Scalable 4th gen (Sapphire Rapids, 2023)`,
    rows: [
      ['Xeon Platinum 8490H', 350, 60, 120], ['Xeon Platinum 8480+', 350, 56, 112], ['Xeon Platinum 8470', 350, 52, 104],
      ['Xeon Platinum 8468', 350, 48, 96], ['Xeon Platinum 8462Y+', 300, 32, 64], ['Xeon Platinum 8460Y+', 300, 40, 80],
      ['Xeon Platinum 8452Y', 300, 36, 72], ['Xeon Gold 6448Y', 225, 32, 64], ['Xeon Gold 6438Y+', 205, 32, 64],
      ['Xeon Gold 6430', 270, 32, 64], ['Xeon Gold 6442Y', 225, 24, 48], ['Xeon Gold 5418Y', 185, 24, 48],
      ['Xeon Gold 5416S', 150, 16, 32], ['Xeon Silver 4416+', 165, 20, 40], ['Xeon Silver 4410Y', 150, 12, 24],
    ],
  },
  {
    source: `${ARK}: Xeon Scalable 5th gen (Emerald Rapids, 2023)`,
    rows: [
      ['Xeon Platinum 8592+', 350, 64, 128], ['Xeon Platinum 8580', 350, 60, 120], ['Xeon Platinum 8570', 350, 56, 112],
      ['Xeon Platinum 8568Y+', 350, 48, 96], ['Xeon Platinum 8562Y+', 300, 32, 64], ['Xeon Platinum 8558', 330, 48, 96],
      ['Xeon Gold 6548Y+', 250, 32, 64], ['Xeon Gold 6530', 270, 32, 64], ['Xeon Gold 5520+', 205, 28, 56],
    ],
  },
  {
    source: `${ARK}: Xeon 6 (Granite Rapids 6900P/6700P, Sierra Forest 6700E, 2024-2025)`,
    rows: [
      ['Xeon 6980P', 500, 128, 256], ['Xeon 6979P', 500, 120, 240], ['Xeon 6972P', 500, 96, 192],
      ['Xeon 6960P', 500, 72, 144], ['Xeon 6952P', 400, 96, 192], ['Xeon 6787P', 350, 86, 172],
      ['Xeon 6767P', 350, 64, 128], ['Xeon 6780E', 330, 144, 144], ['Xeon 6766E', 250, 144, 144],
    ],
  },
  {
    source: `${AMD}: EPYC 7001 (Naples, 2017); 155/170 W cTDP parts listed at 170 W`,
    rows: [
      ['EPYC 7601', 180, 32, 64], ['EPYC 7551', 180, 32, 64], ['EPYC 7551P', 180, 32, 64], ['EPYC 7501', 170, 32, 64],
      ['EPYC 7451', 180, 24, 48], ['EPYC 7401', 170, 24, 48], ['EPYC 7401P', 170, 24, 48], ['EPYC 7351', 170, 16, 32],
      ['EPYC 7351P', 170, 16, 32], ['EPYC 7301', 170, 16, 32], ['EPYC 7281', 170, 16, 32], ['EPYC 7251', 120, 8, 16],
    ],
  },
  {
    source: `${AMD}: EPYC 7002 (Rome, 2019)`,
    rows: [
      ['EPYC 7H12', 280, 64, 128], ['EPYC 7742', 225, 64, 128], ['EPYC 7702', 200, 64, 128], ['EPYC 7702P', 200, 64, 128],
      ['EPYC 7662', 225, 64, 128], ['EPYC 7642', 225, 48, 96], ['EPYC 7552', 200, 48, 96], ['EPYC 7542', 225, 32, 64],
      ['EPYC 7532', 200, 32, 64], ['EPYC 7502', 180, 32, 64], ['EPYC 7502P', 180, 32, 64], ['EPYC 7452', 155, 32, 64],
      ['EPYC 7402', 180, 24, 48], ['EPYC 7402P', 180, 24, 48], ['EPYC 7352', 155, 24, 48], ['EPYC 7302', 155, 16, 32],
      ['EPYC 7302P', 155, 16, 32], ['EPYC 7282', 120, 16, 32], ['EPYC 7272', 120, 12, 24], ['EPYC 7262', 155, 8, 16],
      ['EPYC 7252', 120, 8, 16], ['EPYC 7F72', 240, 24, 48], ['EPYC 7F52', 240, 16, 32],
    ],
  },
  {
    source: `${AMD}: EPYC 7003 (Milan and Milan-X, 2021-2022)`,
    rows: [
      ['EPYC 7763', 280, 64, 128], ['EPYC 7713', 225, 64, 128], ['EPYC 7713P', 225, 64, 128], ['EPYC 7663', 240, 56, 112],
      ['EPYC 7643', 225, 48, 96], ['EPYC 7543', 225, 32, 64], ['EPYC 7543P', 225, 32, 64], ['EPYC 7513', 200, 32, 64],
      ['EPYC 7453', 225, 28, 56], ['EPYC 7443', 200, 24, 48], ['EPYC 7443P', 200, 24, 48], ['EPYC 7413', 180, 24, 48],
      ['EPYC 7343', 190, 16, 32], ['EPYC 7313', 155, 16, 32], ['EPYC 7313P', 155, 16, 32], ['EPYC 75F3', 280, 32, 64],
      ['EPYC 74F3', 240, 24, 48], ['EPYC 73F3', 240, 16, 32], ['EPYC 72F3', 180, 8, 16], ['EPYC 7773X', 280, 64, 128],
      ['EPYC 7573X', 280, 32, 64], ['EPYC 7473X', 240, 24, 48], ['EPYC 7373X', 240, 16, 32],
    ],
  },
  {
    source: `${AMD}: EPYC 9004 (Genoa, Genoa-X, Bergamo, 2022-2023)`,
    rows: [
      ['EPYC 9654', 360, 96, 192], ['EPYC 9654P', 360, 96, 192], ['EPYC 9634', 290, 84, 168], ['EPYC 9554', 360, 64, 128],
      ['EPYC 9554P', 360, 64, 128], ['EPYC 9534', 280, 64, 128], ['EPYC 9474F', 360, 48, 96], ['EPYC 9454', 290, 48, 96],
      ['EPYC 9454P', 290, 48, 96], ['EPYC 9374F', 320, 32, 64], ['EPYC 9354', 280, 32, 64], ['EPYC 9354P', 280, 32, 64],
      ['EPYC 9334', 210, 32, 64], ['EPYC 9274F', 320, 24, 48], ['EPYC 9254', 200, 24, 48], ['EPYC 9224', 200, 24, 48],
      ['EPYC 9174F', 320, 16, 32], ['EPYC 9124', 200, 16, 32], ['EPYC 9684X', 400, 96, 192], ['EPYC 9754', 360, 128, 256],
      ['EPYC 9734', 340, 112, 224],
    ],
  },
  {
    source: `${AMD}: EPYC 9005 (Turin and Turin dense, 2024)`,
    rows: [
      ['EPYC 9965', 500, 192, 384], ['EPYC 9845', 390, 160, 320], ['EPYC 9825', 390, 144, 288], ['EPYC 9755', 500, 128, 256],
      ['EPYC 9745', 400, 128, 256], ['EPYC 9655', 400, 96, 192], ['EPYC 9575F', 400, 64, 128], ['EPYC 9555', 360, 64, 128],
      ['EPYC 9535', 300, 64, 128], ['EPYC 9475F', 400, 48, 96], ['EPYC 9455', 300, 48, 96], ['EPYC 9375F', 320, 32, 64],
      ['EPYC 9355', 280, 32, 64], ['EPYC 9335', 210, 32, 64], ['EPYC 9255', 200, 24, 48], ['EPYC 9135', 200, 16, 32],
      ['EPYC 9115', 125, 16, 32], ['EPYC 9015', 125, 8, 16],
    ],
  },
  {
    source: `${ARK}: Core desktop (8th gen to Core Ultra 200S); hybrid parts count P+E cores`,
    rows: [
      ['Core i9-14900K', 125, 24, 32], ['Core i7-14700K', 125, 20, 28], ['Core i5-14600K', 125, 14, 20],
      ['Core i9-13900K', 125, 24, 32], ['Core i7-13700K', 125, 16, 24], ['Core i5-13600K', 125, 14, 20],
      ['Core i5-13400', 65, 10, 16], ['Core i9-12900K', 125, 16, 24], ['Core i7-12700K', 125, 12, 20],
      ['Core i5-12600K', 125, 10, 16], ['Core i5-12400', 65, 6, 12], ['Core i9-11900K', 125, 8, 16],
      ['Core i7-11700K', 125, 8, 16], ['Core i9-10900K', 125, 10, 20], ['Core i7-10700K', 125, 8, 16],
      ['Core i9-9900K', 95, 8, 16], ['Core i7-9700K', 95, 8, 8], ['Core i7-8700K', 95, 6, 12], ['Core i7-8700', 65, 6, 12],
      ['Core i5-8400', 65, 6, 6], ['Core Ultra 9 285K', 125, 24, 24], ['Core Ultra 7 265K', 125, 20, 20],
      ['Core Ultra 5 245K', 125, 14, 14],
    ],
  },
  {
    source: `${AMD}: Ryzen desktop (3000 to 9000 series) and Ryzen Threadripper`,
    rows: [
      ['Ryzen 9 9950X', 170, 16, 32], ['Ryzen 9 9900X', 120, 12, 24], ['Ryzen 7 9700X', 65, 8, 16], ['Ryzen 5 9600X', 65, 6, 12],
      ['Ryzen 7 9800X3D', 120, 8, 16], ['Ryzen 9 7950X', 170, 16, 32], ['Ryzen 9 7950X3D', 120, 16, 32],
      ['Ryzen 9 7900X', 170, 12, 24], ['Ryzen 9 7900', 65, 12, 24], ['Ryzen 7 7800X3D', 120, 8, 16], ['Ryzen 7 7700X', 105, 8, 16],
      ['Ryzen 7 7700', 65, 8, 16], ['Ryzen 5 7600X', 105, 6, 12], ['Ryzen 5 7600', 65, 6, 12], ['Ryzen 9 5950X', 105, 16, 32],
      ['Ryzen 9 5900X', 105, 12, 24], ['Ryzen 7 5800X', 105, 8, 16], ['Ryzen 7 5800X3D', 105, 8, 16], ['Ryzen 7 5700X', 65, 8, 16],
      ['Ryzen 5 5600X', 65, 6, 12], ['Ryzen 5 5600', 65, 6, 12], ['Ryzen 9 3950X', 105, 16, 32], ['Ryzen 9 3900X', 105, 12, 24],
      ['Ryzen 7 3800X', 105, 8, 16], ['Ryzen 7 3700X', 65, 8, 16], ['Ryzen 5 3600X', 95, 6, 12], ['Ryzen 5 3600', 65, 6, 12],
      ['Ryzen Threadripper 3990X', 280, 64, 128], ['Ryzen Threadripper 3970X', 280, 32, 64],
      ['Ryzen Threadripper 3960X', 280, 24, 48], ['Ryzen Threadripper 7980X', 350, 64, 128],
      ['Ryzen Threadripper 7970X', 350, 32, 64], ['Ryzen Threadripper PRO 5995WX', 280, 64, 128],
      ['Ryzen Threadripper PRO 7995WX', 350, 96, 192],
    ],
  },
  {
    source: 'amperecomputing.com Ampere Altra / Altra Max / AmpereOne product briefs (usage power)',
    rows: [['Altra Q80-30', 210, 80, 80], ['Altra Max M128-30', 250, 128, 128], ['AmpereOne A192-32X', 400, 192, 192]],
  },
  {
    // AWS publishes no TDP for Graviton. These are press estimates, kept because a modelled figure near
    // the chip beats the per-thread default; an AWS instance reports these names only when the model
    // string carries them (lscpu often says just "Neoverse-N1"/"Neoverse-V1").
    source: 'estimate, no vendor TDP: AnandTech Graviton2 review 2020 (~110 W); The Next Platform on Graviton3 2021 (~100 W)',
    rows: [['Graviton2', 110, 64, 64], ['Graviton3', 100, 64, 64]],
  },
];

/**
 * normaliseCpuName reduces a vendor model string to the key the table is indexed by:
 * 'Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz' → 'xeon platinum 8480+',
 * 'AMD EPYC 7763 64-Core Processor' → 'epyc 7763', '12th Gen Intel(R) Core(TM) i9-12900K' → 'core i9-12900k'.
 */
export function normaliseCpuName(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/\((r|tm|c)\)|[®™©]/g, ' ')
    .replace(/@.*$/, ' ')
    .replace(/\b\d+(st|nd|rd|th) gen\b/g, ' ')
    .replace(/\b(with|w\/) radeon( \w+)? graphics\b/g, ' ')
    .replace(/\b\d+-cores?\b/g, ' ')
    .replace(/\b(intel|amd|aws|ampere|arm|cpu|processor|gen)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** CPU_TDP_TABLE is every row of the table, with its source. */
export const CPU_TDP_TABLE: readonly CpuTdpRow[] = BLOCKS.flatMap((b) =>
  b.rows.map(([model, tdpWatts, cores, threads]) => ({ model, tdpWatts, cores, threads, source: b.source })),
);

const BY_KEY = new Map(CPU_TDP_TABLE.map((r) => [normaliseCpuName(r.model), r]));

/** findCpuTdp returns the row whose normalised model equals the normalised name, if any. */
export function findCpuTdp(modelName: string): CpuTdpRow | undefined {
  return BY_KEY.get(normaliseCpuName(modelName));
}
