export { BUILTIN_POP_HEADERS, BUILTIN_POP_PATTERNS, type BuiltinPopExample, type BuiltinPopPattern } from "./builtins";
export {
  MAX_MATCHED_EVIDENCE_LENGTH,
  MAX_POP_ID_LENGTH,
  canonicalPopId,
  compilePopIdentification,
  createPopIdentifier,
  identifyPop,
  type CompiledPopIdentification,
} from "./identify";
export {
  normalizeFingerprint,
  parsePopIdentification,
  popIdentificationSchema,
  popRuleSchema,
  popSourceSchema,
  type PopIdentification,
  type PopIdentificationConfig,
  type PopRule,
} from "./schema";
