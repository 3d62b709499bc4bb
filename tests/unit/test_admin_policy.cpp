// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "hook/dns.hpp"
#include "oci/admin_config.hpp"
#include "oci/admin_policy.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"

namespace Catch {
template <>
struct StringMaker<ojh::AddressBytes> {
  static std::string convert(const ojh::AddressBytes& a) { return ojh::format_address(a); }
};
template <>
struct StringMaker<ojh::Exception> {
  static std::string convert(const ojh::Exception& e) { return ojh::format_exception(e); }
};
}  // namespace Catch

namespace {

using Catch::Matchers::ContainsSubstring;
using ojh::AdminConfig;
using ojh::Annotations;
using ojh::PolicyMode;

ojh::AddressBytes ip(const char* text) {
  ojh::AddressBytes a;
  a.family = std::strchr(text, ':') ? AF_INET6 : AF_INET;
  REQUIRE(inet_pton(a.family, text, a.bytes.data()) == 1);
  return a;
}

ojh::Exception port53(int protocol, const char* address) {
  ojh::Exception e;
  e.protocol = protocol;
  e.address = ip(address);
  e.port = 53;
  return e;
}

AdminConfig admin(const char* text) { return ojh::parse_admin_config(text, "x"); }

std::string refusal(const Annotations& annotations, const AdminConfig& config) {
  try {
    ojh::admitted_container_policy(annotations, config);
  } catch (const ojh::Error& e) {
    return e.what();
  }
  FAIL("no ojh::Error thrown");
  return {};
}

const Annotations kAudit = {{"jail.block-host", "true"}, {"jail.block-host.mode", "audit"}};
const Annotations kAllow = {{"jail.block-host", "true"},
                            {"jail.block-host.allow", "tcp:127.0.0.1:80"}};

}  // namespace

TEST_CASE("by default the author's policy is taken as written", "[admin-policy]") {
  const AdminConfig defaults;
  CHECK_FALSE(ojh::admitted_container_policy({}, defaults).enforce);
  CHECK_FALSE(ojh::admitted_container_policy({{"jail.block-host", "false"}}, defaults).enforce);
  CHECK(ojh::admitted_container_policy(kAudit, defaults).mode == PolicyMode::Audit);
  CHECK(ojh::admitted_container_policy(kAllow, defaults).exceptions.size() == 1);
  CHECK_THAT(refusal({{"jail.block-host.cidrs", "private"}}, defaults),
             ContainsSubstring("is set but jail.block-host is not \"true\""));
}

TEST_CASE("annotation-exceptions = false refuses every annotation that weakens", "[admin-policy]") {
  const AdminConfig config = admin("annotation-exceptions = false\n");
  CHECK(refusal(kAudit, config) ==
        "annotation jail.block-host.mode=audit is not permitted on this host (admin config: "
        "annotation-exceptions = false)");
  CHECK(refusal(kAllow, config) ==
        "annotation jail.block-host.allow is not permitted on this host (admin config: "
        "annotation-exceptions = false)");
  // A mistake is still reported as the mistake it is.
  CHECK_THAT(refusal({{"jail.block-host", "true"}, {"jail.block-host.mode", "Audit"}}, config),
             ContainsSubstring("expected \"enforce\" or \"audit\""));

  SECTION("what only strengthens is accepted") {
    const auto policy = ojh::admitted_container_policy({{"jail.block-host", "true"},
                                                        {"jail.block-host.mode", "enforce"},
                                                        {"jail.block-host.dns", "false"},
                                                        {"jail.block-host.cidrs", "private"},
                                                        {"jail.block-host.unix", "deny-all"}},
                                                       config);
    CHECK(policy.enforce);
    CHECK(policy.mode == PolicyMode::Enforce);
    CHECK_FALSE(policy.allow_dns);
    CHECK(policy.cidrs.size() == 7);
    CHECK(policy.unix_sockets == ojh::UnixPolicy::DenyAll);
  }
  SECTION("without jail.block-host=true nothing is enforced, so nothing is refused") {
    CHECK_FALSE(ojh::admitted_container_policy({}, config).enforce);
    CHECK_FALSE(ojh::admitted_container_policy({{"jail.block-host", "false"}}, config).enforce);
  }
}

TEST_CASE("enforce-all = true enforces every container and refuses opting out", "[admin-policy]") {
  const AdminConfig config = admin("enforce-all = true\n");

  SECTION("no annotation, or only other tools' annotations: enforced with the defaults") {
    for (const Annotations& annotations :
         {Annotations{}, Annotations{{"io.kubernetes.pod.name", "p"}, {"jail.other", "x"}}}) {
      const auto policy = ojh::admitted_container_policy(annotations, config);
      CHECK(policy.enforce);
      CHECK(policy.mode == PolicyMode::Enforce);
      CHECK(policy.allow_dns);
      CHECK(policy.exceptions.empty());
      CHECK(policy.cidrs.empty());
    }
  }
  SECTION("a policy key without the switch is the container's policy, not a mistake") {
    const auto policy = ojh::admitted_container_policy(
        {{"jail.block-host.cidrs", "10.0.0.0/8"}, {"jail.block-host.dns", "false"}}, config);
    CHECK(policy.enforce);
    CHECK(policy.cidrs.size() == 1);
    CHECK_FALSE(policy.allow_dns);
  }
  SECTION("jail.block-host=false and audit mode are refused") {
    CHECK(refusal({{"jail.block-host", "false"}}, config) ==
          "annotation jail.block-host=false is not permitted on this host (admin config: "
          "enforce-all = true)");
    CHECK(refusal(kAudit, config) ==
          "annotation jail.block-host.mode=audit is not permitted on this host (admin config: "
          "enforce-all = true)");
    CHECK(refusal({{"jail.block-host.mode", "audit"}}, config) ==
          "annotation jail.block-host.mode=audit is not permitted on this host (admin config: "
          "enforce-all = true)");
  }
  SECTION("exceptions stay the business of annotation-exceptions") {
    CHECK(ojh::admitted_container_policy(kAllow, config).exceptions.size() == 1);
    CHECK_THAT(
        refusal(kAllow, admin("enforce-all = true\nannotation-exceptions = false\n")),
        ContainsSubstring("jail.block-host.allow is not permitted on this host (admin config: "
                          "annotation-exceptions = false)"));
  }
  SECTION("mistakes are still mistakes") {
    CHECK_THAT(refusal({{"jail.block-host", "yes"}}, config),
               ContainsSubstring(R"(annotation jail.block-host="yes" is invalid)"));
    CHECK_THAT(refusal({{"jail.block-host.alow", "tcp:127.0.0.1:80"}}, config),
               ContainsSubstring("unknown annotation \"jail.block-host.alow\""));
    CHECK_THAT(refusal({{"jail.block-host.cidrs", "10.0.0.1/8"}}, config),
               ContainsSubstring("host bits are set"));
  }
}

TEST_CASE("DNS exceptions: by default every nameserver of the container's resolv.conf",
          "[admin-policy]") {
  const std::vector<ojh::Exception> wanted = {port53(IPPROTO_UDP, "10.200.0.1"),
                                              port53(IPPROTO_TCP, "10.200.0.1")};
  const auto dns = ojh::admit_dns_exceptions(wanted, AdminConfig{}, {});
  CHECK(dns.admitted == wanted);
  CHECK(dns.untrusted.empty());
}

TEST_CASE("DNS exceptions with annotation-exceptions = false: trusted nameservers only",
          "[admin-policy]") {
  const AdminConfig config =
      admin("annotation-exceptions = false\ntrusted-nameservers = 10.89.0.1,fd00::53\n");
  const std::vector<ojh::Exception> wanted = {
      port53(IPPROTO_UDP, "10.89.0.1"),  port53(IPPROTO_TCP, "10.89.0.1"),   // admin's list
      port53(IPPROTO_UDP, "127.0.0.53"), port53(IPPROTO_TCP, "127.0.0.53"),  // the host's
      port53(IPPROTO_UDP, "10.0.0.5"),   port53(IPPROTO_TCP, "10.0.0.5"),    // the author's
      port53(IPPROTO_UDP, "fd00::53"),   port53(IPPROTO_UDP, "fd00::54")};
  const auto dns = ojh::admit_dns_exceptions(wanted, config, {ip("127.0.0.53")});
  CHECK(dns.admitted ==
        std::vector<ojh::Exception>{wanted[0], wanted[1], wanted[2], wanted[3], wanted[6]});
  CHECK(dns.untrusted == std::vector<ojh::AddressBytes>{ip("10.0.0.5"), ip("fd00::54")});

  SECTION("no trusted nameserver at all: no DNS exception") {
    const auto none =
        ojh::admit_dns_exceptions(wanted, admin("annotation-exceptions = false\n"), {});
    CHECK(none.admitted.empty());
    CHECK(none.untrusted.size() == 5);
  }
}

TEST_CASE("the host's own nameservers", "[admin-policy]") {
  char dir_template[] = "/tmp/ojh-resolv-XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string file = dir + "/resolv.conf";
  std::ofstream(file) << "# by the admin\nnameserver 127.0.0.53\nnameserver ::ffff:10.0.0.1\n"
                         "options edns0\n";
  CHECK(ojh::read_host_nameservers(file) ==
        std::vector<ojh::AddressBytes>{ip("127.0.0.53"), ip("10.0.0.1")});

  SECTION("a missing file, a directory or a FIFO is no nameserver, at once") {
    CHECK(ojh::read_host_nameservers(dir + "/missing").empty());
    CHECK(ojh::read_host_nameservers(dir).empty());
    const std::string fifo = dir + "/fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(ojh::read_host_nameservers(fifo).empty());  // would block forever if it were read
    ::unlink(fifo.c_str());
  }
  ::unlink(file.c_str());
  ::rmdir(dir.c_str());
}
