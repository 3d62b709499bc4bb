// SPDX-License-Identifier: Apache-2.0
// Capability names from config.json against the reader that matters: crun grants what
// libcap's cap_from_name() makes of a name, so whenever that is a capability in
// kBypassCapabilities, refused_capabilities must refuse it. The input is one name. libcap
// (libcap2, which crun depends on) is loaded at run time; without it only canonical_capability
// itself is exercised.
#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/capability_policy.hpp"

namespace {

using CapFromName = int (*)(const char* name, int* value);

CapFromName load_cap_from_name() {
  void* libcap = dlopen("libcap.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!libcap) {
    std::fprintf(stderr, "fuzz_capability: no libcap.so.2, no differential check: %s\n", dlerror());
    return nullptr;
  }
  return reinterpret_cast<CapFromName>(dlsym(libcap, "cap_from_name"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const CapFromName cap_from_name = load_cap_from_name();
  const std::string name(ojh::fuzz::as_text(data, size));
  const std::string canonical = ojh::canonical_capability(name);
  const auto refused = ojh::refused_capabilities({name}, {});
  FUZZ_REQUIRE(refused.size() <= 1);
  if (!refused.empty()) FUZZ_REQUIRE(refused[0] == canonical);
  if (!cap_from_name) return 0;

  // A C runtime sees the name up to its first NUL.
  int value = -1;
  if (cap_from_name(name.c_str(), &value) != 0) return 0;
  for (const auto& [bit, cap] : ojh::kBypassCapabilityBits) {
    if (static_cast<unsigned long>(value) == bit)
      FUZZ_REQUIRE(refused.size() == 1 && refused[0] == cap);
  }
  return 0;
}
