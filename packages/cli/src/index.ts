export { main, USAGE } from "./main";
export type { Io } from "./io";
