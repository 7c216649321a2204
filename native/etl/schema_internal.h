// What the schema files (schema_*.cc) share and nothing else uses.
#pragma once
#include <cstdint>
#include "schema.h"

namespace etl {
namespace detail {

constexpr int kMaxDepth = 32;  // struct nesting cap (hostile schemas)

bool isVariableInType(InType t);
bool isIntegerInType(InType t);
// Bytes of a Boolean: win:Boolean is a 4-byte BOOL; a MOF blob may say 1 in `length`.
uint32_t boolSize(const PropertyInfo& p);

}  // namespace detail
}  // namespace etl
