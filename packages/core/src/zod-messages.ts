// The schemas use zod/mini, zod 4's tree-shakable functional API: zod classic
// cannot be tree-shaken and brings every locale, ≈ 460 KB of the Lambda
// bundle. zod/mini registers no locale, so every issue without an explicit
// message would read "Invalid input"; zod classic registers English on first
// use. This does the same, so default messages ("Invalid input: expected
// string, received number", "Too small: …") stay exactly classic's. Like
// classic, it keeps a locale the application configured first. Issues reach
// operators as ConfigError issues named by dotted path (toConfigIssues).
import { en } from "zod/locales";
import * as z from "zod/mini";

/** Registers zod's English messages unless a locale is already configured. Idempotent. */
export function useEnglishZodMessages(): void {
  if (!z.config().localeError) z.config(en());
}

/** Zod issues as ConfigError issues with dotted paths; an unknown key is reported at its own path. */
export function toConfigIssues(issues: readonly z.core.$ZodIssue[], pathPrefix = ""): { path: string; message: string }[] {
  const join = (segments: readonly PropertyKey[]) =>
    [pathPrefix, ...segments.map((segment) => String(segment))].filter((part) => part !== "").join(".");
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: join([...issue.path, key]), message: "unknown key" }))
      : [{ path: join(issue.path), message: issue.message }],
  );
}
