// SPDX-License-Identifier: Apache-2.0
#include "oci/admin_policy.hpp"

#include <algorithm>

#include "oci/error.hpp"

namespace ojh {
namespace {

constexpr std::string_view kNoAnnotationExceptions = "annotation-exceptions = false";
constexpr std::string_view kEnforceAll = "enforce-all = true";

[[noreturn]] void not_permitted(std::string_view annotation, std::string_view admin_setting) {
  throw Error("annotation " + std::string(annotation) +
              " is not permitted on this host (admin config: " + std::string(admin_setting) + ")");
}

// Our own keys with the switch set to "true", so that parse_container_policy reads a policy
// key without the switch as the policy of an enforced container.
Annotations with_switch_on(const Annotations& annotations) {
  const std::string prefix = std::string(kBlockHostAnnotation) + ".";
  Annotations ours;
  for (auto it = annotations.lower_bound(prefix);
       it != annotations.end() && it->first.starts_with(prefix); ++it) {
    ours.insert(*it);
  }
  ours[std::string(kBlockHostAnnotation)] = "true";
  return ours;
}

bool contains(const std::vector<AddressBytes>& list, const AddressBytes& address) {
  return std::find(list.begin(), list.end(), address) != list.end();
}

}  // namespace

ContainerPolicy admitted_container_policy(const Annotations& annotations,
                                          const AdminConfig& admin) {
  const std::string mode_audit = std::string(kBlockHostModeAnnotation) + "=audit";
  ContainerPolicy policy;
  if (admin.enforce_all) {
    // Typos first: a mistyped key must not hide behind the refusal, nor the refusal behind it.
    check_known_annotations(annotations);
    const auto it = annotations.find(std::string(kBlockHostAnnotation));
    if (it == annotations.end()) {
      policy = parse_container_policy(with_switch_on(annotations));
    } else {
      if (it->second == "false")
        not_permitted(std::string(kBlockHostAnnotation) + "=false", kEnforceAll);
      policy = parse_container_policy(annotations);
    }
    if (policy.mode == PolicyMode::Audit) not_permitted(mode_audit, kEnforceAll);
  } else {
    policy = parse_container_policy(annotations);
  }
  if (!policy.enforce || admin.annotation_exceptions) return policy;
  if (policy.mode == PolicyMode::Audit) not_permitted(mode_audit, kNoAnnotationExceptions);
  if (annotations.contains(std::string(kBlockHostAllowAnnotation)))
    not_permitted(kBlockHostAllowAnnotation, kNoAnnotationExceptions);
  return policy;
}

bool enforcement_requested(const Annotations& annotations, const AdminConfig& admin) {
  return admin.enforce_all || block_host_mode(annotations) == BlockHost::Enforce;
}

DnsAdmission admit_dns_exceptions(const std::vector<Exception>& wanted, const AdminConfig& admin,
                                  const std::vector<AddressBytes>& host_nameservers) {
  if (admin.annotation_exceptions) return {wanted, {}};
  DnsAdmission dns;
  for (const Exception& e : wanted) {
    if (contains(host_nameservers, e.address) || contains(admin.trusted_nameservers, e.address)) {
      dns.admitted.push_back(e);
    } else if (!contains(dns.untrusted, e.address)) {
      dns.untrusted.push_back(e.address);
    }
  }
  return dns;
}

}  // namespace ojh
