// SPDX-License-Identifier: Apache-2.0
// The record of a container's own keys (hook/key_record.hpp): what poststop deletes without
// walking the shared maps. A key missing from it is a key left behind in the maps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <climits>
#include <cstring>
#include <stdexcept>

#include "hook/key_record.hpp"
#include "hook/pin_dir.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

using namespace ojh;

namespace {

Rule key_rule(const char* text, unsigned prefixlen) {
  Rule r{};
  r.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(r.family, text, r.bytes.data()) == 1);
  r.prefixlen = prefixlen;
  return r;
}

Exception key_exception(int protocol, const char* text, std::uint16_t port) {
  Exception e{};
  e.protocol = protocol;
  e.port = port;
  if (!text) {
    e.any_host_address = true;
    return e;
  }
  e.address.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(e.address.family, text, e.address.bytes.data()) == 1);
  return e;
}

OwnKeys parsed(const std::vector<std::string>& records) {
  OwnKeys keys;
  for (const std::string& text : records) REQUIRE(parse_key_record(text, keys));
  return keys;
}

OwnKeys sample() {
  return {{key_rule("169.254.169.254", 32), key_rule("224.0.0.0", 4), key_rule("0.0.0.0", 0),
           key_rule("ff00::", 8), key_rule("fd00:ec2::254", 128), key_rule("::", 0)},
          {key_exception(IPPROTO_UDP, "10.0.0.1", 53), key_exception(IPPROTO_TCP, nullptr, 443),
           key_exception(IPPROTO_TCP, "fd00::1", 65535)}};
}

}  // namespace

TEST_CASE("a key record gives back every key it was made of", "[keys]") {
  const OwnKeys keys = sample();
  const auto records = format_key_records(keys);
  REQUIRE(records.size() == 1);
  CHECK(parsed(records) == keys);
  CHECK(parsed(format_key_records({})) == OwnKeys{});
}

TEST_CASE("a large policy's keys are split into records that each fit a symlink", "[keys]") {
  OwnKeys keys;
  for (unsigned i = 0; i < 2000; ++i) {
    Rule r{};
    r.family = AF_INET6;
    r.prefixlen = 128;
    r.bytes.fill(0xab);
    r.bytes[14] = static_cast<std::uint8_t>(i >> 8);
    r.bytes[15] = static_cast<std::uint8_t>(i);
    keys.rules.push_back(r);
  }
  keys.exceptions = sample().exceptions;
  const auto records = format_key_records(keys);
  CHECK(records.size() > 10);
  for (const std::string& text : records) CHECK(text.size() < PATH_MAX);
  CHECK(parsed(records) == keys);
}

TEST_CASE("a record this version did not write is refused, not half read", "[keys]") {
  for (const char* bad :
       {"4", "433:0a000001", "432:0a0000010203", "432:0a00001", "432:0A000001", "x17,2,53",
        "x17,3,53:0a", "x17,0,53:0a", "x17,2,70000:0a", "y", "432:0a000001 q"}) {
    CAPTURE(bad);
    OwnKeys keys = sample();
    CHECK_FALSE(parse_key_record(bad, keys));
    CHECK(keys == sample());
  }
}

TEST_CASE("the records name every key the maps may hold while they change", "[keys]") {
  unit::TempDir dir;
  CHECK_FALSE(read_own_keys(dir.path));  // an entry that records nothing: walk instead

  OwnKeys first;
  first.rules = {key_rule("10.0.0.1", 32)};
  record_own_keys(dir.path, first, [] {});
  CHECK(read_own_keys(dir.path) == first);

  OwnKeys second;
  second.rules = {key_rule("10.0.0.2", 32)};
  // While the maps change, both sets are recorded: the union covers the old and new keys.
  record_own_keys(dir.path, second, [&] {
    const auto during = read_own_keys(dir.path);
    REQUIRE(during);
    CHECK(during->rules.size() == 2);
  });
  CHECK(read_own_keys(dir.path) == second);

  // A change that fails (or a hook killed in it) leaves both: nothing the maps may hold is
  // forgotten.
  OwnKeys third;
  third.exceptions = {key_exception(IPPROTO_UDP, "10.0.0.53", 53)};
  CHECK_THROWS(record_own_keys(dir.path, third, [] { throw std::runtime_error("failed"); }));
  const auto after = read_own_keys(dir.path);
  REQUIRE(after);
  CHECK(after->rules == second.rules);
  CHECK(after->exceptions == third.exceptions);
  // The next change that succeeds records exactly its keys again.
  record_own_keys(dir.path, first, [] {});
  CHECK(read_own_keys(dir.path) == first);

  // A record that does not parse makes the caller walk rather than trust half of it.
  write_record(dir.path, "keys-99", "not a key");
  CHECK_FALSE(read_own_keys(dir.path));
}
