// Embedded event schemas, as the relogger (netsh trace, pktmon) writes them: FULL_HEADER64
// records of class EventMetadataGuid carrying a TDH TRACE_EVENT_INFO (Class.Type 0x20) or a
// provider GUID + EVENT_MAP_INFO (0x21). Layout follows the blobs in the real fixtures
// (attackhost-wifi.etl NDIS 1001, demikernel PktMon.etl): fixed part, EVENT_PROPERTY_INFO
// array, each property name directly followed by its map name, then provider / level /
// channel / keyword list / task / opcode / message strings, then the provider's binary-XML
// template (a BinXml fragment, item descriptors and a name table).

import { PROVIDERS } from '../../src/constants.js';
import { ByteWriter } from './bytes.js';
import type { EventIdentity } from './etl.js';

export const EVENT_METADATA_GUID = PROVIDERS.eventMetadata;
export const METADATA_TRACE_EVENT_INFO = 0x20;
export const METADATA_EVENT_MAP_INFO = 0x21;

/** TDH in-types used here (also the BinXml value types of the substitutions). */
export const InType = {
  UnicodeString: 1, AnsiString: 2, Int8: 3, UInt8: 4, Int16: 5, UInt16: 6, Int32: 7, UInt32: 8,
  Int64: 9, UInt64: 10, Float: 11, Double: 12, Boolean: 13, Binary: 14, Guid: 15, Pointer: 16, FileTime: 17, Sid: 19, HexInt32: 20, HexInt64: 21,
} as const;
export const OutType = {
  Null: 0, String: 1, Byte: 4, UnsignedByte: 4, UnsignedShort: 6, UnsignedInt: 8, UnsignedLong: 10,
  HexBinary: 15, Guid: 14, HexInt32: 18, HexInt64: 19, Pid: 20, Ipv4: 23, Ipv6: 24, SocketAddress: 25, DateTime: 12,
} as const;

export const PropertyFlag = { Struct: 0x1, ParamLength: 0x2, ParamCount: 0x4, ParamFixedLength: 0x10 } as const;

export interface PropertyDef {
  name: string;
  inType: number;
  outType: number;
  map?: string;
  flags?: number;
  /** Fixed length in bytes, or the index of the length property with ParamLength. */
  length?: number;
  count?: number;
}

export interface EventSchemaDef extends EventIdentity {
  providerName: string;
  levelName?: string;
  channelName?: string;
  keywordNames?: string[];
  taskName?: string;
  opcodeName?: string;
  message?: string;
  props: PropertyDef[];
}

export interface MapDef {
  name: string;
  flag: 1 | 2;               // 1 value map, 2 bitmap
  entries: [number, string][];
}

function binXmlHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 65599) + s.charCodeAt(i)) >>> 0;
  return h & 0xffff;
}

function binXmlName(w: ByteWriter, s: string): void {
  w.u16(binXmlHash(s)).u16(s.length).wstrz(s);
}

/** The manifest template of the event: <EventData><Data Name="...">%n</Data>...</EventData>. */
function buildTemplate(props: PropertyDef[]): Buffer {
  const w = new ByteWriter(1024);
  w.u8(0x0f).u8(1).u8(1).u8(0);                 // fragment header 1.1
  w.u8(0x01).u16(0xffff);                       // <EventData
  const outerSize = w.length; w.u32(0);
  binXmlName(w, 'EventData');
  w.u8(0x02);                                   // >
  props.forEach((p, i) => {
    w.u8(0x41).u16(0xffff);                     // <Data with attributes
    const sizeAt = w.length; w.u32(0);
    binXmlName(w, 'Data');
    const attrAt = w.length; w.u32(0);
    w.u8(0x06); binXmlName(w, 'Name');          // Name=
    w.u8(0x05).u8(0x01).u16(p.name.length).bytes(Buffer.from(p.name, 'utf16le'));
    w.patchU32(attrAt, w.length - attrAt - 4);
    w.u8(0x02);                                 // >
    w.u8(0x0d).u16(i).u8(p.inType | (p.flags && p.flags & PropertyFlag.ParamCount ? 0x80 : 0)); // optional substitution %i (0x80: array)
    w.u8(0x04);                                 // </Data>
    w.patchU32(sizeAt, w.length - sizeAt - 4);
  });
  w.u8(0x04);                                   // </EventData>
  w.patchU32(outerSize, w.length - outerSize - 4);
  w.u8(0x00);                                   // end of fragment
  w.align(4);
  // Item descriptors (20 bytes each), then the name table they point into.
  const descAt = w.length;
  w.zeros(20 * props.length);
  const names: number[] = [];
  for (const p of props) {
    names.push(w.length);
    const start = w.length;
    w.u32(0).wstrz(p.name).align(4);
    w.patchU32(start, w.length - start);
  }
  const out = w.toBuffer();
  props.forEach((p, i) => {
    const at = descAt + 20 * i;
    out.writeUInt32LE(p.flags && p.flags & PropertyFlag.ParamLength ? 4 : 0, at);
    out[at + 4] = p.inType;
    out[at + 5] = p.outType;
    out.writeUInt16LE(p.flags && p.flags & PropertyFlag.ParamLength ? 0 : 0, at + 6);
    out.writeUInt32LE(0, at + 8);
    out.writeUInt16LE(0, at + 12);
    out.writeUInt16LE(p.flags && p.flags & PropertyFlag.ParamLength ? (p.length ?? 0) : 0, at + 14);
    out.writeUInt32LE(names[i]!, at + 16);
  });
  return out;
}

function defaultLength(p: PropertyDef): number {
  if (p.length !== undefined) return p.length;
  switch (p.inType) {
    case InType.Int8: case InType.UInt8: return 1;
    case InType.Int16: case InType.UInt16: return 2;
    case InType.Int32: case InType.UInt32: case InType.HexInt32: case InType.Boolean: return 4;
    case InType.Int64: case InType.UInt64: case InType.HexInt64: case InType.FileTime: case InType.Pointer: case InType.Double: return 8;
    case InType.Float: return 4;
    case InType.Guid: return 16;
    default: return 0;
  }
}

/** TRACE_EVENT_INFO blob for one (provider, id, version). */
export function buildTraceEventInfo(def: EventSchemaDef): Buffer {
  const n = def.props.length;
  const w = new ByteWriter(2048);
  w.guid(def.provider).zeros(16);
  w.u16(def.id).u8(def.version).u8(def.channel).u8(def.level).u8(def.opcode).u16(def.task).u64(def.keywords);
  w.u32(0);                                     // DecodingSourceXMLFile (manifest)
  const offs = w.length;                        // 11 offsets + BinaryXMLSize + EventName + EventAttributes
  w.zeros(12 * 4);
  w.u32(n).u32(n).u32(1);                       // PropertyCount, TopLevelPropertyCount, Flags (TEMPLATE_EVENT_DATA)
  const propsAt = w.length;
  w.zeros(24 * n);
  const nameOff: number[] = [];
  const mapOff: number[] = [];
  for (const p of def.props) {
    nameOff.push(w.length); w.wstrz(p.name);
    if (p.map) { mapOff.push(w.length); w.wstrz(p.map); } else mapOff.push(0);
  }
  const str = (s: string | undefined): number => { if (s === undefined) return 0; const at = w.length; w.wstrz(s); return at; };
  const providerAt = str(def.providerName);
  const levelAt = str(def.levelName);
  const channelAt = str(def.channelName);
  let keywordsAt = 0;
  if (def.keywordNames && def.keywordNames.length > 0) {
    keywordsAt = w.length;
    for (const k of def.keywordNames) w.wstrz(k);
    w.u16(0);                                   // list ends with an empty string
  }
  const taskAt = str(def.taskName);
  const opcodeAt = str(def.opcodeName);
  const messageAt = str(def.message);
  const binXml = buildTemplate(def.props);
  const binXmlAt = w.length;
  w.bytes(binXml);
  const out = w.toBuffer();
  [providerAt, levelAt, channelAt, keywordsAt, taskAt, opcodeAt, messageAt, 0, binXmlAt, binXml.length, 0, 0]
    .forEach((v, i) => out.writeUInt32LE(v, offs + 4 * i));
  def.props.forEach((p, i) => {
    const at = propsAt + 24 * i;
    out.writeUInt32LE(p.flags ?? 0, at);
    out.writeUInt32LE(nameOff[i]!, at + 4);
    out.writeUInt16LE(p.inType, at + 8);
    out.writeUInt16LE(p.outType, at + 10);
    out.writeUInt32LE(mapOff[i]!, at + 12);
    out.writeUInt16LE(p.count ?? 1, at + 16);
    out.writeUInt16LE(defaultLength(p), at + 18);
    out.writeUInt32LE(0, at + 20);
  });
  return out;
}

/** Provider GUID + EVENT_MAP_INFO, as in the 0x21 records (strings end with a space, like TDH's). */
export function buildEventMapInfo(provider: string, map: MapDef): Buffer {
  const w = new ByteWriter(512);
  w.guid(provider);
  const base = w.length;
  const cnt = map.entries.length;
  w.u32(0).u32(map.flag).u32(cnt).u32(0);
  const entriesAt = w.length;
  w.zeros(8 * cnt).zeros(8);
  const nameAt = w.length - base; w.wstrz(map.name);
  const outs: number[] = [];
  for (const [, s] of map.entries) { outs.push(w.length - base); w.wstrz(s.endsWith(' ') ? s : s + ' '); }
  const out = w.toBuffer();
  out.writeUInt32LE(nameAt, base);
  map.entries.forEach(([v], i) => {
    out.writeUInt32LE(outs[i]!, entriesAt + 8 * i);
    out.writeUInt32LE(v >>> 0, entriesAt + 8 * i + 4);
  });
  return out;
}
