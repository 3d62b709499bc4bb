// SPDX-License-Identifier: Apache-2.0
// Cgroup resolution: which cgroup the hook attaches BPF programs to. The input is three
// NUL-separated texts: /proc/self/mountinfo, the container's /proc/<pid>/cgroup and the
// hook's /proc/self/cgroup (missing texts are empty).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/cgroup.hpp"
#include "oci/error.hpp"

namespace {

using namespace ojh;
using namespace ojh::fuzz;

std::array<std::string_view, 3> split_texts(std::string_view input) {
  std::array<std::string_view, 3> texts;
  for (std::size_t i = 0; i < texts.size() && !input.empty(); ++i) {
    const std::size_t nul = i + 1 < texts.size() ? input.find('\0') : std::string_view::npos;
    texts[i] = input.substr(0, nul);
    input.remove_prefix(nul == std::string_view::npos ? input.size() : nul + 1);
  }
  return texts;
}

// Absolute, not "/", and no empty, "." or ".." component.
bool is_clean_non_root_path(std::string_view path) {
  if (!path.starts_with('/') || path == "/") return false;
  while (!path.empty()) {
    path.remove_prefix(1);
    const std::string_view component = path.substr(0, path.find('/'));
    if (component.empty() || component == "." || component == "..") return false;
    path.remove_prefix(component.size());
  }
  return true;
}

// Component-wise: "/a" is within "/a" and "/"; "/ab" is not within "/a".
bool is_within(std::string_view path, std::string_view ancestor) {
  if (ancestor == "/") return true;
  return path.starts_with(ancestor) &&
         (path.size() == ancestor.size() || path[ancestor.size()] == '/');
}

void fuzz_unified_cgroup_path(std::string_view text) {
  try {
    if (const auto path = unified_cgroup_path(text)) {
      FUZZ_REQUIRE(path->find('\n') == std::string::npos);
    }
  } catch (const Error& e) {
    require_well_formed(e);
  }
}

void fuzz_resolve(std::string_view mountinfo, std::string_view container, std::string_view hook) {
  CgroupTarget target;
  try {
    target = resolve_container_cgroup(mountinfo, container, hook);
  } catch (const Error& e) {
    require_well_formed(e);
    return;
  }
  // Never the root cgroup, never a path that walks out of where it claims to be.
  FUZZ_REQUIRE(is_clean_non_root_path(target.path));
  FUZZ_REQUIRE(target.path.find('\0') == std::string::npos);

  const auto container_path = without_error([&] { return unified_cgroup_path(container); });
  const auto hook_path = without_error([&] { return unified_cgroup_path(hook); });
  const auto mount = find_cgroup2_mount(mountinfo);
  FUZZ_REQUIRE(container_path && hook_path && mount);
  FUZZ_REQUIRE(target.path == *container_path);
  // Never the hook's own cgroup or one of its ancestors: that would cut the host off.
  FUZZ_REQUIRE(!is_within(*hook_path, target.path));
  // Visible in the mount, and fs_path is that place under the mount point.
  FUZZ_REQUIRE(is_within(target.path, mount->root));
  std::string_view mount_point = mount->mount_point;
  FUZZ_REQUIRE(mount_point.starts_with('/'));
  if (mount_point.ends_with('/')) mount_point.remove_suffix(1);
  const std::string_view below_root =
      std::string_view(target.path).substr(mount->root == "/" ? 0 : mount->root.size());
  const std::string expected = std::string(mount_point) + std::string(below_root);
  FUZZ_REQUIRE(target.fs_path == (expected.empty() ? "/" : expected));
  // The hook open()s fs_path: a NUL would silently cut it to another directory (an
  // ancestor: possibly the root cgroup).
  FUZZ_REQUIRE(target.fs_path.find('\0') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [mountinfo, container, hook] = split_texts(as_text(data, size));
  if (find_cgroup2_mount(mountinfo)) {
    FUZZ_REQUIRE(mountinfo.find(" - cgroup2") != std::string_view::npos);
  }
  fuzz_unified_cgroup_path(container);
  fuzz_resolve(mountinfo, container, hook);
  return 0;
}
