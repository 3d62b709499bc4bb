// SPDX-License-Identifier: Apache-2.0
// The OCI state a runtime writes to the hook's stdin, then the policy its annotations ask
// for: the hook's first two steps on untrusted input.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/error.hpp"
#include "oci/state.hpp"
#include "policy_invariants.hpp"

namespace {

using namespace ojh;
using namespace ojh::fuzz;

// The id becomes a bpffs path component: checked here without is_valid_container_id, so
// that a bug in that predicate cannot hide itself.
bool is_safe_path_component(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return c == '/' || byte <= 0x20 || byte >= 0x7f;
  });
}

constexpr std::array<std::string_view, 4> kStatuses = {"creating", "created", "running", "stopped"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  State state;
  try {
    state = parse_state(as_text(data, size));
  } catch (const Error& e) {
    require_well_formed(e);
    return 0;
  }
  FUZZ_REQUIRE(is_valid_container_id(state.id));
  FUZZ_REQUIRE(is_safe_path_component(state.id));
  FUZZ_REQUIRE(std::find(kStatuses.begin(), kStatuses.end(), state.status) != kStatuses.end());
  FUZZ_REQUIRE(state.pid >= 0);
  require_bounded_annotations(state.annotations);
  check_container_policy(state.annotations);
  return 0;
}
