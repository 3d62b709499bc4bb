// SPDX-License-Identifier: Apache-2.0
// advise_allow: what `oci-jail-hook advise` makes of a container's denial records.
#include <string>
#include <vector>

#include "hook/policy_advice.hpp"
#include "oci/policy.hpp"
#include "tests/support/catch.hpp"

namespace {

ojh::EventView record(const std::string& protocol, const std::string& address, unsigned port,
                      const std::string& reason = "host", bool ipv6 = false,
                      const std::string& operation = "connect4") {
  ojh::EventView v;
  v.protocol = protocol;
  v.address = address;
  v.port = port;
  v.reason = reason;
  v.ipv6 = ipv6;
  v.operation = operation;
  return v;
}

}  // namespace

TEST_CASE("advise: one exact entry per destination, sorted, counted", "[advise]") {
  const ojh::PolicyAdvice a = ojh::advise_allow({
      record("tcp", "10.88.0.1", 5432),
      record("udp", "fd00::1", 53, "host", true, "sendmsg6"),
      record("tcp", "10.88.0.1", 5432),
  });
  REQUIRE(a.entries.size() == 2);
  CHECK(a.entries[0].entry == "tcp:10.88.0.1:5432");
  CHECK(a.entries[0].count == 2);
  CHECK(a.entries[0].warning.empty());
  CHECK(a.entries[1].entry == "udp:[fd00::1]:53");
  CHECK(a.annotation == "jail.block-host.allow=tcp:10.88.0.1:5432,udp:[fd00::1]:53");
  CHECK(a.not_allowable.empty());
  CHECK_FALSE(a.too_many);
  // The annotation it prints is one the hook accepts, entry for entry.
  CHECK(ojh::parse_exceptions(a.annotation.substr(a.annotation.find('=') + 1)).size() == 2);
}

TEST_CASE("advise: warnings for what hands over the host", "[advise]") {
  const ojh::PolicyAdvice a = ojh::advise_allow({
      record("tcp", "169.254.169.254", 80, "metadata"),
      record("tcp", "10.88.0.1", 22),
      record("tcp", "10.88.0.1", 6443),
      record("tcp", "10.88.0.1", 10250),
      record("tcp", "127.0.0.1", 8080, "loopback"),
      record("tcp", "10.88.0.1", 8080),
  });
  REQUIRE(a.entries.size() == 6);
  const auto warning = [&](const std::string& entry) {
    for (const ojh::AdviceEntry& e : a.entries)
      if (e.entry == entry) return e.warning;
    FAIL("no entry " << entry);
    return std::string();
  };
  CHECK_THAT(warning("tcp:169.254.169.254:80"), Catch::Matchers::ContainsSubstring("metadata"));
  CHECK_THAT(warning("tcp:10.88.0.1:22"), Catch::Matchers::ContainsSubstring("SSH"));
  CHECK_THAT(warning("tcp:10.88.0.1:6443"), Catch::Matchers::ContainsSubstring("Kubernetes"));
  CHECK_THAT(warning("tcp:10.88.0.1:10250"), Catch::Matchers::ContainsSubstring("kubelet"));
  CHECK_THAT(warning("tcp:127.0.0.1:8080"), Catch::Matchers::ContainsSubstring("loopback"));
  CHECK(warning("tcp:10.88.0.1:8080").empty());
}

TEST_CASE("advise: what no allow entry can cover", "[advise]") {
  const ojh::PolicyAdvice a = ojh::advise_allow({
      record("icmp", "10.88.0.1", 0, "host", false, "egress"),
      record("icmp", "10.88.0.1", 0, "host", false, "egress"),
      record("raw", "", 0, "", false, "socket_create"),
  });
  CHECK(a.entries.empty());
  CHECK(a.annotation.empty());
  CHECK(a.not_allowable ==
        std::vector<std::string>{"icmp 10.88.0.1 (egress), 2x", "raw (socket_create), 1x"});
}

TEST_CASE("advise: more entries than one annotation may hold", "[advise]") {
  std::vector<ojh::EventView> records;
  for (unsigned port = 1; port <= ojh::kMaxExceptions + 1; ++port)
    records.push_back(record("tcp", "10.88.0.1", port));
  CHECK(ojh::advise_allow(records).too_many);
}
