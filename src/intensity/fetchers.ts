// The fetching intensity sources, loaded together when one is used (src/intensity/index.ts): they bring in
// node:http, node:tls and the API clients, which `estimate` and a table- or file-based run never need.
export { createElectricityMapsProvider } from './electricitymaps.js';
export { createUkProvider } from './uk.js';
export { createWattTimeProvider } from './watttime.js';
