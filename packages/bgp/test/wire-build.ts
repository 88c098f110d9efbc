// Builds BGP messages byte by byte for the tests, from the RFCs' layouts
// (independent of the decoder, so a decoder bug cannot cancel itself out).

export function u16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

export function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

export function attribute(type: number, value: number[], flags = 0x40): number[] {
  if (value.length > 255) return [flags | 0x10, type, ...u16(value.length), ...value];
  return [flags, type, value.length, ...value];
}

export function asPath(segments: Array<[number, number[]]>, asnSize: 2 | 4): number[] {
  const bytes: number[] = [];
  for (const [type, asns] of segments) {
    bytes.push(type, asns.length);
    for (const asn of asns) bytes.push(...(asnSize === 4 ? u32(asn) : u16(asn)));
  }
  return bytes;
}

/** An NLRI prefix: length in bits, then the significant bytes of `address`. */
export function prefix(address: number[], length: number, pathId?: number): number[] {
  const bytes = address.slice(0, (length + 7) >> 3);
  return [...(pathId === undefined ? [] : u32(pathId)), length, ...bytes];
}

export function message(type: number, body: number[]): Uint8Array {
  return Uint8Array.from([...new Array<number>(16).fill(0xff), ...u16(19 + body.length), type, ...body]);
}

export function update(withdrawn: number[], attributes: number[], nlri: number[]): Uint8Array {
  return message(2, [...u16(withdrawn.length), ...withdrawn, ...u16(attributes.length), ...attributes, ...nlri]);
}

export function ipv6(text: string): number[] {
  const [head = "", tail = ""] = text.split("::");
  const headWords = head ? head.split(":") : [];
  const tailWords = tail ? tail.split(":") : [];
  const words = [...headWords, ...new Array<string>(8 - headWords.length - tailWords.length).fill("0"), ...tailWords];
  return words.flatMap((word) => u16(Number.parseInt(word, 16)));
}
