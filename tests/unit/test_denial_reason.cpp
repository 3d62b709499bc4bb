// SPDX-License-Identifier: Apache-2.0
// The reason a denial record gives and the kind `status` names a rule by are one vocabulary:
// a rule's name is the name of the verdict the programs refuse its destinations with.
#include <string>

#include "bpf/block_host_abi.h"
#include "hook/denial_reason.hpp"
#include "tests/support/catch.hpp"

TEST_CASE("a rule kind is named after the verdict it refuses with", "[events][status]") {
  ojh_policy policy{};
  policy.policy_id = 1;
  // 5: a kind a later build may write; ojh_decide and the names both take it for a cidr.
  constexpr unsigned kKinds[] = {OJH_RULE_HOST_ADDR, OJH_RULE_METADATA, OJH_RULE_CIDR,
                                 OJH_RULE_MULTICAST, 5};
  for (unsigned kind : kKinds) {
    CAPTURE(kind);
    CHECK(std::string(ojh::rule_kind_reason(kind)) ==
          ojh::verdict_reason(ojh_decide(&policy, 0, 0, kind)));
  }
  CHECK(std::string(ojh::rule_kind_reason(OJH_RULE_HOST_ADDR)) == "host");
  CHECK(std::string(ojh::verdict_reason(OJH_DENY_LOOPBACK)) == "loopback");
  CHECK(std::string(ojh::verdict_reason(OJH_DENY_UNINITIALIZED)) == "uninitialized");
  CHECK(std::string(ojh::verdict_reason(99)) == "cidr");
}
