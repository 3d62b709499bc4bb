// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "oci/admin_config.hpp"
#include "oci/annotations.hpp"
#include "oci/policy.hpp"

namespace ojh {

// What the admin config takes away from the authors of annotations (in a cluster: any pod
// author), so that a policy the admin sets — or an admission controller adds — cannot be
// undone by another annotation.
//
//   annotation-exceptions = false  nothing an author writes may weaken the protection:
//       jail.block-host.allow and jail.block-host.mode=audit (which refuses nothing) are
//       refused, and DNS exceptions are made only for trusted nameservers (below).
//       .cidrs, .dns=false, .mode=enforce and .unix (both values) only strengthen it and
//       stay.
//   enforce-all = true  every container the hook runs for is enforced: an absent
//       jail.block-host counts as "true" (so a policy key without it is that container's
//       policy, not a mistake), and jail.block-host=false and mode=audit are refused.
//       Exceptions stay the business of annotation-exceptions.
//
// A refusal is an ojh::Error that names the annotation and the admin key, e.g.
// "annotation jail.block-host.mode=audit is not permitted on this host (admin config:
// annotation-exceptions = false)"; a mistake in a value is reported as the mistake
// (parse_container_policy) whatever the admin config says.
ContainerPolicy admitted_container_policy(const Annotations& annotations, const AdminConfig& admin);

// Whether create-runtime has a container to enforce, from the switch alone: what the hook
// decides before it resolves the cgroup, while it still holds the capabilities for that, so
// that the policy itself is parsed only after they are gone. admitted_container_policy
// agrees with it: where this is true, its policy enforces or it refuses the container.
bool enforcement_requested(const Annotations& annotations, const AdminConfig& admin);

// DNS exceptions follow the nameservers of the container's resolv.conf, which its author
// chooses (Kubernetes dnsConfig, podman --dns, the image). With annotation-exceptions =
// false only trusted nameservers keep theirs: those of the host's own resolver
// (host_nameservers, read_host_nameservers) and those in trusted-nameservers. Every other
// nameserver is judged like any other destination; it is listed in `untrusted` so that the
// caller can say so. With annotation-exceptions = true everything wanted is admitted.
struct DnsAdmission {
  std::vector<Exception> admitted;
  std::vector<AddressBytes> untrusted;  // each address once, in order of appearance
};
DnsAdmission admit_dns_exceptions(const std::vector<Exception>& wanted, const AdminConfig& admin,
                                  const std::vector<AddressBytes>& host_nameservers);

}  // namespace ojh
