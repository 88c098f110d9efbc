// The routing snapshot of each watched prefix, written with optimistic
// concurrency and split into chunks when it outgrows one item.
//
// Items (partition `BS#<prefix>`):
//   head               version (N), token (S), chunks (N), asOfMs (N), and `data`+`codec` when chunks = 0
//   c#<token>#<nnn>    `data` (B): the nnn-th slice of the compressed snapshot written under `token`
//
// Protocol: getSnapshot remembers the version it read (per prefix, in this
// repository object). putSnapshot writes the new chunks (if any) under a
// fresh token, then the head with PutItem IF version = <read version> (IF
// absent when it read none). Of two writers that read the same version one
// wins; the other gets StoreError("store_conflict"), deletes its own chunks
// and must read again, fold again and put again: no update is lost. The
// winner deletes the chunks of the head it replaced. A reader that finds the
// head's chunks gone (replaced under it) reads again.
//
// Size: a snapshot of a prefix seen by ~1 000 peers, each route with a long
// path and communities, is ~0.5–2 MB of JSON and compresses ~10×, so it
// nearly always fits the head. Past CHUNK_BYTES compressed it is chunked, up
// to MAX_SNAPSHOT_CHUNKS chunks (22 MB compressed); beyond that the write is
// refused (store_invalid) rather than half-made.

import { randomBytes } from "node:crypto";
import type { RoutingSnapshot } from "@popwatch/core";
import { WRITE_CODEC, decodePayloadText, encodePayloadText } from "./codec";
import { StoreError } from "./errors";
import { type Item, type ItemTable, MAX_PAYLOAD_BYTES, type WeightedRequest, corrupt, invalid, sortKeyRangeQuery } from "./items";
import { PARTITION_KEY, ROUTING_SNAPSHOT_HEAD, SORT_KEY, routingSnapshotChunkKey, routingSnapshotPartitionKey } from "./keys";

export const SNAPSHOT_CHUNK_BYTES = MAX_PAYLOAD_BYTES;
export const MAX_SNAPSHOT_CHUNKS = 64;
/** Reads of a head whose chunks vanished (a writer replaced it meanwhile) before reporting a conflict. */
const READ_ATTEMPTS = 3;

interface HeadState {
  version: number;
  token: string;
  chunks: number;
}

export class RoutingSnapshots {
  /** What this object last read or wrote per prefix: the version its next put expects. */
  private readonly seen = new Map<string, HeadState>();

  constructor(
    private readonly table: ItemTable,
    private readonly options: { chunkBytes?: number } = {},
  ) {}

  async get(prefix: string): Promise<RoutingSnapshot | null> {
    const pk = routingSnapshotPartitionKey(prefix);
    for (let attempt = 1; ; attempt++) {
      const items = await this.table.queryAll(sortKeyRangeQuery(pk, undefined, undefined), { consistent: true });
      const head = items.find((item) => item[SORT_KEY]?.S === ROUTING_SNAPSHOT_HEAD);
      if (head === undefined) {
        this.seen.set(prefix, { version: 0, token: "", chunks: 0 });
        return null;
      }
      const state = headState(head);
      const data = state.chunks === 0 ? head.data?.B : joinChunks(items, state);
      if (data === undefined) {
        if (attempt < READ_ATTEMPTS) continue;
        throw new StoreError("store_conflict", `snapshot of ${prefix}: its chunks kept changing while read`);
      }
      const snapshot = parseSnapshot(head, decodePayloadText(head.codec?.S, data, `snapshot of ${prefix}`), prefix);
      this.seen.set(prefix, state);
      return snapshot;
    }
  }

  async put(snapshot: RoutingSnapshot): Promise<void> {
    const prefix = snapshot.prefix;
    const previous = this.seen.get(prefix) ?? { version: 0, token: "", chunks: 0 };
    const pk = routingSnapshotPartitionKey(prefix);
    const data = encodePayloadText(JSON.stringify(snapshot));
    const chunkBytes = this.options.chunkBytes ?? SNAPSHOT_CHUNK_BYTES;
    const token = randomBytes(8).toString("hex");
    const chunks = data.length <= chunkBytes ? 0 : Math.ceil(data.length / chunkBytes);
    if (chunks > MAX_SNAPSHOT_CHUNKS) {
      throw invalid(`snapshot of ${prefix} is ${data.length} bytes compressed, over ${MAX_SNAPSHOT_CHUNKS} chunks of ${chunkBytes}`);
    }
    const chunkItems: Item[] = [];
    for (let i = 0; i < chunks; i++) {
      chunkItems.push({
        [PARTITION_KEY]: { S: pk },
        [SORT_KEY]: { S: routingSnapshotChunkKey(token, i) },
        data: { B: data.subarray(i * chunkBytes, (i + 1) * chunkBytes) },
      });
    }
    if (chunkItems.length > 0) await this.table.writeRequests(chunkItems.map(putRequest));

    const next: HeadState = { version: previous.version + 1, token, chunks };
    const head: Item = {
      [PARTITION_KEY]: { S: pk },
      [SORT_KEY]: { S: ROUTING_SNAPSHOT_HEAD },
      version: { N: String(next.version) },
      token: { S: token },
      chunks: { N: String(chunks) },
      asOfMs: { N: String(snapshot.asOfMs) },
      codec: { S: WRITE_CODEC },
      ...(chunks === 0 ? { data: { B: data } } : {}),
    };
    const won = await this.table.putUnless(
      `snapshot of ${prefix}`,
      previous.version === 0
        ? { Item: head, ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: { "#pk": PARTITION_KEY } }
        : {
            Item: head,
            ConditionExpression: "#version = :version",
            ExpressionAttributeNames: { "#version": "version" },
            ExpressionAttributeValues: { ":version": { N: String(previous.version) } },
          },
    );
    if (!won) {
      this.seen.delete(prefix);
      await this.deleteChunks(pk, token, chunks);
      throw new StoreError(
        "store_conflict",
        `snapshot of ${prefix} changed since version ${previous.version} was read: read it again, fold again, put again`,
      );
    }
    this.seen.set(prefix, next);
    await this.deleteChunks(pk, previous.token, previous.chunks);
  }

  private async deleteChunks(pk: string, token: string, chunks: number): Promise<void> {
    if (chunks === 0) return;
    const requests: WeightedRequest[] = [];
    for (let i = 0; i < chunks; i++) {
      requests.push({
        request: { DeleteRequest: { Key: { [PARTITION_KEY]: { S: pk }, [SORT_KEY]: { S: routingSnapshotChunkKey(token, i) } } } },
        weight: 1,
      });
    }
    await this.table.writeRequests(requests);
  }
}

function putRequest(item: Item): WeightedRequest {
  return { request: { PutRequest: { Item: item } }, weight: 1 };
}

function headState(head: Item): HeadState {
  const version = Number(head.version?.N);
  const chunks = Number(head.chunks?.N);
  const token = head.token?.S;
  if (!Number.isSafeInteger(version) || version < 1 || !Number.isSafeInteger(chunks) || chunks < 0 || token === undefined) {
    throw corrupt(head, "is not a snapshot head (version, chunks, token)");
  }
  return { version, token, chunks };
}

/** The compressed bytes of the head's chunks, in order; undefined when one is missing. */
function joinChunks(items: readonly Item[], state: HeadState): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < state.chunks; i++) {
    const key = routingSnapshotChunkKey(state.token, i);
    const bytes = items.find((item) => item[SORT_KEY]?.S === key)?.data?.B;
    if (bytes === undefined) return undefined;
    parts.push(bytes);
  }
  return Buffer.concat(parts);
}

function parseSnapshot(head: Item, text: string, prefix: string): RoutingSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw corrupt(head, "holds a snapshot that is not JSON", err);
  }
  const snapshot = value as Partial<RoutingSnapshot> | null;
  if (
    typeof snapshot !== "object" ||
    snapshot === null ||
    snapshot.prefix !== prefix ||
    typeof snapshot.asOfMs !== "number" ||
    !Array.isArray(snapshot.routes) ||
    !Array.isArray(snapshot.peers)
  ) {
    throw corrupt(head, `does not hold a routing snapshot of ${prefix}`);
  }
  return snapshot as RoutingSnapshot;
}
