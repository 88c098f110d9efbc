export { CONFIG_FILE_NAMES, loadConfig, readConfigSource } from "./config-file";
export type { Io } from "./io";
export { USAGE, main } from "./main";
export { parseConfigWithOpenSloFiles } from "./openslo-files";
