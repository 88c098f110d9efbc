// The loopback UDP round trip this machine itself allows: a bare echo server in
// another process, one 40-byte datagram at a time, 1 ms apart. No DNS, no
// popwatch: the floor under every timing figure in timing-accuracy.
//   node bench/udp-floor.mjs
import { fork } from "node:child_process";
import dgram from "node:dgram";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

if (process.argv[2] === "server") {
  const server = dgram.createSocket("udp4");
  server.on("message", (message, peer) => server.send(message, peer.port, peer.address));
  server.bind(0, "127.0.0.1", () => process.send({ port: server.address().port }));
  process.on("disconnect", () => process.exit(0));
} else {
  const child = fork(fileURLToPath(import.meta.url), ["server"]);
  const [{ port }] = await once(child, "message");
  const client = dgram.createSocket("udp4");
  client.connect(port, "127.0.0.1");
  await once(client, "connect");
  const rtts = [];
  for (let i = 0; i < 2000; i++) {
    const echoed = once(client, "message");
    const sent = process.hrtime.bigint();
    client.send(Buffer.alloc(40));
    await echoed;
    rtts.push(Number(process.hrtime.bigint() - sent) / 1e6);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  rtts.sort((a, b) => a - b);
  const at = (p) => rtts[Math.min(rtts.length - 1, Math.ceil((p / 100) * rtts.length) - 1)].toFixed(3);
  console.log(`loopback UDP echo RTT (ms): min ${rtts[0].toFixed(3)}, p50 ${at(50)}, p99 ${at(99)}, max ${rtts.at(-1).toFixed(3)}`);
  child.kill();
  client.close();
}
