// probes/http.ts takes undici's Client, request API and error classes from
// undici 7's internal modules instead of "undici" (bundle size on Lambda; see
// types/undici-internals.d.ts). They must be the very objects undici's index
// exports: the same classes for `instanceof`, the same request function.
import * as undici from "undici";
import request from "undici/lib/api/api-request.js";
import undiciErrors from "undici/lib/core/errors.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Client from "undici/lib/dispatcher/client.js";
import { describe, expect, it } from "vitest";

describe("undici internal modules", () => {
  it("are the objects undici's index exports", () => {
    expect(Client).toBe(undici.Client);
    expect(Agent).toBe(undici.Agent);
    expect(undiciErrors).toBe(undici.errors);
    expect(undiciErrors.HTTPParserError).toBe(undici.errors.HTTPParserError);
    expect(request).toBe(undici.Dispatcher.prototype.request);
  });
});
