// Ordering by UTF-16 code units, the order DynamoDB sort keys and JSON output
// need to be deterministic across machines (localeCompare depends on the
// locale, so two evaluators could sort differently).

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
