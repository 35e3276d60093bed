/** Sluice's metric names live in plugin/emf.ts; this module keeps the path it had. */
export { SLUICE_HISTOGRAM_BUCKETS, SLUICE_METRICS } from '../plugin/emf';
