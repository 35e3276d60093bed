/**
 * SluicePlugin lives in plugin/ (below workers/ and client/, which both use it); this module keeps
 * the path it had, for code that imports it from here.
 */
export { SluicePlugin, WORKFLOW_INTERCEPTORS_PATH, type SluicePluginOptions } from '../plugin/plugin';
