// What scripts/exe/build.mjs writes into the executable's bundle (esbuild `define`).
declare const __ETL_IMDS_ADDON_SHA256__: string | undefined;

/** SHA-256 (hex) of the addon the executable carries; empty outside an executable. */
export const ADDON_SHA256 = typeof __ETL_IMDS_ADDON_SHA256__ === 'string' ? __ETL_IMDS_ADDON_SHA256__ : '';

export interface ExeWorkerData {
  etlImdsExe: { addonFile: string };
}
