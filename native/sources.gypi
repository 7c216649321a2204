# The one list of native sources, read by binding.gyp (node-gyp, prebuildify)
# and by CMakeLists.txt (cmake-js, sanitizers, fuzzers). One quoted path per
# line, relative to the repository root; keep it that way, CMake parses it.
{
  'variables': {
    'etl_core_sources': [
      'native/etl/guid.cc',
      'native/etl/diagnostics.cc',
      'native/etl/xpress.cc',
      'native/etl/lznt1.cc',
      'native/etl/buffer.cc',
      'native/etl/logfile_header.cc',
      'native/etl/record.cc',
      'native/etl/reader.cc',
      'native/etl/providers.cc',
      'native/etl/text.cc',
      'native/etl/schema_layout.cc',
      'native/etl/schema_tdh.cc',
      'native/etl/schema_tracelogging.cc',
      'native/etl/schema_decode.cc',
      'native/etl/schema_registry.cc',
      'native/etl/known_layouts.cc',
      'native/etl/file_source.cc',
      'native/etl/trace_source.cc',
      'native/capture/extractor.cc',
      'native/capture/netparse.cc',
      'native/capture/engine.cc',
      'native/pcapng/output.cc',
      'native/pcapng/writer.cc',
    ],
    # Windows only: the ETW consumer API backend (--backend tdh).
    'etl_windows_sources': [
      'native/windows/tdh_source.cc',
    ],
    'etl_addon_sources': [
      'native/addon/addon.cc',
      'native/addon/convert_js.cc',
      'native/addon/trace_reader.cc',
      'native/addon/convert.cc',
    ],
  },
}
