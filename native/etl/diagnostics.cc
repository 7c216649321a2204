#include "diagnostics.h"

namespace etl {

const std::vector<const char*>& codeNames() {
  static const std::vector<const char*> names = {
#define ETL_CODE_NAME(id, name) name,
      ETL_CODES(ETL_CODE_NAME)
#undef ETL_CODE_NAME
  };
  return names;
}

const char* codeName(Code code) {
  const auto& names = codeNames();
  size_t i = size_t(code);
  return i < names.size() ? names[i] : "internal";
}

}  // namespace etl
