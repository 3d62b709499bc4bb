// SPDX-License-Identifier: Apache-2.0
// The per-container policy: every input goes to parse_exceptions and parse_cidrs as one
// annotation value, to parse_resolv_conf_nameservers as a resolv.conf, and, read as
// annotations, to parse_container_policy and to admitted_container_policy under the admin
// configs that take something away from authors.
//
// Annotation input: one "key=value" record per line (a record without '=' is a key with an
// empty value). When the input holds a NUL byte, records are NUL-separated instead, so that
// values may contain newlines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/admin_config.hpp"
#include "oci/admin_policy.hpp"
#include "oci/annotations.hpp"
#include "oci/error.hpp"
#include "oci/policy.hpp"
#include "policy_invariants.hpp"

namespace {

using namespace ojh;
using namespace ojh::fuzz;

Annotations annotations_of(std::string_view text) {
  const char separator = text.find('\0') == std::string_view::npos ? '\n' : '\0';
  Annotations annotations;
  while (!text.empty()) {
    const std::size_t end = text.find(separator);
    const std::string_view record = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const std::size_t equals = record.find('=');
    annotations.insert_or_assign(
        std::string(record.substr(0, equals)),
        equals == std::string_view::npos ? std::string() : std::string(record.substr(equals + 1)));
  }
  return annotations;
}

void fuzz_exceptions(std::string_view text) {
  try {
    require_valid_exceptions(parse_exceptions(text));
  } catch (const Error& e) {
    require_well_formed(e);
  }
}

void fuzz_cidrs(std::string_view text) {
  try {
    require_valid_cidrs(parse_cidrs(text));
  } catch (const Error& e) {
    require_well_formed(e);
  }
}

// Never throws: lines it cannot read are ignored, like glibc and musl do.
void fuzz_resolv_conf(std::string_view text) {
  const auto nameservers = parse_resolv_conf_nameservers(text);
  FUZZ_REQUIRE(nameservers.size() <= kMaxNameservers);
  for (std::size_t i = 0; i < nameservers.size(); ++i) {
    require_stored_address(nameservers[i]);
    FUZZ_REQUIRE(std::find(nameservers.begin() + i + 1, nameservers.end(), nameservers[i]) ==
                 nameservers.end());
    // What format_address prints is a nameserver line the parser reads back.
    const auto again =
        parse_resolv_conf_nameservers("nameserver " + format_address(nameservers[i]));
    FUZZ_REQUIRE(again.size() == 1 && again[0] == nameservers[i]);
  }
}

bool same_policy(const ContainerPolicy& a, const ContainerPolicy& b) {
  return a.enforce == b.enforce && a.mode == b.mode && a.allow_dns == b.allow_dns &&
         a.exceptions == b.exceptions && a.cidrs == b.cidrs;
}

// Whatever the admin config accepts is no weaker than it asked for, what it refuses is named,
// and a policy that weakens nothing is taken as written.
void check_admitted_policy(const Annotations& annotations) {
  std::optional<ContainerPolicy> written;
  try {
    written = parse_container_policy(annotations);
  } catch (const Error&) {
  }
  const std::string* block_host = find_annotation(annotations, kBlockHostAnnotation);
  const bool has_allow = find_annotation(annotations, kBlockHostAllowAnnotation) != nullptr;

  AdminConfig defaults;
  AdminConfig no_exceptions;
  no_exceptions.annotation_exceptions = false;
  AdminConfig enforce_all;
  enforce_all.enforce_all = true;
  for (const AdminConfig* admin : {&defaults, &no_exceptions, &enforce_all}) {
    ContainerPolicy policy;
    try {
      policy = admitted_container_policy(annotations, *admin);
    } catch (const Error& e) {
      require_well_formed(e);
      // A policy written without a mistake that weakens nothing is never refused.
      FUZZ_REQUIRE(!(written && written->enforce && written->mode == PolicyMode::Enforce &&
                     (admin->annotation_exceptions || !has_allow)));
      continue;
    }
    if (admin->enforce_all) {
      FUZZ_REQUIRE(policy.enforce && policy.mode == PolicyMode::Enforce);
      FUZZ_REQUIRE(!block_host || *block_host == "true");
      if (block_host) FUZZ_REQUIRE(written && same_policy(policy, *written));
      continue;
    }
    FUZZ_REQUIRE(written && same_policy(policy, *written));
    if (!admin->annotation_exceptions && policy.enforce) {
      FUZZ_REQUIRE(policy.mode == PolicyMode::Enforce && !has_allow && policy.exceptions.empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  fuzz_exceptions(text);
  fuzz_cidrs(text);
  fuzz_resolv_conf(text);
  const Annotations annotations = annotations_of(text);
  check_container_policy(annotations);
  check_admitted_policy(annotations);
  return 0;
}
