// SPDX-License-Identifier: Apache-2.0
// Capacity of the maps every container shares: what one container may hold (the largest
// policy the annotations allow) must never crowd out another, up to 1,000 containers.
#include <bpf/bpf.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "hook/enforcement.hpp"
#include "hook/host_network.hpp"
#include "hook/pin_dir.hpp"
#include "hook/rules.hpp"
#include "hook/shared_objects.hpp"
#include "oci/error.hpp"
#include "oci/policy.hpp"
#include "tests/bpf/probes.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

using namespace ojh;
using namespace ojh::test;

namespace {

constexpr int kContainers = 1000;

// kMaxCidrs IPv4 networks, all in one trie: the worst case for that trie.
std::vector<Cidr> largest_cidrs() {
  std::string list;
  for (std::size_t i = 0; i < kMaxCidrs; ++i)
    list += (i ? "," : "") + std::string("10.") + std::to_string(i) + ".0.0/16";
  return parse_cidrs(list);
}

std::vector<Exception> largest_exceptions() {
  std::string list;
  for (std::size_t i = 0; i < kMaxExceptions; ++i)
    list += (i ? "," : "") + std::string("tcp:192.0.2.1:") + std::to_string(1000 + i);
  return parse_exceptions(list);
}

// What the kernel reports a map uses (fdinfo "memlock": its memory use since Linux 6.4).
unsigned long long map_memory(int fd) {
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string key;
  unsigned long long value = 0;
  while (in >> key) {
    if (key == "memlock:" && in >> value) return value;
  }
  return 0;
}

}  // namespace

TEST_CASE("1,000 containers of the largest policy are all enforced", "[bpf][capacity]") {
  Sandbox sandbox{"capacity"};
  const PinDir pins = PinDir::open(sandbox.pin_dir());
  const SharedObjects objs = SharedObjects::open_or_load(pins);
  const std::vector<Rule> rules = container_rules(host_addresses(), largest_cidrs());
  const std::vector<Exception> exceptions = largest_exceptions();
  REQUIRE(rules.size() > kMaxCidrs);
  REQUIRE(exceptions.size() == kMaxExceptions);

  using Clock = std::chrono::steady_clock;
  double first_ms = 0, last_ms = 0;
  std::string last_cgroup;
  for (int i = 0; i < kContainers; ++i) {
    last_cgroup = sandbox.make_cgroup("c" + std::to_string(i));
    EnforceRequest r;
    r.container_id = "cap-" + std::to_string(i);
    r.cgroup_fs_path = last_cgroup;
    r.rules = rules;
    r.exceptions = exceptions;
    r.host_netns_cookie = current_netns_cookie();
    const auto start = Clock::now();
    try {
      enforce(pins, objs, r);
    } catch (const Error& e) {
      FAIL("container " << i << " of " << kContainers << " refused: " << e.what());
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (i == 0) first_ms = ms;
    last_ms = ms;
  }
  // Information for BENCHMARKS.md, never an assertion: a loaded machine is slower.
  const unsigned long long bytes =
      map_memory(objs.rules4.get()) + map_memory(objs.rules6.get()) + map_memory(objs.allow.get());
  std::printf(
      "capacity: %d containers x (%zu rules + %zu exceptions) enforced; 1st %.2f ms, "
      "%dth %.2f ms; shared maps use %.1f MiB (%.1f KiB per container)\n",
      kContainers, rules.size(), exceptions.size(), first_ms, kContainers, last_ms,
      static_cast<double>(bytes) / (1024 * 1024), static_cast<double>(bytes) / 1024 / kContainers);
  CHECK(list_enforced(pins, objs).size() == static_cast<std::size_t>(kContainers));

  // The last one is enforced like the first: its loopback (a host address) is refused.
  Listener l4 = Listener::open("127.0.0.1");
  const int port = l4.port;
  CHECK(run_in_cgroup(last_cgroup, false, [&] { return tcp_connect("127.0.0.1", port); }) == EPERM);
  // The Sandbox goes with its cgroups, which takes every link with them; releasing 1,000
  // containers one by one is poststop's business, not this test's.
}
