import net from "node:net";
import type { ProbeFn } from "../types";

/** TCP connect time to address:port. The connection is closed as soon as it opens. */
export const tcpProbe: ProbeFn<"tcp"> = (spec, ctx) =>
  new Promise((resolve, reject) => {
    const start = ctx.now();
    const socket = net.connect({ host: spec.address, port: spec.port, noDelay: true });
    const onAbort = () => socket.destroy();
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const done = (err?: Error) => {
      ctx.signal.removeEventListener("abort", onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(null);
    };
    socket.once("connect", () => {
      ctx.timings.connectMs = ctx.msSince(start);
      ctx.facts.localAddress = socket.localAddress ?? null;
      ctx.facts.localPort = socket.localPort ?? null;
      done();
    });
    socket.once("error", done);
  });
