// Properties for events whose file carries no schema, from layouts we know
// (etl-format.md §10): kernel Process (MOF), Microsoft-Windows-Kernel-Process,
// SystemConfig services and the TCPIP connection events. Everything else stays hex.
import type { PropertyValue, TraceEvent } from './native/types.js';
import { tcpipHint } from './imds/tcpip.js';
import {
  decodeKernelProcessEvent,
  decodeMofProcess,
  decodeSystemConfigService,
  KERNEL_PROCESS_MOF_GUID,
  KERNEL_PROCESS_PROVIDER_GUID,
  SYSTEM_CONFIG_GUID,
  SYSTEM_CONFIG_SERVICES_OPCODE,
} from './processes/index.js';

function clean(o: object): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v as PropertyValue;
  return out;
}

/** Decoded properties, or undefined when the layout is unknown or the payload does not fit it. */
export function knownProperties(e: TraceEvent): Record<string, PropertyValue> | undefined {
  try {
    if (e.provider === KERNEL_PROCESS_MOF_GUID && (e.kind === 'system' || e.kind === 'perfinfo' || e.kind === 'full')) {
      const p = decodeMofProcess(e.opcode, e.version, e.pointerSize, e.userData);
      return p && clean(p);
    }
    if (e.provider === KERNEL_PROCESS_PROVIDER_GUID && e.kind === 'event') {
      const p = decodeKernelProcessEvent(e.id, e.version, e.userData);
      return p && clean(p);
    }
    if (e.provider === SYSTEM_CONFIG_GUID && e.opcode === SYSTEM_CONFIG_SERVICES_OPCODE) return clean(decodeSystemConfigService(e.version, e.userData));
    const h = tcpipHint(e);
    if (h) return clean({ ...h, fileTime: undefined });
  } catch {
    // A payload that does not fit the known layout is shown as hex, like any other.
  }
  return undefined;
}
