/** Where a command writes; tests pass buffers, the binary passes process streams. */
export interface Io {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}
