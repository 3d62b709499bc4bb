// SPDX-License-Identifier: Apache-2.0
// The shared programs attached to a test cgroup, judged with real sockets (the kernel has
// no BPF_PROG_TEST_RUN for sock_addr programs).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

#include "hook/capabilities.hpp"
#include "hook/enforcement.hpp"
#include "hook/exception_map.hpp"
#include "hook/host_network.hpp"
#include "hook/rule_maps.hpp"
#include "hook/rules.hpp"
#include "oci/error.hpp"
#include "tests/bpf/probes.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/sandbox.hpp"

using namespace ojh;
using namespace ojh::test;

namespace {

Rule rule(const char* text, unsigned prefixlen, ojh_rule_kind kind) {
  Rule r{};
  r.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(r.family, text, r.bytes.data()) == 1);
  r.prefixlen = prefixlen;
  r.kind = kind;
  r.origin = "test";
  return r;
}

// A request to enforce container `id` on `cgroup`, with this netns as the host's.
EnforceRequest request(const std::string& id, const std::string& cgroup,
                       std::vector<Rule> rules = metadata_rules()) {
  EnforceRequest r;
  r.container_id = id;
  r.cgroup_fs_path = cgroup;
  r.rules = std::move(rules);
  r.host_netns_cookie = current_netns_cookie();
  return r;
}

struct Fixture {
  Sandbox sandbox{"bpftest"};
  PinDir pins = PinDir::open(sandbox.pin_dir());
  SharedObjects objs = SharedObjects::open_or_load(pins);

  // Programs attached to the cgroup, as the kernel reports them (all attach types).
  unsigned attached(const std::string& cgroup) {
    unsigned total = 0;
    for (const ProgramSpec& p : kPrograms) {
      if (!objs.loaded(&p - kPrograms.data())) continue;  // its kernel need is not met
      total += static_cast<unsigned>(attached_program_ids(cgroup, p.attach_type).size());
    }
    return total;
  }

  // Entries pinned for that container id (on any cgroup).
  std::size_t pinned(const std::string& id) {
    std::size_t n = 0;
    for (const EnforcedContainer& c : list_enforced(pins, objs)) n += c.id == id;
    return n;
  }
};

// Container "c1" enforced on cgroup ctr, a sibling cgroup that is not (where the same probes
// must reach), and listeners on the host's loopback, v4 and v6.
struct LoopbackFixture : Fixture {
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string sibling = sandbox.make_cgroup("sibling");
  Listener l4 = Listener::open("127.0.0.1");
  Listener l6 = Listener::open("::1");
  LoopbackFixture() { enforce(pins, objs, request("c1", ctr)); }
};

}  // namespace

TEST_CASE_METHOD(LoopbackFixture, "host loopback is blocked for connect and sendmsg, v4 and v6",
                 "[bpf]") {
  struct Case {
    const char* addr;
    Listener* l;
  };
  for (const Case c : {Case{"127.0.0.1", &l4}, Case{"0.0.0.0", &l4}, Case{"::ffff:127.0.0.1", &l4},
                       Case{"::1", &l6}, Case{"::", &l6}}) {
    CAPTURE(c.addr);
    const int port = c.l->port;
    CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect(c.addr, port); }) == EPERM);
    CHECK(run_in_cgroup(ctr, false, [&] { return udp_connect_send(c.addr, port); }) == EPERM);
    CHECK(run_in_cgroup(ctr, false, [&] { return udp_sendto(c.addr, port); }) == EPERM);
    CHECK_FALSE(c.l->udp_received());
    // The same probes from a sibling cgroup prove they can reach.
    CHECK(run_in_cgroup(sibling, false, [&] { return tcp_connect(c.addr, port); }) == 0);
    CHECK(run_in_cgroup(sibling, false, [&] { return udp_sendto(c.addr, port); }) == 0);
    CHECK(c.l->udp_received());
  }
}

TEST_CASE_METHOD(Fixture, "sub-cgroups of the container are covered", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string nested = sandbox.make_cgroup("ctr/container/nested");
  Listener l4 = Listener::open("127.0.0.1");
  enforce(pins, objs, request("c1", ctr));
  CHECK(run_in_cgroup(nested, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == EPERM);
}

TEST_CASE_METHOD(Fixture, "a container in its own netns keeps its own loopback", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  enforce(pins, objs, request("c1", ctr));
  CHECK(run_in_cgroup(ctr, true, [] {
          Listener own = Listener::open("127.0.0.1");
          Listener own6 = Listener::open("::1");
          if (int e = tcp_connect("127.0.0.1", own.port)) return e;
          if (int e = udp_sendto("127.0.0.1", own.port)) return e;
          if (!own.udp_received()) return 99;
          return tcp_connect("::1", own6.port);
        }) == 0);
}

TEST_CASE_METHOD(Fixture, "host address and metadata rules block in any netns", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  const std::string other = sandbox.make_cgroup("other");
  // Addresses put on the private netns' own lo: reachable locally unless a rule blocks them,
  // so no packet ever leaves the namespaces the test made.
  auto rules = metadata_rules();
  rules.push_back(rule("10.200.9.1", 32, OJH_RULE_HOST_ADDR));
  rules.push_back(rule("fd00:200::1", 128, OJH_RULE_HOST_ADDR));
  rules.push_back(rule("10.201.0.0", 16, OJH_RULE_CIDR));
  enforce(pins, objs, request("c1", ctr, rules));
  enforce(pins, objs, request("c2", other));

  struct Probe {
    const char* dest;
    const char* listen;
  };
  static constexpr Probe kProbes[] = {
      {"10.200.9.1", "10.200.9.1"},           {"::ffff:10.200.9.1", "10.200.9.1"},
      {"169.254.169.254", "169.254.169.254"}, {"::ffff:169.254.169.254", "169.254.169.254"},
      {"10.201.3.4", "10.201.3.4"},           {"fd00:200::1", "fd00:200::1"},
      {"fd00:ec2::254", "fd00:ec2::254"}};
  // Bit i set: probe i was refused with EPERM; clear: it reached its listener.
  const auto blocked_mask = [](const std::string& cgroup) {
    return run_in_cgroup(cgroup, true, [] {
      if (std::system("ip addr add 10.200.9.1/32 dev lo && ip addr add 169.254.169.254/32 dev lo"
                      " && ip addr add 10.201.3.4/32 dev lo"
                      " && ip addr add fd00:200::1/128 dev lo nodad"
                      " && ip addr add fd00:ec2::254/128 dev lo nodad") != 0)
        return 255;
      int mask = 0;
      for (int i = 0; i < 7; ++i) {
        Listener l = Listener::open(kProbes[i].listen);
        const int err = tcp_connect(kProbes[i].dest, l.port);
        if (err == EPERM)
          mask |= 1 << i;
        else if (err != 0)
          return 254;
      }
      return mask;
    });
  };
  CHECK(blocked_mask(ctr) == 0x7f);
  CHECK(blocked_mask(other) == 0x4c);  // c2 has only the metadata rules
}

TEST_CASE_METHOD(Fixture, "a second enforce for the same container attaches nothing more",
                 "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  CHECK_FALSE(enforce(pins, objs, request("c1", ctr)).already_enforced);
  CHECK(attached(ctr) == objs.loaded_count());
  CHECK(enforce(pins, objs, request("c1", ctr)).already_enforced);
  CHECK(attached(ctr) == objs.loaded_count());
  CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get())
            .list(enforce(pins, objs, request("c1", ctr)).cgroup_id)
            .size() == metadata_rules().size());
}

TEST_CASE_METHOD(Fixture, "release detaches, unpins and forgets the rules", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener l4 = Listener::open("127.0.0.1");
  const auto id = enforce(pins, objs, request("c.1", ctr)).cgroup_id;
  CHECK(pinned("c.1"));
  CHECK(list_enforced(pins, objs).at(0).id == "c.1");
  CHECK(release(pins, objs, {"c.1", "", 0}));
  CHECK_FALSE(pinned("c.1"));
  CHECK(attached(ctr) == 0);
  CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).list(id).empty());
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == 0);
  CHECK_FALSE(release(pins, objs, {"c.1", "", 0}));
}

// poststop is given the id, not the cgroup: the id's index names its entries, so it reads no
// other container's records; an entry of an earlier version is in no index and is still found.
TEST_CASE_METHOD(Fixture, "release finds a container's entries through the id index", "[bpf]") {
  const std::string ids = pins.version_dir() + "/ids";
  const auto a = enforce(pins, objs, request("a.1", sandbox.make_cgroup("a"))).cgroup_id;
  const auto b = enforce(pins, objs, request("b", sandbox.make_cgroup("b"))).cgroup_id;
  CHECK(read_record(ids, pin_name("a.1")) == std::string(kEntryPrefix) + std::to_string(a));
  CHECK(read_record(ids, "b") == std::string(kEntryPrefix) + std::to_string(b));
  // A wrong index would hide the entry: the release must then find nothing.
  write_record(ids, "b", "cgroup:1");
  CHECK_FALSE(release(pins, objs, {"b", "", 0}));
  CHECK(pinned("b"));
  // No index for the id (as an entry made by an earlier version): every entry is listed.
  REQUIRE(::unlink((ids + "/b").c_str()) == 0);
  CHECK(release(pins, objs, {"b", "", 0}));
  CHECK_FALSE(pinned("b"));
  CHECK(release(pins, objs, {"a.1", "", 0}));
  CHECK_FALSE(pinned("a.1"));
  CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).list(a).empty());
  // Nothing enforced, nothing indexed: the layout is as before the first container.
  struct stat st {};
  CHECK(::lstat(ids.c_str(), &st) != 0);
}

TEST_CASE_METHOD(Fixture, "release after the cgroup is gone still removes the rules", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  const auto id = enforce(pins, objs, request("c1", ctr)).cgroup_id;
  REQUIRE(::rmdir(ctr.c_str()) == 0);
  // The kernel detaches a removed cgroup's links when the cgroup is finally freed, which
  // happens asynchronously after rmdir.
  bool alive = true;
  for (int i = 0; i < 100 && alive; ++i) {
    const auto listed = list_enforced(pins, objs);
    REQUIRE(listed.size() == 1);
    alive = listed[0].cgroup_alive;
    if (alive) ::usleep(50'000);
  }
  CHECK_FALSE(alive);
  CHECK(release(pins, objs, {"c1", "", 0}));
  CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).list(id).empty());
}

TEST_CASE_METHOD(Fixture, "a failed enforce leaves nothing attached, pinned or written", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  auto rules = metadata_rules();
  rules.push_back(rule("10.0.0.0", 40, OJH_RULE_CIDR));  // the trie refuses prefixlen > 32
  CHECK_THROWS_AS(enforce(pins, objs, request("c1", ctr, rules)), Error);
  CHECK(attached(ctr) == 0);
  CHECK_FALSE(pinned("c1"));
  struct stat st {};
  ::stat(ctr.c_str(), &st);
  CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).list(st.st_ino).empty());
  CHECK(list_dir(pins.version_dir()).size() == 2);  // objects + containers, no staging
}

TEST_CASE_METHOD(Fixture, "audit mode lets traffic through and counts it", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener l4 = Listener::open("127.0.0.1");
  auto req = request("c1", ctr);
  req.audit = true;
  enforce(pins, objs, req);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == 0);
  CHECK(run_in_cgroup(ctr, false, [&] { return udp_sendto("::ffff:127.0.0.1", l4.port); }) == 0);
  const auto c = list_enforced(pins, objs).at(0);
  CHECK(c.counters.audited[OJH_HOOK_CONNECT4] == 1);
  // An unconnected v4-mapped sendto is handed to the IPv4 UDP path, so sendmsg4 judges it.
  CHECK(c.counters.audited[OJH_HOOK_SENDMSG4] == 1);
  CHECK(c.counters.denied[OJH_HOOK_CONNECT4] == 0);
}

TEST_CASE_METHOD(Fixture, "denials are counted per program", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener l4 = Listener::open("127.0.0.1");
  enforce(pins, objs, request("c1", ctr));
  run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", l4.port); });
  run_in_cgroup(ctr, false, [&] { return tcp_connect("::ffff:127.0.0.1", l4.port); });
  run_in_cgroup(ctr, false, [&] { return udp_sendto("127.0.0.1", l4.port); });
  run_in_cgroup(ctr, false, [&] { return udp_sendto("::1", l4.port); });
  const auto c = list_enforced(pins, objs).at(0);
  CHECK(c.counters.denied[OJH_HOOK_CONNECT4] == 1);
  CHECK(c.counters.denied[OJH_HOOK_CONNECT6] == 1);
  CHECK(c.counters.denied[OJH_HOOK_SENDMSG4] == 1);
  CHECK(c.counters.denied[OJH_HOOK_SENDMSG6] == 1);
}

TEST_CASE_METHOD(Fixture, "shared objects are loaded once and reopened from pins", "[bpf]") {
  const SharedObjects again = SharedObjects::open_or_load(pins);
  bpf_prog_info a{}, b{};
  __u32 la = sizeof(a), lb = sizeof(b);
  REQUIRE(bpf_obj_get_info_by_fd(objs.programs[0].get(), &a, &la) == 0);
  REQUIRE(bpf_obj_get_info_by_fd(again.programs[0].get(), &b, &lb) == 0);
  CHECK(a.id == b.id);
}

TEST_CASE("the programs load and attach with only the hook's capabilities", "[bpf][caps]") {
  // The rest of this tier runs with full root; the verifier is stricter without
  // CAP_PERFMON/CAP_SYS_ADMIN (Spectre hardening), which is how the hook runs.
  Sandbox sandbox{"bpftest"};
  const std::string ctr = sandbox.make_cgroup("ctr");
  const int status = run_in_cgroup(sandbox.make_cgroup("hook"), false, [&] {
    try {
      restrict_capabilities(CapabilitySet::kAttach);
      const PinDir pins = PinDir::open(sandbox.pin_dir());
      restrict_capabilities(CapabilitySet::kAttachMounted);
      const SharedObjects objs = SharedObjects::open_or_load(pins);
      enforce(pins, objs, request("caps", ctr));
      return release(pins, objs, {"caps", "", 0}) ? 0 : 2;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  });
  CHECK(status == 0);
}

namespace {

Exception exception(int protocol, const char* addr, std::uint16_t port) {
  Exception e{};
  e.protocol = protocol;
  e.port = port;
  if (addr) {
    e.address.family = std::strchr(addr, ':') ? AF_INET6 : AF_INET;
    REQUIRE(inet_pton(e.address.family, addr, e.address.bytes.data()) == 1);
  } else {
    e.any_host_address = true;
  }
  return e;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "exceptions open exactly one protocol, address and port", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener open4 = Listener::open("127.0.0.1");
  Listener closed4 = Listener::open("127.0.0.1");
  Listener any6 = Listener::open("::1");
  auto req = request("c1", ctr);
  req.exceptions = {exception(IPPROTO_TCP, "127.0.0.1", open4.port),
                    exception(IPPROTO_UDP, nullptr, any6.port)};
  enforce(pins, objs, req);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", open4.port); }) == 0);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("::ffff:127.0.0.1", open4.port); }) ==
        0);
  CHECK(run_in_cgroup(ctr, false, [&] { return udp_sendto("127.0.0.1", open4.port); }) == EPERM);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", closed4.port); }) == EPERM);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.2", open4.port); }) == EPERM);
  // "*" lifts the denial for any blocked address, for that protocol and port only.
  CHECK(run_in_cgroup(ctr, false, [&] { return udp_sendto("::1", any6.port); }) == 0);
  CHECK(any6.udp_received());
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("::1", any6.port); }) == EPERM);
  CHECK(ExceptionMap(objs.allow.get()).list(list_enforced(pins, objs).at(0).cgroup_id).size() == 2);
  const auto id = list_enforced(pins, objs).at(0).cgroup_id;
  REQUIRE(release(pins, objs, {"c1", "", 0}));
  CHECK(ExceptionMap(objs.allow.get()).list(id).empty());
}

TEST_CASE_METHOD(LoopbackFixture, "the egress backstop drops raw-socket packets to the host",
                 "[bpf]") {
  for (Listener* l : {&l4, &l6}) {
    const char* addr = l->v6 ? "::1" : "127.0.0.1";
    CAPTURE(addr);
    CHECK(run_in_cgroup(sibling, false, [&] { return raw_udp_sendto(addr, l->port); }) == 0);
    CHECK(l->udp_received());  // the probe works
    CHECK(run_in_cgroup(ctr, false, [&] { return raw_udp_sendto(addr, l->port); }) == EPERM);
    CHECK_FALSE(l->udp_received());
  }
  // Where the BPF LSM takes the socket_create program, the raw socket is refused before a
  // packet exists (EPERM at socket()); elsewhere the backstop refuses the packets.
  const EnforcedContainer c = list_enforced(pins, objs).at(0);
  CHECK(c.counters.denied[objs.refuses_raw_sockets() ? OJH_HOOK_SOCKET_CREATE : OJH_HOOK_EGRESS] ==
        2);
}

TEST_CASE_METHOD(Fixture, "the egress backstop leaves TCP replies to the host alone", "[bpf]") {
  // A container serving a connection the host opened (port forwarding) answers to a host
  // address; the backstop must not cut that.
  const std::string ctr = sandbox.make_cgroup("ctr");
  enforce(pins, objs, request("c1", ctr));
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t server = ::fork();
  if (server == 0) {
    const int status = run_in_cgroup(ctr, false, [&] {
      Listener l = Listener::open("127.0.0.1");
      if (::write(ready[1], &l.port, sizeof(l.port)) != sizeof(l.port)) return 1;
      Fd conn(::accept(l.tcp.get(), nullptr, nullptr));
      return conn && ::send(conn.get(), "pong", 4, MSG_NOSIGNAL) == 4 ? 0 : 2;
    });
    ::_exit(status);
  }
  int port = 0;
  REQUIRE(::read(ready[0], &port, sizeof(port)) == sizeof(port));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(client.get(), reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
  char buf[4] = {};
  timeval tv{2, 0};
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  CHECK(::recv(client.get(), buf, sizeof(buf), MSG_WAITALL) == 4);
  int status = 0;
  ::waitpid(server, &status, 0);
  CHECK(WEXITSTATUS(status) == 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

namespace {

// A container's own netns in which a DNAT rule (nftables, OUTPUT) rewrites 203.0.113.7 and
// 2001:db8:7::7 into the "host" addresses 10.200.9.1 and fd00:200::1, which sit on its lo so
// that nothing leaves the namespace; the foreign ones are routed into a veth whose both ends
// are in that namespace (lost there without the rule). What a container holding
// CAP_NET_ADMIN can do to itself.
constexpr const char* kDnatSetup =
    "ip addr add 10.200.9.1/32 dev lo && ip addr add fd00:200::1/128 dev lo nodad"
    " && ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up"
    " && ip addr add 192.0.2.1/24 dev d0 && ip addr add 2001:db8:1::1/64 dev d0 nodad"
    " && ip route add 203.0.113.0/24 via 192.0.2.2"
    " && ip -6 route add 2001:db8:7::/64 via 2001:db8:1::2"
    " && nft -f - <<'EOF'\n"
    "table ip dnat4 {\n"
    "  chain out {\n"
    "    type nat hook output priority -100; policy accept;\n"
    "    ip daddr 203.0.113.7 dnat to 10.200.9.1\n"
    "  }\n"
    "}\n"
    "table ip6 dnat6 {\n"
    "  chain out {\n"
    "    type nat hook output priority -100; policy accept;\n"
    "    ip6 daddr 2001:db8:7::7 dnat to fd00:200::1\n"
    "  }\n"
    "}\n"
    "EOF";

std::vector<Rule> dnat_rules() {
  auto rules = metadata_rules();
  rules.push_back(rule("10.200.9.1", 32, OJH_RULE_HOST_ADDR));
  rules.push_back(rule("fd00:200::1", 128, OJH_RULE_HOST_ADDR));
  return rules;
}

// Probes through the DNAT rule, run in `cgroup` in a netns of its own: bit i set when probe
// i reached its listener, bit i + 4 when it was refused the way an egress drop shows (UDP:
// EPERM from sendto; TCP: the SYN never leaves, so connect() does not complete). 255/254:
// the setup or a probe failed otherwise.
int dnat_outcome(const std::string& cgroup) {
  return run_in_cgroup(cgroup, true, [] {
    if (std::system(kDnatSetup) != 0) return 255;
    Listener l4 = Listener::open("10.200.9.1");
    Listener l6 = Listener::open("fd00:200::1");
    struct Probe {
      const char* dest;
      Listener* l;
      bool tcp;
    };
    const Probe probes[] = {{"203.0.113.7", &l4, true},
                            {"203.0.113.7", &l4, false},
                            {"2001:db8:7::7", &l6, true},
                            {"2001:db8:7::7", &l6, false}};
    int outcome = 0;
    for (int i = 0; i < 4; ++i) {
      const Probe& p = probes[i];
      const int err =
          p.tcp ? tcp_connect_within(p.dest, p.l->port, 1000) : udp_sendto(p.dest, p.l->port);
      const bool arrived = p.tcp ? p.l->tcp_accepted() : p.l->udp_received();
      if (err == 0 && arrived)
        outcome |= 1 << i;
      else if (!arrived && err == (p.tcp ? ETIMEDOUT : EPERM))
        outcome |= 1 << (i + 4);
      else
        return 254;
    }
    return outcome;
  });
}

}  // namespace

TEST_CASE_METHOD(Fixture, "judge-all-egress stops TCP and UDP that a DNAT rule sends to the host",
                 "[bpf][dnat]") {
  if (std::system("command -v nft >/dev/null") != 0)
    FAIL("nft is not installed (scripts/deps.sh installs nftables)");
  const std::string flagged = sandbox.make_cgroup("flagged");
  const std::string plain = sandbox.make_cgroup("plain");
  auto req = request("c-flagged", flagged, dnat_rules());
  req.judge_all_egress = true;
  enforce(pins, objs, req);
  enforce(pins, objs, request("c-plain", plain, dnat_rules()));

  // connect4/6 and sendmsg4/6 allow 203.0.113.7 and 2001:db8:7::7 in both: without the flag
  // the rewritten packets reach the host addresses (the bypass), with it the egress program
  // judges the address they really go to.
  CHECK(dnat_outcome(plain) == 0x0f);
  CHECK(dnat_outcome(flagged) == 0xf0);
  for (const EnforcedContainer& c : list_enforced(pins, objs)) {
    CAPTURE(c.id);
    const bool is_flagged = c.id == "c-flagged";
    CHECK(((c.policy.flags & OJH_POLICY_JUDGE_ALL_EGRESS) != 0) == is_flagged);
    CHECK((c.counters.denied[OJH_HOOK_EGRESS] > 0) == is_flagged);
    CHECK(c.counters.denied[OJH_HOOK_CONNECT4] == 0);
    CHECK(c.counters.denied[OJH_HOOK_SENDMSG6] == 0);
  }
  // Destinations that are not the host's stay reachable, and so does the container's own
  // loopback where the backstop tells netns apart (the netns-aware program, Linux 6.15+);
  // the compat program refuses loopback in every netns (the documented price).
  const bool netns_aware = objs.egress_variant() == EgressVariant::NetnsAware;
  CHECK(run_in_cgroup(flagged, true, [netns_aware] {
          if (std::system("ip addr add 198.51.100.9/32 dev lo") != 0) return 255;
          Listener foreign = Listener::open("198.51.100.9");
          Listener own = Listener::open("127.0.0.1");
          Listener own6 = Listener::open("::1");
          if (int e = tcp_connect_within("198.51.100.9", foreign.port, 1000)) return e;
          if (int e = udp_sendto("198.51.100.9", foreign.port)) return e;
          if (!foreign.udp_received()) return 99;
          const int tcp = tcp_connect_within("127.0.0.1", own.port, 1000);
          const int udp = udp_sendto("::1", own6.port);
          const bool arrived = own6.udp_received();
          if (netns_aware) return tcp ? tcp : udp ? udp : arrived ? 0 : 98;
          return tcp != 0 && udp == EPERM && !arrived ? 0 : 97;
        }) == 0);
}

TEST_CASE_METHOD(Fixture, "judge-all-egress also stops replies to host clients", "[bpf][dnat]") {
  // The documented price: a server in a flagged container cannot answer a host address (a
  // port published to the host and used from the host itself). The SYN-ACK leaves through
  // the listener's socket, which the egress program now judges.
  const std::string ctr = sandbox.make_cgroup("ctr");
  auto req = request("c1", ctr);
  req.judge_all_egress = true;
  enforce(pins, objs, req);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t server = fork_in_cgroup(ctr, [&] {
    Listener l = Listener::open("127.0.0.1");
    if (::write(ready[1], &l.port, sizeof(l.port)) != sizeof(l.port)) return 1;
    ::sleep(3);  // long enough for the client below to give up
    return 0;
  });
  int port = 0;
  REQUIRE(::read(ready[0], &port, sizeof(port)) == sizeof(port));
  CHECK(tcp_connect_within("127.0.0.1", port, 1000) == ETIMEDOUT);
  ::kill(server, SIGKILL);
  wait_exit_status(server);
  ::close(ready[0]);
  ::close(ready[1]);
  CHECK(list_enforced(pins, objs).at(0).counters.denied[OJH_HOOK_EGRESS] > 0);
}

TEST_CASE("judge-all-egress on the compat program refuses the container's own loopback",
          "[bpf][dnat]") {
  // Kernels before 6.15: the compat egress program cannot tell a private netns' loopback
  // from the host's, so with every packet judged a flagged container loses TCP and UDP to
  // its own 127.0.0.1 too (documented), while an unflagged one keeps it.
  Sandbox sandbox{"bpftest"};
  const PinDir pins = PinDir::open(sandbox.pin_dir());
  const SharedObjects objs = SharedObjects::open_or_load(pins, EgressVariant::Compat);
  const std::string flagged = sandbox.make_cgroup("flagged");
  const std::string plain = sandbox.make_cgroup("plain");
  for (const auto& [id, cgroup] : {std::pair{"flagged", flagged}, std::pair{"plain", plain}}) {
    EnforceRequest r = request(id, cgroup);
    r.judge_all_egress = cgroup == flagged;
    enforce(pins, objs, r);
  }
  const auto own_loopback = [](const std::string& cgroup) {
    return run_in_cgroup(cgroup, true, [] {
      Listener own = Listener::open("127.0.0.1");
      const int tcp = tcp_connect_within("127.0.0.1", own.port, 1000);
      const int udp = udp_sendto("127.0.0.1", own.port);
      if (tcp == 0 && udp == 0) return 0;
      return tcp == ETIMEDOUT && udp == EPERM ? 1 : 2;
    });
  };
  CHECK(own_loopback(plain) == 0);
  CHECK(own_loopback(flagged) == 1);
}

TEST_CASE_METHOD(Fixture, "refresh adds new host addresses and drops vanished ones", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  const auto old_rules = [] {
    auto r = metadata_rules();
    r.push_back(rule("10.200.9.1", 32, OJH_RULE_HOST_ADDR));
    r.push_back(rule("10.201.0.0", 16, OJH_RULE_CIDR));
    return r;
  }();
  const auto id = enforce(pins, objs, request("c1", ctr, old_rules)).cgroup_id;
  const std::vector<Rule> now = {rule("10.200.9.2", 32, OJH_RULE_HOST_ADDR),
                                 rule("fd00:200::9", 128, OJH_RULE_HOST_ADDR)};
  CHECK(refresh_host_rules(pins, objs, current_netns_cookie() + 1, now) == 0);  // other netns
  CHECK(refresh_host_rules(pins, objs, current_netns_cookie(), now) == 1);
  std::vector<std::string> listed;
  for (const Rule& r : RuleMaps(objs.rules4.get(), objs.rules6.get()).list(id))
    listed.push_back(format_rule(r).substr(0, format_rule(r).find(' ')));
  CHECK_THAT(listed, Catch::Matchers::VectorContains(std::string("10.200.9.2/32")));
  CHECK_THAT(listed, Catch::Matchers::VectorContains(std::string("fd00:200::9/128")));
  CHECK_THAT(listed, Catch::Matchers::VectorContains(std::string("10.201.0.0/16")));
  CHECK_THAT(listed, Catch::Matchers::VectorContains(std::string("169.254.169.254/32")));
  CHECK_FALSE(std::find(listed.begin(), listed.end(), "10.200.9.1/32") != listed.end());
}

TEST_CASE_METHOD(Fixture,
                 "release deletes exactly the keys the entry records, however they changed",
                 "[bpf]") {
  // Host addresses change under a running container (refresh), and create-runtime may run
  // again with other exceptions: release must still find every key without walking the
  // shared maps. A key it does not know of is left to gc, which walks.
  const std::string ctr = sandbox.make_cgroup("ctr");
  const auto with_host = [](const char* v4, const char* v6) {
    auto r = metadata_rules();
    r.push_back(rule(v4, 32, OJH_RULE_HOST_ADDR));
    r.push_back(rule(v6, 128, OJH_RULE_HOST_ADDR));
    return r;
  };
  auto req = request("c1", ctr, with_host("10.200.9.1", "fd00:200::1"));
  req.exceptions = {exception(IPPROTO_UDP, "10.200.9.53", 53)};
  const auto id = enforce(pins, objs, req).cgroup_id;
  const RuleMaps rules(objs.rules4.get(), objs.rules6.get());
  const ExceptionMap exceptions(objs.allow.get());
  REQUIRE(refresh_host_rules(pins, objs, current_netns_cookie(),
                             {rule("10.200.9.2", 32, OJH_RULE_HOST_ADDR),
                              rule("fd00:200::2", 128, OJH_RULE_HOST_ADDR)}) == 1);
  req.rules = with_host("10.200.9.3", "fd00:200::3");
  req.rules.push_back(rule("10.201.0.0", 16, OJH_RULE_CIDR));
  req.exceptions = {exception(IPPROTO_TCP, nullptr, 443)};
  REQUIRE(enforce(pins, objs, req).already_enforced);
  REQUIRE(refresh_host_rules(pins, objs, current_netns_cookie(),
                             {rule("10.200.9.4", 32, OJH_RULE_HOST_ADDR),
                              rule("169.254.169.254", 32, OJH_RULE_HOST_ADDR)}) == 1);
  REQUIRE(rules.list(id).size() == req.rules.size() - 1);  // one host address left, no v6
  // Written behind the hook's back: no record of the entry names it.
  rules.insert(id, {rule("10.202.0.1", 32, OJH_RULE_CIDR)});

  REQUIRE(release(pins, objs, {"c1", "", 0}).released == 1);
  const auto left = rules.list(id);
  REQUIRE(left.size() == 1);
  CHECK(format_rule(left[0]).rfind("10.202.0.1/32", 0) == 0);
  CHECK(exceptions.list(id).empty());
  CHECK(collect_garbage(pins, objs).orphan_policies == 1);
  CHECK(rules.list(id).empty());
}

TEST_CASE_METHOD(Fixture, "a program attached below the container cannot lift the block", "[bpf]") {
  // What a process in the container could do with CAP_BPF + CAP_NET_ADMIN: attach an
  // allow-everything connect4 program to a sub-cgroup, in any attach mode.
  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener l4 = Listener::open("127.0.0.1");
  enforce(pins, objs, request("c1", ctr));

  const bpf_insn allow_all[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},  // r0 = 1
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},                   // exit
  };
  LIBBPF_OPTS(bpf_prog_load_opts, load_opts, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);
  Fd allow(bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "ojh_test_allow", "GPL", allow_all, 2,
                         &load_opts));
  REQUIRE(allow);

  for (const auto flags : {0u, unsigned{BPF_F_ALLOW_OVERRIDE}, unsigned{BPF_F_ALLOW_MULTI}}) {
    CAPTURE(flags);
    const std::string sub = sandbox.make_cgroup("ctr/sub" + std::to_string(flags));
    Fd sub_fd(::open(sub.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(bpf_prog_attach(allow.get(), sub_fd.get(), BPF_CGROUP_INET4_CONNECT, flags) == 0);
    CHECK(run_in_cgroup(sub, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == EPERM);
    bpf_prog_detach2(allow.get(), sub_fd.get(), BPF_CGROUP_INET4_CONNECT);
  }
  // On the container's own cgroup only another multi attachment is possible, and ours
  // still runs beside it.
  Fd ctr_fd(::open(ctr.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  CHECK(bpf_prog_attach(allow.get(), ctr_fd.get(), BPF_CGROUP_INET4_CONNECT, 0) != 0);
  CHECK(bpf_prog_attach(allow.get(), ctr_fd.get(), BPF_CGROUP_INET4_CONNECT,
                        BPF_F_ALLOW_OVERRIDE) != 0);
  REQUIRE(bpf_prog_attach(allow.get(), ctr_fd.get(), BPF_CGROUP_INET4_CONNECT, BPF_F_ALLOW_MULTI) ==
          0);
  CHECK(run_in_cgroup(ctr, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == EPERM);
  bpf_prog_detach2(allow.get(), ctr_fd.get(), BPF_CGROUP_INET4_CONNECT);
}

TEST_CASE_METHOD(Fixture, "two container ids cannot share one cgroup", "[bpf]") {
  const std::string ctr = sandbox.make_cgroup("ctr");
  enforce(pins, objs, request("c1", ctr));
  CHECK_THROWS_WITH(enforce(pins, objs, request("c2", ctr)),
                    Catch::Matchers::ContainsSubstring("already enforced for another container"));
  CHECK_FALSE(pinned("c2"));
  CHECK(attached(ctr) == objs.loaded_count());
  CHECK(list_enforced(pins, objs).at(0).rules.size() == metadata_rules().size());
}

TEST_CASE_METHOD(Fixture, "gc releases dead containers and orphaned rules, and nothing live",
                 "[bpf]") {
  const std::string dead = sandbox.make_cgroup("dead");
  const std::string live = sandbox.make_cgroup("live");
  Listener l4 = Listener::open("127.0.0.1");
  enforce(pins, objs, request("gone", dead));
  const auto live_id = enforce(pins, objs, request("alive", live)).cgroup_id;
  RuleMaps(objs.rules4.get(), objs.rules6.get()).insert(999'999, metadata_rules());
  ExceptionMap(objs.allow.get()).insert(999'999, {exception(IPPROTO_TCP, "127.0.0.1", 1)});
  make_private_dir(pins.staging_dir("container-crashed"));
  REQUIRE(::rmdir(dead.c_str()) == 0);
  // The kernel detaches a removed cgroup's links asynchronously: retry until it has.
  GcResult result;
  std::size_t orphans = 0;
  for (int i = 0; i < 100; ++i) {
    result = collect_garbage(pins, objs);
    orphans += result.orphan_policies;
    if (!result.released.empty()) break;
    ::usleep(50'000);
  }
  CHECK(result.released == std::vector<std::string>{"gone"});
  CHECK(orphans == 1);  // 999999; "gone"'s own rules went with its release
  CHECK_FALSE(pinned("gone"));
  CHECK(pinned("alive"));
  const auto rule_counts = RuleMaps(objs.rules4.get(), objs.rules6.get()).entry_counts();
  CHECK(rule_counts.size() == 1);
  CHECK(rule_counts.count(live_id) == 1);
  CHECK(ExceptionMap(objs.allow.get()).entry_counts().empty());
  for (const std::string& name : list_dir(pins.version_dir()))
    CHECK(std::string_view(name).substr(0, kStagingMarker.size()) != kStagingMarker);
  // The id index names the live container's entry alone.
  CHECK(list_dir(pins.version_dir() + "/ids") == std::vector<std::string>{"alive"});
  CHECK(run_in_cgroup(live, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == EPERM);
  // A second run finds nothing more to do.
  const GcResult again = collect_garbage(pins, objs);
  CHECK(again.released.empty());
  CHECK(again.orphan_policies == 0);
}

TEST_CASE_METHOD(Fixture, "refresh never overwrites or drops metadata and cidr rules", "[bpf]") {
  // The host carries a metadata address and the container's own cidr (as in clouds and in
  // the e2e topology); later the host drops both.
  const std::string ctr = sandbox.make_cgroup("ctr");
  std::vector<Cidr> cidrs(1);
  cidrs[0].address.family = AF_INET;
  REQUIRE(inet_pton(AF_INET, "10.200.0.67", cidrs[0].address.bytes.data()) == 1);
  cidrs[0].prefixlen = 32;
  cidrs[0].origin = "annotation";
  const auto host_now = [](std::vector<const char*> addrs) {
    std::vector<HostAddress> out;
    for (const char* a : addrs) {
      HostAddress h{};
      h.family = AF_INET;
      REQUIRE(inet_pton(AF_INET, a, h.bytes.data()) == 1);
      h.interface = "vh";
      out.push_back(h);
    }
    return out;
  };
  const auto before = host_now({"169.254.169.254", "10.200.0.67", "10.200.0.1"});
  const auto id = enforce(pins, objs, request("c1", ctr, container_rules(before, cidrs))).cgroup_id;
  const auto kind_of = [&](const char* text) {
    for (const Rule& r : RuleMaps(objs.rules4.get(), objs.rules6.get()).list(id))
      if (format_rule(r).rfind(std::string(text) + " ", 0) == 0) return static_cast<int>(r.kind);
    return 0;
  };
  CHECK(kind_of("10.200.0.67/32") == OJH_RULE_CIDR);
  refresh_host_rules(pins, objs, current_netns_cookie(), host_address_rules(before));
  CHECK(kind_of("169.254.169.254/32") == OJH_RULE_METADATA);
  CHECK(kind_of("10.200.0.67/32") == OJH_RULE_CIDR);
  refresh_host_rules(pins, objs, current_netns_cookie(),
                     host_address_rules(host_now({"10.200.0.2"})));
  CHECK(kind_of("169.254.169.254/32") == OJH_RULE_METADATA);
  CHECK(kind_of("10.200.0.67/32") == OJH_RULE_CIDR);
  CHECK(kind_of("10.200.0.1/32") == 0);
  CHECK(kind_of("10.200.0.2/32") == OJH_RULE_HOST_ADDR);
}

TEST_CASE("the compat egress program (kernels before 6.15) still blocks host loopback", "[bpf]") {
  // Forced here: this kernel has bpf_get_netns_cookie in cgroup_skb, older ones do not.
  Sandbox sandbox{"bpftest"};
  const PinDir pins = PinDir::open(sandbox.pin_dir());
  const SharedObjects objs = SharedObjects::open_or_load(pins, EgressVariant::Compat);
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  REQUIRE(bpf_obj_get_info_by_fd(objs.programs[OJH_HOOK_EGRESS].get(), &info, &len) == 0);
  CHECK(std::string(info.name) == "ojh_egress_comp");  // the kernel keeps 15 characters

  const std::string ctr = sandbox.make_cgroup("ctr");
  Listener l4 = Listener::open("127.0.0.1");
  enforce(pins, objs, request("compat", ctr));
  CHECK(run_in_cgroup(ctr, false, [&] { return raw_udp_sendto("127.0.0.1", l4.port); }) == EPERM);
  CHECK_FALSE(l4.udp_received());
  // The documented cost: raw packets to a private netns' own loopback are dropped too,
  // while its TCP/UDP sockets (judged by connect/sendmsg) keep their loopback.
  CHECK(run_in_cgroup(ctr, true, [] {
          Listener own = Listener::open("127.0.0.1");
          if (tcp_connect("127.0.0.1", own.port) != 0) return 1;
          return raw_udp_sendto("127.0.0.1", own.port) == EPERM ? 0 : 2;
        }) == 0);
}

TEST_CASE_METHOD(Fixture, "re-applying and refreshing never unblock a rule that stays", "[bpf]") {
  // A process in the container sends UDP datagrams to every address that stays blocked,
  // as fast as it can, while the rules are re-applied (create-runtime run again) and
  // refreshed between two host address sets that share those addresses. A rule that is
  // deleted before it is written again shows as a datagram the program let through (the
  // private netns has no route, so an allowed datagram fails with ENETUNREACH instead).
  const std::string ctr = sandbox.make_cgroup("ctr");
  std::vector<Rule> host_a;
  std::vector<Rule> host_b;
  std::vector<std::string> stay;
  for (int i = 1; i <= 24; ++i) {
    const std::string addr = "10.200.9." + std::to_string(i);
    host_a.push_back(rule(addr.c_str(), 32, OJH_RULE_HOST_ADDR));
    host_b.push_back(host_a.back());
    stay.push_back(addr);
  }
  host_a.push_back(rule("10.200.10.1", 32, OJH_RULE_HOST_ADDR));
  host_b.push_back(rule("10.200.10.2", 32, OJH_RULE_HOST_ADDR));
  for (const Rule& m : metadata_rules()) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(m.family, m.bytes.data(), text, sizeof(text));
    if (m.family == AF_INET) stay.push_back(text);
  }
  auto rules = metadata_rules();
  rules.insert(rules.end(), host_a.begin(), host_a.end());
  enforce(pins, objs, request("c1", ctr, rules));

  int ready[2];
  int stop[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(stop) == 0);
  std::thread churn([&] {
    char byte = 0;
    if (::read(ready[0], &byte, 1) != 1) return;
    for (int i = 0; i < 200; ++i) {
      enforce(pins, objs, request("c1", ctr, rules));
      refresh_host_rules(pins, objs, current_netns_cookie(), i % 2 ? host_a : host_b);
    }
    ::close(stop[1]);
  });
  const int leaked = run_in_cgroup(ctr, true, [&] {
    ::close(stop[1]);  // the parent's close must be the last one
    Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    std::vector<sockaddr_in> dests;
    for (const std::string& a : stay) {
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_port = htons(9);
      inet_pton(AF_INET, a.c_str(), &sin.sin_addr);
      dests.push_back(sin);
    }
    if (::write(ready[1], "x", 1) != 1) return 250;
    int leaks = 0;
    pollfd done{stop[0], POLLIN, 0};
    while (::poll(&done, 1, 0) == 0) {
      for (const sockaddr_in& d : dests) {
        if (::sendto(s.get(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&d), sizeof(d)) == 0 ||
            errno != EPERM)
          leaks = std::min(leaks + 1, 200);
      }
    }
    return leaks;
  });
  ::close(stop[0]);
  churn.join();
  ::close(ready[0]);
  ::close(ready[1]);
  CHECK(leaked == 0);
}

namespace {

// A process that sleeps in a cgroup until it is killed: a container's init, as the state's
// pid names it.
class Sleeper {
 public:
  explicit Sleeper(const std::string& cgroup) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const std::string me = "0";
      Fd procs(::open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
      if (!procs || ::write(procs.get(), me.data(), me.size()) != 1) ::_exit(1);
      if (::write(ready[1], "x", 1) != 1) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
  }
  ~Sleeper() { stop(); }
  Sleeper(const Sleeper&) = delete;
  Sleeper& operator=(const Sleeper&) = delete;

  pid_t pid() const { return pid_; }
  // Killed, but not reaped: what a container's init is until its parent waits for it.
  void kill_only() {
    ::kill(pid_, SIGKILL);
    for (int i = 0; i < 200 && running_process(pid_); ++i) ::usleep(5'000);
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

 private:
  pid_t pid_ = 0;
};

EnforceRequest instance(EnforceRequest r, const std::string& bundle, const Sleeper& init) {
  r.bundle = bundle;
  r.init_pid = init.pid();
  return r;
}

std::vector<std::uint64_t> cgroups_of(const std::vector<EnforcedContainer>& listed,
                                      const std::string& id) {
  std::vector<std::uint64_t> out;
  for (const EnforcedContainer& c : listed)
    if (c.id == id) out.push_back(c.cgroup_id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE_METHOD(Fixture, "one id on two cgroups: each poststop releases only its own",
                 "[bpf][collision]") {
  Listener l4 = Listener::open("127.0.0.1");
  const std::string a = sandbox.make_cgroup("a");
  const std::string b = sandbox.make_cgroup("b");
  Sleeper init_a(a);
  std::optional<Sleeper> init_b;
  for (const bool same_bundle : {false, true}) {
    CAPTURE(same_bundle);
    init_b.emplace(b);
    const std::string bundle_b = same_bundle ? "/bundles/x" : "/bundles/x-b";
    const auto id_a =
        enforce(pins, objs, instance(request("x", a), "/bundles/x", init_a)).cgroup_id;
    const auto id_b = enforce(pins, objs, instance(request("x", b), bundle_b, *init_b)).cgroup_id;
    CHECK(cgroups_of(list_enforced(pins, objs), "x") ==
          std::vector<std::uint64_t>{std::min(id_a, id_b), std::max(id_a, id_b)});
    CHECK(attached(a) == objs.loaded_count());

    // Neither has stopped: a poststop for x (no pid, as runc and podman send it) keeps both.
    ReleaseResult r = release(pins, objs, {"x", bundle_b, 0});
    CHECK(r.released == 0);
    CHECK(r.kept == 2);

    // b stops (its init exited, not yet reaped): its poststop releases b, never a.
    init_b->kill_only();
    r = release(pins, objs, {"x", bundle_b, 0});
    CHECK(r.released == 1);
    CHECK(r.kept == 1);
    CHECK(cgroups_of(list_enforced(pins, objs), "x") == std::vector<std::uint64_t>{id_a});
    CHECK(attached(a) == objs.loaded_count());
    CHECK(attached(b) == 0);
    CHECK(run_in_cgroup(a, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == EPERM);
    CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).list(id_b).empty());
    CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).list(id_a).size() ==
          metadata_rules().size());

    // A state that names a's pid releases a, running or not.
    CHECK(release(pins, objs, {"x", "/bundles/x", init_a.pid()}).released == 1);
    CHECK(pinned("x") == 0);
    CHECK(attached(a) == 0);
    init_b.reset();
  }
}

TEST_CASE_METHOD(Fixture, "a bundle that differs is another container's", "[bpf][collision]") {
  const std::string a = sandbox.make_cgroup("a");
  Sleeper init(a);
  enforce(pins, objs, instance(request("x", a), "/bundles/a", init));
  init.stop();  // stopped, but the poststop names another bundle
  CHECK_FALSE(release(pins, objs, {"x", "/bundles/other", 0}));
  CHECK(pinned("x") == 1);
  CHECK(release(pins, objs, {"x", "/bundles/a", 0}).released == 1);
}

TEST_CASE_METHOD(Fixture, "a cgroup is enforced for one instance of one id", "[bpf][collision]") {
  const std::string a = sandbox.make_cgroup("a");
  Sleeper first(a);
  Sleeper second(a);
  CHECK_FALSE(enforce(pins, objs, instance(request("x", a), "/b", first)).already_enforced);
  // The same instance again (create-runtime run twice): rules re-applied in place.
  CHECK(enforce(pins, objs, instance(request("x", a), "/b", first)).already_enforced);
  // Another instance with this id while the first runs: refused, the first untouched.
  CHECK_THROWS_WITH(
      enforce(pins, objs, instance(request("x", a), "/b", second)),
      Catch::Matchers::ContainsSubstring("already enforced for another container with this id"));
  CHECK_THROWS_WITH(enforce(pins, objs, instance(request("y", a), "/b", second)),
                    Catch::Matchers::ContainsSubstring("already enforced for another container"));
  CHECK(pinned("x") == 1);
  CHECK(attached(a) == objs.loaded_count());
  // Once the first has exited, the cgroup is the second's: its records say so.
  first.stop();
  CHECK(enforce(pins, objs, instance(request("x", a), "/b2", second)).already_enforced);
  const auto listed = list_enforced(pins, objs);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].init.pid == second.pid());
  CHECK(listed[0].bundle == "/b2");
  CHECK_FALSE(release(pins, objs, {"x", "/b2", 0}));  // the second still runs
  CHECK(release(pins, objs, {"x", "/b2", second.pid()}).released == 1);
}

TEST_CASE_METHOD(Fixture, "entries of the previous layout are read, kept apart and released",
                 "[bpf][collision]") {
  // The previous version pinned containers/<id>/{links, cgroup-<id>/}: made here from an
  // entry of this version by renaming it and dropping its records.
  Listener l4 = Listener::open("127.0.0.1");
  const std::string old_cg = sandbox.make_cgroup("old");
  const std::string new_cg = sandbox.make_cgroup("new");
  Sleeper old_init(old_cg);
  const auto old_id = enforce(pins, objs, request("web.1", old_cg)).cgroup_id;
  const std::string legacy = pins.containers_dir() + "/" + pin_name("web.1");
  REQUIRE(::rename(pins.entry_dir(old_id).c_str(), legacy.c_str()) == 0);
  for (const char* record : {"id", "bundle", "init"}) ::unlink((legacy + "/" + record).c_str());

  auto listed = list_enforced(pins, objs);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].id == "web.1");
  CHECK(listed[0].cgroup_id == old_id);
  CHECK(listed[0].cgroup_alive);
  CHECK(listed[0].links.size() == objs.loaded_count());

  // A container with the same id on another cgroup leaves the old one enforced.
  Sleeper new_init(new_cg);
  const auto new_id =
      enforce(pins, objs, instance(request("web.1", new_cg), "/bundles/new", new_init)).cgroup_id;
  CHECK(cgroups_of(list_enforced(pins, objs), "web.1") ==
        std::vector<std::uint64_t>{std::min(old_id, new_id), std::max(old_id, new_id)});
  CHECK(run_in_cgroup(old_cg, false, [&] { return tcp_connect("127.0.0.1", l4.port); }) == EPERM);
  // Re-running create-runtime for the old container re-applies in its old entry.
  CHECK(enforce(pins, objs, request("web.1", old_cg)).already_enforced);

  // The new one stops: its poststop takes it, and the old one (whose cgroup lives) stays.
  new_init.stop();
  ReleaseResult r = release(pins, objs, {"web.1", "/bundles/new", 0});
  CHECK(r.released == 1);
  CHECK(r.kept == 1);
  CHECK(attached(old_cg) == objs.loaded_count());

  // The old one stops and its cgroup is removed, as runtimes do before poststop.
  old_init.stop();
  REQUIRE(::rmdir(old_cg.c_str()) == 0);
  r = release(pins, objs, {"web.1", "/bundles/old", 0});
  CHECK(r.released == 1);
  CHECK(list_enforced(pins, objs).empty());
  CHECK(RuleMaps(objs.rules4.get(), objs.rules6.get()).entry_counts().empty());
}
