// The DynamoDB actions each kind of table user sends, defined once next to
// the code that sends them: the stacks grant them to the functions
// (stacks/settings.ts), `popwatch iam-policy` prints them for self-hosted
// vantages and readers, so an agent on AWS and an agent elsewhere hold the
// same least privilege.

/**
 * What an agent's result store calls (items.ts sends them): putResults uses
 * BatchWriteItem; rollUp reads back with Query (consistent), writes each
 * minute rollup with a conditional PutItem and marks its hour pending with a
 * PutItem; listSeries and listRegions are Queries; the vantage registry is
 * written with PutItem. Nothing else.
 */
export const RESULT_WRITER_TABLE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"] as const;

/**
 * What compact calls (compaction.ts, pending.ts, buckets.ts): Query for the
 * pending markers and the minute items, BatchWriteItem and PutItem for the
 * hour and day buckets, a conditional DeleteItem for each marker it has
 * built. The evaluator compacts before it evaluates, and so does a
 * self-hosted `popwatch run`.
 */
export const COMPACTION_TABLE_ACTIONS = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query"] as const;

/**
 * What the alert state store (alert-state.ts) calls: an agent needs them when
 * it evaluates or delivers alerts itself (fast routing alerts after each
 * round, a self-hosted run's evaluation of its own vantage).
 */
export const ALERT_STATE_TABLE_ACTIONS = [
  "dynamodb:BatchGetItem",
  "dynamodb:DeleteItem",
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:Query",
  "dynamodb:UpdateItem",
] as const;

/**
 * What the read commands call (results, catchment, report, alerts, exporter
 * /metrics): Query for results, rollups, the series index, the vantage
 * registry and the alert key index; BatchGetItem for the alert states.
 */
export const RESULT_READER_TABLE_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:Query"] as const;

/** Sorted, each action once: what a policy statement lists for a user holding several of the sets above. */
export function tableActionsOf(...sets: readonly (readonly string[])[]): string[] {
  return [...new Set(sets.flat())].sort();
}
