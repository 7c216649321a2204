// The facts the TypeScript and the native code agree on, written down once on
// this side: native/constants.h holds the same values for C++, and
// test/constants.test.ts checks the two against what the addon exports.

/** The EC2 instance metadata service: its two addresses and its TCP port. */
export const IMDS = {
  ipv4: '169.254.169.254',
  ipv6: 'fd00:ec2::254',
  port: 80,
} as const;

/** Providers and kernel event classes, as the reader names them (lower case, no braces). */
export const PROVIDERS = {
  ndisPacketCapture: '2ed6006e-4729-4609-b423-3ee7bcd678ef',
  pktMon: '4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac',
  ndisWanCapture: 'd84521f7-2235-4237-a7c0-14e3a9676286',
  kernelProcess: '22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716',
  tcpip: '2f07e2ee-15db-40f1-90ef-9d7ba282188a',
  eventTrace: '68fdd900-4a3e-11d1-84f4-0000f80464e3',
  eventMetadata: 'bbccf6c1-6cd1-48c4-80ff-839482e37671',
  processClass: '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c',
  threadClass: '3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c',
  imageClass: '2cb15d1d-5fc1-11d2-abe1-00a0c911f518',
  eventTraceConfig: '01853a65-418f-4f36-aefc-dc0f1d2fd235',
  systemConfigEx: '9b79ee91-b5fd-41c0-a243-4248e266e9d0',
} as const;
