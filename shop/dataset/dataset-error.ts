/** A dataset folder that breaks the layout: the message names the file, line and field to fix. */
export class DatasetError extends Error {
  constructor(readonly file: string, readonly line: number | null, readonly field: string | null, reason: string) {
    super(`${file}${line !== null ? `:${line}` : ''}${field ? ` field ${field}` : ''}: ${reason}`);
    this.name = 'DatasetError';
  }
}
