// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "oci/annotations.hpp"
#include "oci/error.hpp"
#include "oci/state.hpp"

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
  CHECK(error_of({{"jail.block-host", "true"}, {"jail.block-host.foo", "1"}}) ==
        R"(unknown annotation "jail.block-host.foo" (known: jail.block-host))");
  // A typoed sub-option must not be ignored just because the main switch is absent or off.
  CHECK(error_of({{"jail.block-host.allow", "10.0.0.1"}}) ==
        R"(unknown annotation "jail.block-host.allow" (known: jail.block-host))");
  CHECK(error_of({{"jail.block-host", "false"}, {"jail.block-host.", ""}}) ==
        R"(unknown annotation "jail.block-host." (known: jail.block-host))");
  CHECK(error_of({{"jail.block-host.\n\x1b[2J", "x"}}) ==
        R"(unknown annotation "jail.block-host.\x0a\x1b[2J" (known: jail.block-host))");
  // Outside the namespace: not ours to judge.
  CHECK(ojh::block_host_mode({{"jail.block-hostx", "1"}, {"jail.block_host.foo", "1"}}) ==
        ojh::BlockHost::Absent);
  CHECK_NOTHROW(ojh::check_known_annotations({{"jail.block-host", "garbage"}}));
  CHECK_THROWS_AS(ojh::check_known_annotations({{"jail.block-host.x", ""}}), ojh::Error);
}

TEST_CASE("the known keys include the block-host switch", "[annotations]") {
  CHECK(std::find(ojh::kKnownAnnotations.begin(), ojh::kKnownAnnotations.end(),
                  ojh::kBlockHostAnnotation) != ojh::kKnownAnnotations.end());
  CHECK(ojh::kBlockHostAnnotation == "jail.block-host");
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
