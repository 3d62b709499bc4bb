// SPDX-License-Identifier: Apache-2.0
// One vocabulary for why a destination is refused: the `reason` of a denial record
// (`events`, docs/events-json.md) and the kind of a rule `status` lists. A rule of a kind
// refuses with the verdict ojh_decide gives that kind (bpf/block_host_abi.h), and both go by
// the same name.
#pragma once

namespace ojh {

// The name of a verdict of the programs (enum ojh_verdict). A value this build does not
// know (a later build's) reads as "cidr", the catch-all, as ojh_decide reads a rule kind it
// does not know.
const char* verdict_reason(unsigned verdict);

// The name of a rule kind (enum ojh_rule_kind): the reason its destinations are refused
// with; "cidr" for a kind this build does not know.
const char* rule_kind_reason(unsigned rule_kind);

}  // namespace ojh
