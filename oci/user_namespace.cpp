// SPDX-License-Identifier: Apache-2.0
#include "oci/user_namespace.hpp"

#include <sstream>
#include <string>

namespace ojh {

bool is_initial_user_namespace(std::string_view uid_map) {
  std::istringstream in{std::string(uid_map)};
  unsigned long long inside = 1, outside = 1, count = 0;
  if (!(in >> inside >> outside >> count)) return false;
  std::string rest;
  if (in >> rest) return false;  // more than one range: a user namespace
  return inside == 0 && outside == 0 && count == 4294967295ULL;
}

}  // namespace ojh
