/** Sluice's payload encoding lives in plugin/payloads.ts; this module keeps the path it had. */
export { sluiceDataConverter, type SluicePayloadOptions } from '../plugin/payloads';
