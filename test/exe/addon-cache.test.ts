// Where etl-imds.exe keeps its addon on Windows: a folder of the user's own, never a shared one.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { AddonCacheError, cacheLocation } from '../../src/exe/addon-cache.js';

describe('addon cache location', () => {
  it('Windows: under LOCALAPPDATA, else USERPROFILE\\AppData\\Local', () => {
    expect(cacheLocation({ LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'win32').root).toBe(path.join('C:\\Users\\a\\AppData\\Local', 'etl-imds'));
    expect(cacheLocation({ USERPROFILE: 'C:\\Windows\\system32\\config\\systemprofile' }, 'win32').root).toBe(
      path.join('C:\\Windows\\system32\\config\\systemprofile', 'AppData', 'Local', 'etl-imds'),
    );
  });

  it('Windows: refuses to fall back to the shared temporary folder when the profile is unknown', () => {
    expect(() => cacheLocation({ TEMP: 'C:\\Windows\\Temp', TMP: 'C:\\Windows\\Temp' }, 'win32')).toThrow(AddonCacheError);
    expect(() => cacheLocation({}, 'win32')).toThrow(/ETL_IMDS_CACHE/);
  });

  it('ETL_IMDS_CACHE wins everywhere', () => {
    expect(cacheLocation({ ETL_IMDS_CACHE: '/srv/cache' }, 'win32').root).toBe(path.resolve('/srv/cache'));
    expect(cacheLocation({ ETL_IMDS_CACHE: '/srv/cache' }, 'linux').root).toBe(path.resolve('/srv/cache'));
  });
});
