{
  'includes': ['native/sources.gypi'],
  'targets': [
    {
      'target_name': 'etl_imds',
      'sources': ['<@(etl_core_sources)', '<@(etl_addon_sources)'],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")", 'native'],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags_cc': ['-std=c++17', '-fexceptions', '-O2'],
      'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++1y'],
      'xcode_settings': {
        'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
        'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
        'MACOSX_DEPLOYMENT_TARGET': '11.0',
      },
      'conditions': [
        ['OS=="win"', {
          'sources': ['<@(etl_windows_sources)'],
          'libraries': ['advapi32.lib', 'tdh.lib'],
        }],
      ],
      'msvs_settings': {
        'VCCLCompilerTool': { 'ExceptionHandling': 1, 'AdditionalOptions': ['/std:c++17', '/utf-8'] },
      },
    },
  ],
}
