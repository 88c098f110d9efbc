// What one router's BMP connection means: it remembers the router's name
// (Initiation) and each monitored peer's 4-byte-AS capability (Peer Up), and
// turns each framed message into listener items. No I/O.

import type { BgpEvent } from "@popwatch/core";
import { BgpWireError } from "../errors";
import { updateRouteEvents } from "../wire/events";
import { decodeBgpMessage } from "../wire/message";
import { type BmpError, type BmpPeerHeader, decodeBmpMessage } from "./decode";
import type { FramedMessage } from "./framer";

/** The router at the other end of one BMP connection. */
export interface BmpRouter {
  /** `bmp:<sysName>`, or `bmp:<address>` until (or unless) the Initiation names it: the events' `source`. */
  source: string;
  address: string;
  port: number;
  sysName?: string;
  sysDescr?: string;
}

export type BmpItem =
  | { kind: "event"; event: BgpEvent; router: BmpRouter }
  /** The router's Initiation message arrived. */
  | { kind: "router-up"; router: BmpRouter }
  /** The connection ended; `reason` is the Termination's reason code when the router sent one. */
  | { kind: "router-down"; router: BmpRouter; terminationReason?: number; message: string }
  /** One message (or, for bad_version / bad_length / socket_error, the connection) could not be used. */
  | { kind: "error"; router: BmpRouter; error: BmpError }
  /** Items lost at the queue's hard limit since the last report. */
  | { kind: "dropped"; count: number };

export class BmpSession {
  /** Replaced, never changed in place: items keep the router as it was when they were made. */
  router: BmpRouter;
  terminationReason: number | undefined;
  private readonly as4ByPeer = new Map<string, boolean>();

  constructor(
    address: string,
    port: number,
    private readonly now: () => number,
  ) {
    this.router = { source: `bmp:${address}`, address, port };
  }

  handle(framed: FramedMessage): BmpItem[] {
    const decoded = decodeBmpMessage(framed.bytes);
    if (!decoded.ok) return [this.error({ ...decoded.error, offset: framed.offset + (decoded.error.offset ?? 0) })];
    const message = decoded.message;
    switch (message.type) {
      case "initiation":
        this.router = { ...this.router };
        if (message.sysName) {
          this.router.sysName = message.sysName;
          this.router.source = `bmp:${message.sysName}`;
        }
        if (message.sysDescr) this.router.sysDescr = message.sysDescr;
        return [{ kind: "router-up", router: this.router }];
      case "peer-up":
        // 4-byte AS numbers only when both sides offered the capability (RFC 6793 §4).
        this.as4ByPeer.set(peerKey(message.peer), message.sentOpen.as4 !== null && message.receivedOpen.as4 !== null);
        return [this.stateEvent(message.peer, true)];
      case "peer-down":
        this.as4ByPeer.delete(peerKey(message.peer));
        return [this.stateEvent(message.peer, false)];
      case "route-monitoring":
        return this.routeMonitoring(message.peer, message.pdu, framed.offset + message.pduOffset);
      case "termination":
        this.terminationReason = message.reason;
        return [];
      default:
        return [];
    }
  }

  private routeMonitoring(peer: BmpPeerHeader, pdu: Uint8Array, offset: number): BmpItem[] {
    const as4 = this.as4ByPeer.get(peerKey(peer)) ?? !peer.twoByteAs;
    let message: ReturnType<typeof decodeBgpMessage>;
    try {
      message = decodeBgpMessage(pdu, { as4 });
    } catch (error) {
      if (!(error instanceof BgpWireError)) throw error;
      return [this.error({ code: "bad_bgp", message: `Route Monitoring UPDATE: ${error.message}`, offset: offset + error.offset })];
    }
    if (message.type !== "UPDATE")
      return [this.error({ code: "bad_bgp", message: `Route Monitoring carries a ${message.type}, not an UPDATE`, offset: offset + 18 })];
    const policy = peer.postPolicy ? "post" : "pre";
    const context = { timeMs: peer.timeMs || this.now(), source: this.router.source, peer: peer.address, peerAs: peer.peerAs };
    return updateRouteEvents(message, context).map((event) => {
      event.policy = policy;
      return { kind: "event", event, router: this.router };
    });
  }

  private stateEvent(peer: BmpPeerHeader, up: boolean): BmpItem {
    const event: BgpEvent = {
      type: "STATE",
      timeMs: peer.timeMs || this.now(),
      source: this.router.source,
      peer: peer.address,
      peerAs: peer.peerAs,
      up,
    };
    return { kind: "event", event, router: this.router };
  }

  error(error: BmpError): BmpItem {
    return { kind: "error", router: this.router, error };
  }
}

function peerKey(peer: BmpPeerHeader): string {
  return `${peer.distinguisher}|${peer.address}`;
}
