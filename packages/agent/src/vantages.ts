// The vantages an evaluation or report knows about: the store's registry and
// the config's own `vantage` section. Their claimed locations are what the
// speed-of-light, detour and claimed-location checks locate them by, as an
// AWS region is located by its metro.
import { type PopwatchConfig, type Vantage, configuredVantage, knownVantages } from "@popwatch/core";
import type { ResultStore } from "@popwatch/store";

/** A store that may keep a vantage registry (the layout v3 table does). */
export type VantageRegistry = Partial<Pick<ResultStore, "listVantages">>;

/** Registered vantages with the config's own over the entry of the same name; sorted by name. */
export async function readVantages(store: VantageRegistry, config: Pick<PopwatchConfig, "vantage">): Promise<Vantage[]> {
  const registered = store.listVantages === undefined ? [] : await store.listVantages();
  return knownVantages(registered, config.vantage === undefined ? null : configuredVantage(config.vantage));
}
