// SPDX-License-Identifier: Apache-2.0
#include "hook/cgroup_tree.hpp"

#include <dirent.h>

#include <cerrno>
#include <string_view>
#include <vector>

#include "oci/error.hpp"

namespace ojh {
namespace {

std::vector<std::string> child_cgroups(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  // A cgroup removed while the walk runs has no children left to visit.
  if (!d) {
    if (errno == ENOENT) return {};
    throw Error("list cgroup " + dir, errno);
  }
  std::vector<std::string> children;
  // cgroupfs fills d_type: a child cgroup is a directory, its interface files are not.
  while (const dirent* e = ::readdir(d))
    if (e->d_type == DT_DIR && std::string_view(e->d_name) != "." &&
        std::string_view(e->d_name) != "..")
      children.emplace_back(e->d_name);
  ::closedir(d);
  return children;
}

std::optional<std::string> walk(const std::string& root, const std::string& dir, int& budget,
                                int max_cgroups,
                                const std::function<bool(const std::string&)>& visit) {
  if (--budget < 0)
    throw Error("cgroup " + root + " has more than " + std::to_string(max_cgroups) +
                " cgroups below it to search");
  if (visit(dir)) return dir;
  for (const std::string& c : child_cgroups(dir))
    if (auto found = walk(root, dir + "/" + c, budget, max_cgroups, visit)) return found;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> find_in_cgroup_tree(
    const std::string& root, int max_cgroups,
    const std::function<bool(const std::string&)>& visit) {
  int budget = max_cgroups;
  return walk(root, root, budget, max_cgroups, visit);
}

}  // namespace ojh
