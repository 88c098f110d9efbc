// One HTTP request through undici's internal modules instead of its index
// (types/undici-internals.d.ts says why: the index would put all of undici,
// ≈ 540 KB, into every Lambda bundle that sends a webhook or fetches an MRT
// archive). Without the index there is no global dispatcher either, so a
// shared Agent is made on first use.
import type { Dispatcher } from "undici";
import dispatcherRequest from "undici/lib/api/api-request.js";
import Agent from "undici/lib/dispatcher/agent.js";

export type HttpRequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path"> & {
  /** Default: one Agent shared by the process (keep-alive pools per origin). */
  dispatcher?: Dispatcher;
};

let sharedAgent: Pick<Dispatcher, "dispatch"> | null = null;

/** undici's `request(url, options)`: the same options, response and error classes. */
export function httpRequest(url: string | URL, options: HttpRequestOptions): Promise<Dispatcher.ResponseData> {
  const target = typeof url === "string" ? new URL(url) : url;
  const { dispatcher, ...requestOptions } = options;
  sharedAgent ??= new Agent();
  return dispatcherRequest.call(dispatcher ?? sharedAgent, {
    ...requestOptions,
    origin: target.origin,
    path: `${target.pathname}${target.search}`,
  }) as Promise<Dispatcher.ResponseData>;
}
