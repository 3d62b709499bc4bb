// SPDX-License-Identifier: Apache-2.0
#include "oci/state.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "oci/error.hpp"
#include "oci/json.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

constexpr std::string_view kWhat = "state JSON";
constexpr std::size_t kMaxContainerIdChars = 128;
constexpr std::array<std::string_view, 4> kStatuses = {"creating", "created", "running", "stopped"};
static_assert(std::numeric_limits<pid_t>::max() == INT32_MAX, "pid parsing assumes a 32-bit pid_t");

[[noreturn]] void fail(const std::string& message) {
  throw Error(std::string(kWhat) + ": " + message);
}

const rapidjson::Value* find(const rapidjson::Value& object, const char* key) {
  const auto it = object.FindMember(key);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string required_string(const rapidjson::Value& object, const char* key) {
  const rapidjson::Value* value = find(object, key);
  if (!value) fail("missing \"" + std::string(key) + "\"");
  if (!value->IsString()) fail("\"" + std::string(key) + "\" must be a string");
  return std::string(json::view(*value));
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_valid_container_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxContainerIdChars || !is_alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return is_alnum(c) || c == '_' || c == '.' || c == '+' || c == '-';
  });
}

State parse_state(std::string_view text) {
  rapidjson::Document doc;
  json::parse_object(text, kWhat, kMaxStateDepth, doc);

  State state;
  state.oci_version = required_string(doc, "ociVersion");
  state.id = required_string(doc, "id");
  if (!is_valid_container_id(state.id)) {
    fail("container id " + quote_untrusted(state.id) +
         " is invalid (1-128 chars of A-Z a-z 0-9 _ . + -)");
  }
  state.status = required_string(doc, "status");
  if (std::find(kStatuses.begin(), kStatuses.end(), state.status) == kStatuses.end()) {
    fail("status " + quote_untrusted(state.status) +
         " is invalid (expected creating, created, running or stopped)");
  }
  if (const rapidjson::Value* pid = find(doc, "pid")) {
    // IsInt() is false for fractions, exponents and anything beyond INT32_MAX.
    if (pid->IsUint64() && pid->GetUint64() > INT32_MAX) {
      fail("\"pid\" is larger than " + std::to_string(INT32_MAX));
    }
    if (!pid->IsInt() || pid->GetInt() < 0) fail("\"pid\" must be a non-negative integer");
    state.pid = pid->GetInt();
  }
  if (const rapidjson::Value* bundle = find(doc, "bundle")) {
    if (!bundle->IsString()) fail("\"bundle\" must be a string");
    state.bundle = std::string(json::view(*bundle));
  }
  if (const rapidjson::Value* annotations = find(doc, "annotations")) {
    state.annotations = json::parse_annotations(*annotations, kWhat);
  }
  return state;
}

}  // namespace ojh
