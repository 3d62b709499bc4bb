// SPDX-License-Identifier: Apache-2.0
// The bundle's config.json (written by whoever starts the container), then what the hook
// derives from it: the policy its annotations ask for, the capabilities and cgroup mounts it
// refuses, the root directory it names.
#include <rapidjson/document.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
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
  return any_entry_has_duplicate(member(doc, "mounts"),
                                 {"destination", "source", "type", "options"});
}

// Whether a bind mount of `source` shows the host's cgroup tree, by std::filesystem's lexical
// normalization rather than config.cpp's: /sys/fs/cgroup, below it, or above it. As crun
// reads it: up to the first NUL.
bool bind_shows_host_cgroup_tree(std::string_view source) {
  source = source.substr(0, source.find('\0'));
  if (!source.starts_with('/')) {
    const std::filesystem::path relative{std::string(source)};
    return std::any_of(relative.begin(), relative.end(), [](const auto& c) { return c == ".."; });
  }
  std::string path = std::filesystem::path(std::string(source)).lexically_normal().string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.find_first_not_of('/') == std::string::npos) path = "/";
  return path == "/" || path == "/sys" || path == "/sys/fs" || path == "/sys/fs/cgroup" ||
         path.starts_with("/sys/fs/cgroup/");
}

// A mount entry through which the container could write to cgroups outside its own.
bool is_writable_foreign_cgroup_mount(const rapidjson::Value& entry, bool cgroup_namespace) {
  if (!entry.IsObject()) return false;
  const rapidjson::Value* type = member(entry, "type");
  const rapidjson::Value* source = member(entry, "source");
  const rapidjson::Value* options = member(entry, "options");
  const std::string_view type_name = type && type->IsString() ? json::view(*type) : "";
  bool bind = type_name == "bind";
  bool read_only = false;
  if (options && options->IsArray()) {
    for (const auto& option : options->GetArray()) {
      if (!option.IsString()) continue;
      const std::string_view name = json::view(option);
      if (name == "bind" || name == "rbind") bind = true;
      if (name == "ro") read_only = true;
      if (name == "rw") read_only = false;
    }
  }
  if (read_only) return false;
  if ((type_name == "cgroup" || type_name == "cgroup2") && !cgroup_namespace) return true;
  return bind && source && source->IsString() && bind_shows_host_cgroup_tree(json::view(*source));
}

bool has_writable_foreign_cgroup_mount(const rapidjson::Value& doc) {
  const rapidjson::Value* mounts = member(doc, "mounts");
  if (!mounts || !mounts->IsArray()) return false;
  bool cgroup_namespace = false;
  const rapidjson::Value* linux_section = member(doc, "linux");
  const rapidjson::Value* namespaces =
      linux_section ? member(*linux_section, "namespaces") : nullptr;
  if (namespaces && namespaces->IsArray()) {
    for (const auto& entry : namespaces->GetArray()) {
      const rapidjson::Value* type = member(entry, "type");
      if (type && type->IsString() && json::view(*type) == "cgroup") cgroup_namespace = true;
    }
  }
  return std::any_of(mounts->Begin(), mounts->End(), [&](const rapidjson::Value& entry) {
    return is_writable_foreign_cgroup_mount(entry, cgroup_namespace);
  });
}

// Strings the runtime hands to the kernel hold no NUL (a C runtime would cut them there).
bool holds_nul(const std::optional<std::string>& text) {
  return text && text->find('\0') != std::string::npos;
}

bool string_holds_nul(const rapidjson::Value* value) {
  return value && value->IsString() && json::view(*value).find('\0') != std::string_view::npos;
}

// The same for the strings parse_bundle_config checks but does not keep: linux.cgroupsPath
// and the namespaces' paths, read from the document.
bool checked_string_holds_nul(const rapidjson::Value& doc) {
  const rapidjson::Value* linux_section = member(doc, "linux");
  if (!linux_section) return false;
  if (string_holds_nul(member(*linux_section, "cgroupsPath"))) return true;
  const rapidjson::Value* namespaces = member(*linux_section, "namespaces");
  return namespaces && namespaces->IsArray() &&
         std::any_of(namespaces->Begin(), namespaces->End(), [](const rapidjson::Value& entry) {
           return string_holds_nul(member(entry, "path"));
         });
}

// A bypass capability is refused exactly when some name in the config spells it (what each
// spelling grants is fuzz_capability's concern); none when the admin allows them all.
void check_capabilities_of(const BundleConfig& config) {
  std::set<std::string> spelled;
  for (const std::string& name : config.capabilities) spelled.insert(canonical_capability(name));
  const auto refused = refused_capabilities(config.capabilities, {});
  for (const std::string_view cap : kBypassCapabilities) {
    const bool granted = spelled.count(std::string(cap)) != 0;
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

  FUZZ_REQUIRE(!checked_string_holds_nul(doc));
  FUZZ_REQUIRE(!holds_nul(config.root_path) && !holds_nul(config.resolv_conf_source));
  if (has_writable_foreign_cgroup_mount(doc)) {
    bool refused = false;
    try {
      check_cgroup_mounts(config);
    } catch (const Error& e) {
      require_well_formed(e);
      refused = true;
    }
    FUZZ_REQUIRE(refused);
  }
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
