// SPDX-License-Identifier: Apache-2.0
#include "oci/admin_config.hpp"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <sstream>

#include "oci/capability_policy.hpp"
#include "oci/error.hpp"
#include "oci/options_error.hpp"
#include "oci/quote.hpp"

namespace po = boost::program_options;

namespace ojh {
namespace {

bool parse_bool(const std::string& key, const std::string& value, std::string_view source) {
  if (value == "true") return true;
  if (value == "false") return false;
  throw Error(std::string(source) + ": " + key + "=" + quote_untrusted(value) +
              ": expected \"true\" or \"false\"");
}

std::size_t parse_limit(const std::string& key, const std::string& value, std::string_view source) {
  std::size_t end = 0;
  unsigned long n = 0;
  try {
    n = std::stoul(value, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != value.size() || value[0] == '-' || n > 1000000)
    throw Error(std::string(source) + ": " + key + "=" + quote_untrusted(value) +
                ": expected a number from 0 to 1000000");
  return n;
}

LogLevel parse_log_level(const std::string& value, std::string_view source) {
  if (value == "error") return LogLevel::Error;
  if (value == "warning") return LogLevel::Warning;
  if (value == "info") return LogLevel::Info;
  if (value == "debug") return LogLevel::Debug;
  throw Error(std::string(source) + ": log-level=" + quote_untrusted(value) +
              ": expected error, warning, info or debug");
}

// Absolute, without a ".." component (also a trailing one: "/sys/fs/bpf/.." is /sys/fs) and
// without NUL, which would cut the path short where the hook open()s it.
bool is_absolute_pin_dir(std::string_view dir) {
  if (!dir.starts_with('/') || dir.find('\0') != std::string_view::npos) return false;
  while (!dir.empty()) {
    dir.remove_prefix(1);
    const std::string_view component = dir.substr(0, dir.find('/'));
    if (component == "..") return false;
    dir.remove_prefix(component.size());
  }
  return true;
}

template <typename Parse>
auto parse_list(const std::string& key, const std::vector<std::string>& values,
                std::string_view source, Parse parse) {
  decltype(parse(std::string_view{})) out;
  for (const std::string& v : values) {
    try {
      for (auto& item : parse(v)) out.push_back(std::move(item));
    } catch (const Error& e) {
      throw Error(std::string(source) + ": " + key + ": " + e.context());
    }
  }
  return out;
}

}  // namespace

AdminConfig parse_admin_config(std::string_view text, std::string_view source) {
  po::options_description desc;
  desc.add_options()("fail-open", po::value<std::string>())(
      "block-cidrs", po::value<std::vector<std::string>>()->composing())(
      "allow", po::value<std::vector<std::string>>()->composing())(
      "allow-capabilities", po::value<std::vector<std::string>>()->composing())(
      "annotation-exceptions", po::value<std::string>())(
      "trusted-nameservers", po::value<std::vector<std::string>>()->composing())(
      "enforce-all", po::value<std::string>())("require-unix", po::value<std::string>())(
      "ignore-interfaces", po::value<std::vector<std::string>>()->composing())(
      "pin-dir", po::value<std::string>())("log-level", po::value<std::string>())(
      "user-max-containers", po::value<std::string>())("user-max-map-entries",
                                                       po::value<std::string>());

  po::variables_map vm;
  std::istringstream in{std::string(text)};
  try {
    po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(std::string(source) + ": " + describe_options_error(e));
  }

  AdminConfig config;
  if (vm.count("fail-open"))
    config.fail_open = parse_bool("fail-open", vm["fail-open"].as<std::string>(), source);
  if (vm.count("annotation-exceptions"))
    config.annotation_exceptions =
        parse_bool("annotation-exceptions", vm["annotation-exceptions"].as<std::string>(), source);
  if (vm.count("trusted-nameservers")) {
    // An empty value spells out the default (none besides the host's own).
    std::vector<std::string> lists = vm["trusted-nameservers"].as<std::vector<std::string>>();
    std::erase(lists, std::string());
    config.trusted_nameservers = parse_list("trusted-nameservers", lists, source, parse_addresses);
    // Every nameserver keeps its exception otherwise: the list would silently change nothing.
    if (!config.trusted_nameservers.empty() && config.annotation_exceptions)
      throw Error(std::string(source) +
                  ": trusted-nameservers takes effect only with annotation-exceptions = false (set "
                  "it, or remove trusted-nameservers)");
  }
  if (vm.count("enforce-all"))
    config.enforce_all = parse_bool("enforce-all", vm["enforce-all"].as<std::string>(), source);
  if (vm.count("require-unix"))
    config.require_unix = parse_bool("require-unix", vm["require-unix"].as<std::string>(), source);
  if (vm.count("block-cidrs")) {
    config.block_cidrs = parse_list("block-cidrs", vm["block-cidrs"].as<std::vector<std::string>>(),
                                    source, parse_cidrs);
    for (Cidr& c : config.block_cidrs) c.origin = "admin config";
  }
  if (vm.count("allow"))
    config.allow =
        parse_list("allow", vm["allow"].as<std::vector<std::string>>(), source, parse_exceptions);
  if (vm.count("allow-capabilities")) {
    for (const std::string& list : vm["allow-capabilities"].as<std::vector<std::string>>()) {
      std::istringstream items(list);
      std::string cap;
      while (std::getline(items, cap, ',')) {
        if (std::find(kBypassCapabilities.begin(), kBypassCapabilities.end(), cap) ==
            kBypassCapabilities.end())
          throw Error(std::string(source) + ": allow-capabilities: " + quote_untrusted(cap) +
                      ": expected one of CAP_NET_RAW, CAP_SYS_ADMIN, CAP_SYS_MODULE, "
                      "CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_NET_ADMIN");
        config.allow_capabilities.push_back(cap);
      }
    }
  }
  if (vm.count("ignore-interfaces")) {
    // Given at all, the list replaces the default; "ignore-interfaces =" ignores none.
    config.ignore_interfaces.clear();
    for (const std::string& list : vm["ignore-interfaces"].as<std::vector<std::string>>()) {
      std::istringstream items(list);
      std::string name;
      while (std::getline(items, name, ',')) {
        if (name.empty()) continue;
        if (name.size() >= 16 || name.find_first_of("/ \t") != std::string::npos)
          throw Error(std::string(source) + ": ignore-interfaces: " + quote_untrusted(name) +
                      ": expected an interface name (at most 15 characters)");
        config.ignore_interfaces.push_back(name);
      }
    }
  }
  if (vm.count("pin-dir")) {
    const std::string dir = vm["pin-dir"].as<std::string>();
    if (!is_absolute_pin_dir(dir))
      throw Error(std::string(source) + ": pin-dir=" + quote_untrusted(dir) +
                  ": expected an absolute path");
    config.pin_dir = dir;
  }
  if (vm.count("log-level"))
    config.log_level = parse_log_level(vm["log-level"].as<std::string>(), source);
  for (auto [key, limit] : {std::pair{"user-max-containers", &config.user_max_containers},
                            std::pair{"user-max-map-entries", &config.user_max_map_entries}})
    if (vm.count(key)) *limit = parse_limit(key, vm[key].as<std::string>(), source);
  return config;
}

}  // namespace ojh
