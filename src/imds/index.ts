// IMDS scan library: reassembles TCP to/from AWS IMDS, parses HTTP/1.x and
// classifies each request as token / v2 / v1 / unknown with its PID.

export type {
  ImdsAttribution, ImdsClass, ImdsEndpoint, ImdsFlag, ImdsNote, ImdsNoteCode, ImdsOptions, ImdsRequest, ImdsResult, ImdsStats,
  TcpipHint, TcpipHintKind,
} from './types.js';
export { analyzeImds, analyzeImdsSync, ImdsAnalyzer, IMDS_ENDPOINTS, IMDS_PORT, imdsEndpointOf } from './analyze.js';
export { classifyRequest, redactTarget, type Classification } from './classify.js';
export { parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead, type HttpHeader } from './http.js';
export { canonicalAddress, parseIp, type IpPacket } from './ip.js';
export { parseTcp, type TcpSegment } from './tcp.js';
