// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "oci/error.hpp"
#include "oci/policy.hpp"
#include "tests/support/catch.hpp"

namespace Catch {
template <>
struct StringMaker<ojh::AddressBytes> {
  static std::string convert(const ojh::AddressBytes& a) {
    return std::to_string(a.family) + "/" + ojh::format_address(a);
  }
};
template <>
struct StringMaker<ojh::Exception> {
  static std::string convert(const ojh::Exception& e) { return ojh::format_exception(e); }
};
template <>
struct StringMaker<ojh::Cidr> {
  static std::string convert(const ojh::Cidr& c) {
    return ojh::format_cidr(c) + " (" + c.origin + ")";
  }
};
}  // namespace Catch

namespace {

using ojh::AddressBytes;
using ojh::Cidr;
using ojh::Exception;

// Built with inet_pton directly, so that expectations do not depend on the parser under test.
AddressBytes ip(const char* text) {
  AddressBytes a;
  a.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(a.family, text, a.bytes.data()) == 1);
  return a;
}

Exception exception(int protocol, const char* address, std::uint16_t port) {
  Exception e;
  e.protocol = protocol;
  e.any_host_address = std::strcmp(address, "*") == 0;
  if (!e.any_host_address) e.address = ip(address);
  e.port = port;
  return e;
}

Cidr cidr(const char* address, unsigned prefixlen, const char* origin = "annotation") {
  return Cidr{ip(address), prefixlen, origin};
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ojh::Error& e) {
    CHECK(e.code() == 0);
    return e.what();
  }
  FAIL("no ojh::Error thrown");
  return {};
}

std::string policy_error(const ojh::Annotations& annotations) {
  return error_of([&] { ojh::parse_container_policy(annotations); });
}

ojh::ContainerPolicy policy_with(const std::string& key, const std::string& value) {
  return ojh::parse_container_policy({{"jail.block-host", "true"}, {key, value}});
}

// The error line must be one line of printable ASCII, whatever bytes the input held.
bool is_one_printable_line(const std::string& message) {
  return std::all_of(message.begin(), message.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// `parse` refuses `value` with `message`, and the annotation `key` in a policy with the same
// message, prefixed with its name, on one printable line.
template <typename Parse>
void check_refused(Parse parse, const std::string& key, const std::string& value,
                   const std::string& message) {
  CAPTURE(value);
  CHECK(error_of([&] { parse(value); }) == message);
  const std::string policy_message = policy_error({{"jail.block-host", "true"}, {key, value}});
  CHECK(policy_message == "annotation " + key + ": " + message);
  CHECK(is_one_printable_line(policy_message));
}

// entry(i) for i in [0, count), joined by commas.
template <typename Entry>
std::string comma_list(std::size_t count, Entry entry) {
  std::string value;
  for (std::size_t i = 0; i < count; ++i) value += (i ? "," : "") + entry(i);
  return value;
}

// "tcp:10.0.<i/250>.<i%250+1>:<i+1>" for i in [0, count): distinct, valid entries.
std::string exception_list(std::size_t count) {
  return comma_list(count, [](std::size_t i) {
    return "tcp:10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":" +
           std::to_string(i + 1);
  });
}

// "1.2.<i/250>.<i%250>" for i in [0, count): distinct host addresses outside "private".
std::string cidr_list(std::size_t count) {
  return comma_list(count, [](std::size_t i) {
    return "1.2." + std::to_string(i / 250) + "." + std::to_string(i % 250);
  });
}

// A string literal with its embedded NULs.
template <std::size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

struct BadCase {
  std::string value;
  std::string message;  // without the "annotation <key>: " prefix
};

// What a policy holds when no sub-key is set.
void check_default_settings(const ojh::ContainerPolicy& policy) {
  CHECK(policy.mode == ojh::PolicyMode::Enforce);
  CHECK(policy.allow_dns);
  CHECK(policy.exceptions.empty());
  CHECK(policy.cidrs.empty());
}

}  // namespace

TEST_CASE("jail.block-host.allow: valid exceptions", "[policy]") {
  struct Case {
    std::string value;
    std::vector<Exception> expected;
  };
  const std::vector<Case> cases = {
      {"tcp:127.0.0.1:11434,udp:*:53,tcp:[::1]:8080",
       {exception(IPPROTO_TCP, "127.0.0.1", 11434), exception(IPPROTO_UDP, "*", 53),
        exception(IPPROTO_TCP, "::1", 8080)}},
      {"udp:0.0.0.0:1", {exception(IPPROTO_UDP, "0.0.0.0", 1)}},
      {"tcp:255.255.255.255:65535", {exception(IPPROTO_TCP, "255.255.255.255", 65535)}},
      {"tcp:[FD00::ABCD]:443", {exception(IPPROTO_TCP, "fd00::abcd", 443)}},
      {"tcp:[::]:1", {exception(IPPROTO_TCP, "::", 1)}},
      {"tcp:[fe80::1]:22", {exception(IPPROTO_TCP, "fe80::1", 22)}},
      // IPv4-mapped IPv6 becomes IPv4: the BPF programs judge mapped destinations as IPv4.
      {"tcp:[::ffff:127.0.0.1]:80", {exception(IPPROTO_TCP, "127.0.0.1", 80)}},
      {"udp:[::ffff:a00:1]:53", {exception(IPPROTO_UDP, "10.0.0.1", 53)}},
      // Only ::ffff:0:0/96 is mapped: IPv4-compatible and look-alike addresses stay IPv6.
      {"tcp:[::127.0.0.1]:80", {exception(IPPROTO_TCP, "::127.0.0.1", 80)}},
      {"tcp:[::ff00:7f00:1]:80", {exception(IPPROTO_TCP, "::ff00:7f00:1", 80)}},
      {"tcp:[::1:ffff:7f00:1]:80", {exception(IPPROTO_TCP, "::1:ffff:7f00:1", 80)}},
      // Same address, other protocol or port: distinct exceptions.
      {"tcp:*:80,udp:*:80,tcp:*:81",
       {exception(IPPROTO_TCP, "*", 80), exception(IPPROTO_UDP, "*", 80),
        exception(IPPROTO_TCP, "*", 81)}},
      // "*" and a specific address for the same port are not duplicates.
      {"udp:*:53,udp:10.88.0.1:53",
       {exception(IPPROTO_UDP, "*", 53), exception(IPPROTO_UDP, "10.88.0.1", 53)}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    const auto parsed = ojh::parse_exceptions(c.value);
    CHECK(parsed == c.expected);
    CHECK(policy_with("jail.block-host.allow", c.value).exceptions == c.expected);
    for (const auto& e : parsed) {
      CHECK(ojh::parse_exceptions(ojh::format_exception(e)) == std::vector<Exception>{e});
    }
  }
  const auto any = ojh::parse_exceptions("udp:*:53").at(0);
  CHECK(any.any_host_address);
  CHECK(any.address == AddressBytes{});
  CHECK(any.address.family == AF_UNSPEC);
  const auto v4 = ojh::parse_exceptions("tcp:[::ffff:127.0.0.1]:80").at(0);
  CHECK_FALSE(v4.any_host_address);
  CHECK(v4.address.family == AF_INET);
  CHECK(v4.address.bytes == std::array<std::uint8_t, 16>{127, 0, 0, 1});
}

TEST_CASE("format_exception", "[policy]") {
  CHECK(ojh::format_exception(exception(IPPROTO_TCP, "127.0.0.1", 11434)) == "tcp:127.0.0.1:11434");
  CHECK(ojh::format_exception(exception(IPPROTO_UDP, "*", 53)) == "udp:*:53");
  CHECK(ojh::format_exception(exception(IPPROTO_TCP, "::1", 8080)) == "tcp:[::1]:8080");
  CHECK(ojh::format_exception(exception(IPPROTO_UDP, "fd00:0:0:0:0:0:0:1", 1)) ==
        "udp:[fd00::1]:1");
}

TEST_CASE("jail.block-host.allow: invalid exceptions", "[policy]") {
  const std::string kPort = ": port must be 1-65535";
  const std::string kAddress = ": address must be an IPv4 address, a bracketed IPv6 address or *";
  const std::string kSyntax = ": expected PROTO:ADDR:PORT";
  const std::vector<BadCase> cases = {
      {"", "value is empty: expected a comma-separated list of PROTO:ADDR:PORT"},
      {",", "entry 1 is empty: expected PROTO:ADDR:PORT"},
      {",tcp:127.0.0.1:80", "entry 1 is empty: expected PROTO:ADDR:PORT"},
      {"tcp:127.0.0.1:80,,udp:*:53", "entry 2 is empty: expected PROTO:ADDR:PORT"},
      {"tcp:127.0.0.1:80,", "entry 2 is empty: expected PROTO:ADDR:PORT"},
      // Ports.
      {"tcp:127.0.0.1:0", R"(entry "tcp:127.0.0.1:0")" + kPort},
      {"tcp:127.0.0.1:65536", R"(entry "tcp:127.0.0.1:65536")" + kPort},
      {"tcp:127.0.0.1:99999", R"(entry "tcp:127.0.0.1:99999")" + kPort},
      {"tcp:127.0.0.1:4294967377", R"(entry "tcp:127.0.0.1:4294967377")" + kPort},
      {"tcp:127.0.0.1:", R"(entry "tcp:127.0.0.1:")" + kPort},
      {"tcp:127.0.0.1:+80", R"(entry "tcp:127.0.0.1:+80")" + kPort},
      {"tcp:127.0.0.1:-1", R"(entry "tcp:127.0.0.1:-1")" + kPort},
      {"tcp:127.0.0.1:8a", R"(entry "tcp:127.0.0.1:8a")" + kPort},
      {"tcp:127.0.0.1:0x50", R"(entry "tcp:127.0.0.1:0x50")" + kPort},
      {"tcp:127.0.0.1:*", R"(entry "tcp:127.0.0.1:*")" + kPort},
      {"tcp:127.0.0.1:80-90", R"(entry "tcp:127.0.0.1:80-90")" + kPort},
      {"tcp:[::1]:", R"(entry "tcp:[::1]:")" + kPort},
      {"tcp:127.0.0.1:080", R"(entry "tcp:127.0.0.1:080": port must not have leading zeros)"},
      {"tcp:127.0.0.1:00", R"(entry "tcp:127.0.0.1:00": port must not have leading zeros)"},
      // Protocols.
      {"sctp:127.0.0.1:80", R"(entry "sctp:127.0.0.1:80": protocol must be tcp or udp)"},
      {"TCP:127.0.0.1:80", R"(entry "TCP:127.0.0.1:80": protocol must be tcp or udp)"},
      {":127.0.0.1:80", R"(entry ":127.0.0.1:80": protocol must be tcp or udp)"},
      {"*:127.0.0.1:80", R"(entry "*:127.0.0.1:80": protocol must be tcp or udp)"},
      // Shape.
      {"tcp", R"(entry "tcp")" + kSyntax},
      {"tcp:80", R"(entry "tcp:80")" + kSyntax},
      {"tcp:[::1]", R"(entry "tcp:[::1]")" + kSyntax},
      {"tcp:[::1]80", R"(entry "tcp:[::1]80")" + kSyntax},
      {"tcp:[::1]]:80", R"(entry "tcp:[::1]]:80")" + kSyntax},
      {"tcp:[::1:80", R"(entry "tcp:[::1:80": missing ']' after the IPv6 address)"},
      // Addresses.
      {"tcp:::1:8080",
       R"(entry "tcp:::1:8080": IPv6 addresses must be in brackets, e.g. tcp:[::1]:8080)"},
      {"tcp:fd00::1:80",
       R"(entry "tcp:fd00::1:80": IPv6 addresses must be in brackets, e.g. tcp:[::1]:8080)"},
      {"tcp:[fe80::1%eth0]:80",
       R"(entry "tcp:[fe80::1%eth0]:80": IPv6 zone ids (%...) are not supported)"},
      {"tcp:[::g]:80", R"(entry "tcp:[::g]:80": invalid IPv6 address)"},
      {"tcp:[]:80", R"(entry "tcp:[]:80": invalid IPv6 address)"},
      {"tcp:[127.0.0.1]:80", R"(entry "tcp:[127.0.0.1]:80": invalid IPv6 address)"},
      {"tcp:[*]:80", R"(entry "tcp:[*]:80": invalid IPv6 address)"},
      {"tcp:[1:2:3:4:5:6:7:8:9]:80", R"(entry "tcp:[1:2:3:4:5:6:7:8:9]:80": invalid IPv6 address)"},
      {"tcp:127.0.0.256:80", R"(entry "tcp:127.0.0.256:80": invalid IPv4 address)"},
      {"tcp:127.1:80", R"(entry "tcp:127.1:80": invalid IPv4 address)"},
      {"tcp:0127.0.0.1:80", R"(entry "tcp:0127.0.0.1:80": invalid IPv4 address)"},
      {"tcp:1.2.3.4.5:80", R"(entry "tcp:1.2.3.4.5:80": invalid IPv4 address)"},
      {"tcp:localhost:80", R"(entry "tcp:localhost:80")" + kAddress},
      {"tcp:0x7f000001:80", R"(entry "tcp:0x7f000001:80")" + kAddress},
      {"tcp::80", R"(entry "tcp::80")" + kAddress},
      {"tcp:**:80", R"(entry "tcp:**:80")" + kAddress},
      {"tcp:127.0.0.1/8:80", R"(entry "tcp:127.0.0.1/8:80")" + kAddress},
      // Whitespace, anywhere.
      {" tcp:127.0.0.1:80", R"(entry " tcp:127.0.0.1:80": whitespace is not allowed)"},
      {"tcp:127.0.0.1:80 ", R"(entry "tcp:127.0.0.1:80 ": whitespace is not allowed)"},
      {"tcp:127.0.0.1:80, udp:*:53", R"(entry " udp:*:53": whitespace is not allowed)"},
      {"tcp:127.0.0.1:80\n", R"(entry "tcp:127.0.0.1:80\x0a": whitespace is not allowed)"},
      {"tcp:127.0.0.1:80\tx", R"(entry "tcp:127.0.0.1:80\x09x": whitespace is not allowed)"},
      // Duplicates, also when spelled differently.
      {"tcp:127.0.0.1:80,tcp:127.0.0.1:80",
       R"(entry "tcp:127.0.0.1:80": tcp:127.0.0.1:80 duplicates entry "tcp:127.0.0.1:80")"},
      {"tcp:127.0.0.1:80,tcp:[::ffff:127.0.0.1]:80",
       R"(entry "tcp:[::ffff:127.0.0.1]:80": tcp:127.0.0.1:80 duplicates entry )"
       R"("tcp:127.0.0.1:80")"},
      {"tcp:[::1]:80,udp:*:53,tcp:[0:0::1]:80",
       R"(entry "tcp:[0:0::1]:80": tcp:[::1]:80 duplicates entry "tcp:[::1]:80")"},
      {"udp:*:53,udp:*:53", R"(entry "udp:*:53": udp:*:53 duplicates entry "udp:*:53")"},
      // The first bad entry is reported.
      {"udp:*:0,tcp:x:1", R"(entry "udp:*:0")" + kPort},
  };
  const auto parse = [](const std::string& value) { ojh::parse_exceptions(value); };
  for (const auto& c : cases) check_refused(parse, "jail.block-host.allow", c.value, c.message);
}

TEST_CASE("jail.block-host.allow: at most 64 exceptions", "[policy]") {
  REQUIRE(ojh::kMaxExceptions == 64);
  const auto max = ojh::parse_exceptions(exception_list(64));
  REQUIRE(max.size() == 64);
  CHECK(max.front() == exception(IPPROTO_TCP, "10.0.0.1", 1));
  CHECK(max.back() == exception(IPPROTO_TCP, "10.0.0.64", 64));
  CHECK(policy_with("jail.block-host.allow", exception_list(64)).exceptions == max);

  CHECK(error_of([] { ojh::parse_exceptions(exception_list(65)); }) == "more than 64 entries");
  CHECK(
      policy_error({{"jail.block-host", "true"}, {"jail.block-host.allow", exception_list(65)}}) ==
      "annotation jail.block-host.allow: more than 64 entries");
  // The count is checked before the 65th entry is even read.
  CHECK(error_of([] { ojh::parse_exceptions(exception_list(64) + ",garbage"); }) ==
        "more than 64 entries");
}

TEST_CASE("jail.block-host.cidrs: valid destinations", "[policy]") {
  struct Case {
    std::string value;
    std::vector<Cidr> expected;
  };
  const std::vector<Case> cases = {
      {"10.0.0.0/8", {cidr("10.0.0.0", 8)}},
      {"192.168.1.1", {cidr("192.168.1.1", 32)}},
      {"192.168.1.1/32", {cidr("192.168.1.1", 32)}},
      {"0.0.0.0/0", {cidr("0.0.0.0", 0)}},
      {"fd00::1", {cidr("fd00::1", 128)}},
      {"fd00::/8,2001:DB8::/32", {cidr("fd00::", 8), cidr("2001:db8::", 32)}},
      {"::/0,0.0.0.0/0", {cidr("::", 0), cidr("0.0.0.0", 0)}},
      // Nested ranges are not duplicates; the longest prefix decides in the trie.
      {"10.0.0.0/8,10.0.0.0/9", {cidr("10.0.0.0", 8), cidr("10.0.0.0", 9)}},
      // IPv4-mapped with a prefix of at least 96 becomes the IPv4 CIDR.
      {"::ffff:10.0.0.0/104", {cidr("10.0.0.0", 8)}},
      {"::ffff:10.1.2.3", {cidr("10.1.2.3", 32)}},
      {"::ffff:0:0/96", {cidr("0.0.0.0", 0)}},
      {"::/80", {cidr("::", 80)}},
      {"private,1.2.3.4",
       {cidr("10.0.0.0", 8, "private"), cidr("172.16.0.0", 12, "private"),
        cidr("192.168.0.0", 16, "private"), cidr("100.64.0.0", 10, "private"),
        cidr("169.254.0.0", 16, "private"), cidr("fc00::", 7, "private"),
        cidr("fe80::", 10, "private"), cidr("1.2.3.4", 32)}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    const auto parsed = ojh::parse_cidrs(c.value);
    CHECK(parsed == c.expected);
    CHECK(policy_with("jail.block-host.cidrs", c.value).cidrs == c.expected);
  }
}

TEST_CASE("jail.block-host.cidrs: private expands to the non-public ranges", "[policy]") {
  const auto cidrs = ojh::parse_cidrs("private");
  std::vector<std::string> formatted;
  for (const auto& c : cidrs) {
    CHECK(c.origin == "private");
    formatted.push_back(ojh::format_cidr(c));
  }
  CHECK(formatted == std::vector<std::string>{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                              "100.64.0.0/10", "169.254.0.0/16", "fc00::/7",
                                              "fe80::/10"});
  CHECK(ojh::parse_cidrs("8.8.8.8/32").at(0).origin == "annotation");
}

TEST_CASE("format_cidr and format_address", "[policy]") {
  CHECK(ojh::format_cidr(cidr("10.0.0.0", 8)) == "10.0.0.0/8");
  CHECK(ojh::format_cidr(cidr("fc00::", 7)) == "fc00::/7");
  CHECK(ojh::format_cidr(cidr("0.0.0.0", 0)) == "0.0.0.0/0");
  CHECK(ojh::format_address(ip("127.0.0.1")) == "127.0.0.1");
  CHECK(ojh::format_address(ip("0:0:0:0:0:0:0:1")) == "::1");
  CHECK(ojh::format_address(AddressBytes{}) == "?");
  CHECK(ojh::format_address(AddressBytes{AF_UNIX, {}}) == "?");
}

TEST_CASE("jail.block-host.cidrs: invalid destinations", "[policy]") {
  const std::string kShape = R"(: expected a.b.c.d/n, x::/n, an address or "private")";
  const std::vector<BadCase> cases = {
      {"", R"(value is empty: expected a comma-separated list of a.b.c.d/n, x::/n, an address )"
           R"(or "private")"},
      {"10.0.0.0/8,", R"(entry 2 is empty: expected a.b.c.d/n, x::/n, an address or "private")"},
      {",,", R"(entry 1 is empty: expected a.b.c.d/n, x::/n, an address or "private")"},
      // Host bits.
      {"10.1.2.3/8", R"(entry "10.1.2.3/8": host bits are set; did you mean 10.0.0.0/8?)"},
      {"10.0.0.0/0", R"(entry "10.0.0.0/0": host bits are set; did you mean 0.0.0.0/0?)"},
      {"172.17.0.1/12", R"(entry "172.17.0.1/12": host bits are set; did you mean 172.16.0.0/12?)"},
      {"fd00::1/8", R"(entry "fd00::1/8": host bits are set; did you mean fd00::/8?)"},
      {"::ffff:10.1.0.0/104",
       R"(entry "::ffff:10.1.0.0/104": host bits are set; did you mean ::ffff:10.0.0.0/104?)"},
      {"::ffff:0:0/95", R"(entry "::ffff:0:0/95": host bits are set; did you mean ::fffe:0:0/95?)"},
      // Prefix lengths.
      {"10.0.0.0/33", R"(entry "10.0.0.0/33": IPv4 prefix length must be 0-32)"},
      {"10.0.0.0/", R"(entry "10.0.0.0/": IPv4 prefix length must be 0-32)"},
      {"10.0.0.0/-1", R"(entry "10.0.0.0/-1": IPv4 prefix length must be 0-32)"},
      {"10.0.0.0/+8", R"(entry "10.0.0.0/+8": IPv4 prefix length must be 0-32)"},
      {"10.0.0.0/8/8", R"(entry "10.0.0.0/8/8": IPv4 prefix length must be 0-32)"},
      {"10.0.0.0/4294967304", R"(entry "10.0.0.0/4294967304": IPv4 prefix length must be 0-32)"},
      {"10.0.0.0/255.0.0.0", R"(entry "10.0.0.0/255.0.0.0": IPv4 prefix length must be 0-32)"},
      {"fd00::/129", R"(entry "fd00::/129": IPv6 prefix length must be 0-128)"},
      {"fd00::/x", R"(entry "fd00::/x": IPv6 prefix length must be 0-128)"},
      {"10.0.0.0/08", R"(entry "10.0.0.0/08": prefix length must not have leading zeros)"},
      {"::/00", R"(entry "::/00": prefix length must not have leading zeros)"},
      // Addresses.
      {"[fd00::]/8", R"(entry "[fd00::]/8": IPv6 CIDRs are written without brackets, )"
                     R"(e.g. fd00::/8)"},
      {"fe80::1%eth0", R"(entry "fe80::1%eth0": IPv6 zone ids (%...) are not supported)"},
      {"fe80::%eth0/10", R"(entry "fe80::%eth0/10": IPv6 zone ids (%...) are not supported)"},
      {"10.0.0/8", R"(entry "10.0.0/8": invalid IPv4 address)"},
      {"256.0.0.0/8", R"(entry "256.0.0.0/8": invalid IPv4 address)"},
      {"010.0.0.0/8", R"(entry "010.0.0.0/8": invalid IPv4 address)"},
      {"fd00:::/8", R"(entry "fd00:::/8": invalid IPv6 address)"},
      {"fd00::g/8", R"(entry "fd00::g/8": invalid IPv6 address)"},
      {"localhost", R"(entry "localhost")" + kShape},
      {"PRIVATE", R"(entry "PRIVATE")" + kShape},
      {"private/8", R"(entry "private/8")" + kShape},
      {"*", R"(entry "*")" + kShape},
      {"/8", R"(entry "/8")" + kShape},
      // Whitespace.
      {"10.0.0.0/8, private", R"(entry " private": whitespace is not allowed)"},
      {"10.0.0.0/8\r", R"(entry "10.0.0.0/8\x0d": whitespace is not allowed)"},
      // Duplicates, also across "private" and across spellings.
      {"1.2.3.4,1.2.3.4/32", R"(entry "1.2.3.4/32": 1.2.3.4/32 duplicates entry "1.2.3.4")"},
      {"10.0.0.0/8,private", R"(entry "private": 10.0.0.0/8 duplicates entry "10.0.0.0/8")"},
      {"private,fe80::/10", R"(entry "fe80::/10": fe80::/10 duplicates entry "private")"},
      {"private,private", R"(entry "private": 10.0.0.0/8 duplicates entry "private")"},
      {"10.0.0.0/8,::ffff:10.0.0.0/104",
       R"(entry "::ffff:10.0.0.0/104": 10.0.0.0/8 duplicates entry "10.0.0.0/8")"},
      {"fd00::/8,FD00:0::/8", R"(entry "FD00:0::/8": fd00::/8 duplicates entry "fd00::/8")"},
  };
  const auto parse = [](const std::string& value) { ojh::parse_cidrs(value); };
  for (const auto& c : cases) check_refused(parse, "jail.block-host.cidrs", c.value, c.message);
}

TEST_CASE("jail.block-host.cidrs: at most 256 destinations after expansion", "[policy]") {
  REQUIRE(ojh::kMaxCidrs == 256);
  const std::string kTooMany = R"(more than 256 entries ("private" counts as 7))";
  const auto max = ojh::parse_cidrs(cidr_list(256));
  REQUIRE(max.size() == 256);
  CHECK(max.back() == cidr("1.2.1.5", 32));
  CHECK(policy_with("jail.block-host.cidrs", cidr_list(256)).cidrs == max);
  CHECK(error_of([] { ojh::parse_cidrs(cidr_list(257)); }) == kTooMany);
  CHECK(policy_error({{"jail.block-host", "true"}, {"jail.block-host.cidrs", cidr_list(257)}}) ==
        "annotation jail.block-host.cidrs: " + kTooMany);

  CHECK(ojh::parse_cidrs(cidr_list(249) + ",private").size() == 256);
  CHECK(ojh::parse_cidrs("private," + cidr_list(249)).size() == 256);
  CHECK(error_of([] { ojh::parse_cidrs(cidr_list(250) + ",private"); }) == kTooMany);
  CHECK(error_of([] { ojh::parse_cidrs("private," + cidr_list(250)); }) == kTooMany);
}

TEST_CASE("jail.block-host.unix", "[policy]") {
  CHECK(ojh::parse_container_policy({{"jail.block-host", "true"}}).unix_sockets ==
        ojh::UnixPolicy::HostAbstract);
  CHECK(policy_with("jail.block-host.unix", "host-abstract").unix_sockets ==
        ojh::UnixPolicy::HostAbstract);
  CHECK(policy_with("jail.block-host.unix", "deny-all").unix_sockets == ojh::UnixPolicy::DenyAll);
  for (const std::string value : {"deny", "Deny-All", "deny-all ", "", "true", "none"}) {
    CAPTURE(value);
    CHECK(policy_error({{"jail.block-host", "true"}, {"jail.block-host.unix", value}}) ==
          "annotation jail.block-host.unix=\"" + value +
              R"(" is invalid: expected "host-abstract" or "deny-all")");
  }
  CHECK(policy_error({{"jail.block-host.unix", "deny-all"}}) ==
        R"(annotation jail.block-host.unix is set but jail.block-host is not "true")");
}

TEST_CASE("jail.block-host.mode and jail.block-host.dns", "[policy]") {
  CHECK(policy_with("jail.block-host.mode", "enforce").mode == ojh::PolicyMode::Enforce);
  CHECK(policy_with("jail.block-host.mode", "audit").mode == ojh::PolicyMode::Audit);
  CHECK(policy_with("jail.block-host.dns", "true").allow_dns);
  CHECK_FALSE(policy_with("jail.block-host.dns", "false").allow_dns);

  const std::vector<BadCase> modes = {
      {"block", R"("block" is invalid: expected "enforce" or "audit")"},
      {"", R"("" is invalid: expected "enforce" or "audit")"},
      {"Audit", R"("Audit" is invalid: expected "enforce" or "audit")"},
      {"audit ", R"("audit " is invalid: expected "enforce" or "audit")"},
      {"audit\n", R"("audit\x0a" is invalid: expected "enforce" or "audit")"},
      {bytes("audit\0"), R"("audit\x00" is invalid: expected "enforce" or "audit")"},
  };
  for (const auto& c : modes) {
    CAPTURE(c.value);
    CHECK(policy_error({{"jail.block-host", "true"}, {"jail.block-host.mode", c.value}}) ==
          "annotation jail.block-host.mode=" + c.message);
  }
  const std::vector<BadCase> dns = {
      {"yes", R"("yes" is invalid: expected "true" or "false")"},
      {"1", R"("1" is invalid: expected "true" or "false")"},
      {"FALSE", R"("FALSE" is invalid: expected "true" or "false")"},
      {"", R"("" is invalid: expected "true" or "false")"},
  };
  for (const auto& c : dns) {
    CAPTURE(c.value);
    CHECK(policy_error({{"jail.block-host", "true"}, {"jail.block-host.dns", c.value}}) ==
          "annotation jail.block-host.dns=" + c.message);
  }
}

TEST_CASE("container policy from annotations", "[policy]") {
  SECTION("no enforcement: defaults") {
    for (const ojh::Annotations& annotations :
         {ojh::Annotations{}, ojh::Annotations{{"jail.block-host", "false"}},
          ojh::Annotations{{"io.kubernetes.pod.name", "x"}, {"jail.other", "y"}}}) {
      const auto policy = ojh::parse_container_policy(annotations);
      CHECK_FALSE(policy.enforce);
      check_default_settings(policy);
    }
  }
  SECTION("enforcement alone: defaults") {
    const auto policy = ojh::parse_container_policy({{"jail.block-host", "true"}});
    CHECK(policy.enforce);
    check_default_settings(policy);
  }
  SECTION("every key") {
    const auto policy = ojh::parse_container_policy({
        {"jail.block-host", "true"},
        {"jail.block-host.allow", "tcp:127.0.0.1:11434,udp:*:53"},
        {"jail.block-host.cidrs", "private,203.0.113.0/24"},
        {"jail.block-host.mode", "audit"},
        {"jail.block-host.dns", "false"},
        {"io.kubernetes.cri-o.Annotations", std::string(100000, '{')},
    });
    CHECK(policy.enforce);
    CHECK(policy.mode == ojh::PolicyMode::Audit);
    CHECK_FALSE(policy.allow_dns);
    CHECK(policy.exceptions == std::vector<Exception>{exception(IPPROTO_TCP, "127.0.0.1", 11434),
                                                      exception(IPPROTO_UDP, "*", 53)});
    REQUIRE(policy.cidrs.size() == 8);
    CHECK(policy.cidrs.back() == cidr("203.0.113.0", 24));
  }
  SECTION("sub-keys without enforcement") {
    CHECK(policy_error({{"jail.block-host.allow", "udp:*:53"}}) ==
          R"(annotation jail.block-host.allow is set but jail.block-host is not "true")");
    CHECK(policy_error({{"jail.block-host", "false"}, {"jail.block-host.mode", "audit"}}) ==
          R"(annotation jail.block-host.mode is set but jail.block-host is not "true")");
    CHECK(policy_error({{"jail.block-host", "false"}, {"jail.block-host.cidrs", "private"}}) ==
          R"(annotation jail.block-host.cidrs is set but jail.block-host is not "true")");
    CHECK(policy_error({{"jail.block-host.dns", "true"}}) ==
          R"(annotation jail.block-host.dns is set but jail.block-host is not "true")");
  }
  SECTION("unknown sub-key") {
    CHECK(policy_error({{"jail.block-host", "true"}, {"jail.block-host.allowed", "udp:*:53"}}) ==
          R"(unknown annotation "jail.block-host.allowed" (known: jail.block-host, )"
          R"(jail.block-host.allow, jail.block-host.cidrs, jail.block-host.mode, )"
          R"(jail.block-host.dns, jail.block-host.unix))");
  }
  SECTION("invalid switch") {
    CHECK(policy_error({{"jail.block-host", "audit"}}) ==
          R"(annotation jail.block-host="audit" is invalid: expected "true" or "false")");
  }
  SECTION("keys are checked in a fixed order: allow, cidrs, mode, dns") {
    CHECK(policy_error({{"jail.block-host", "true"},
                        {"jail.block-host.allow", "x"},
                        {"jail.block-host.cidrs", "x"},
                        {"jail.block-host.mode", "x"}}) ==
          R"(annotation jail.block-host.allow: entry "x": expected PROTO:ADDR:PORT)");
    CHECK(policy_error({{"jail.block-host", "true"},
                        {"jail.block-host.cidrs", "x"},
                        {"jail.block-host.mode", "x"}}) ==
          R"(annotation jail.block-host.cidrs: entry "x": expected a.b.c.d/n, x::/n, )"
          R"(an address or "private")");
  }
}

TEST_CASE("hostile policy values give one escaped, bounded line", "[policy]") {
  // Longer than any jail.* value the state parser lets through: refused before parsing.
  for (const auto key : {"jail.block-host.allow", "jail.block-host.cidrs", "jail.block-host.mode",
                         "jail.block-host.dns"}) {
    CAPTURE(key);
    CHECK(policy_error({{"jail.block-host", "true"}, {key, std::string(5000, 'a')}}) ==
          "annotation " + std::string(key) + " is longer than 4096 bytes");
    CHECK(policy_error({{"jail.block-host", "true"}, {key, std::string(4097, ',')}}) ==
          "annotation " + std::string(key) + " is longer than 4096 bytes");
  }
  // At the bound the value is parsed, and the message quotes only the start of the entry.
  const std::string at_bound = "tcp:" + std::string(4092, '\n');
  const std::string message =
      policy_error({{"jail.block-host", "true"}, {"jail.block-host.allow", at_bound}});
  CHECK(message == R"(annotation jail.block-host.allow: entry "tcp:)" + [] {
    std::string s;
    for (int i = 0; i < 60; ++i) s += "\\x0a";
    return s;
  }() + R"(...": whitespace is not allowed)");
  CHECK(is_one_printable_line(message));

  struct Hostile {
    std::string value;
    std::string message;
  };
  const std::vector<Hostile> cases = {
      {bytes("tcp:127.0.0.1\0:80"),
       R"(entry "tcp:127.0.0.1\x00:80": address must be an IPv4 address, a bracketed IPv6 )"
       R"(address or *)"},
      {bytes("tcp:127.0.0.1:80\0"), R"(entry "tcp:127.0.0.1:80\x00": port must be 1-65535)"},
      {bytes("tcp:[::1\0]:80"), R"(entry "tcp:[::1\x00]:80": invalid IPv6 address)"},
      {"tcp:\x1b[2J:80\r\nfake line",
       R"(entry "tcp:\x1b[2J:80\x0d\x0afake line": whitespace is not allowed)"},
      {"tcp:\"\\\xff:80", R"(entry "tcp:\"\\\xff:80": address must be an IPv4 address, a )"
                          R"(bracketed IPv6 address or *)"},
      {"udp:*:" + std::string(5000, '9'),
       R"(entry "udp:*:)" + std::string(58, '9') + R"(...": port must be 1-65535)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    const std::string error = error_of([&] { ojh::parse_exceptions(c.value); });
    CHECK(error == c.message);
    CHECK(is_one_printable_line(error));
  }
  // A long list with a bad entry deep inside: only that entry is quoted.
  const std::string cidr_error = error_of(
      [] { ojh::parse_cidrs(cidr_list(200) + bytes(",1.2.3.0/8\0") + std::string(4000, 'x')); });
  CHECK_THAT(cidr_error, Catch::Matchers::StartsWith(R"(entry "1.2.3.0/8\x00xxx)"));
  CHECK_THAT(cidr_error, Catch::Matchers::EndsWith(R"(...": IPv4 prefix length must be 0-32)"));
  CHECK(cidr_error.size() < 150);
}

TEST_CASE("nameservers from resolv.conf", "[policy]") {
  using Catch::Matchers::Equals;
  const std::string text =
      "# generated by NetworkManager\n"
      "; old-style comment\n"
      "search example.com corp.example\n"
      "domain example.com\n"
      "nameserver 10.88.0.1\n"
      "nameserver 1.1.1.1 # cloudflare\n"
      "nameserver\tfe80::1%eth0\n"
      "options ndots:5 edns0 timeout:1\n"
      "nameserver   2001:DB8::53   \n"
      "nameserver ::ffff:192.0.2.53\n"
      "nameserver 10.88.0.1\n";
  CHECK_THAT(ojh::parse_resolv_conf_nameservers(text),
             Equals(std::vector<AddressBytes>{ip("10.88.0.1"), ip("1.1.1.1"), ip("fe80::1"),
                                              ip("2001:db8::53"), ip("192.0.2.53")}));

  struct Case {
    std::string text;
    std::vector<AddressBytes> expected;
  };
  const std::vector<Case> cases = {
      {"", {}},
      {"\n\n\n", {}},
      {"nameserver 127.0.0.53", {ip("127.0.0.53")}},  // no final newline
      {"nameserver 8.8.8.8\r\n", {ip("8.8.8.8")}},
      {"nameserver 8.8.8.8 8.8.4.4\n", {ip("8.8.8.8")}},
      {"nameserver ::1\n", {ip("::1")}},
      {"nameserver fe80::1%2\n", {ip("fe80::1")}},
      // Not a nameserver line, or not a strict address: ignored, as glibc ignores them.
      {"nameserver\n", {}},
      {"nameserver   \n", {}},
      {"nameserver1.1.1.1\n", {}},
      {"nameservers 1.1.1.1\n", {}},
      {" nameserver 1.1.1.1\n", {}},
      {"#nameserver 1.1.1.1\n", {}},
      {";nameserver 1.1.1.1\n", {}},
      {"Nameserver 1.1.1.1\n", {}},
      {"options    10.0.0.1 # nameserver\n", {}},
      {"nameserver 1.1.1.1#x\n", {}},
      {"nameserver 300.1.1.1\n", {}},
      {"nameserver 127.1\n", {}},
      {"nameserver localhost\n", {}},
      {"nameserver 1.2.3.4%eth0\n", {}},
      {"nameserver [::1]\n", {}},
      {"nameserver fe80::g\n", {}},
      {bytes("nameserver 1.2.3.4\0\n"), {}},
      {bytes("nameserver 1.2.3.4\n\0\xff garbage\nnameserver 5.6.7.8"),
       {ip("1.2.3.4"), ip("5.6.7.8")}},
      {"nameserver " + std::string(5000, '1') + "\nnameserver 9.9.9.9\n", {ip("9.9.9.9")}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK_THAT(ojh::parse_resolv_conf_nameservers(c.text), Equals(c.expected));
  }
}

TEST_CASE("at most 8 nameservers are kept", "[policy]") {
  REQUIRE(ojh::kMaxNameservers == 8);
  std::string text;
  std::vector<AddressBytes> expected;
  for (int i = 1; i <= 10; ++i) {
    const std::string address = "192.0.2." + std::to_string(i);
    text += "nameserver " + address + "\n";
    if (i <= 8) expected.push_back(ip(address.c_str()));
  }
  CHECK_THAT(ojh::parse_resolv_conf_nameservers(text), Catch::Matchers::Equals(expected));
  // Duplicates do not use up the limit.
  CHECK(ojh::parse_resolv_conf_nameservers("nameserver 192.0.2.1\n" + text).size() == 8);
  CHECK(ojh::parse_resolv_conf_nameservers("nameserver 192.0.2.1\n" + text).back() ==
        ip("192.0.2.8"));
}
