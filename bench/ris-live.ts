// RIS Live client throughput: messages per second that watchRisLive sustains
// (parse, convert, filter to the watched prefixes, hand over through its
// bounded queue) from a loopback server in another process that sends as fast
// as the socket takes, next to a bare `ws` client that only JSON.parses each
// frame, in the same run. Loss is checked: every watched event must arrive.
//
// Run from the repository root: node bench/run.mjs ris-live   [env: MESSAGES=200000 ROUNDS=3]
import { fork } from "node:child_process";
import type { AddressInfo } from "node:net";
import { watchRisLive } from "@popwatch/bgp";
import WebSocket, { WebSocketServer } from "ws";
import { fmt, percentile } from "./support/stats";

const MESSAGES = Number(process.env.MESSAGES ?? "200000");
const ROUNDS = Number(process.env.ROUNDS ?? "3");
const WATCHED = ["198.51.100.0/24", "2001:db8::/32"];

/** A realistic mix: 1–3 prefixes per UPDATE, some withdrawals, paths of 3–6 ASes; a quarter of the prefixes are watched. */
function frames(count: number): { texts: string[]; watchedEvents: number } {
  const texts: string[] = [];
  let watchedEvents = 0;
  for (let i = 0; i < count; i++) {
    const prefixes: string[] = [];
    for (let p = 0; p < 1 + (i % 3); p++) {
      const n = i * 3 + p;
      switch (n % 4) {
        case 0:
          prefixes.push(`198.51.100.${(n % 64) * 4}/30`);
          watchedEvents++;
          break;
        case 1:
          prefixes.push(`10.${n % 256}.${(n >> 8) % 256}.0/24`);
          break;
        case 2:
          prefixes.push(`2001:db9:${(n % 65536).toString(16)}::/48`);
          break;
        default:
          prefixes.push(`172.16.${n % 256}.0/24`);
      }
    }
    const data: Record<string, unknown> = {
      timestamp: 1733480000 + i / 1000,
      peer: i % 2 ? "2001:7f8:24::82" : "80.81.192.157",
      peer_asn: i % 2 ? "58299" : "6939",
      id: `${i}`,
      host: `rrc${(i % 26).toString().padStart(2, "0")}.ripe.net`,
      type: "UPDATE",
    };
    if (i % 5 === 4) data.withdrawals = prefixes;
    else {
      data.path = [6939, 3356, 174, 64500 + (i % 7)].slice(0, 3 + (i % 2)).concat(64500);
      data.community = [
        [6939, 1000],
        [3356, 2],
      ];
      data.origin = "igp";
      data.announcements = [{ next_hop: i % 2 ? "2001:7f8:24::82" : "80.81.192.157", prefixes }];
    }
    texts.push(JSON.stringify({ type: "ris_message", data }));
  }
  return { texts, watchedEvents };
}

/** Child process: a ws server that sends every frame to each client as fast as the socket drains. */
async function serve(): Promise<void> {
  const { texts } = frames(MESSAGES);
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  server.on("connection", (socket) => {
    socket.once("message", async () => {
      for (let i = 0; i < texts.length; i++) {
        socket.send(texts[i] as string);
        if (socket.bufferedAmount > 4 << 20) while (socket.bufferedAmount > 1 << 20) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
  });
  server.on("listening", () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

async function bare(url: string): Promise<number> {
  const socket = new WebSocket(url);
  await new Promise((resolve) => socket.once("open", resolve));
  socket.send(JSON.stringify({ type: "ris_subscribe", data: { prefix: WATCHED[0] } }));
  let received = 0;
  let started = 0n;
  const seconds = await new Promise<number>((resolve) => {
    socket.on("message", (data) => {
      if (received === 0) started = process.hrtime.bigint();
      JSON.parse(data.toString());
      if (++received === MESSAGES) resolve(Number(process.hrtime.bigint() - started) / 1e9);
    });
  });
  socket.terminate();
  return MESSAGES / seconds;
}

async function popwatch(url: string, watchedEvents: number): Promise<{ rate: number; events: number; dropped: number; peak: number }> {
  const controller = new AbortController();
  const feed = watchRisLive({ url, prefixes: WATCHED, signal: controller.signal });
  let events = 0;
  let started = 0n;
  let seconds = 0;
  for await (const item of feed) {
    if (item.kind === "route") {
      if (events === 0) started = process.hrtime.bigint();
      if (++events === watchedEvents) {
        seconds = Number(process.hrtime.bigint() - started) / 1e9;
        break;
      }
    } else if (item.kind !== "connected") throw new Error(`unexpected item ${JSON.stringify(item)}`);
  }
  const stats = feed.stats();
  controller.abort();
  if (stats.frames !== MESSAGES) throw new Error(`read ${stats.frames} frames of ${MESSAGES}`);
  return { rate: stats.frames / seconds, events, dropped: stats.dropped, peak: stats.peakQueued };
}

async function main(): Promise<void> {
  if (process.argv[2] === "--serve") return serve();
  const { watchedEvents } = frames(MESSAGES);
  const child = fork(process.argv[1] as string, ["--serve"], { env: process.env });
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve((m as { port: number }).port)));
  const url = `ws://127.0.0.1:${port}/v1/ws/`;
  const bareRates: number[] = [];
  const popwatchRates: number[] = [];
  let lastRun = { rate: 0, events: 0, dropped: 0, peak: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    bareRates.push(await bare(url));
    lastRun = await popwatch(url, watchedEvents);
    if (lastRun.events !== watchedEvents || lastRun.dropped !== 0) throw new Error(`lost events: ${JSON.stringify(lastRun)}`);
    popwatchRates.push(lastRun.rate);
  }
  child.kill();
  const b = percentile(bareRates, 50);
  const p = percentile(popwatchRates, 50);
  console.log(
    `node ${process.version}; ${MESSAGES} ris_message frames per round (${watchedEvents} watched route events), ${ROUNDS} rounds, median`,
  );
  console.log("| client | messages/s | vs bare ws + JSON.parse | watched events delivered | dropped | peak queue |");
  console.log("|---|---|---|---|---|---|");
  console.log(`| bare ws, JSON.parse only | ${fmt(b, 0)} | 1.00× | - | - | - |`);
  console.log(
    `| popwatch watchRisLive (convert + filter) | ${fmt(p, 0)} | ${fmt(p / b, 2)}× | ${lastRun.events}/${watchedEvents} | ${lastRun.dropped} | ${lastRun.peak} |`,
  );
  console.log(
    `goal ≥ 5000 messages/s without loss: ${p >= 5000 && lastRun.dropped === 0 ? "met" : "missed"}; peak RSS ${fmt(process.resourceUsage().maxRSS / 1024, 0)} MB`,
  );
}

await main();
