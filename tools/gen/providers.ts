// Providers the generator writes: their GUIDs, event descriptors, embedded schemas (as the real
// files carry them) and payload encoders. Field names and types are those of the real schemas
// (NDIS-PacketCapture 1001 from attackhost-wifi.etl, PktMon from demikernel PktMon.etl) and of
// docs/etl-format.md, Microsoft-Windows-Kernel-Process and Microsoft-Windows-TCPIP connection events for Kernel-Process and TCPIP.

import { PROVIDERS } from '../../src/constants.js';
import { ByteWriter } from './bytes.js';
import { EtlWriter, fullRecord } from './etl.js';
import {
  buildEventMapInfo, buildTraceEventInfo, EVENT_METADATA_GUID, EventSchemaDef, InType, MapDef, PropertyDef,
  METADATA_EVENT_MAP_INFO, METADATA_TRACE_EVENT_INFO, OutType, PropertyFlag,
} from './schema.js';

export const NDIS_PACKETCAPTURE = PROVIDERS.ndisPacketCapture;
export const PKTMON = PROVIDERS.pktMon;
export const KERNEL_PROCESS = PROVIDERS.kernelProcess;
export const TCPIP = PROVIDERS.tcpip;
export const NDIS_WAN = PROVIDERS.ndisWanCapture;

// NDIS-PacketCapture keyword bits (etl2pcapng's constants; names from the embedded schema).
export const NdisKeyword = {
  WirelessWAN: 0x200n,
  Native80211: 0x10000n,
  VMSwitch: 0x1000000n,
  PacketTruncated: 0x2000000n,
  PacketStart: 0x40000000n,
  PacketEnd: 0x80000000n,
  SendPath: 0x100000000n,
  ReceivePath: 0x200000000n,
  PiiPresent: 0x20000000000n,
  Packet: 0x40000000000n,
  Channel: 0x8000000000000000n,  // the Diagnostic channel's keyword bit, unnamed in the schema
} as const;

const NDIS_KEYWORD_NAMES: [bigint, string][] = [
  [NdisKeyword.WirelessWAN, 'WirelessWAN'], [NdisKeyword.Native80211, 'Native802.11'], [NdisKeyword.VMSwitch, 'VMSwitch'],
  [NdisKeyword.PacketTruncated, 'PacketTruncated'],
  [NdisKeyword.PacketStart, 'PacketStart'], [NdisKeyword.PacketEnd, 'PacketEnd'],
  [NdisKeyword.SendPath, 'ut:SendPath'], [NdisKeyword.ReceivePath, 'ut:ReceivePath'],
  [NdisKeyword.PiiPresent, 'ut:PiiPresent'], [NdisKeyword.Packet, 'ut:Packet'],
];

export function ndis1001Schema(keywords: bigint, gft: boolean): EventSchemaDef {
  const props: PropertyDef[] = [
    { name: 'MiniportIfIndex', inType: InType.UInt32, outType: OutType.UnsignedInt },
    { name: 'LowerIfIndex', inType: InType.UInt32, outType: OutType.UnsignedInt },
    { name: 'FragmentSize', inType: InType.UInt32, outType: OutType.UnsignedInt },
    { name: 'Fragment', inType: InType.Binary, outType: OutType.HexBinary, flags: PropertyFlag.ParamLength, length: 2 },
  ];
  if (gft) {
    props.push({ name: 'GftFlowEntryId', inType: InType.UInt64, outType: OutType.UnsignedLong });
    props.push({ name: 'GftOffloadInformation', inType: InType.UInt64, outType: OutType.HexInt64 });
  }
  return {
    provider: NDIS_PACKETCAPTURE, providerName: 'Microsoft-Windows-NDIS-PacketCapture',
    id: 1001, version: 0, channel: 16, level: 4, opcode: 0, task: 0, keywords,
    levelName: 'win:Informational', channelName: 'Microsoft-Windows-NDIS-PacketCapture/Diagnostic',
    keywordNames: NDIS_KEYWORD_NAMES.filter(([bit]) => (keywords & bit) !== 0n).map(([, n]) => n),
    opcodeName: 'win:Info', message: 'Packet Fragment (%3 bytes) ', props,
  };
}

function ndisSchema(id: number, keywords: bigint, message: string, props: PropertyDef[]): EventSchemaDef {
  return {
    provider: NDIS_PACKETCAPTURE, providerName: 'Microsoft-Windows-NDIS-PacketCapture',
    id, version: 0, channel: 16, level: 4, opcode: 0, task: 0, keywords,
    levelName: 'win:Informational', channelName: 'Microsoft-Windows-NDIS-PacketCapture/Diagnostic',
    keywordNames: NDIS_KEYWORD_NAMES.filter(([bit]) => (keywords & bit) !== 0n).map(([, n]) => n),
    opcodeName: 'win:Info', message, props,
  };
}

const u32p = (name: string): PropertyDef => ({ name, inType: InType.UInt32, outType: OutType.UnsignedInt });
const wstrp = (name: string): PropertyDef => ({ name, inType: InType.UnicodeString, outType: OutType.String });
const binp = (name: string, lengthIndex: number): PropertyDef =>
  ({ name, inType: InType.Binary, outType: OutType.HexBinary, flags: PropertyFlag.ParamLength, length: lengthIndex });

/** 1002 "Packet Metadata": the DOT11_EXTSTA_RECV_CONTEXT of the next 802.11 frame (docs/etl-format.md, NDIS-PacketCapture events and Wi-Fi metadata). */
export function ndis1002Schema(keywords: bigint): EventSchemaDef {
  return ndisSchema(1002, keywords, 'Packet Metadata (%3 bytes) ',
    [u32p('MiniportIfIndex'), u32p('LowerIfIndex'), u32p('MetadataSize'), binp('Metadata', 2)]);
}

/**
 * 1003 "VMSwitch Packet Fragment" (docs/etl-format.md, NDIS-PacketCapture events): Destination is declared as win:Double with
 * count=DestinationCount in the manifest dumps, so each destination takes 8 bytes.
 */
export function ndis1003Schema(keywords: bigint): EventSchemaDef {
  return ndisSchema(1003, keywords, 'VMSwitch Packet Fragment (%9 bytes) ', [
    u32p('MiniportIfIndex'), u32p('LowerIfIndex'), u32p('SourcePortId'),
    wstrp('SourcePortName'), wstrp('SourceNicName'), wstrp('SourceNicType'),
    u32p('DestinationCount'),
    { name: 'Destination', inType: InType.Double, outType: OutType.Null, flags: PropertyFlag.ParamCount, count: 6 },
    u32p('FragmentSize'), binp('Fragment', 8),
    u32p('OOBDataSize'), binp('OOBData', 10),
  ]);
}

/** Microsoft-Windows-Ras-NdisWanPacketCapture 5001 (send) / 5002 (receive): one whole frame per event. */
export function ndisWanSchema(id: 5001 | 5002, keywords: bigint): EventSchemaDef {
  return {
    provider: NDIS_WAN, providerName: 'Microsoft-Windows-Ras-NdisWanPacketCapture',
    id, version: 0, channel: 16, level: 4, opcode: 0, task: 0, keywords,
    levelName: 'win:Informational', channelName: 'Microsoft-Windows-Ras-NdisWanPacketCapture/Diagnostic',
    keywordNames: id === 5001 ? ['ut:SendPath'] : ['ut:ReceivePath'],
    opcodeName: 'win:Info', message: `${id === 5001 ? 'Send' : 'Receive'} packet (%3 bytes) `,
    props: [wstrp('RoutingDomainID'), wstrp('RRASUserName'), u32p('FragmentSize'), binp('Fragment', 2)],
  };
}

// ---- PktMon -------------------------------------------------------------------------------

export const PKTMON_MAPS: Record<string, MapDef> = {
  PacketDirectionTag: { name: 'PacketDirectionTag', flag: 1, entries: [[0, 'None'], [1, 'In'], [2, 'Out'], [3, 'Rx'], [4, 'Tx'], [5, 'Ingress'], [6, 'Egress']] },
  PacketType: { name: 'PacketType', flag: 1, entries: [[0, 'Unknown'], [1, 'Ethernet'], [2, 'WiFi'], [3, 'IP'], [4, 'HTTP']] },
  DropReason: { name: 'DropReason', flag: 1, entries: [[0, 'Unspecified'], [1, 'Invalid Data'], [2, 'Invalid Packet'], [3, 'Insufficient resources'], [4, 'Adapter not ready'], [5, 'Media Disconnected'], [6, 'Not accepted'], [7, 'Device busy'], [8, 'Filtered']] },
  ComponentType: { name: 'ComponentType', flag: 1, entries: [[1, 'NDIS'], [2, 'Miniport'], [3, 'Filter'], [4, 'Protocol'], [5, 'VmsVmNic'], [6, 'VmsMiniport'], [7, 'VmsExtMiniport'], [8, 'VmsProtocolNic'], [9, 'NetVsc Miniport'], [10, 'HTTP Protocol']] },
  PropertyType: { name: 'PropertyType', flag: 1, entries: [[1, 'IfIndex'], [2, 'MiniportIfIndex'], [3, 'LowerIfIndex'], [4, 'IfGuid'], [5, 'NdisMedium'], [6, 'PhysAddress'], [7, 'EtherType'], [8, 'OptDataPath'], [9, 'NdisObject'], [10, 'VMSwitchName'], [11, 'VmsExtIfIndex'], [12, 'LowestIfIndex'], [13, 'IPv4 Address'], [14, 'IPv6 Address']] },
  NdisMedium: { name: 'NdisMedium', flag: 1, entries: [[0, 'Ethernet'], [16, 'WiFi'], [19, 'MBB']] },
};

function pktmonSchema(id: number, keywords: bigint, keywordName: string, message: string, props: EventSchemaDef['props']): EventSchemaDef {
  return {
    provider: PKTMON, providerName: 'Microsoft-Windows-PktMon', id, version: 0, channel: 0, level: 4, opcode: 0, task: 0,
    keywords, levelName: 'win:Informational', keywordNames: [keywordName], message, props,
  };
}

const u16p = (name: string, map?: string) => ({ name, inType: InType.UInt16, outType: OutType.UnsignedShort, ...(map ? { map } : {}) });

export const PKTMON_SCHEMAS: Record<number, EventSchemaDef> = {
  160: pktmonSchema(160, 0x10n, 'Payload',
    'PktGroupId %1, PktNumber %2, Appearance %3, Direction %4, Type %5, Component %6, Edge %7, Filter %8, OriginalSize %11, LoggedSize %12 ', [
      { name: 'PktGroupId', inType: InType.UInt64, outType: OutType.UnsignedLong },
      u16p('PktNumber'), u16p('AppearanceCount'), u16p('DirTag', 'PacketDirectionTag'), u16p('PacketType', 'PacketType'),
      u16p('ComponentId'), u16p('EdgeId'), u16p('FilterId'),
      { name: 'DropReason', inType: InType.UInt32, outType: OutType.UnsignedInt, map: 'DropReason' },
      { name: 'DropLocation', inType: InType.UInt32, outType: OutType.HexInt32 },
      u16p('OriginalPayloadSize'), u16p('LoggedPayloadSize'),
      { name: 'Payload', inType: InType.Binary, outType: OutType.HexBinary, flags: PropertyFlag.ParamLength, length: 11 },
    ]),
  20: pktmonSchema(20, 0x2n, 'Rundown', 'Component %1, Type %2, Name %3, %4 ', [
    u16p('Id'), u16p('Type', 'ComponentType'),
    { name: 'Name', inType: InType.UnicodeString, outType: OutType.String },
    { name: 'Description', inType: InType.UnicodeString, outType: OutType.String },
  ]),
  30: pktmonSchema(30, 0x2n, 'Rundown', 'Property: Component %1, %2 = %3 ', [
    u16p('ComponentId'), u16p('Type', 'PropertyType'), { name: 'Value', inType: InType.UInt32, outType: OutType.UnsignedInt },
  ]),
  60: pktmonSchema(60, 0x2n, 'Rundown', 'Property: Component %1, %2 = %3 ', [
    u16p('ComponentId'), u16p('Type', 'PropertyType'), u16p('Value', 'NdisMedium'),
  ]),
  65: pktmonSchema(65, 0x2n, 'Rundown', 'Property: Component %1, %2 = %3 ', [
    u16p('ComponentId'), u16p('Type', 'PropertyType'), { name: 'IpAddress', inType: InType.UInt32, outType: OutType.Ipv4 },
  ]),
  70: pktmonSchema(70, 0x2n, 'Rundown', 'Property: Component %1, %2 = %4 ', [
    u16p('ComponentId'), u16p('Type', 'PropertyType'), { name: 'Size', inType: InType.UInt32, outType: OutType.UnsignedInt },
    { name: 'Value', inType: InType.Binary, outType: OutType.HexBinary, flags: PropertyFlag.ParamLength, length: 2 },
  ]),
};

// ---- Microsoft-Windows-Kernel-Process (ProcessStart v3 layout; ProcessRundown v1 shares it) ----

const pidp = (name: string): PropertyDef => ({ name, inType: InType.UInt32, outType: OutType.Pid });
const u64p = (name: string, outType: number = OutType.UnsignedLong): PropertyDef => ({ name, inType: InType.UInt64, outType });
const hex32p = (name: string): PropertyDef => ({ name, inType: InType.UInt32, outType: OutType.HexInt32 });
const timep = (name: string): PropertyDef => ({ name, inType: InType.FileTime, outType: OutType.DateTime });

/** The fields that open both ProcessStart v3 and ProcessStop v2. */
const KP_PROCESS: PropertyDef[] = [pidp('ProcessID'), u64p('ProcessSequenceNumber'), timep('CreateTime')];

const KP_PROPS: PropertyDef[] = [
  ...KP_PROCESS, pidp('ParentProcessID'), u64p('ParentProcessSequenceNumber'), u32p('SessionID'), hex32p('Flags'),
  u32p('ProcessTokenElevationType'), u32p('ProcessTokenIsElevated'), { name: 'MandatoryLabel', inType: InType.Sid, outType: OutType.Null },
  wstrp('ImageName'), hex32p('ImageChecksum'), u32p('TimeDateStamp'), wstrp('PackageFullName'), wstrp('PackageRelativeAppId'),
];

export const KernelProcessEvent = {
  ProcessStart: { id: 1, version: 3, opcode: 1, task: 1, keywords: 0x8000000000000010n },
  ProcessStop: { id: 2, version: 2, opcode: 2, task: 2, keywords: 0x8000000000000010n },
  ProcessRundown: { id: 15, version: 1, opcode: 0, task: 15, keywords: 0x8000000000000010n },
} as const;

// ProcessStop v2 (etl-format.md, Microsoft-Windows-Kernel-Process): the image name is ANSI here.
const KP_STOP_PROPS: PropertyDef[] = [
  ...KP_PROCESS, timep('ExitTime'), u32p('ExitCode'), u32p('TokenElevationType'), u32p('HandleCount'),
  u64p('CommitCharge', OutType.HexInt64), u64p('CommitPeak', OutType.HexInt64), u64p('CPUCycleCount'),
  u32p('ReadOperationCount'), u32p('WriteOperationCount'), u32p('ReadTransferKiloBytes'), u32p('WriteTransferKiloBytes'), u32p('HardFaultCount'),
  { name: 'ImageName', inType: InType.AnsiString, outType: OutType.String },
];

const KP_MESSAGES: Record<keyof typeof KernelProcessEvent, string> = {
  ProcessStart: 'Process %1 started at time %3 by parent %4 running in session %6 with name %11. ',
  ProcessStop: 'Process %1 (which started at time %3) stopped at time %4 with exit code %5. ',
  ProcessRundown: 'Process %1 had been started at time %3 by parent %4 running in session %6 with name %11. ',
};

export function kernelProcessSchema(kind: keyof typeof KernelProcessEvent): EventSchemaDef {
  const e = KernelProcessEvent[kind];
  return {
    provider: KERNEL_PROCESS, providerName: 'Microsoft-Windows-Kernel-Process', id: e.id, version: e.version,
    channel: 16, level: 4, opcode: e.opcode, task: e.task, keywords: e.keywords,
    levelName: 'win:Informational', channelName: 'Microsoft-Windows-Kernel-Process/Analytic',
    keywordNames: ['WINEVENT_KEYWORD_PROCESS'], taskName: kind, opcodeName: e.opcode === 1 ? 'win:Start' : e.opcode === 2 ? 'win:Stop' : 'win:Info',
    message: KP_MESSAGES[kind],
    props: kind === 'ProcessStop' ? KP_STOP_PROPS : KP_PROPS,
  };
}

export interface GenProcess {
  pid: number;
  /** NT path as Kernel-Process logs it, e.g. \Device\HarddiskVolume1\Windows\System32\curl.exe */
  image: string;
  ppid?: number;
  sessionId?: number;
  createTime?: bigint;
  /** When given, a ProcessStart event at this time; otherwise a ProcessRundown at trace start. */
  startTime?: bigint;
  /** When given, a ProcessStop event at this time (the process exits during the trace). */
  exitTime?: bigint;
  elevated?: boolean;
  /** ProcessSequenceNumber (unique per boot) and the parent's; default: derived from the PIDs. */
  sequence?: bigint;
  parentSequence?: bigint;
  /** Kernel (MOF) Process events only: the command line and the account's SID. */
  commandLine?: string;
  userSid?: string;
}

export function kernelProcessPayload(p: GenProcess, createTime: bigint): Buffer {
  const w = new ByteWriter(256);
  w.u32(p.pid).u64(p.sequence ?? BigInt(p.pid) * 7n + 1000n).u64(createTime).u32(p.ppid ?? 4).u64(p.parentSequence ?? BigInt(p.ppid ?? 4) * 7n + 1000n);
  w.u32(p.sessionId ?? 0).u32(0).u32(p.elevated ? 2 : 1).u32(p.elevated ? 1 : 0);
  // Mandatory label SID S-1-16-<level>: System 16384 for services, Medium 8192 otherwise.
  w.u8(1).u8(1).bytes(Buffer.from([0, 0, 0, 0, 0, 16])).u32(p.sessionId === 0 || p.sessionId === undefined ? 16384 : 8192);
  w.wstrz(p.image).u32(0).u32(0).wstrz('').wstrz('');
  return w.toBuffer();
}

/** ProcessStop v2: the image's file name in ANSI, exit code 0. */
export function kernelProcessStopPayload(p: GenProcess, createTime: bigint, exitTime: bigint): Buffer {
  const w = new ByteWriter(128);
  w.u32(p.pid).u64(p.sequence ?? BigInt(p.pid) * 7n + 1000n).u64(createTime).u64(exitTime).u32(0).u32(p.elevated ? 2 : 1).u32(40);
  w.u64(0x200000n).u64(0x280000n).u64(12_000_000n).u32(10).u32(2).u32(64).u32(8).u32(0);
  w.strz(fileName(p.image));
  return w.toBuffer();
}

/** The last component of a Windows path. */
export function fileName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/')) + 1);
}

// ---- kernel Process class (MOF), as the kernel logger writes it -------------------------------

export const KERNEL_PROCESS_CLASS = '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c';
/** Event types of the class (docs/etl-format.md, Kernel Process events (MOF)). */
export const KernelProcessType = { Start: 1, End: 2, DCStart: 3, DCEnd: 4 } as const;

/** A binary SID (revision 1) from its S-1-... text. */
export function sidBytes(sid: string): Buffer {
  const m = /^S-1-(\d+)((?:-\d+)*)$/.exec(sid);
  if (!m) throw new Error(`not a SID: ${sid}`);
  const subs = m[2] ? m[2].slice(1).split('-').map(Number) : [];
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = 1;
  b[1] = subs.length;
  b.writeUIntBE(Number(m[1]), 2, 6);
  subs.forEach((v, i) => b.writeUInt32LE(v >>> 0, 8 + 4 * i));
  return b;
}

/**
 * Process_V4_TypeGroup1, 64-bit: UniqueProcessKey, ProcessId, ParentId, SessionId, ExitStatus,
 * DirectoryTableBase, Flags, UserSID (TOKEN_USER then the SID, or a u32 0), ImageFileName (ANSI,
 * the file name), CommandLine, PackageFullName, ApplicationId (UTF-16).
 */
export function kernelProcessMofPayload(p: GenProcess, exitStatus: number): Buffer {
  const w = new ByteWriter(256);
  w.u64(0xffffa00000000000n | BigInt(p.pid) << 12n).u32(p.pid).u32(p.ppid ?? 0).u32(p.sessionId ?? 0xffffffff).i32(exitStatus);
  w.u64(0x1aa000n + BigInt(p.pid) * 0x1000n).u32(0);
  if (p.userSid) w.u64(0xffffc00000001000n).u64(0).bytes(sidBytes(p.userSid));
  else w.u32(0);
  w.strz(fileName(p.image));
  w.wstrz(p.commandLine ?? '').wstrz('').wstrz('');
  return w.toBuffer();
}

// ---- Microsoft-Windows-TCPIP connection events (docs/etl-format.md, Microsoft-Windows-TCPIP connection events) ----

export type TcpipKind = 'connect' | 'accept' | 'close' | 'rundown';
export const TcpipEventId: Record<TcpipKind, number> = { connect: 1033, accept: 1017, close: 1038, rundown: 1300 };

export interface GenTcpipEvent {
  time: bigint;
  kind: TcpipKind;
  pid: number;
  local: { ip: string; port: number };
  remote: { ip: string; port: number };
  tcb?: bigint;
  cpu?: number;
  tid?: number;
}

export function tcpipSchema(kind: TcpipKind): EventSchemaDef {
  const addr = (n: string, lenIdx: number) => ([
    { name: `${n}Length`, inType: InType.UInt32, outType: OutType.UnsignedInt },
    { name: n, inType: InType.Binary, outType: OutType.SocketAddress, flags: PropertyFlag.ParamLength, length: lenIdx },
  ]);
  const props: EventSchemaDef['props'] = kind === 'rundown'
    ? [{ name: 'Tcb', inType: InType.Pointer, outType: OutType.Null }, ...addr('LocalAddress', 1), ...addr('RemoteAddress', 3),
      { name: 'State', inType: InType.UInt32, outType: OutType.UnsignedInt }, { name: 'Pid', inType: InType.UInt32, outType: OutType.UnsignedInt }]
    : [...addr('LocalAddress', 0), ...addr('RemoteAddress', 2),
      { name: 'Status', inType: InType.UInt32, outType: OutType.HexInt32 }, { name: 'ProcessId', inType: InType.UInt32, outType: OutType.UnsignedInt },
      { name: 'Compartment', inType: InType.UInt32, outType: OutType.UnsignedInt }, { name: 'Tcb', inType: InType.Pointer, outType: OutType.Null }];
  const names: Record<TcpipKind, string> = { connect: 'TcpConnectTcbComplete', accept: 'TcpAcceptListenerComplete', close: 'TcpCloseTcbRequest', rundown: 'TcpConnectionRundown' };
  return {
    provider: TCPIP, providerName: 'Microsoft-Windows-TCPIP', id: TcpipEventId[kind], version: 0, channel: 16, level: 4,
    opcode: kind === 'rundown' ? 36 : 0, task: 0, keywords: 0x8000000200000000n | (kind === 'rundown' ? 0x8n : 0n),
    levelName: 'win:Informational', channelName: 'Microsoft-Windows-TCPIP/Diagnostic', keywordNames: ['ut:TcpipDiagnosis'],
    message: `${names[kind]}: local=%2 remote=%4 `, props,
  };
}

/** Winsock SOCKADDR_IN (16 bytes) or SOCKADDR_IN6 (28 bytes); the port in network order. */
export function sockaddr(ip: string, port: number): Buffer {
  if (ip.includes(':')) {
    const b = Buffer.alloc(28);
    b.writeUInt16LE(0x17, 0);
    b.writeUInt16BE(port, 2);
    ipv6Bytes(ip).copy(b, 8);
    return b;
  }
  const b = Buffer.alloc(16);
  b.writeUInt16LE(2, 0);
  b.writeUInt16BE(port, 2);
  ipv4Bytes(ip).copy(b, 4);
  return b;
}

export function tcpipPayload(e: GenTcpipEvent): Buffer {
  const w = new ByteWriter(128);
  const la = sockaddr(e.local.ip, e.local.port);
  const ra = sockaddr(e.remote.ip, e.remote.port);
  const tcb = e.tcb ?? (0xffffc00000000000n | (BigInt(e.local.port) << 16n) | BigInt(e.pid & 0xffff));
  if (e.kind === 'rundown') {
    w.u64(tcb).u32(la.length).bytes(la).u32(ra.length).bytes(ra).u32(5).u32(e.pid);
  } else {
    w.u32(la.length).bytes(la).u32(ra.length).bytes(ra).u32(0).u32(e.pid).u32(1).u64(tcb);
  }
  return w.toBuffer();
}

export function ipv4Bytes(ip: string): Buffer {
  const parts = ip.split('.').map((x) => Number(x));
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${ip}`);
  return Buffer.from(parts);
}

export function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? 8 - hs.length - ts.length : 0;
  const groups = [...hs, ...Array<string>(fill).fill('0'), ...ts];
  if (groups.length !== 8) throw new Error(`bad IPv6 address ${ip}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

// ---- schema records ------------------------------------------------------------------------

/** Emits each event's schema (and its maps) once, right before the first event that uses it. */
export class SchemaEmitter {
  private seen = new Set<string>();
  private mapsSeen = new Set<string>();
  constructor(private w: EtlWriter, private maps: Record<string, MapDef> = {}) {}

  ensure(cpu: number, fileTime: bigint, tid: number, pid: number, cpuTime: bigint, def: EventSchemaDef): void {
    const key = `${def.provider}/${def.id}/${def.version}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.w.add(cpu, fileTime, fullRecord(this.w, fileTime, EVENT_METADATA_GUID, METADATA_TRACE_EVENT_INFO, tid, pid, cpuTime, buildTraceEventInfo(def)));
    for (const p of def.props) {
      if (!p.map) continue;
      const mk = `${def.provider}/${p.map}`;
      const m = this.maps[p.map];
      if (!m || this.mapsSeen.has(mk)) continue;
      this.mapsSeen.add(mk);
      this.w.add(cpu, fileTime, fullRecord(this.w, fileTime, EVENT_METADATA_GUID, METADATA_EVENT_MAP_INFO, tid, pid, cpuTime, buildEventMapInfo(def.provider, m)));
    }
  }
}
