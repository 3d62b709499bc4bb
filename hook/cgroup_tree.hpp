// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace ojh {

// Calls visit(path) for the cgroup directory `root` and for every cgroup below it, parents
// first, until visit returns true; returns that path, or nullopt when none did. A container
// can grow its part of the tree at will, so at most `max_cgroups` are visited: past that the
// walk fails (ojh::Error naming `root`) rather than keep the hook busy.
std::optional<std::string> find_in_cgroup_tree(
    const std::string& root, int max_cgroups, const std::function<bool(const std::string&)>& visit);

}  // namespace ojh
