/** Types for the parts of @tgwf/co2's data export that wattprint reads (the package ships no typings). */
declare module '@tgwf/co2/data' {
  /** ElectricityMapsZone is one zone's yearly average as republished by co2.js. */
  export interface ElectricityMapsZone {
    zone: { zoneName: string; displayName?: string; countryName?: string };
    carbonIntensity: { value: number; unit: string };
    renewableEnergy?: { value: number; unit: string };
    carbonFreeEnergy?: { value: number; unit: string };
  }
  /** averageIntensity holds Ember annual averages in gCO2/kWh keyed by ISO alpha-3 or region name. */
  export const averageIntensity: { data: Record<string, number>; type: string };
  /** electricityMaps holds Electricity Maps yearly averages, keyed 'yearly2021'…, each keyed by zone. */
  export const electricityMaps: Record<string, { data: Record<string, ElectricityMapsZone>; methodology: string }>;
}
