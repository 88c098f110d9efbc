// Lengths of UTC time units in epoch milliseconds. Epoch time has no leap
// seconds, so minutes, hours and days have fixed lengths and stepping by them
// is exact. The one home of these constants: import them, never redefine them.

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
