// A scan worker thread inside the single-file executable (its code is an asset of the executable,
// run with `eval`): the addon the main thread prepared, checked again before this thread loads it.
import { workerData } from 'node:worker_threads';
import { loadAddon } from './addon-cache.js';
import { ADDON_SHA256, type ExeWorkerData } from './build-info.js';
import { useNativeBinding, type NativeBinding } from '../native/binding.js';

const { addonFile } = (workerData as ExeWorkerData).etlImdsExe;
useNativeBinding(loadAddon({ file: addonFile, written: false }, ADDON_SHA256) as NativeBinding);
// After the binding is in place: scan-worker.js starts taking work as soon as it is loaded.
void import('../scan-worker.js');
