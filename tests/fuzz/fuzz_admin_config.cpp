// SPDX-License-Identifier: Apache-2.0
// The host administrator's oci-jail-hook.conf. The file is trusted, but a typo in it must
// end as an ojh::Error, never as a crash or another exception type (which would skip the
// hook's one-line failure path).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/admin_config.hpp"
#include "oci/error.hpp"
#include "policy_invariants.hpp"

namespace {

using namespace ojh;
using namespace ojh::fuzz;

// Absolute, no ".." component and no NUL (open() would stop there): the pin directory is
// where every container's links live.
bool is_absolute_without_dot_dot(std::string_view path) {
  if (!path.starts_with('/') || path.find('\0') != std::string_view::npos) return false;
  while (!path.empty()) {
    path.remove_prefix(1);
    const std::size_t slash = path.find('/');
    if (path.substr(0, slash) == "..") return false;
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  AdminConfig config;
  try {
    config = parse_admin_config(as_text(data, size), "oci-jail-hook.conf");
  } catch (const Error& e) {
    // Not require_well_formed: the file is the administrator's, and Boost's messages quote
    // its lines verbatim.
    FUZZ_REQUIRE(!std::string_view(e.what()).empty());
    return 0;
  }
  // Several block-cidrs / allow lines are concatenated, so only each entry is checked, not
  // the list bounds and duplicates of one annotation value.
  for (Cidr c : config.block_cidrs) {
    FUZZ_REQUIRE(c.origin == "admin config");
    c.origin = "annotation";
    require_valid_cidrs({c});
  }
  for (const Exception& e : config.allow) require_valid_exceptions({e});
  if (config.pin_dir) FUZZ_REQUIRE(is_absolute_without_dot_dot(*config.pin_dir));
  // A list of trusted nameservers only comes with annotation-exceptions = false (it would
  // change nothing else), in the form the programs judge (never v4-mapped).
  if (!config.trusted_nameservers.empty()) FUZZ_REQUIRE(!config.annotation_exceptions);
  for (const AddressBytes& a : config.trusted_nameservers) require_stored_address(a);
  return 0;
}
