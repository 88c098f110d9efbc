// One operator `popCatalogue` entry: where a PoP of theirs is. The config
// holds a record of them; the catalogue (./catalogue.ts) resolves PoP ids
// against them before the built-in airports.
import * as z from "zod/mini";
import { useEnglishZodMessages } from "../zod-messages";

useEnglishZodMessages();

export const popCatalogueEntrySchema = z.strictObject({
  city: z.optional(z.string().check(z.maxLength(100))),
  country: z.optional(z.string().check(z.regex(/^[A-Z]{2}$/, { message: "expected an ISO 3166-1 alpha-2 code" }))),
  lat: z.number().check(z.gte(-90), z.lte(90)),
  lon: z.number().check(z.gte(-180), z.lte(180)),
  iata: z.optional(z.string().check(z.regex(/^[a-z]{3}$/, { message: "expected a lowercase IATA code" }))),
});

export type PopCatalogueEntry = z.output<typeof popCatalogueEntrySchema>;
