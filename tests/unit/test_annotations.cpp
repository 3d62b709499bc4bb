// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <string>

#include "oci/annotations.hpp"
#include "oci/error.hpp"
#include "oci/state.hpp"
#include "tests/support/catch.hpp"

namespace {

std::string error_of(const ojh::Annotations& annotations) {
  try {
    ojh::block_host_mode(annotations);
  } catch (const ojh::Error& e) {
    return e.what();
  }
  FAIL("no ojh::Error thrown");
  return {};
}

}  // namespace

TEST_CASE("jail.block-host modes", "[annotations]") {
  CHECK(ojh::block_host_mode({}) == ojh::BlockHost::Absent);
  CHECK(ojh::block_host_mode({{"jail.block-host", "true"}}) == ojh::BlockHost::Enforce);
  CHECK(ojh::block_host_mode({{"jail.block-host", "false"}}) == ojh::BlockHost::Off);
  CHECK(ojh::block_host_mode({{"io.podman.annotations.autoremove", "TRUE"}}) ==
        ojh::BlockHost::Absent);
  CHECK(ojh::block_host_mode({{"jail.block-host", "true"}, {"jail.other", "x"}}) ==
        ojh::BlockHost::Enforce);
}

TEST_CASE("jail.block-host values other than true and false are errors", "[annotations]") {
  CHECK(error_of({{"jail.block-host", "yes"}}) ==
        R"(annotation jail.block-host="yes" is invalid: expected "true" or "false")");
  CHECK(error_of({{"jail.block-host", ""}}) ==
        R"(annotation jail.block-host="" is invalid: expected "true" or "false")");
  CHECK(error_of({{"jail.block-host", "true\n"}}) ==
        R"(annotation jail.block-host="true\x0a" is invalid: expected "true" or "false")");
  CHECK(error_of({{"jail.block-host", std::string("true\0", 5)}}) ==
        R"(annotation jail.block-host="true\x00" is invalid: expected "true" or "false")");
  for (const std::string value : {"True", "TRUE", "False", " true", "true ", "1", "0", "on", "off",
                                  "enforce", "no", "\"true\"", "t"}) {
    CAPTURE(value);
    CHECK_THAT(error_of({{"jail.block-host", value}}),
               Catch::Matchers::StartsWith("annotation jail.block-host=\"") &&
                   Catch::Matchers::EndsWith(R"(" is invalid: expected "true" or "false")"));
  }
}

TEST_CASE("unknown keys in the jail.block-host namespace are errors", "[annotations]") {
  const std::string known =
      "(known: jail.block-host, jail.block-host.allow, jail.block-host.cidrs, "
      "jail.block-host.mode, jail.block-host.dns, jail.block-host.unix)";
  CHECK(error_of({{"jail.block-host", "true"}, {"jail.block-host.foo", "1"}}) ==
        R"(unknown annotation "jail.block-host.foo" )" + known);
  // A typoed sub-option must not be ignored just because the main switch is absent or off.
  CHECK(error_of({{"jail.block-host.allows", "tcp:10.0.0.1:80"}}) ==
        R"(unknown annotation "jail.block-host.allows" )" + known);
  CHECK(error_of({{"jail.block-host", "false"}, {"jail.block-host.", ""}}) ==
        R"(unknown annotation "jail.block-host." )" + known);
  CHECK(error_of({{"jail.block-host.\n\x1b[2J", "x"}}) ==
        R"(unknown annotation "jail.block-host.\x0a\x1b[2J" )" + known);
  // Known keys are matched exactly, not by prefix or case.
  CHECK(error_of({{"jail.block-host", "true"}, {"jail.block-host.Mode", "audit"}}) ==
        R"(unknown annotation "jail.block-host.Mode" )" + known);
  CHECK(error_of({{"jail.block-host", "true"}, {"jail.block-host.mode.x", "audit"}}) ==
        R"(unknown annotation "jail.block-host.mode.x" )" + known);
  // Outside the namespace: not ours to judge.
  CHECK(ojh::block_host_mode({{"jail.block-hostx", "1"}, {"jail.block_host.foo", "1"}}) ==
        ojh::BlockHost::Absent);
  CHECK_NOTHROW(ojh::check_known_annotations({{"jail.block-host", "garbage"}}));
  CHECK_NOTHROW(ojh::check_known_annotations({{"jail.block-host.allow", "garbage"}}));
  CHECK_THROWS_AS(ojh::check_known_annotations({{"jail.block-host.x", ""}}), ojh::Error);
}

TEST_CASE("policy sub-keys require jail.block-host=true", "[annotations]") {
  for (const auto key : {"jail.block-host.allow", "jail.block-host.cidrs", "jail.block-host.mode",
                         "jail.block-host.dns"}) {
    CAPTURE(key);
    const std::string expected =
        "annotation " + std::string(key) + R"( is set but jail.block-host is not "true")";
    CHECK(error_of({{key, "x"}}) == expected);
    CHECK(error_of({{"jail.block-host", "false"}, {key, "x"}}) == expected);
    // Whatever the value: values are parse_container_policy's business.
    CHECK(error_of({{"jail.block-host", "false"}, {key, ""}}) == expected);
    CHECK(ojh::block_host_mode({{"jail.block-host", "true"}, {key, "x"}}) ==
          ojh::BlockHost::Enforce);
  }
  // The first sub-key in key order is named.
  CHECK(error_of({{"jail.block-host.mode", "audit"}, {"jail.block-host.dns", "false"}}) ==
        R"(annotation jail.block-host.dns is set but jail.block-host is not "true")");
  // An invalid switch is reported as such, not as a missing one.
  CHECK(error_of({{"jail.block-host", "yes"}, {"jail.block-host.mode", "audit"}}) ==
        R"(annotation jail.block-host="yes" is invalid: expected "true" or "false")");
  // An unknown key is reported before the missing switch.
  CHECK(error_of({{"jail.block-host.allow", "x"}, {"jail.block-host.zzz", "x"}}) ==
        R"(unknown annotation "jail.block-host.zzz" (known: jail.block-host, )"
        R"(jail.block-host.allow, jail.block-host.cidrs, jail.block-host.mode, )"
        R"(jail.block-host.dns, jail.block-host.unix))");
}

TEST_CASE("the known keys are the switch and its five policy sub-keys", "[annotations]") {
  CHECK(ojh::kBlockHostAnnotation == "jail.block-host");
  CHECK(ojh::kKnownAnnotations.size() == 6);
  const std::string prefix = std::string(ojh::kBlockHostAnnotation) + ".";
  for (const auto key : ojh::kKnownAnnotations) {
    CAPTURE(key);
    CHECK((key == ojh::kBlockHostAnnotation || key.starts_with(prefix)));
    CHECK(std::count(ojh::kKnownAnnotations.begin(), ojh::kKnownAnnotations.end(), key) == 1);
  }
  for (const auto key :
       {ojh::kBlockHostAnnotation, ojh::kBlockHostAllowAnnotation, ojh::kBlockHostCidrsAnnotation,
        ojh::kBlockHostModeAnnotation, ojh::kBlockHostDnsAnnotation}) {
    CAPTURE(key);
    CHECK(std::find(ojh::kKnownAnnotations.begin(), ojh::kKnownAnnotations.end(), key) !=
          ojh::kKnownAnnotations.end());
  }
}

TEST_CASE("mode from a runtime's state JSON", "[annotations][state]") {
  auto mode = [](const std::string& annotations) {
    return ojh::block_host_mode(
        ojh::parse_state(R"({"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":1,)"
                         R"("annotations":)" +
                         annotations + "}")
            .annotations);
  };
  CHECK(mode(R"({"jail.block-host":"true"})") == ojh::BlockHost::Enforce);
  CHECK(mode(R"({"jail.block-host":"false"})") == ojh::BlockHost::Off);
  CHECK(mode(R"({"org.opencontainers.image.stopSignal":"15"})") == ojh::BlockHost::Absent);
  // An escaped key is the same key.
  CHECK(mode(R"({"jail\u002eblock-host":"true"})") == ojh::BlockHost::Enforce);
  CHECK_THROWS_AS(mode(R"({"jail.block-host":"true\u0000"})"), ojh::Error);
}
