// SPDX-License-Identifier: Apache-2.0
#include "oci/config.hpp"

#include "oci/error.hpp"
#include "oci/file.hpp"
#include "oci/json.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

constexpr std::string_view kWhat = "config.json";

[[noreturn]] void fail(const std::string& message) {
  throw Error(std::string(kWhat) + ": " + message);
}

const rapidjson::Value* find(const rapidjson::Value& object, const char* key) {
  const auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

void parse_namespaces(const rapidjson::Value& namespaces, BundleConfig& config) {
  if (!namespaces.IsArray()) fail("\"linux.namespaces\" must be an array");
  for (const auto& entry : namespaces.GetArray()) {
    if (!entry.IsObject()) fail("\"linux.namespaces\" entries must be objects");
    json::require_unique_keys(entry, kWhat, "linux.namespaces[].");
    const rapidjson::Value* type = find(entry, "type");
    if (!type || !type->IsString()) fail("\"linux.namespaces\" entry without a string \"type\"");
    if (json::view(*type) == "cgroup") config.has_cgroup_namespace = true;
    if (json::view(*type) != "network") continue;
    // The runtime-spec forbids duplicate types; two would make "which netns" ambiguous.
    if (config.has_network_namespace) fail("more than one \"network\" namespace");
    config.has_network_namespace = true;
    if (const rapidjson::Value* path = find(entry, "path")) {
      if (!path->IsString()) fail("\"path\" of the network namespace must be a string");
      config.network_namespace_path = std::string(json::view(*path));
    }
  }
}

void note_cgroup_mount(const rapidjson::Value& entry, std::string_view destination,
                       BundleConfig& config) {
  const rapidjson::Value* type = find(entry, "type");
  const rapidjson::Value* source = find(entry, "source");
  const rapidjson::Value* options = find(entry, "options");
  const std::string_view type_name = type && type->IsString() ? json::view(*type) : "";
  const std::string_view source_path = source && source->IsString() ? json::view(*source) : "";
  BundleConfig::CgroupMount m;
  m.destination = std::string(destination);
  if (options && options->IsArray()) {
    for (const auto& o : options->GetArray()) {
      if (!o.IsString()) fail("mount options must be strings");
      const std::string_view opt = json::view(o);
      if (opt == "ro") m.read_only = true;
      if (opt == "rw") m.read_only = false;
      if (opt == "bind" || opt == "rbind") m.bind = true;
    }
  }
  if (type_name == "bind") m.bind = true;
  const bool cgroupfs = type_name == "cgroup" || type_name == "cgroup2";
  const bool host_tree =
      m.bind && (source_path == "/sys/fs/cgroup" || source_path.starts_with("/sys/fs/cgroup/") ||
                 source_path == "/sys" || source_path == "/sys/fs");
  if (cgroupfs || host_tree) config.cgroup_mounts.push_back(std::move(m));
}

void parse_mounts(const rapidjson::Value& mounts, BundleConfig& config) {
  if (!mounts.IsArray()) fail("\"mounts\" must be an array");
  for (const auto& entry : mounts.GetArray()) {
    if (!entry.IsObject()) fail("\"mounts\" entries must be objects");
    json::require_unique_keys(entry, kWhat, "mounts[].");
    const rapidjson::Value* destination = find(entry, "destination");
    if (!destination || !destination->IsString()) fail("mount without a string \"destination\"");
    note_cgroup_mount(entry, json::view(*destination), config);
    if (json::view(*destination) != "/etc/resolv.conf") continue;
    const rapidjson::Value* source = find(entry, "source");
    if (!source || !source->IsString())
      fail("mount of /etc/resolv.conf without a string \"source\"");
    config.resolv_conf_source = std::string(json::view(*source));
  }
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
  json::parse(text, kWhat, kMaxConfigDepth, doc);
  if (!doc.IsObject()) fail("top level must be an object");
  json::require_unique_keys(doc, kWhat, "");

  BundleConfig config;
  if (const rapidjson::Value* linux_section = find(doc, "linux")) {
    if (!linux_section->IsObject()) fail("\"linux\" must be an object");
    json::require_unique_keys(*linux_section, kWhat, "linux.");
    if (const rapidjson::Value* path = find(*linux_section, "cgroupsPath")) {
      if (!path->IsString()) fail("\"linux.cgroupsPath\" must be a string");
      config.cgroups_path = std::string(json::view(*path));
    }
    if (const rapidjson::Value* namespaces = find(*linux_section, "namespaces")) {
      parse_namespaces(*namespaces, config);
    }
  }
  if (const rapidjson::Value* root = find(doc, "root")) {
    if (!root->IsObject()) fail("\"root\" must be an object");
    json::require_unique_keys(*root, kWhat, "root.");
    const rapidjson::Value* path = find(*root, "path");
    if (path && !path->IsString()) fail("\"root.path\" must be a string");
    if (path) config.root_path = std::string(json::view(*path));
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

BundleConfig read_bundle_config(const std::string& bundle_dir) {
  if (bundle_dir.empty()) throw Error("state has no bundle directory");
  return parse_bundle_config(read_file_bounded(bundle_dir + "/config.json", kMaxConfigBytes));
}

}  // namespace ojh
