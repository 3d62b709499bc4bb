// SPDX-License-Identifier: Apache-2.0
// What a pin entry records and how it is named: the entry of an enforced cgroup is
// "cgroup:<id>", and the container's init is recorded as "pid:start time" so that poststop
// can tell a stopped container from another running one with the same id.
#include <unistd.h>

#include "hook/pin_dir.hpp"
#include "hook/process.hpp"
#include "tests/support/catch.hpp"

TEST_CASE("entries are named by cgroup id; older names are not taken for one", "[pins]") {
  CHECK(ojh::entry_cgroup_id("cgroup:49026") == 49026u);
  CHECK(ojh::entry_cgroup_id("cgroup:18446744073709551615") == 18446744073709551615ull);
  for (const char* name :
       {"cgroup:", "cgroup:0", "cgroup:12a", "cgroup:-1", "cgroup: 1",
        "cgroup:18446744073709551616", "cgroup-49026", "49026", "web%2E1", "cgroup%3A1"}) {
    CAPTURE(name);
    CHECK_FALSE(ojh::entry_cgroup_id(name));
  }
}

TEST_CASE("/proc/<pid>/stat: state and start time, whatever the command name", "[pins]") {
  // As on this machine: runc's init, then a name with spaces and parentheses.
  const char* runc_init =
      "6534 (runc:[2:INIT]) S 6522 6534 6534 0 -1 4194560 1164 0 0 0 1 0 0 0 20 0 1 0 "
      "2174305 1214230528 2047 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  auto stat = ojh::parse_proc_stat(runc_init);
  REQUIRE(stat);
  CHECK(stat->state == 'S');
  CHECK(stat->start_time == 2174305u);
  stat = ojh::parse_proc_stat(
      "77 (a) b) (c ) Z 1 77 77 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 1 1 1 1 1 1 0 0");
  REQUIRE(stat);
  CHECK(stat->state == 'Z');
  CHECK(stat->start_time == 99u);
  for (const char* bad : {"", "1 (x)", "1 (x) S 1 2 3",
                          "1 (x) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 "
                          "20 0 1 0 5 0",
                          "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5x 0"}) {
    CAPTURE(bad);
    CHECK_FALSE(ojh::parse_proc_stat(bad));
  }
}

TEST_CASE("the recorded init is 'pid:start time' and reads back the same", "[pins]") {
  const ojh::ProcessRef init{6534, 2174305};
  CHECK(ojh::format_process_ref(init) == "6534:2174305");
  CHECK(ojh::parse_process_ref("6534:2174305") == init);
  for (const char* bad : {"", "6534", ":1", "0:5", "-1:5", "6534:", "6534:x", "6534:1:2"}) {
    CAPTURE(bad);
    CHECK_FALSE(ojh::parse_process_ref(bad));
  }
}

TEST_CASE("this process runs; a pid with another start time is another process", "[pins]") {
  const auto self = ojh::running_process(::getpid());
  REQUIRE(self);
  CHECK(ojh::still_running(*self));
  CHECK_FALSE(ojh::still_running({self->pid, self->start_time + 1}));
  CHECK_FALSE(ojh::running_process(0));
}
