// What both Lambda handlers read from their environment.
import { isAbsolute, join } from "node:path";

export type Env = Record<string, string | undefined>;

/** The variable's value; throws naming it when it is unset or empty (a deployment fault). */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === "") throw new Error(`environment variable ${name} is not set`);
  return value;
}

/**
 * POPWATCH_CONFIG_FILE (default popwatch.config.json): absolute, or relative
 * to LAMBDA_TASK_ROOT, else to `handlerDir` (the bundle's own folder).
 */
export function bundledConfigPath(env: Env, handlerDir: string): string {
  return bundledPath(env, env.POPWATCH_CONFIG_FILE || "popwatch.config.json", handlerDir);
}

/**
 * POPWATCH_VRP_FILE, resolved like the config: the VRP file the stack bundled
 * next to it (bgp.rpki.vrpFile names the deployer's copy, which the function
 * does not have). Undefined when unset: no bundled VRP file.
 */
export function bundledVrpPath(env: Env, handlerDir: string): string | undefined {
  const file = env.POPWATCH_VRP_FILE;
  return file === undefined || file === "" ? undefined : bundledPath(env, file, handlerDir);
}

function bundledPath(env: Env, file: string, handlerDir: string): string {
  return isAbsolute(file) ? file : join(env.LAMBDA_TASK_ROOT || handlerDir, file);
}
