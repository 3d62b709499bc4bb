// SPDX-License-Identifier: Apache-2.0
#include "hook/denial_reason.hpp"

#include <algorithm>
#include <iterator>

#include "bpf/block_host_abi.h"

namespace ojh {
namespace {

struct Reason {
  unsigned verdict;
  unsigned rule_kind;  // 0: no rule refuses with this verdict
  const char* name;
};

constexpr Reason kReasons[] = {
    {OJH_DENY_UNINITIALIZED, 0, "uninitialized"},
    {OJH_DENY_LOOPBACK, 0, "loopback"},
    {OJH_DENY_HOST_ADDR, OJH_RULE_HOST_ADDR, "host"},
    {OJH_DENY_METADATA, OJH_RULE_METADATA, "metadata"},
    {OJH_DENY_CIDR, OJH_RULE_CIDR, "cidr"},
    {OJH_DENY_MULTICAST, OJH_RULE_MULTICAST, "multicast"},
    {OJH_DENY_RAW_SOCKET, 0, "raw-socket"},
    {OJH_DENY_UNIX_ABSTRACT, 0, "unix-abstract"},
    {OJH_DENY_UNIX_NAMED, 0, "unix-named"},
};

// 0 is neither a denial (OJH_ALLOW) nor a rule kind, so it names nothing.
const char* reason_where(unsigned Reason::*key, unsigned value) {
  const auto* it = std::find_if(std::begin(kReasons), std::end(kReasons),
                                [&](const Reason& r) { return value != 0 && r.*key == value; });
  return it == std::end(kReasons) ? "cidr" : it->name;
}

}  // namespace

const char* verdict_reason(unsigned verdict) { return reason_where(&Reason::verdict, verdict); }

const char* rule_kind_reason(unsigned rule_kind) {
  return reason_where(&Reason::rule_kind, rule_kind);
}

}  // namespace ojh
