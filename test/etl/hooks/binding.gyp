# The test-only addon of test/etl/hooks (never shipped): the reader's
# decompressors exposed to JavaScript. Built by test/support/hooks.ts.
{
  'targets': [
    {
      'target_name': 'etl_imds_test_hooks',
      'sources': ['decompress_hooks.cc', '../../../native/etl/xpress.cc', '../../../native/etl/lznt1.cc'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")", '../../../native'],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags_cc': ['-std=c++17', '-fexceptions', '-O2'],
      'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++1y'],
      'xcode_settings': {
        'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'MACOSX_DEPLOYMENT_TARGET': '11.0',
      },
      'msvs_settings': {
        'VCCLCompilerTool': { 'ExceptionHandling': 1, 'AdditionalOptions': ['/std:c++17', '/utf-8'] },
      },
    },
  ],
}
