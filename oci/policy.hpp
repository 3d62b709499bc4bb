// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "oci/annotations.hpp"

namespace ojh {

// The per-container policy a pod author may write next to jail.block-host="true". All of it
// is untrusted: every value is checked strictly (no whitespace, no empty entries, no
// duplicates, bounded counts) and every mistake is an ojh::Error, because a policy that is
// silently read differently from what its author meant is a container run unprotected.
//
//   jail.block-host.allow  exceptions PROTO:ADDR:PORT[,...] that lift a denial
//                          PROTO tcp|udp; ADDR a.b.c.d, [IPv6] or * (any blocked host
//                          address); PORT 1-65535. e.g. tcp:127.0.0.1:11434,udp:*:53
//   jail.block-host.cidrs  extra blocked destinations: a.b.c.d/n, x::/n, a bare address, or
//                          "private" (RFC 1918, CGNAT, link-local, ULA)
//   jail.block-host.mode   "enforce" (default) or "audit" (count, do not deny)
//   jail.block-host.dns    "true" (default: the container's nameservers stay reachable on
//                          port 53 even when they are host addresses) or "false"
//   jail.block-host.unix   "host-abstract" (default: abstract AF_UNIX names are refused to a
//                          container in the host's netns) or "deny-all" (every connect() and
//                          sendmsg() to a named AF_UNIX address, path or abstract, is
//                          refused, in any netns). Only ever strengthens the default.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are stored as IPv4, as the BPF programs judge
// them as IPv4 (bpf/block_host_abi.h); a mapped CIDR of prefix >= 96 becomes the IPv4 CIDR.

// family AF_INET uses bytes[0..3], AF_INET6 all 16, both in network order; the rest is zero.
struct AddressBytes {
  int family = AF_UNSPEC;
  std::array<std::uint8_t, 16> bytes{};

  bool operator==(const AddressBytes&) const = default;
};

struct Exception {
  int protocol = 0;  // IPPROTO_TCP or IPPROTO_UDP
  bool any_host_address = false;
  AddressBytes address;    // family AF_UNSPEC, all zero when any_host_address
  std::uint16_t port = 0;  // host byte order

  bool operator==(const Exception&) const = default;
};

struct Cidr {
  AddressBytes address;  // the network address: no bit beyond prefixlen is set
  unsigned prefixlen = 0;
  std::string origin;  // "annotation", or "private" when it came from that keyword

  bool operator==(const Cidr&) const = default;
};

enum class PolicyMode { Enforce, Audit };
enum class UnixPolicy { HostAbstract, DenyAll };

struct ContainerPolicy {
  bool enforce = false;  // jail.block-host="true"
  PolicyMode mode = PolicyMode::Enforce;
  bool allow_dns = true;
  UnixPolicy unix_sockets = UnixPolicy::HostAbstract;
  std::vector<Exception> exceptions;
  std::vector<Cidr> cidrs;
};

inline constexpr std::size_t kMaxExceptions = 64;
inline constexpr std::size_t kMaxAddresses = 64;  // per value of an address list
inline constexpr std::size_t kMaxCidrs = 256;     // counted after "private" is expanded
inline constexpr std::size_t kMaxNameservers = 8;

// block_host_mode (unknown keys, the switch, sub-keys without the switch), then every
// sub-key. enforce is false, and everything else the default, when jail.block-host is absent
// or "false". Throws ojh::Error "annotation <key>...: <what is wrong and what is expected>".
ContainerPolicy parse_container_policy(const Annotations& annotations);

// The value syntax of jail.block-host.allow / .cidrs, for the annotation and for the admin's
// config. Errors do not name a source ("entry \"x\": ..."): the caller prefixes its own.
std::vector<Exception> parse_exceptions(std::string_view value);
std::vector<Cidr> parse_cidrs(std::string_view value);
// Comma-separated IPv4 / IPv6 addresses (no brackets, prefix or zone id), at most
// kMaxAddresses, no duplicates; ::ffff:a.b.c.d becomes a.b.c.d. Errors as above.
std::vector<AddressBytes> parse_addresses(std::string_view value);

// "127.0.0.1", "::1"; "?" for a family other than AF_INET / AF_INET6.
std::string format_address(const AddressBytes& address);
// "tcp:127.0.0.1:11434", "udp:*:53", "tcp:[::1]:8080": what parse_exceptions reads back.
std::string format_exception(const Exception& exception);
// "10.0.0.0/8", "fc00::/7".
std::string format_cidr(const Cidr& cidr);

// The nameservers of a resolv.conf text, read like glibc and musl do: a line starting with
// "nameserver" followed by a blank, the address up to the next blank (the rest, such as a
// "# comment", is ignored), an IPv6 zone ("%eth0") dropped. Lines that are not such a line, or
// whose address is not a strict IPv4 / IPv6 address, are ignored; duplicates are dropped; at most
// kMaxNameservers.
std::vector<AddressBytes> parse_resolv_conf_nameservers(std::string_view text);

}  // namespace ojh
