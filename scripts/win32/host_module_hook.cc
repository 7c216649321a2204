// Part of the mingw-w64 build of the Windows addon (scripts/win32/build-addon.mjs), not of the
// addon's own sources. The addon imports the napi_* functions from "node.exe" through a
// delay-load import library. Whatever program loads it — node.exe, or etl-imds.exe (a Node
// single executable application with another file name) — is the one exporting them, so the
// delay-load helper is handed the running program instead of looking for a node.exe file on disk.
#include <windows.h>
#include <delayimp.h>
#include <string.h>

namespace {

FARPROC WINAPI useRunningProgram(unsigned notification, PDelayLoadInfo info) {
  if (notification == dliNotePreLoadLibrary && _stricmp(info->szDll, "node.exe") == 0)
    return reinterpret_cast<FARPROC>(GetModuleHandleW(nullptr));
  return nullptr;
}

}  // namespace

extern "C" PfnDliHook __pfnDliNotifyHook2 = useRunningProgram;
