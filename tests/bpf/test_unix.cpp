// SPDX-License-Identifier: Apache-2.0
// The AF_UNIX programs (connect_unix, sendmsg_unix; Linux 6.7+) on real sockets, loaded the
// way the hook loads them. On an older kernel the cases say so and check only that the rest
// loads without them.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "hook/capabilities.hpp"
#include "hook/enforcement.hpp"
#include "hook/host_network.hpp"
#include "hook/rules.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

using namespace ojh;
using namespace ojh::test;

namespace {

// "@name" is the abstract name "\0name", anything else a path.
socklen_t unix_address(const std::string& name, sockaddr_un& un) {
  un = {};
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, name.data(), name.size());
  if (name[0] == '@') un.sun_path[0] = '\0';
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() +
                                (name[0] == '@' ? 0 : 1));
}

Fd unix_listener(const std::string& name, int type) {
  sockaddr_un un;
  const socklen_t len = unix_address(name, un);
  Fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&un), len) == 0);
  if (type == SOCK_STREAM) REQUIRE(::listen(fd.get(), 8) == 0);
  return fd;
}

// 0 when the connect (stream) or the addressed send (dgram) went through, else the errno.
int unix_reach(const std::string& name, int type) {
  sockaddr_un un;
  const socklen_t len = unix_address(name, un);
  Fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  const auto* addr = reinterpret_cast<sockaddr*>(&un);
  if (type == SOCK_DGRAM) return ::sendto(fd.get(), "x", 1, 0, addr, len) == 1 ? 0 : errno;
  return ::connect(fd.get(), addr, len) == 0 ? 0 : errno;
}

int socketpair_works() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return errno;
  char c = 0;
  const bool ok = ::write(fds[0], "x", 1) == 1 && ::read(fds[1], &c, 1) == 1 && c == 'x';
  ::close(fds[0]);
  ::close(fds[1]);
  return ok ? 0 : EIO;
}

bool have_unix_hooks() {
  if (kernel_meets(KernelNeed::UnixHooks)) return true;
  WARN("this kernel lacks the cgroup AF_UNIX hooks (Linux 6.7+): AF_UNIX cases not run");
  return false;
}

struct UnixFixture {
  Sandbox sandbox{"bpftest"};
  PinDir pins = PinDir::open(sandbox.pin_dir());
  SharedObjects objs = SharedObjects::open_or_load(pins);
  const std::string tag = std::to_string(::getpid());

  EnforceRequest request(const std::string& id, const std::string& cgroup) {
    EnforceRequest r;
    r.container_id = id;
    r.cgroup_fs_path = cgroup;
    r.rules = metadata_rules();
    r.host_netns_cookie = current_netns_cookie();
    return r;
  }
};

}  // namespace

TEST_CASE_METHOD(UnixFixture, "the AF_UNIX programs load exactly where the kernel has the hooks",
                 "[bpf][unix]") {
  CHECK(objs.judges_unix() == kernel_meets(KernelNeed::UnixHooks));
  CHECK(objs.loaded(OJH_HOOK_CONNECT_UNIX) == kernel_meets(KernelNeed::UnixHooks));
  // Everything else loads either way.
  for (std::size_t i = 0; i < kPrograms.size(); ++i)
    if (kPrograms[i].needs == KernelNeed::None) CHECK(objs.loaded(i));
}

TEST_CASE_METHOD(UnixFixture, "abstract names are refused to the host netns, not to its own",
                 "[bpf][unix]") {
  if (!have_unix_hooks()) return;
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string stream = "@ojh-bpf-s-" + tag, dgram = "@ojh-bpf-d-" + tag;
  const Fd ls = unix_listener(stream, SOCK_STREAM), ld = unix_listener(dgram, SOCK_DGRAM);
  const std::string path = "/tmp/ojh-bpf-unix-" + tag + ".sock";
  ::unlink(path.c_str());
  const Fd lp = unix_listener(path, SOCK_STREAM);
  enforce(pins, objs, request("u1", ctr));

  CHECK(run_in_cgroup(ctr, false, [&] { return unix_reach(stream, SOCK_STREAM); }) == EPERM);
  CHECK(run_in_cgroup(ctr, false, [&] { return unix_reach(dgram, SOCK_DGRAM); }) == EPERM);
  // Path names are the runtime's business (its mounts); socketpair() names nothing.
  CHECK(run_in_cgroup(ctr, false, [&] { return unix_reach(path, SOCK_STREAM); }) == 0);
  CHECK(run_in_cgroup(ctr, false, socketpair_works) == 0);
  // The same names in a netns of its own are its own sockets.
  CHECK(run_in_cgroup(ctr, true, [&] {
          const Fd own = unix_listener(stream, SOCK_STREAM);
          return unix_reach(stream, SOCK_STREAM);
        }) == 0);
  // Outside the enforced cgroup nothing changes.
  CHECK(unix_reach(stream, SOCK_STREAM) == 0);

  const auto c = list_enforced(pins, objs).at(0);
  CHECK(c.counters.denied[OJH_HOOK_CONNECT_UNIX] == 1);
  CHECK(c.counters.denied[OJH_HOOK_SENDMSG_UNIX] == 1);
  ::unlink(path.c_str());
}

TEST_CASE_METHOD(UnixFixture, "deny-all refuses every named address, in any netns", "[bpf][unix]") {
  if (!have_unix_hooks()) return;
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string path = "/tmp/ojh-bpf-unix-all-" + tag + ".sock";
  ::unlink(path.c_str());
  const Fd lp = unix_listener(path, SOCK_STREAM);
  auto req = request("u2", ctr);
  req.unix_deny_all = true;
  enforce(pins, objs, req);
  CHECK(run_in_cgroup(ctr, false, [&] { return unix_reach(path, SOCK_STREAM); }) == EPERM);
  CHECK(run_in_cgroup(ctr, true, [&] {
          const Fd own = unix_listener("@ojh-bpf-own", SOCK_STREAM);
          return unix_reach("@ojh-bpf-own", SOCK_STREAM);
        }) == EPERM);
  CHECK(run_in_cgroup(ctr, false, socketpair_works) == 0);
  ::unlink(path.c_str());
}

TEST_CASE_METHOD(UnixFixture, "audit mode counts AF_UNIX refusals and lets them through",
                 "[bpf][unix]") {
  if (!have_unix_hooks()) return;
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string stream = "@ojh-bpf-a-" + tag;
  const Fd ls = unix_listener(stream, SOCK_STREAM);
  auto req = request("u3", ctr);
  req.audit = true;
  enforce(pins, objs, req);
  CHECK(run_in_cgroup(ctr, false, [&] { return unix_reach(stream, SOCK_STREAM); }) == 0);
  const auto c = list_enforced(pins, objs).at(0);
  CHECK(c.counters.audited[OJH_HOOK_CONNECT_UNIX] == 1);
  CHECK(c.counters.denied[OJH_HOOK_CONNECT_UNIX] == 0);
}

TEST_CASE("the hook's capability sequence loads the AF_UNIX programs, then drops CAP_PERFMON",
          "[bpf][unix][caps]") {
  // The hook verifies every other program without CAP_PERFMON, and raises it (permitted
  // only until then) for the AF_UNIX programs' load alone.
  Sandbox sandbox{"bpftest"};
  const int status = run_in_cgroup(sandbox.make_cgroup("hook"), false, [&] {
    try {
      keep_perfmon_for_optional_programs();
      restrict_capabilities(CapabilitySet::kAttach);
      const PinDir pins = PinDir::open(sandbox.pin_dir());
      restrict_capabilities(CapabilitySet::kAttachMounted);
      const SharedObjects objs = SharedObjects::open_or_load(pins);
      drop_perfmon();
      if (objs.judges_unix() != kernel_meets(KernelNeed::UnixHooks)) return 2;
      std::ifstream st("/proc/self/status");
      std::string line;
      while (std::getline(st, line)) {
        // CAP_PERFMON is bit 38: neither effective nor permitted any more.
        if (line.rfind("CapEff:", 0) == 0 || line.rfind("CapPrm:", 0) == 0) {
          const unsigned long long caps = std::stoull(line.substr(line.find(':') + 1), nullptr, 16);
          if (caps & (1ULL << 38)) return 3;
        }
      }
      return 0;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  });
  CHECK(status == 0);
}

TEST_CASE("without CAP_PERFMON everything but the AF_UNIX programs loads", "[bpf][unix][caps]") {
  // A hook started without CAP_PERFMON (a unit's CapabilityBoundingSet) still enforces the
  // rest, and the AF_UNIX part reads as not loaded, which status and require-unix report.
  Sandbox sandbox{"bpftest"};
  const int status = run_in_cgroup(sandbox.make_cgroup("hook"), false, [&] {
    try {
      restrict_capabilities(CapabilitySet::kAttach);  // CAP_PERFMON not kept
      const PinDir pins = PinDir::open(sandbox.pin_dir());
      restrict_capabilities(CapabilitySet::kAttachMounted);
      const SharedObjects objs = SharedObjects::open_or_load(pins);
      if (objs.judges_unix()) return 2;
      for (std::size_t i = 0; i < kPrograms.size(); ++i)
        if (kPrograms[i].needs == KernelNeed::None && !objs.loaded(i)) return 3;
      return 0;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  });
  CHECK(status == 0);
}
