// Public shapes of the IMDS analysis (what `etl-imds scan` builds its output from).

import type { IMDS } from '../constants.js';
import type { Diagnostic } from '../native/types.js';

export type ImdsEndpoint = typeof IMDS.ipv4 | typeof IMDS.ipv6;

/**
 * token: PUT carrying X-aws-ec2-metadata-token-ttl-seconds (IMDSv2 session start).
 * v2: carries X-aws-ec2-metadata-token.
 * v1: a parsed request with neither header.
 * unknown: request bytes missing or unparseable, or a non-AWS metadata request
 *   (flag 'other-cloud'); never a guess at v1. `reason` says which.
 */
export type ImdsClass = 'token' | 'v2' | 'v1' | 'unknown';

/** Where the PID came from, best first. */
export type ImdsAttribution = 'packet' | 'connection' | 'tcpip' | 'none';

export type ImdsFlag =
  | 'other-cloud'       // Metadata: true (Azure) or Metadata-Flavor: Google
  | 'x-forwarded-for'   // IMDS rejects token PUTs carrying it
  | 'gap'               // bytes of this request are missing from the capture
  | 'cut'               // the capture logged its packets shorter than they were (snap length)
  | 'no-request'        // only IMDS's answer was captured: the request is known to exist, nothing more
  | 'before-coverage'   // sent before the time from which a wrapped circular file is complete
  | 'missing-start'     // the capture holds only the tail of this request
  | 'truncated'         // the stream ended inside this request
  | 'unparseable'       // bytes present but not an HTTP/1.x request
  | 'bad-framing'       // invalid Content-Length / Transfer-Encoding; later requests re-synchronised
  | 'empty-token'       // X-aws-ec2-metadata-token present but empty
  | 'no-ttl'            // PUT /latest/api/token without the TTL header (IMDS answers 400)
  | 'bad-ttl'           // TTL not an integer in 1..21600 (IMDS answers 400)
  | 'unusual-method'    // not GET/HEAD for a metadata read
  | 'unusual-path'      // token PUT to a path other than /latest/api/token (IMDS answers 403)
  | 'absolute-uri'      // request-target in absolute form (a proxy-style request)
  | 'dropped'           // a packet carrying it was logged as dropped (pktmon)
  | 'pid-conflict';     // its own packets carried more than one usable PID

export interface ImdsRequest {
  /** FILETIME (UTC, 100 ns) of the packet that carried the first request byte. */
  time: bigint;
  pid: number | null;
  /** Thread of the packet the PID came from (only when attribution is 'packet'). */
  tid: number | null;
  attribution: ImdsAttribution;
  class: ImdsClass;
  method: string | null;
  /** Request path with query; values of token-like query parameters redacted. */
  path: string | null;
  /** The capture holds only the start of the path (it was cut off): `path` is that start. */
  pathCut: boolean;
  /** Why the class is 'unknown' (e.g. "cut at 128 bytes"); null otherwise. */
  reason: string | null;
  /** Final response status (1xx skipped), null when no response was matched. */
  status: number | null;
  endpoint: ImdsEndpoint;
  clientAddr: string;
  clientPort: number;
  userAgent: string | null;
  host: string | null;
  /** X-aws-ec2-metadata-token-ttl-seconds as sent, when it is an integer. */
  ttl: number | null;
  flags: ImdsFlag[];
  /** Frame numbers of the packets that carried the request (first appearance each, capped). */
  frames: number[];
  /** Ordinal of the TCP connection in this scan (1-based), to group requests. */
  connection: number;
}

export type TcpipHintKind = 'connect' | 'accept' | 'close' | 'abort' | 'fail' | 'rundown' | 'other';

/**
 * A Microsoft-Windows-TCPIP event naming the process that owns a 4-tuple
 * (payload PID, not the header PID). Addresses in text form (IPv4 dotted,
 * IPv6 any RFC 4291 form, IPv4-mapped accepted); ports in host order.
 */
export interface TcpipHint {
  fileTime: bigint;
  pid: number;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  kind: TcpipHintKind;
}

export interface ImdsOptions {
  /** Out-of-order bytes held per connection before the oldest hole is given up as a gap. Default 256 KiB. */
  maxBufferedBytesPerConnection?: number;
  /** Out-of-order segments held per connection (bounds per-segment overhead). Default 4096. */
  maxBufferedSegmentsPerConnection?: number;
  /** Out-of-order bytes held across the whole scan; beyond it the connection receiving data stops waiting for its holes. Default 32 MiB. */
  maxBufferedBytesTotal?: number;
  /** Largest HTTP header section accepted. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Connections tracked at once; the least recently active is closed beyond it. Default 4096. */
  maxConnections?: number;
  /** Trace time (100 ns units) after which an idle connection is closed. Default 15 min. */
  idleTimeout?: bigint;
  /** Trace time a closed connection is kept for late retransmissions. Default 2 min. */
  closedLinger?: bigint;
  /** Frame numbers kept per request. Default 16. */
  maxFramesPerRequest?: number;
  /** The trace the packets come from, named in the notes of the result. */
  file?: string;
}

export interface ImdsStats {
  packets: number;
  ignored: Record<string, number>;
  duplicateAppearances: number;
  retransmittedBytes: number;
  gapBytes: number;
  droppedBytes: number;
  orphanResponses: number;
  directionMismatches: number;
  /** IMDS packets by direction (from the addresses): client to IMDS, and back. */
  outbound: number;
  inbound: number;
  /** Outbound IMDS packet events logged with a PID that names a process (not 0 or 4); pktmon's copies of a packet each count. */
  outboundWithPid: number;
  /** IMDS packets the capture logged shorter than they were, and the bytes it left out. */
  cutPackets: number;
  cutBytes: number;
  /** Frame bytes logged of the longest cut IMDS packet (the snap length), 0 if none was cut. */
  snapLength: number;
  /** Most out-of-order bytes held at once across the scan. */
  peakBufferedBytes: number;
}

/** What the analysis of a trace's IMDS traffic could not use. */
export type ImdsNoteCode =
  | 'ignored-packets'        // packets that are not TCP to or from IMDS port 80, or not IP at all
  | 'direction-mismatch'     // logged direction contradicted by the addresses
  | 'missing-bytes'          // gaps in IMDS connections
  | 'buffer-limit'           // stopped waiting for missing bytes
  | 'too-many-connections'   // connections closed early
  | 'out-of-window'          // bytes outside any plausible TCP window
  | 'orphan-responses'       // responses without a captured request
  | 'instance-ids';          // IMDS answered /meta-data/instance-id with more than one id

/** A note about the analysis, in the shape of every other diagnostic (not tied to a byte offset). */
export type ImdsNote = Diagnostic<ImdsNoteCode>;

export interface ImdsResult {
  requests: ImdsRequest[];
  /**
   * The instance's own id, from IMDS's answer to a GET of /latest/meta-data/instance-id in the
   * trace (docs/imds.md, The instance's id); null when no whole answer was captured, or when
   * answers disagree (a note says so).
   */
  instanceId: string | null;
  connections: number;
  warnings: ImdsNote[];
  stats: ImdsStats;
}
