// Starts the real servers the integration tests probe (see servers.ts) once per
// test run, hands their description to tests through vitest's provide/inject
// (tests call useTestServers()), and stops them in teardown.
import type { TestProject } from "vitest/node";
import { startTestServers } from "./servers";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const running = await startTestServers();
  project.provide("servers", running.info);
  const { dns, nginx } = running.info;
  const summary = [
    ...Object.entries(dns).map(([name, s]) => (s.available ? `${name}:${s.port}` : `${name}: unavailable (${s.reason})`)),
    nginx.available ? `nginx:https ${nginx.httpsPort}/http ${nginx.httpPort}` : `nginx: unavailable (${nginx.reason})`,
  ].join(", ");
  process.stdout.write(`test servers up in ${Date.now() - started} ms: ${summary}\n`);
  // Teardown prints nothing: the run's output must end with the summary reporter's line.
  return async () => {
    await running.stop();
  };
}
