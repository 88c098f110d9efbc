// A loopback HTTP endpoint that speaks enough of Amazon SQS's AWS JSON 1.0
// protocol (SendMessageBatch) for the real @aws-sdk/client-sqs: it records
// what was sent and can fail entries or whole requests on demand. No SQS
// emulator exists on npm; the SDK's own request signing, serialisation and
// MD5 checks of message bodies run for real against it.
import { createHash } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SentMessage {
  queueUrl: string;
  id: string;
  body: string;
  delaySeconds: number;
}

export type EntryFault = { senderFault: boolean; code: string; message: string };

export interface SqsEndpoint {
  url: string;
  /** Every entry accepted, in order. */
  sent: SentMessage[];
  /** Requests received, accepted or not. */
  requests: number;
  /** Decides, per entry, whether it fails; default: none do. */
  failEntry: (entry: { id: string; body: string }, attempt: number) => EntryFault | null;
  /** Answers the next N requests with HTTP 500. */
  failNextRequests: number;
  close(): Promise<void>;
}

export async function startSqsEndpoint(): Promise<SqsEndpoint> {
  const attempts = new Map<string, number>();
  const endpoint: SqsEndpoint = {
    url: "",
    sent: [],
    requests: 0,
    failEntry: () => null,
    failNextRequests: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => reply(res, 500, { __type: "InternalError", message: String(err) }));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    endpoint.requests++;
    if (endpoint.failNextRequests > 0) {
      endpoint.failNextRequests--;
      return reply(res, 500, { __type: "com.amazonaws.sqs#InternalError", message: "injected" });
    }
    const target = String(req.headers["x-amz-target"] ?? "");
    if (target !== "AmazonSQS.SendMessageBatch") {
      return reply(res, 400, { __type: "com.amazonaws.sqs#UnsupportedOperation", message: `not implemented here: ${target}` });
    }
    const input = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      QueueUrl: string;
      Entries: { Id: string; MessageBody: string; DelaySeconds?: number }[];
    };
    const successful: unknown[] = [];
    const failed: unknown[] = [];
    for (const entry of input.Entries) {
      const key = `${entry.Id}:${entry.MessageBody}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const fault = endpoint.failEntry({ id: entry.Id, body: entry.MessageBody }, attempt);
      if (fault) {
        failed.push({ Id: entry.Id, SenderFault: fault.senderFault, Code: fault.code, Message: fault.message });
        continue;
      }
      endpoint.sent.push({ queueUrl: input.QueueUrl, id: entry.Id, body: entry.MessageBody, delaySeconds: entry.DelaySeconds ?? 0 });
      successful.push({
        Id: entry.Id,
        MessageId: `${endpoint.sent.length}-${entry.Id}`,
        MD5OfMessageBody: createHash("md5").update(entry.MessageBody, "utf8").digest("hex"),
      });
    }
    reply(res, 200, { Successful: successful, Failed: failed });
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return endpoint;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": "loopback",
  });
  res.end(text);
}
