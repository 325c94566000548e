/** The dataset layout's public API: rules, record checks, readers and the manifest type. */
export * from '../../contract/layout';
export * from '../../contract/rules';
export * from '../../contract/records';
export * from '../../contract/manifest';
export * from './csv';
export { DatasetError } from './dataset-error';
export * from './read-sources';
export * from './catalog-readers';
