/** The dataset layout's public API: rules, record checks, readers and the manifest type. */
export * from './layout';
export * from './rules';
export * from './records';
export * from './manifest';
export * from './csv';
export { DatasetError, readLines } from './read-lines';
export * from './read-tables';
export * from './read-sources';
