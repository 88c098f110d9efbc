export { main, USAGE } from "./main";
export type { Io } from "./io";
export { CONFIG_FILE_NAMES, loadConfig, readConfigSource } from "./config-file";
