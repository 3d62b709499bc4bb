// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "hook/rules.hpp"

namespace ojh::bench {

// The nearest alternative to this hook, built for comparison (BENCHMARKS.md, "Side by side
// with nftables"): an OCI hook that installs, in each container's network namespace, an
// nftables table whose output chain drops every packet to the host's addresses, kept in
// interval sets. The same rules as the hook's (container_rules), so both refuse the same
// destinations.
std::string nft_ruleset(const std::vector<Rule>& rules);

// Loads `ruleset` into the calling thread's network namespace through libnftables (the
// library the nft command is made of, dlopen()ed: no process is started for it).
void apply_nft_ruleset(const std::string& ruleset);

// The baseline's createRuntime hook: reads the state from stdin, the host's addresses from
// this (the runtime's) network namespace, and installs the ruleset in the container's.
int run_nft_hook();

}  // namespace ojh::bench
