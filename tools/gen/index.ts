// Trace generator: .etl files in netsh and pktmon form from packets, and the real-client IMDS
// captures they are built from. Used by the tests and by `npm run bench`.

export { writeNetshEtl, netshKeywords, wifiMetadataBytes, vmswitchOob } from './netsh.js';
export type { NetshOptions } from './netsh.js';
export { writePktmonEtl, defaultInterface } from './pktmon.js';
export type { PktmonOptions, PktmonInterface, PktmonComponent } from './pktmon.js';
export type { GenPacket, GenWifiMetadata, GenVmSwitch, GenNdisWan, LinkType, PacketSource, CommonTraceOptions, TraceSummary } from './packet.js';
export { DEFAULT_START, FILETIME_SECOND } from './packet.js';
export type { GenProcess, GenTcpipEvent, TcpipKind } from './providers.js';
export { NDIS_PACKETCAPTURE, NDIS_WAN, PKTMON, KERNEL_PROCESS, KERNEL_PROCESS_CLASS, TCPIP, NdisKeyword } from './providers.js';
export { writeKernelEtl } from './kernel.js';
export { callerScenario, scenarioImage, SCENARIO_USER } from './callers.js';
export type { CallerScenario, CallerScenarioOptions, ScenarioProcess } from './callers.js';
export type { KernelTraceOptions } from './kernel.js';
export { xpressCompress } from './xpress.js';
export { EtlWriter } from './etl.js';
export { readPcapng, writePcapng, rewriteImds, fixChecksums } from './pcap.js';
export type { PcapPacket, RewrittenPacket } from './pcap.js';
export * from './imds.js';
export { Rng } from './bytes.js';
