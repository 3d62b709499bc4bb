// SPDX-License-Identifier: Apache-2.0
// /proc/self/uid_map, which decides whether the hook refuses to run (rootless podman).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/user_namespace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = ojh::fuzz::as_text(data, size);
  // The initial namespace maps the whole range, so the answer needs its count in the text.
  if (ojh::is_initial_user_namespace(text)) {
    FUZZ_REQUIRE(text.find("4294967295") != std::string_view::npos);
  }
  return 0;
}
