// SPDX-License-Identifier: Apache-2.0
#include "oci/config.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "oci/error.hpp"
#include "oci/json.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

constexpr std::string_view kWhat = "config.json";

[[noreturn]] void fail(const std::string& message) {
  throw Error(std::string(kWhat) + ": " + message);
}

// A string the runtime hands to the kernel. A runtime written in C (crun) sees it only up to
// a NUL ("/sys/fs/cgroup\u0000x" is /sys/fs/cgroup to it), so one holding a NUL means
// something else to the hook than to the runtime: refused.
std::string_view kernel_string(const rapidjson::Value& string, std::string_view what) {
  const std::string_view text = json::view(string);
  if (text.find('\0') != std::string_view::npos) fail(std::string(what) + " holds a NUL byte");
  return text;
}

const rapidjson::Value* find(const rapidjson::Value& object, const char* key) {
  const auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// object[key] when present, a string the runtime hands to the kernel; `what` names it in the
// messages ("\"root.path\"").
std::optional<std::string> optional_kernel_string(const rapidjson::Value& object, const char* key,
                                                  std::string_view what) {
  const rapidjson::Value* value = find(object, key);
  if (!value) return std::nullopt;
  if (!value->IsString()) fail(std::string(what) + " must be a string");
  return std::string(kernel_string(*value, what));
}

// object[key], which must be a string the runtime hands to the kernel; `missing` is the
// message when it is absent or not a string.
std::string_view required_kernel_string(const rapidjson::Value& object, const char* key,
                                        const std::string& missing, std::string_view what) {
  const rapidjson::Value* value = find(object, key);
  if (!value || !value->IsString()) fail(missing);
  return kernel_string(*value, what);
}

// The entries of the array `name` ("mounts", "linux.namespaces"), each an object whose keys
// are unique.
template <typename Visit>
void for_each_entry(const rapidjson::Value& array, const std::string& name, Visit visit) {
  if (!array.IsArray()) fail("\"" + name + "\" must be an array");
  for (const auto& entry : array.GetArray()) {
    if (!entry.IsObject()) fail("\"" + name + "\" entries must be objects");
    json::require_unique_keys(entry, kWhat, name + "[].");
    visit(entry);
  }
}

// The hook reads only whether the container has its own cgroup namespace. The rest is checked
// all the same (one network namespace at most, every path a kernel string): what config.json
// the hook refuses does not depend on what it happens to use (docs/input-limits.md).
void parse_namespaces(const rapidjson::Value& namespaces, BundleConfig& config) {
  bool network = false;
  for_each_entry(namespaces, "linux.namespaces", [&](const rapidjson::Value& entry) {
    const std::string_view type_name = required_kernel_string(
        entry, "type", "\"linux.namespaces\" entry without a string \"type\"",
        "\"linux.namespaces[].type\"");
    // The runtime joins the namespace at `path` (setns), whichever its type.
    optional_kernel_string(entry, "path", "\"linux.namespaces[].path\"");
    if (type_name == "cgroup") config.has_cgroup_namespace = true;
    if (type_name != "network") return;
    // The runtime-spec forbids duplicate types; two would make "which netns" ambiguous.
    if (network) fail("more than one \"network\" namespace");
    network = true;
  });
}

// What a bind mount of `source` shows of the host's cgroup tree. The kernel resolves the
// path, so it is compared after the same lexical steps ("//sys/./fs//cgroup/" is
// /sys/fs/cgroup). A relative source is resolved against the bundle, which is not known
// here: one that climbs with ".." may reach anywhere. So may any path under /proc: magic
// links (/proc/1/root/sys/fs/cgroup, /proc/self/cwd, /proc/<pid>/fd/<n>) resolve to
// wherever they point, which no lexical rule can follow.
enum class CgroupReach { kNone, kTree, kAbove, kAnywhere };

CgroupReach cgroup_reach(std::string_view source) {
  std::vector<std::string_view> components;
  bool climbs = false;
  for (std::string_view rest = source; !rest.empty();) {
    const std::string_view component = rest.substr(0, rest.find('/'));
    rest.remove_prefix(std::min(rest.size(), component.size() + 1));
    if (component == "..") {
      climbs = true;
      if (!components.empty()) components.pop_back();
    } else if (!component.empty() && component != ".") {
      components.push_back(component);
    }
  }
  if (!source.starts_with('/')) return climbs ? CgroupReach::kAnywhere : CgroupReach::kNone;
  if (!components.empty() && components.front() == "proc") return CgroupReach::kAnywhere;
  constexpr std::array<std::string_view, 3> kCgroupRoot = {"sys", "fs", "cgroup"};
  const std::size_t common = std::min(components.size(), kCgroupRoot.size());
  if (!std::equal(components.begin(), components.begin() + common, kCgroupRoot.begin()))
    return CgroupReach::kNone;
  return components.size() < kCgroupRoot.size() ? CgroupReach::kAbove : CgroupReach::kTree;
}

void note_cgroup_mount(const rapidjson::Value& entry, std::string_view destination,
                       BundleConfig& config) {
  const rapidjson::Value* type = find(entry, "type");
  const rapidjson::Value* source = find(entry, "source");
  const rapidjson::Value* options = find(entry, "options");
  const std::string_view type_name =
      type && type->IsString() ? kernel_string(*type, "mount \"type\"") : "";
  const std::string_view source_path =
      source && source->IsString() ? kernel_string(*source, "mount \"source\"") : "";
  BundleConfig::CgroupMount m;
  m.destination = std::string(destination);
  bool read_only = false;
  bool recursive = false;
  bool recursive_read_only = false;
  if (options && options->IsArray()) {
    for (const auto& o : options->GetArray()) {
      if (!o.IsString()) fail("mount options must be strings");
      const std::string_view opt = kernel_string(o, "mount option");
      if (opt == "ro") read_only = true;
      if (opt == "rw") read_only = false;
      if (opt == "rro") recursive_read_only = true;
      if (opt == "bind" || opt == "rbind") m.bind = true;
      if (opt == "rbind") recursive = true;
    }
  }
  if (type_name == "bind") m.bind = true;
  const CgroupReach reach = m.bind ? cgroup_reach(source_path) : CgroupReach::kNone;
  // "ro" on an rbind makes only its top mount read-only (runc and crun remount that one
  // mount; only "rro" reaches the mounts below): a bind of a directory above the cgroup
  // mount, or of a /proc path that may be one, brings the cgroup mount along writable.
  const bool cgroup_below = reach == CgroupReach::kAbove || reach == CgroupReach::kAnywhere;
  m.read_only = recursive_read_only || (read_only && !(recursive && cgroup_below));
  m.source_unknown = reach == CgroupReach::kAnywhere;
  m.top_read_only = read_only && !m.read_only;
  const bool cgroupfs = type_name == "cgroup" || type_name == "cgroup2";
  if (cgroupfs || reach != CgroupReach::kNone) config.cgroup_mounts.push_back(std::move(m));
}

void parse_mounts(const rapidjson::Value& mounts, BundleConfig& config) {
  for_each_entry(mounts, "mounts", [&](const rapidjson::Value& entry) {
    const std::string_view target = required_kernel_string(
        entry, "destination", "mount without a string \"destination\"", "mount \"destination\"");
    note_cgroup_mount(entry, target, config);
    if (target != "/etc/resolv.conf") return;
    config.resolv_conf_source = std::string(required_kernel_string(
        entry, "source", "mount of /etc/resolv.conf without a string \"source\"",
        "mount \"source\""));
  });
}

void parse_capabilities(const rapidjson::Value& caps, BundleConfig& config) {
  if (!caps.IsObject()) fail("\"process.capabilities\" must be an object");
  json::require_unique_keys(caps, kWhat, "process.capabilities.");
  for (auto it = caps.MemberBegin(); it != caps.MemberEnd(); ++it) {
    if (!it->value.IsArray())
      fail("\"process.capabilities." + escape_untrusted(json::view(it->name)) +
           "\" must be an array");
    for (const auto& cap : it->value.GetArray()) {
      if (!cap.IsString()) fail("capability names must be strings");
      config.capabilities.insert(std::string(json::view(cap)));
    }
  }
}

}  // namespace

std::optional<std::string> container_root_dir(const BundleConfig& config,
                                              const std::string& bundle_dir) {
  if (!config.root_path) return std::nullopt;
  const std::string& root = *config.root_path;
  return !root.empty() && root.front() == '/' ? root : bundle_dir + "/" + root;
}

BundleConfig parse_bundle_config(std::string_view text) {
  rapidjson::Document doc;
  json::parse_object(text, kWhat, kMaxConfigDepth, doc);

  BundleConfig config;
  if (const rapidjson::Value* linux_section = find(doc, "linux")) {
    if (!linux_section->IsObject()) fail("\"linux\" must be an object");
    json::require_unique_keys(*linux_section, kWhat, "linux.");
    // Checked, not kept: the hook finds the container's cgroup from its process.
    optional_kernel_string(*linux_section, "cgroupsPath", "\"linux.cgroupsPath\"");
    if (const rapidjson::Value* namespaces = find(*linux_section, "namespaces")) {
      parse_namespaces(*namespaces, config);
    }
  }
  if (const rapidjson::Value* root = find(doc, "root")) {
    if (!root->IsObject()) fail("\"root\" must be an object");
    json::require_unique_keys(*root, kWhat, "root.");
    config.root_path = optional_kernel_string(*root, "path", "\"root.path\"");
  }
  if (const rapidjson::Value* mounts = find(doc, "mounts")) parse_mounts(*mounts, config);
  if (const rapidjson::Value* process = find(doc, "process")) {
    if (!process->IsObject()) fail("\"process\" must be an object");
    // runc reads config.json with Go's encoding/json, which keeps the last of two equal keys:
    // a second "capabilities" would grant what the hook never saw.
    json::require_unique_keys(*process, kWhat, "process.");
    if (const rapidjson::Value* caps = find(*process, "capabilities"))
      parse_capabilities(*caps, config);
  }
  if (const rapidjson::Value* annotations = find(doc, "annotations")) {
    config.annotations = json::parse_annotations(*annotations, kWhat);
  }
  return config;
}

}  // namespace ojh
