// Types for the undici modules popwatch imports instead of "undici" (the
// HTTP probe: packages/probes/src/probes/http.ts; webhooks and archive
// downloads: packages/notify/src/http-request.ts), described with undici's own
// published types. The one home of these declarations (tsconfig includes types/).
//
// Why: bundle size on Lambda. undici is CommonJS, so importing anything from
// "undici" bundles its whole index (fetch, websocket, cache stores, mock
// agents, …): ≈ 540 KB of the probe function's bundle. The Client class, the
// request API and the error classes come to about half of that.
//
// These paths are undici 7 internals (undici 7 has no package "exports" map,
// so they resolve), not its public API; the packages that import them pin
// undici to 7.30.2. On any undici update, check
// that the files still exist and export what is declared here: the type check
// cannot see a move, but packages/probes/test/undici-internals.test.ts (same
// objects as undici's index exports) and the HTTP probe tests fail.
//
// undici's index.js mixes the request API into Dispatcher.prototype
// (`Object.assign(Dispatcher.prototype, api)`). Without the index nothing
// does, so the client is typed without those methods and the request
// function is called with the client as `this`.

declare module "undici/lib/dispatcher/client.js" {
  import type { Client } from "undici";

  /** The methods undici's index.js adds to Dispatcher.prototype; absent here. */
  type IndexApi = "request" | "stream" | "pipeline" | "connect" | "upgrade";
  /** undici's Client class (`module.exports = Client`), minus the request API. */
  interface BareClient extends Omit<Client, IndexApi> {}
  const BareClient: new (url: string | URL, options?: Client.Options) => BareClient;
  export = BareClient;
}

declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";

  /** undici's Agent class (`module.exports = Agent`), minus the request API (see client.js above). */
  interface BareAgent extends Omit<Agent, IndexApi> {}
  type IndexApi = "request" | "stream" | "pipeline" | "connect" | "upgrade";
  const BareAgent: new (options?: Agent.Options) => BareAgent;
  export = BareAgent;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";

  /** `Dispatcher.prototype.request` (promise form) as undici's index.js installs it: call it with the client as `this`. */
  function request<TOpaque = null>(
    this: Pick<Dispatcher, "dispatch">,
    options: Dispatcher.RequestOptions<TOpaque>,
  ): Promise<Dispatcher.ResponseData<TOpaque>>;
  export = request;
}

declare module "undici/lib/core/errors.js" {
  import type { errors } from "undici";

  /** The error classes the client throws: the same objects as `errors` from "undici". */
  const undiciErrors: typeof errors;
  export = undiciErrors;
}
