// A loopback DNS responder for timing benchmarks, run in its own process so
// its event loop never shares time with the client being measured. Each
// answer is held for a chosen delay; the server measures how long it really
// held the query (receive callback to send) on its monotonic clock and puts
// that figure in the answer, so the client can compute its own measurement
// error without trusting timer precision.
//
// Every question gets a correct answer of its type: A gets ANSWER_A (so the
// server can also act as the resolver a hostname target is looked up
// through), AAAA an empty NOERROR answer, any other type the TXT record
// `held_ns=<ns>`.
//
// env: DELAY_MS=20 JITTER_MS=0 BIND_ADDRESS=127.0.0.1 BIND_PORT=0 ANSWER_A=127.0.0.1
//      REPORT_HELD=1: also send each held time to the parent over IPC, as
//      {heldNs, qtype} (for clients, such as an exporter behind HTTP, whose
//      answers the bench never sees).
// IPC in: {delayMs} changes the delay, acknowledged with {delayMs}.
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

let delayMs = Number(process.env.DELAY_MS ?? "20");
const jitterMs = Number(process.env.JITTER_MS ?? "0");
const reportHeld = process.env.REPORT_HELD === "1";
const answerA = process.env.ANSWER_A ?? "127.0.0.1";

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
  const answers: dnsPacket.Answer[] =
    question.type === "A"
      ? [{ name: question.name, type: "A", class: "IN", ttl: 0, data: answerA }]
      : question.type === "AAAA"
        ? []
        : [{ name: question.name, type: "TXT", class: "IN", ttl: 0, data: [`held_ns=${PLACEHOLDER}`] }];
  const answer = dnsPacket.encode({
    id: packet.id,
    type: "response",
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: packet.questions,
    answers,
  });
  const digitsAt = answer.lastIndexOf(PLACEHOLDER_BYTES);
  setTimeout(
    () => {
      const heldNs = process.hrtime.bigint() - receivedNs;
      if (digitsAt >= 0) answer.write(String(heldNs).padStart(PLACEHOLDER.length, "0"), digitsAt, "latin1");
      socket.send(answer, rinfo.port, rinfo.address);
      if (reportHeld) process.send?.({ heldNs: Number(heldNs), qtype: question.type });
    },
    delayMs + Math.random() * jitterMs,
  );
});
socket.bind(Number(process.env.BIND_PORT ?? "0"), process.env.BIND_ADDRESS ?? "127.0.0.1", () => {
  process.send?.({ port: socket.address().port });
});
process.on("message", (message: { delayMs?: number }) => {
  if (typeof message.delayMs !== "number") return;
  delayMs = message.delayMs;
  process.send?.({ delayMs });
});
process.on("disconnect", () => process.exit(0));
