// SPDX-License-Identifier: Apache-2.0
// The bundle's config.json (written by whoever starts the container), then what the hook
// derives from it: the policy its annotations ask for, the capabilities it refuses, the root
// directory it names.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/capability_policy.hpp"
#include "oci/config.hpp"
#include "oci/error.hpp"
#include "oci/json.hpp"
#include "policy_invariants.hpp"

namespace {

using namespace ojh;
using namespace ojh::fuzz;

constexpr const char* kBundle = "/run/bundle";

// Whether one of `keys` appears twice in `object`. RapidJSON's FindMember takes the first of
// two, the runtime (Go's encoding/json for runc) the last: a key the hook reads must be unique,
// or the hook and the runtime read different containers (oci/json.hpp).
bool has_duplicate(const rapidjson::Value& object, std::initializer_list<std::string_view> keys) {
  if (!object.IsObject()) return false;
  for (const std::string_view key : keys) {
    std::size_t count = 0;
    for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
      if (json::view(it->name) == key) ++count;
    }
    if (count > 1) return true;
  }
  return false;
}

const rapidjson::Value* member(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  const auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

bool any_entry_has_duplicate(const rapidjson::Value* array,
                             std::initializer_list<std::string_view> keys) {
  if (!array || !array->IsArray()) return false;
  return std::any_of(array->Begin(), array->End(),
                     [&](const rapidjson::Value& entry) { return has_duplicate(entry, keys); });
}

// Every key parse_bundle_config reads, in every object it reads it from.
bool reads_an_ambiguous_key(const rapidjson::Value& doc) {
  if (has_duplicate(doc, {"linux", "root", "mounts", "process", "annotations"})) return true;
  const rapidjson::Value* linux_section = member(doc, "linux");
  if (linux_section && has_duplicate(*linux_section, {"cgroupsPath", "namespaces"})) return true;
  if (linux_section &&
      any_entry_has_duplicate(member(*linux_section, "namespaces"), {"type", "path"})) {
    return true;
  }
  const rapidjson::Value* process = member(doc, "process");
  if (process && has_duplicate(*process, {"capabilities"})) return true;
  const rapidjson::Value* root = member(doc, "root");
  if (root && has_duplicate(*root, {"path"})) return true;
  return any_entry_has_duplicate(member(doc, "mounts"), {"destination", "source"});
}

void check_capabilities_of(const BundleConfig& config) {
  const auto refused = refused_capabilities(config.capabilities, {});
  for (const std::string_view cap : kBypassCapabilities) {
    const bool granted = config.capabilities.count(std::string(cap)) != 0;
    FUZZ_REQUIRE(granted == (std::find(refused.begin(), refused.end(), cap) != refused.end()));
  }
  const std::vector<std::string> all(kBypassCapabilities.begin(), kBypassCapabilities.end());
  FUZZ_REQUIRE(refused_capabilities(config.capabilities, all).empty());
  try {
    check_capabilities(config.capabilities, {});
    FUZZ_REQUIRE(refused.empty());
  } catch (const Error& e) {
    FUZZ_REQUIRE(!refused.empty());
    require_well_formed(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  BundleConfig config;
  try {
    config = parse_bundle_config(text);
  } catch (const Error& e) {
    require_well_formed(e);
    return 0;
  }
  rapidjson::Document doc;
  without_error([&] { json::parse(text, "config.json", kMaxConfigDepth, doc); });
  FUZZ_REQUIRE(!reads_an_ambiguous_key(doc));

  FUZZ_REQUIRE(!config.network_namespace_path || config.has_network_namespace);
  require_bounded_annotations(config.annotations);
  check_container_policy(config.annotations);
  check_capabilities_of(config);

  const auto root = container_root_dir(config, kBundle);
  FUZZ_REQUIRE(root.has_value() == config.root_path.has_value());
  if (root) {
    const std::string& path = *config.root_path;
    FUZZ_REQUIRE(*root == (path.starts_with('/') ? path : std::string(kBundle) + "/" + path));
  }
  return 0;
}
