// SPDX-License-Identifier: Apache-2.0
#include "hook/policy_advice.hpp"

#include <map>

#include "oci/annotations.hpp"
#include "oci/policy.hpp"

namespace ojh {
namespace {

// Ports of services that hand over the host (or the cluster) to whoever reaches them.
std::string sensitive_port(unsigned port) {
  switch (port) {
    case 22:
      return "SSH";
    case 2375:
    case 2376:
      return "the Docker API";
    case 2379:
    case 2380:
      return "etcd";
    case 6443:
      return "the Kubernetes API server";
    case 10250:
    case 10255:
      return "the kubelet API";
    default:
      return "";
  }
}

std::string warning_for(const EventView& v) {
  if (v.reason == "metadata")
    return "opens the cloud metadata service: the instance's credentials and user data";
  if (const std::string service = sensitive_port(v.port); !service.empty())
    return "opens " + service + " on " + (v.reason == "cidr" ? "a refused range" : "the host");
  if (v.reason == "loopback")
    return "opens a service on the host's loopback, which the host may trust as local";
  return "";
}

}  // namespace

PolicyAdvice advise_allow(const std::vector<EventView>& records) {
  PolicyAdvice advice;
  std::map<std::string, AdviceEntry> entries;
  std::map<std::string, std::size_t> other;
  for (const EventView& v : records) {
    if ((v.protocol == "tcp" || v.protocol == "udp") && v.port != 0 && !v.address.empty()) {
      const std::string address = v.ipv6 ? "[" + v.address + "]" : v.address;
      const std::string entry = v.protocol + ":" + address + ":" + std::to_string(v.port);
      AdviceEntry& e = entries[entry];
      e.entry = entry;
      ++e.count;
      if (e.warning.empty()) e.warning = warning_for(v);
    } else {
      const std::string what =
          v.protocol + (v.address.empty() ? "" : " " + v.address) + " (" + v.operation + ")";
      ++other[what];
    }
  }
  for (auto& [text, e] : entries) {
    if (!advice.annotation.empty()) advice.annotation += ',';
    advice.annotation += text;
    advice.entries.push_back(std::move(e));
  }
  if (!advice.annotation.empty())
    advice.annotation = std::string(kBlockHostAllowAnnotation) + "=" + advice.annotation;
  advice.too_many = advice.entries.size() > kMaxExceptions;
  for (const auto& [what, n] : other)
    advice.not_allowable.push_back(what + ", " + std::to_string(n) + "x");
  return advice;
}

}  // namespace ojh
