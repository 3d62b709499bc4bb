// SPDX-License-Identifier: Apache-2.0
// The attach service's wire format and the pure checks behind its trust decisions.
#include <string>

#include "hook/process.hpp"
#include "oci/attach_request.hpp"
#include "oci/cgroup.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"

using namespace ojh;
using Catch::Matchers::ContainsSubstring;

namespace {

const std::string kState =
    R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b"})";

}  // namespace

TEST_CASE("attach requests round-trip through their JSON form", "[attach]") {
  for (const AttachCommand command : {AttachCommand::CreateRuntime, AttachCommand::Poststop}) {
    const AttachRequest got = parse_attach_request(format_attach_request({command, kState}));
    CHECK(got.command == command);
    CHECK(got.state == kState);  // verbatim: the service parses it as the hook does
  }
  AttachRequest status{AttachCommand::Status, ""};
  status.json = true;
  const AttachRequest got = parse_attach_request(format_attach_request(status));
  CHECK(got.command == AttachCommand::Status);
  CHECK(got.json);
  CHECK(parse_attach_request(format_attach_request({AttachCommand::Gc, ""})).command ==
        AttachCommand::Gc);
  // A state with every byte JSON must escape survives.
  const std::string odd = std::string("{\"a\":\"\\u0000\"}\n\t\x01") + '\0';
  CHECK(parse_attach_request(format_attach_request({AttachCommand::Poststop, odd})).state == odd);
}

TEST_CASE("attach requests are parsed strictly", "[attach]") {
  const auto refused = [](const std::string& text, const std::string& why) {
    INFO(text);
    CHECK_THROWS_WITH(parse_attach_request(text), ContainsSubstring(why));
  };
  refused("", "attach request");
  refused("[]", "top level must be an object");
  refused(R"({"command":"gc"})", "missing \"version\"");
  refused(R"({"version":2,"command":"gc"})", "version must be 1");
  refused(R"({"version":"1","command":"gc"})", "version must be 1");
  refused(R"({"version":1})", "missing \"command\"");
  refused(R"({"version":1,"command":"refresh"})", "unknown command \"refresh\"");
  refused(R"({"version":1,"command":7})", "\"command\" must be a string");
  refused(R"({"version":1,"command":"gc","extra":1})", "unknown key \"extra\"");
  refused(R"({"version":1,"command":"gc","command":"status"})", "duplicate");
  refused(R"({"version":1,"command":"create-runtime"})", "\"state\" is missing for create-runtime");
  refused(R"({"version":1,"command":"gc","state":"{}"})", "\"state\" does not belong to gc");
  refused(R"({"version":1,"command":"poststop","state":{}})", "\"state\" must be a string");
  refused(R"({"version":1,"command":"gc","json":true})", "\"json\" does not belong to gc");
  refused(R"({"version":1,"command":"status","json":1})", "\"json\" must be true or false");
  refused(std::string(kMaxAttachRequestBytes + 1, ' '), "larger than");
}

TEST_CASE("attach replies round-trip and are parsed strictly", "[attach]") {
  const AttachReply got = parse_attach_reply(format_attach_reply({1, "out\n", "err line\n"}));
  CHECK(got.status == 1);
  CHECK(got.out == "out\n");
  CHECK(got.err == "err line\n");
  CHECK_THROWS_WITH(parse_attach_reply(R"({"status":256,"stdout":"","stderr":""})"),
                    ContainsSubstring("exit status"));
  CHECK_THROWS_WITH(parse_attach_reply(R"({"status":0,"stdout":""})"),
                    ContainsSubstring("\"stderr\" must be a string"));
  CHECK_THROWS_WITH(parse_attach_reply(R"({"status":0,"stdout":"","stderr":"","x":0})"),
                    ContainsSubstring("unknown key"));
}

TEST_CASE("only cgroups strictly inside a user's delegated tree are the user's", "[attach]") {
  const std::string base = "/user.slice/user-1000.slice/user@1000.service";
  CHECK(user_delegated_cgroup(1000) == base);
  CHECK(within_user_delegation(base + "/user.slice/libpod-abc.scope", 1000));
  CHECK(within_user_delegation(base + "/user.slice/libpod-abc.scope/container", 1000));
  CHECK(within_user_delegation(base + "/app.slice/x.scope", 1000));
  CHECK_FALSE(within_user_delegation(base, 1000));        // the user's manager itself
  CHECK_FALSE(within_user_delegation(base + "/", 1000));  // the same, spelled with a slash
  CHECK_FALSE(within_user_delegation(base + "/user.slice/libpod-abc.scope", 1001));
  CHECK_FALSE(within_user_delegation("/user.slice/user-1000.slice/session-3.scope", 1000));
  CHECK_FALSE(within_user_delegation("/user.slice/user-10000.slice/user@10000.service/x", 1000));
  CHECK_FALSE(within_user_delegation(base + "x/y", 1000));
  CHECK_FALSE(within_user_delegation(base + "/a/../../../../system.slice", 1000));
  CHECK_FALSE(within_user_delegation(base + "/a/./b", 1000));
  CHECK_FALSE(within_user_delegation(base + "//a", 1000));
  CHECK_FALSE(within_user_delegation(base + "/a/", 1000));
  CHECK_FALSE(within_user_delegation("/system.slice" + base + "/a", 1000));
}

TEST_CASE("the pid of a pidfd is read from its fdinfo", "[attach]") {
  CHECK(parse_pidfd_fdinfo("pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\n"
                           "NSpid:\t4242\t1\n") == 4242);
  CHECK(parse_pidfd_fdinfo("Pid: 7") == 7);
  CHECK_FALSE(parse_pidfd_fdinfo("Pid:\t-1\nNSpid:\t-1\n"));  // exited
  CHECK_FALSE(parse_pidfd_fdinfo("Pid:\t0\n"));               // another pid namespace
  CHECK_FALSE(parse_pidfd_fdinfo("pos:\t0\nflags:\t02\n"));   // not a pidfd
  CHECK_FALSE(parse_pidfd_fdinfo("Pid:\t12x\n"));
  CHECK_FALSE(parse_pidfd_fdinfo("Pid:\t99999999999\n"));
  CHECK_FALSE(parse_pidfd_fdinfo("NSpid:\t5\n"));
}
