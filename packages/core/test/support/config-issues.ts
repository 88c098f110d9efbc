// The issues a ConfigError carries, as "path: message" lines, for tests that
// check what a parse refuses and where.
import { expect } from "vitest";
import { ConfigError } from "../../src/errors";

/** Runs `parse`, expects a ConfigError, and returns its issues as `path: message`. */
export function configIssues(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}
