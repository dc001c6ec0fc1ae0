/**
 * Cloud fact tables: region → grid zone (Electricity Maps zone codes), provider/region → PUE, and the
 * published average power per TPU chip. Pure data plus lookups that say which default they used.
 */

/** CloudProvider names the clouds wattprint recognises. */
export type CloudProvider = 'gcp' | 'aws' | 'azure';

/** SourcedValue is a number with where it came from (shown in reports and `wattprint doctor`). */
export interface SourcedValue {
  value: number;
  source: string;
}

// Zones are Electricity Maps zone ids (checked against the 2024 yearly zone list republished by co2.js).
// A region maps to the balancing authority / bidding zone its datacentre campus sits in.
const GCP_ZONES: Record<string, string> = {
  'us-central1': 'US-MIDW-MISO', // Council Bluffs, Iowa
  'us-central2': 'US-CENT-SWPP', // Oklahoma
  'us-east1': 'US-CAR-SCEG', // Moncks Corner, South Carolina
  'us-east4': 'US-MIDA-PJM', // Ashburn, Virginia
  'us-east5': 'US-MIDA-PJM', // Columbus, Ohio
  'us-south1': 'US-TEX-ERCO', // Dallas
  'us-west1': 'US-NW-BPAT', // The Dalles, Oregon
  'us-west2': 'US-CAL-LDWP', // Los Angeles
  'us-west3': 'US-NW-PACE', // Salt Lake City
  'us-west4': 'US-NW-NEVP', // Las Vegas
  'northamerica-northeast1': 'CA-QC', // Montréal
  'northamerica-northeast2': 'CA-ON', // Toronto
  'northamerica-south1': 'MX', // Querétaro
  'southamerica-east1': 'BR-CS', // São Paulo
  'southamerica-west1': 'CL-SEN', // Santiago
  'europe-north1': 'FI', // Hamina
  'europe-north2': 'SE-SE3', // Stockholm
  'europe-west1': 'BE', // St. Ghislain
  'europe-west2': 'GB', // London
  'europe-west3': 'DE', // Frankfurt
  'europe-west4': 'NL', // Eemshaven
  'europe-west6': 'CH', // Zürich
  'europe-west8': 'IT-NO', // Milan
  'europe-west9': 'FR', // Paris
  'europe-west10': 'DE', // Berlin
  'europe-west12': 'IT-NO', // Turin
  'europe-southwest1': 'ES', // Madrid
  'europe-central2': 'PL', // Warsaw
  'asia-east1': 'TW', // Changhua County
  'asia-east2': 'HK',
  'asia-northeast1': 'JP-TK', // Tokyo
  'asia-northeast2': 'JP-KN', // Osaka
  'asia-northeast3': 'KR', // Seoul
  'asia-south1': 'IN-WE', // Mumbai
  'asia-south2': 'IN-NO', // Delhi
  'asia-southeast1': 'SG',
  'asia-southeast2': 'ID', // Jakarta
  'australia-southeast1': 'AU-NSW', // Sydney
  'australia-southeast2': 'AU-VIC', // Melbourne
  'me-west1': 'IL', // Tel Aviv
  'me-central1': 'QA', // Doha
  'me-central2': 'SA', // Dammam
  'africa-south1': 'ZA', // Johannesburg
};

const AWS_ZONES: Record<string, string> = {
  'us-east-1': 'US-MIDA-PJM', // N. Virginia
  'us-east-2': 'US-MIDA-PJM', // Ohio
  'us-west-1': 'US-CAL-CISO', // N. California
  'us-west-2': 'US-NW-BPAT', // Oregon
  'ca-central-1': 'CA-QC', // Montréal
  'ca-west-1': 'CA-AB', // Calgary
  'sa-east-1': 'BR-CS', // São Paulo
  'eu-west-1': 'IE', // Dublin
  'eu-west-2': 'GB', // London
  'eu-west-3': 'FR', // Paris
  'eu-central-1': 'DE', // Frankfurt
  'eu-central-2': 'CH', // Zürich
  'eu-north-1': 'SE-SE3', // Stockholm
  'eu-south-1': 'IT-NO', // Milan
  'eu-south-2': 'ES', // Aragón
  'ap-northeast-1': 'JP-TK', // Tokyo
  'ap-northeast-2': 'KR', // Seoul
  'ap-northeast-3': 'JP-KN', // Osaka
  'ap-southeast-1': 'SG',
  'ap-southeast-2': 'AU-NSW', // Sydney
  'ap-southeast-3': 'ID', // Jakarta
  'ap-southeast-4': 'AU-VIC', // Melbourne
  'ap-south-1': 'IN-WE', // Mumbai
  'ap-south-2': 'IN-SO', // Hyderabad
  'ap-east-1': 'HK',
  'me-south-1': 'BH', // Bahrain
  'me-central-1': 'AE', // UAE
  'il-central-1': 'IL', // Tel Aviv
  'af-south-1': 'ZA', // Cape Town
};

const AZURE_ZONES: Record<string, string> = {
  eastus: 'US-MIDA-PJM', // Virginia
  eastus2: 'US-MIDA-PJM', // Virginia
  centralus: 'US-MIDW-MISO', // Iowa
  northcentralus: 'US-MIDA-PJM', // Chicago (ComEd is in PJM)
  southcentralus: 'US-TEX-ERCO', // San Antonio
  westus: 'US-CAL-CISO', // California
  westus2: 'US-NW-GCPD', // Quincy, Washington (Grant County PUD)
  westus3: 'US-SW-AZPS', // Phoenix
  westcentralus: 'US-NW-PACE', // Wyoming
  canadacentral: 'CA-ON', // Toronto
  canadaeast: 'CA-QC', // Québec City
  brazilsouth: 'BR-CS',
  northeurope: 'IE', // Dublin
  westeurope: 'NL', // Amsterdam
  uksouth: 'GB',
  ukwest: 'GB',
  francecentral: 'FR',
  germanywestcentral: 'DE',
  swedencentral: 'SE-SE3', // Gävle
  norwayeast: 'NO-NO1', // Oslo
  switzerlandnorth: 'CH',
  polandcentral: 'PL',
  italynorth: 'IT-NO',
  spaincentral: 'ES',
  japaneast: 'JP-TK',
  japanwest: 'JP-KN',
  koreacentral: 'KR',
  southeastasia: 'SG',
  eastasia: 'HK',
  australiaeast: 'AU-NSW',
  australiasoutheast: 'AU-VIC',
  centralindia: 'IN-WE', // Pune
  westindia: 'IN-WE', // Mumbai
  southindia: 'IN-SO', // Chennai
  southafricanorth: 'ZA',
  uaenorth: 'AE',
  qatarcentral: 'QA',
  israelcentral: 'IL',
};

/** GRID_ZONE_BY_REGION maps each provider's region name to an Electricity Maps zone code. */
export const GRID_ZONE_BY_REGION: Readonly<Record<CloudProvider, Readonly<Record<string, string>>>> = {
  gcp: GCP_ZONES,
  aws: AWS_ZONES,
  azure: AZURE_ZONES,
};

/** PUE_BY_PROVIDER is each provider's published fleet-wide power usage effectiveness (dimensionless). */
export const PUE_BY_PROVIDER: Readonly<Record<CloudProvider, SourcedValue>> = {
  // Google 2024 Environmental Report: fleet-wide trailing-twelve-month PUE 1.10 for 2023.
  gcp: { value: 1.1, source: 'Google fleet PUE 2023 (Google 2024 Environmental Report)' },
  // Amazon 2023 Sustainability Report: AWS global data centres PUE 1.15 in 2023.
  aws: { value: 1.15, source: 'AWS global PUE 2023 (Amazon 2023 Sustainability Report)' },
  // Microsoft, datacenters.microsoft.com/sustainability/efficiency: fleet design PUE ~1.18 (FY2023); newest generation 1.12.
  azure: { value: 1.18, source: 'Azure fleet design PUE FY2023 (Microsoft datacenter efficiency page)' },
};

// Google publishes per-campus trailing-twelve-month PUE (google.com/about/datacenters/efficiency); these
// are the campus figures compiled per GCP region in mlco2/impact data/impact.csv (commit d0d3ee5, c. 2020).
const GCP_REGION_PUE: Record<string, number> = {
  'asia-east1': 1.12,
  'asia-southeast1': 1.12,
  'europe-north1': 1.09,
  'europe-west1': 1.09,
  'europe-west4': 1.09,
  'us-central1': 1.11,
  'us-east1': 1.11,
  'us-east4': 1.1,
  'us-west1': 1.1,
};

/** providerForRegion guesses the provider whose region list holds `region` (unique match only). */
export function providerForRegion(region: string): CloudProvider | undefined {
  const hits = (Object.keys(GRID_ZONE_BY_REGION) as CloudProvider[]).filter((p) => region in GRID_ZONE_BY_REGION[p]);
  return hits.length === 1 ? hits[0] : undefined;
}

/** gridZoneForRegion returns the Electricity Maps zone of a provider region, or undefined when unmapped. */
export function gridZoneForRegion(provider: CloudProvider, region: string): string | undefined {
  return GRID_ZONE_BY_REGION[provider][region];
}

/** pueFor returns the per-region PUE where published, else the provider fleet figure; the source says which. */
export function pueFor(provider: CloudProvider, region?: string): SourcedValue {
  if (provider === 'gcp' && region && GCP_REGION_PUE[region] !== undefined) {
    return {
      value: GCP_REGION_PUE[region]!,
      source: `Google per-campus PUE for ${region} (google.com/about/datacenters/efficiency via mlco2/impact, c. 2020)`,
    };
  }
  const fleet = PUE_BY_PROVIDER[provider];
  return region ? { value: fleet.value, source: `${fleet.source}; no per-region figure for ${region}` } : fleet;
}

/** TpuGeneration names the Cloud TPU chip generations wattprint knows. */
export type TpuGeneration = 'v2' | 'v3' | 'v4' | 'v5e' | 'v5p' | 'v6e' | 'v7x';

/** TpuPower is a per-chip average power in watts, whether it is published for that generation, and its source. */
export interface TpuPower {
  powerWatts: number;
  published: boolean;
  source: string;
}

const PATTERSON_2021 = 'Patterson et al. 2021, Carbon Emissions and Large Neural Network Training, Table 3';
// No per-chip average power is published for v5e, v5p, v6e or 7x (Google's docs list TFLOPs and HBM, not
// watts). Until one is, they use the highest published per-chip system average (TPU v3) and say so.
const UNPUBLISHED = `no published per-chip power; TPU v3's 283 W (${PATTERSON_2021}) used as a stand-in`;

/** TPU_POWER_PER_CHIP is the average power per TPU chip in watts used to model TPU energy. */
export const TPU_POWER_PER_CHIP: Readonly<Record<TpuGeneration, TpuPower>> = {
  // Average system power per processor, measured on Google's training runs (includes host and network share).
  v2: { powerWatts: 221, published: true, source: PATTERSON_2021 },
  v3: { powerWatts: 283, published: true, source: PATTERSON_2021 },
  // Mean chip power measured in production (Jouppi et al. 2023, TPU v4, ISCA '23, Table 1): chip only, no host share.
  v4: { powerWatts: 170, published: true, source: 'Jouppi et al. 2023, TPU v4 (ISCA 2023), mean chip power' },
  v5e: { powerWatts: 283, published: false, source: UNPUBLISHED },
  v5p: { powerWatts: 283, published: false, source: UNPUBLISHED },
  v6e: { powerWatts: 283, published: false, source: UNPUBLISHED },
  v7x: { powerWatts: 283, published: false, source: UNPUBLISHED },
};
