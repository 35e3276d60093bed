export { runPipeline, statusQuery } from './run-pipeline';
