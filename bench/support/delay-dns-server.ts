// A loopback DNS responder for timing benchmarks, run in its own process so
// its event loop never shares time with the client being measured. Each
// answer is held for a chosen delay; the server measures how long it really
// held the query (receive callback to send) on its monotonic clock and puts
// that figure in the answer, so the client can compute its own measurement
// error without trusting timer precision. With REPORT_HELD=1 it also sends
// each held time to its parent over IPC (for clients, such as an exporter
// behind HTTP, whose answer the bench never sees).
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

const delayMs = Number(process.env.DELAY_MS ?? "20");
const jitterMs = Number(process.env.JITTER_MS ?? "0");
const reportHeld = process.env.REPORT_HELD === "1";

const PLACEHOLDER = "0".repeat(15);
const PLACEHOLDER_BYTES = Buffer.from(PLACEHOLDER);

const socket = dgram.createSocket("udp4");
socket.on("message", (query, rinfo) => {
  const receivedNs = process.hrtime.bigint();
  let packet: dnsPacket.Packet;
  try {
    packet = dnsPacket.decode(query);
  } catch {
    return;
  }
  const question = packet.questions?.[0];
  if (!question) return;
  // The answer is encoded before the hold ends, with a fixed-width placeholder
  // for the held time; only a digit patch separates the measurement from the send.
  const answer = dnsPacket.encode({
    id: packet.id,
    type: "response",
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: packet.questions,
    answers: [{ name: question.name, type: "TXT", class: "IN", ttl: 0, data: [`held_ns=${PLACEHOLDER}`] }],
  });
  const digitsAt = answer.lastIndexOf(PLACEHOLDER_BYTES);
  setTimeout(
    () => {
      const heldNs = process.hrtime.bigint() - receivedNs;
      answer.write(String(heldNs).padStart(PLACEHOLDER.length, "0"), digitsAt, "latin1");
      socket.send(answer, rinfo.port, rinfo.address);
      if (reportHeld) process.send?.({ heldNs: Number(heldNs) });
    },
    delayMs + Math.random() * jitterMs,
  );
});
socket.bind(0, "127.0.0.1", () => {
  process.send?.({ port: socket.address().port });
});
process.on("disconnect", () => process.exit(0));
