// SPDX-License-Identifier: Apache-2.0
#include "bench/nft_baseline.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "hook/fd.hpp"
#include "hook/file.hpp"
#include "hook/host_network.hpp"
#include "hook/rules.hpp"
#include "oci/error.hpp"
#include "oci/policy.hpp"
#include "oci/state.hpp"

namespace ojh::bench {
namespace {

std::string elements(const std::vector<Rule>& rules, int family) {
  std::string out;
  for (const Rule& r : rules) {
    if (r.family != family) continue;
    AddressBytes a{};
    a.family = r.family;
    a.bytes = r.bytes;
    out += (out.empty() ? "" : ", ") + format_address(a) + "/" + std::to_string(r.prefixlen);
  }
  return out;
}

// libnftables' C API (nftables/libnftables.h), the three calls this needs.
struct Nftables {
  void* (*ctx_new)(std::uint32_t flags);
  int (*run_cmd_from_buffer)(void* ctx, const char* buf);
  void (*ctx_free)(void* ctx);
};

const Nftables& nftables() {
  static const Nftables api = [] {
    void* lib = ::dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) throw Error(std::string("nftables baseline: ") + ::dlerror());
    Nftables n{};
    n.ctx_new = reinterpret_cast<decltype(n.ctx_new)>(::dlsym(lib, "nft_ctx_new"));
    n.run_cmd_from_buffer =
        reinterpret_cast<decltype(n.run_cmd_from_buffer)>(::dlsym(lib, "nft_run_cmd_from_buffer"));
    n.ctx_free = reinterpret_cast<decltype(n.ctx_free)>(::dlsym(lib, "nft_ctx_free"));
    if (!n.ctx_new || !n.run_cmd_from_buffer || !n.ctx_free)
      throw Error("nftables baseline: libnftables.so.1 lacks nft_ctx_new and friends");
    return n;
  }();
  return api;
}

}  // namespace

std::string nft_ruleset(const std::vector<Rule>& rules) {
  std::string out = "table inet ojh_baseline {\n";
  const std::string v4 = elements(rules, AF_INET);
  const std::string v6 = elements(rules, AF_INET6);
  out += "  set host4 { type ipv4_addr; flags interval; auto-merge;" +
         (v4.empty() ? std::string() : " elements = { " + v4 + " };") + " }\n";
  out += "  set host6 { type ipv6_addr; flags interval; auto-merge;" +
         (v6.empty() ? std::string() : " elements = { " + v6 + " };") + " }\n";
  // drop, not reject: a packet dropped in output fails the send with EPERM, as the hook's
  // refusal does.
  out +=
      "  chain out { type filter hook output priority 0; policy accept;\n"
      "    ip daddr @host4 drop\n"
      "    ip6 daddr @host6 drop\n"
      "  }\n"
      "}\n";
  return out;
}

void apply_nft_ruleset(const std::string& ruleset) {
  const Nftables& nft = nftables();
  void* ctx = nft.ctx_new(0);
  if (!ctx) throw Error("nftables baseline: nft_ctx_new failed");
  const int rc = nft.run_cmd_from_buffer(ctx, ruleset.c_str());
  nft.ctx_free(ctx);
  if (rc != 0) throw Error("nftables baseline: the ruleset was refused");
}

int run_nft_hook() {
  const State state = parse_state(read_state_text(STDIN_FILENO));
  const std::string ruleset = nft_ruleset(container_rules(host_addresses()));
  Fd netns(
      ::open(("/proc/" + std::to_string(state.pid) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns) throw Error("open the container's netns", errno);
  if (::setns(netns.get(), CLONE_NEWNET) != 0) throw Error("enter the container's netns", errno);
  apply_nft_ruleset(ruleset);
  return 0;
}

}  // namespace ojh::bench
