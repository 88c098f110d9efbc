// Text renderings of MRT entries for `popwatch bgp decode`: bgpdump -m lines
// (so a diff against Debian's bgpdump works) and JSON lines. Strings that
// every prefix of an UPDATE shares are built once per UPDATE.
import { isUnicast, routeFields } from "../wire/events";
import { AS_CONFED_SEQUENCE, AS_CONFED_SET, AS_SET, type AsPathSegment, type Nlri, type PathAttributes } from "../wire/types";
import type { MrtEntry, MrtOrigin, MrtRibEntry, MrtUpdateEntry } from "./entries";
import { BGP_STATE_NAMES } from "./events";

/** bgpdump's rendering of AS_PATH: sequences space-separated, `{a,b}` sets, `(a b)` / `[a,b]` confederation segments. */
export function asPathText(segments: AsPathSegment[] | null): string {
  if (!segments) return "";
  let text = "";
  for (const segment of segments) {
    if (text.length > 0) text += " ";
    const type = segment.type;
    const separator = type === AS_SET || type === AS_CONFED_SET ? "," : " ";
    if (type === AS_SET) text += "{";
    else if (type === AS_CONFED_SET) text += "[";
    else if (type === AS_CONFED_SEQUENCE) text += "(";
    const asns = segment.asns;
    for (let i = 0; i < asns.length; i++) text += i === 0 ? `${asns[i]}` : `${separator}${asns[i]}`;
    if (type === AS_SET) text += "}";
    else if (type === AS_CONFED_SET) text += "]";
    else if (type === AS_CONFED_SEQUENCE) text += ")";
  }
  return text;
}

const WELL_KNOWN_COMMUNITIES: Record<number, string> = { 4294967041: "no-export", 4294967042: "no-advertise", 4294967043: "local-AS" };

function communitiesText(values: number[] | null): string {
  if (!values) return "";
  let text = "";
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    const name = WELL_KNOWN_COMMUNITIES[value] ?? `${value >>> 16}:${value & 0xffff}`;
    text += i === 0 ? name : ` ${name}`;
  }
  return text;
}

// bgpdump prints INADDR_NONE for a missing IPv4 next hop.
const NO_NEXT_HOP = "255.255.255.255";

function largeCommunitiesText(values: number[] | null): string {
  if (!values) return "";
  let text = "";
  for (let i = 0; i + 2 < values.length; i += 3) text += `${i === 0 ? "" : " "}${values[i]}:${values[i + 1]}:${values[i + 2]}`;
  return text;
}

export interface BgpdumpOptions {
  /** A large communities field after the communities, as `bgpdump -m -l` prints. */
  largeCommunities?: boolean;
}

/** `path|origin|nexthop|localpref|med|communities|[large communities|]AG|aggregator|` and the newline. */
function attributesTail(attributes: PathAttributes, nextHop: string | null, options: BgpdumpOptions): string {
  const aggregator = attributes.aggregator ? `${attributes.aggregator.asn} ${attributes.aggregator.address}` : "";
  const large = options.largeCommunities ? `${largeCommunitiesText(attributes.largeCommunities)}|` : "";
  return `${asPathText(attributes.asPath)}|${attributes.origin ?? "INCOMPLETE"}|${nextHop ?? NO_NEXT_HOP}|${attributes.localPref ?? 0}|${attributes.med ?? 0}|${communitiesText(attributes.communities)}|${large}${attributes.atomicAggregate ? "AG" : "NAG"}|${aggregator}|\n`;
}

function timeText(origin: MrtOrigin): string {
  if (!origin.extendedTime) return `${origin.seconds}`;
  return `${origin.seconds}.${`${origin.microseconds}`.padStart(6, "0")}`;
}

/** The `bgpdump -m` lines of one entry (empty for warnings). */
export function bgpdumpLines(entry: MrtEntry, options: BgpdumpOptions = {}): string {
  switch (entry.kind) {
    case "update":
      return updateLines(entry, options);
    case "rib":
      return ribLine(entry, options);
    case "state":
      return `${entry.extendedTime ? "BGP4MP_ET" : "BGP4MP"}|${timeText(entry)}|STATE|${entry.peer}|${entry.peerAs}|${entry.oldState}|${entry.newState}\n`;
    default:
      return "";
  }
}

function updateLines(entry: MrtUpdateEntry, options: BgpdumpOptions): string {
  const { update, addPath } = entry;
  const { attributes } = update;
  const format = entry.extendedTime ? (addPath ? "BGP4MP_ET_AP" : "BGP4MP_ET") : addPath ? "BGP4MP_AP" : "BGP4MP";
  const time = timeText(entry);
  let text = "";
  const unreach = attributes.mpUnreach;
  const withdrawn = update.withdrawn.prefixes.length > 0 || (unreach !== null && unreach.nlri.prefixes.length > 0);
  if (withdrawn) {
    const head = `${format}|${time}|W|${entry.peer}|${entry.peerAs}|`;
    text += withdrawLines(head, update.withdrawn);
    if (unreach && isUnicast(unreach.afi, unreach.safi)) text += withdrawLines(head, unreach.nlri);
  }
  const reach = attributes.mpReach;
  const reachUnicast = reach !== null && isUnicast(reach.afi, reach.safi) && reach.nlri.prefixes.length > 0;
  if (update.announced.prefixes.length > 0 || reachUnicast) {
    const head = `${format}|${time}|A|${entry.peer}|${entry.peerAs}|`;
    if (update.announced.prefixes.length > 0)
      text += announceLines(head, update.announced, attributesTail(attributes, attributes.nextHop, options));
    if (reach && reachUnicast) text += announceLines(head, reach.nlri, attributesTail(attributes, reach.nextHop, options));
  }
  return text;
}

function withdrawLines(head: string, nlri: Nlri): string {
  const { prefixes, pathIds } = nlri;
  let text = "";
  for (let i = 0; i < prefixes.length; i++) text += pathIds ? `${head}${prefixes[i]}|${pathIds[i]}\n` : `${head}${prefixes[i]}\n`;
  return text;
}

function announceLines(head: string, nlri: Nlri, tail: string): string {
  const { prefixes, pathIds } = nlri;
  let text = "";
  for (let i = 0; i < prefixes.length; i++)
    text += pathIds ? `${head}${prefixes[i]}|${pathIds[i]}|${tail}` : `${head}${prefixes[i]}|${tail}`;
  return text;
}

function ribLine(entry: MrtRibEntry, options: BgpdumpOptions): string {
  const { attributes } = entry;
  const nextHop = attributes.mpReach?.nextHop ?? attributes.nextHop;
  const head = `${entry.addPath ? "TABLE_DUMP2_AP" : "TABLE_DUMP2"}|${entry.seconds}|B|${entry.peer}|${entry.peerAs}|${entry.prefix}|`;
  return entry.addPath
    ? `${head}${entry.pathId}|${attributesTail(attributes, nextHop, options)}`
    : `${head}${attributesTail(attributes, nextHop, options)}`;
}

/** One JSON object per event of the entry, one per line: core's RouteEvent fields with `time` in Unix seconds, plus MRT's extras. */
export function jsonLines(entry: MrtEntry): string {
  if (entry.kind === "warning") return "";
  const time = entry.extendedTime ? Number(timeText(entry)) : entry.seconds;
  if (entry.kind === "state") {
    const state = {
      type: "STATE",
      time,
      peer: entry.peer,
      peerAs: entry.peerAs,
      oldState: BGP_STATE_NAMES[entry.oldState] ?? String(entry.oldState),
      newState: BGP_STATE_NAMES[entry.newState] ?? String(entry.newState),
    };
    return `${JSON.stringify(state)}\n`;
  }
  const base = `{"type":"%","time":${time},"peer":${JSON.stringify(entry.peer)},"peerAs":${entry.peerAs},"prefix":`;
  const withdrawHead = base.replace("%", "W");
  let text = "";
  const attributes = entry.kind === "rib" ? entry.attributes : entry.update.attributes;
  let extras: string | null = null;
  const announceExtras = () => {
    if (extras !== null) return extras;
    const fields = routeFields(attributes);
    const rest: Record<string, unknown> = { asPath: fields.asPath, origin: fields.origin };
    if (fields.asSets) rest.asSets = fields.asSets;
    if (fields.originAttribute) rest.originAttribute = fields.originAttribute;
    extras = JSON.stringify(rest).slice(1, -1);
    const more: Record<string, unknown> = {};
    if (fields.communities) more.communities = fields.communities;
    if (fields.largeCommunities) more.largeCommunities = fields.largeCommunities;
    if (attributes.localPref !== null) more.localPref = attributes.localPref;
    if (attributes.med !== null) more.med = attributes.med;
    if (attributes.atomicAggregate) more.atomicAggregate = true;
    if (attributes.aggregator) more.aggregator = attributes.aggregator;
    const moreText = JSON.stringify(more).slice(1, -1);
    if (moreText.length > 0) extras += `,${moreText}`;
    return extras;
  };
  const line = (
    head: string,
    prefix: string,
    pathId: number | null | undefined,
    nextHop: string | null | undefined,
    announced: boolean,
  ) => {
    text += `${head}${JSON.stringify(prefix)}`;
    if (pathId !== null && pathId !== undefined) text += `,"pathId":${pathId}`;
    if (!announced) {
      text += ',"asPath":[],"origin":null}\n';
      return;
    }
    if (nextHop) text += `,"nextHop":${JSON.stringify(nextHop)}`;
    text += `,${announceExtras()}}\n`;
  };
  if (entry.kind === "rib") {
    line(base.replace("%", "B"), entry.prefix, entry.pathId, attributes.mpReach?.nextHop ?? attributes.nextHop, true);
    return text;
  }
  const { update } = entry;
  for (let i = 0; i < update.withdrawn.prefixes.length; i++)
    line(withdrawHead, update.withdrawn.prefixes[i] as string, update.withdrawn.pathIds?.[i], null, false);
  const unreach = attributes.mpUnreach;
  if (unreach && isUnicast(unreach.afi, unreach.safi)) {
    for (let i = 0; i < unreach.nlri.prefixes.length; i++)
      line(withdrawHead, unreach.nlri.prefixes[i] as string, unreach.nlri.pathIds?.[i], null, false);
  }
  const announceHead = base.replace("%", "A");
  for (let i = 0; i < update.announced.prefixes.length; i++)
    line(announceHead, update.announced.prefixes[i] as string, update.announced.pathIds?.[i], attributes.nextHop, true);
  const reach = attributes.mpReach;
  if (reach && isUnicast(reach.afi, reach.safi)) {
    for (let i = 0; i < reach.nlri.prefixes.length; i++)
      line(announceHead, reach.nlri.prefixes[i] as string, reach.nlri.pathIds?.[i], reach.nextHop, true);
  }
  return text;
}
