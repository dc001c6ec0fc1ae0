/**
 * EMBER_YEARS is the data year of each Ember annual average that @tgwf/co2 0.19 embeds (its
 * average-intensities.min.js keeps the values but drops the years). Taken from co2.js's own
 * data/output/average-intensities.json (the file the min.js is generated from; commit 27cbe83, field `year`),
 * keyed like the package's data: ISO alpha-3 or the upper-cased region name. Ember's figures are life-cycle
 * emissions (upstream methane, supply chain and manufacturing included, CO2e over 100 years, IPCC AR5) of the
 * domestic generation mix. A test holds the package's values equal to that file's, so the years apply.
 */
export const EMBER_YEARS: Readonly<Record<number, readonly string[]>> = {
  2022: [
    "ABW", "BHS", "CAF", "COK", "CPV", "FLK", "FRO", "GLP", "GNB", "GRD", "GRL", "GUF", "GUM", "HTI", "JAM", "JOR",
    "KIR", "KNA", "LCA", "LKA", "LSO", "MAC", "MDG", "MRT", "MSR", "MTQ", "MWI", "NCL", "NPL", "PRK", "PSE", "PYF",
    "REU", "SPM", "STP", "SYR", "TCD", "UGA", "UKR",
  ],
  2023: [
    "AFG", "AGO", "ALB", "ASM", "ATG", "BDI", "BEN", "BFA", "BHR", "BLZ", "BRB", "BRN", "BTN", "BWA", "CIV", "CMR",
    "COD", "COG", "COM", "CUB", "CYM", "DJI", "DMA", "DZA", "ERI", "ETH", "FJI", "GAB", "GHA", "GIN", "GMB", "GNQ",
    "GTM", "GUY", "HKG", "HND", "IDN", "IRQ", "ISL", "ISR", "LAO", "LBN", "LBR", "LBY", "MDV", "MLI", "MOZ", "MUS",
    "NAM", "NER", "NIC", "NRU", "PAN", "PNG", "PRY", "RWA", "SDN", "SEN", "SLB", "SLE", "SOM", "SSD", "SUR", "SWZ",
    "SYC", "TCA", "TGO", "TKM", "TON", "TTO", "TZA", "UZB", "VCT", "VEN", "VGB", "VIR", "VUT", "WSM", "YEM", "ZMB",
    "ZWE",
  ],
  2024: [
    "AFRICA", "ARE", "ARG", "ARM", "ASEAN", "ASIA", "AUS", "AUT", "AZE", "BEL", "BGD", "BGR", "BIH", "BLR", "BOL",
    "BRA", "CAN", "CHE", "CHL", "CHN", "COL", "CRI", "CYP", "CZE", "DEU", "DNK", "DOM", "ECU", "EGY", "ESP", "EST",
    "EU", "EUROPE", "FIN", "FRA", "G20", "G7", "GBR", "GEO", "GRC", "HRV", "HUN", "IND", "IRL", "IRN", "ITA",
    "JPN", "KAZ", "KEN", "KGZ", "KHM", "KOR", "KWT", "LATIN AMERICA AND CARIBBEAN", "LTU", "LUX", "LVA", "MAR",
    "MDA", "MEX", "MIDDLE EAST", "MKD", "MLT", "MMR", "MNE", "MNG", "MYS", "NGA", "NLD", "NOR", "NORTH AMERICA",
    "NZL", "OCEANIA", "OECD", "OMN", "PAK", "PER", "PHL", "POL", "PRI", "PRT", "QAT", "ROU", "RUS", "SAU", "SGP",
    "SLV", "SRB", "SVK", "SVN", "SWE", "THA", "TJK", "TUN", "TUR", "TWN", "URY", "USA", "VNM", "WORLD", "XKX",
    "ZAF",
  ],
};

const yearByKey = new Map<string, number>(Object.entries(EMBER_YEARS).flatMap(([year, keys]) => keys.map((key) => [key, Number(year)] as [string, number])));

/** emberYear returns the data year of an Ember key ('DEU', 'WORLD'), or undefined when the package added one since. */
export function emberYear(key: string): number | undefined {
  return yearByKey.get(key.toUpperCase());
}
