// SPDX-License-Identifier: Apache-2.0
// An upgrade while containers run: objects pinned by another build are replaced by this
// build's, and running containers move to the new programs without a moment unprotected.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "hook/enforcement.hpp"
#include "hook/objects_upgrade.hpp"
#include "hook/pin_dir.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"
#include "oci/policy.hpp"
#include "tests/bpf/probes.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

using namespace ojh;
using namespace ojh::test;

namespace {

__u32 prog_id(int fd) {
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  REQUIRE(bpf_obj_get_info_by_fd(fd, &info, &len) == 0);
  return info.id;
}

// Ids of the programs attached to the cgroup, over every attach type of kPrograms.
std::vector<__u32> attached_ids(const std::string& cgroup) {
  Fd fd(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::vector<__u32> out;
  for (const ProgramSpec& p : kPrograms) {
    if (!p.feature.empty() && !kernel_has_feature(p.feature)) continue;  // unknown type here
    std::array<__u32, 16> ids{};
    __u32 count = ids.size();
    REQUIRE(bpf_prog_query(fd.get(), p.attach_type, 0, nullptr, ids.data(), &count) == 0);
    out.insert(out.end(), ids.begin(), ids.begin() + count);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<__u32> program_ids(const SharedObjects& objs) {
  std::vector<__u32> out;
  for (const Fd& p : objs.programs)
    if (p) out.push_back(prog_id(p.get()));  // an optional program this kernel lacks: none
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("objects of another build are replaced and running containers moved to them",
          "[bpf][upgrade]") {
  Sandbox sandbox{"upgrade"};
  const PinDir pins = PinDir::open(sandbox.pin_dir());
  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener l4 = Listener::open("127.0.0.1");
  const int port = l4.port;

  std::vector<__u32> before;
  std::vector<Rule> rules_before;
  {
    const SharedObjects objs = open_current_objects(pins);
    CHECK(pinned_objects_build(pins) == objects_build());
    EnforceRequest r;
    r.container_id = "up";
    r.cgroup_fs_path = ctr;
    r.rules = metadata_rules();
    r.exceptions = parse_exceptions("tcp:127.0.0.1:" + std::to_string(port));
    r.host_netns_cookie = current_netns_cookie();
    r.owner_uid = 4242;
    enforce(pins, objs, r);
    before = program_ids(objs);
    rules_before = list_enforced(pins, objs).at(0).rules;
    REQUIRE(attached_ids(ctr) == before);
  }

  SECTION("another build's record") {
    write_record(pins.objects_dir(), "build", "0123456789abcdef");
  }
  SECTION("no record (an earlier version)") {
    REQUIRE(::unlink((pins.objects_dir() + "/build").c_str()) == 0);
    CHECK(pinned_objects_build(pins) == "");
  }

  const SharedObjects objs = open_current_objects(pins);
  CHECK(pinned_objects_build(pins) == objects_build());
  const std::vector<__u32> after = program_ids(objs);
  for (const __u32 id : after) CHECK(std::find(before.begin(), before.end(), id) == before.end());
  // Only the new programs run on the container's cgroup; the old links are gone.
  CHECK(attached_ids(ctr) == after);
  const auto listed = list_enforced(pins, objs);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == "up");
  CHECK(listed[0].owner_uid == 4242);
  CHECK(listed[0].cgroup_alive);
  CHECK(listed[0].links.size() == kernel_program_count());
  CHECK(listed[0].rules.size() == rules_before.size());
  CHECK(listed[0].exceptions.size() == 1);
  // Enforced by the new programs with the carried-over rules: UDP to loopback refused, the
  // TCP exception still open.
  CHECK(run_in_cgroup(ctr, false, [&] { return udp_sendto("127.0.0.1", port); }) == EPERM);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", port); }) == 0);
  // A second open finds this build: nothing moves again.
  const SharedObjects again = open_current_objects(pins);
  CHECK(program_ids(again) == after);
  // And the container is released through the new objects.
  CHECK(release(pins, again, {"up", "", 0, 4242}).released == 1);
  CHECK(attached_ids(ctr).empty());
}
