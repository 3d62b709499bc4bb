// SPDX-License-Identifier: Apache-2.0
// What a local user sends the attach service (root) and, the other way, what a client reads
// back: parse_attach_request, then parse_state on the state it carries, as the service
// does; parse_attach_reply.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "oci/attach_request.hpp"
#include "oci/state.hpp"

namespace {

void request(std::string_view text) {
  ojh::AttachRequest got;
  try {
    got = ojh::parse_attach_request(text);
  } catch (const ojh::Error& e) {
    ojh::fuzz::require_well_formed(e);
    return;
  }
  // What the service understood is what a client that means it would send.
  const ojh::AttachRequest again = ojh::fuzz::without_error(
      [&] { return ojh::parse_attach_request(ojh::format_attach_request(got)); });
  FUZZ_REQUIRE(again.command == got.command && again.state == got.state && again.json == got.json);
  const bool takes_state = got.command == ojh::AttachCommand::CreateRuntime ||
                           got.command == ojh::AttachCommand::Poststop;
  FUZZ_REQUIRE(takes_state || got.state.empty());
  if (!takes_state) return;
  try {
    const ojh::State state = ojh::parse_state(got.state);
    FUZZ_REQUIRE(ojh::is_valid_container_id(state.id));
  } catch (const ojh::Error& e) {
    ojh::fuzz::require_well_formed(e);
  }
}

void reply(std::string_view text) {
  try {
    const ojh::AttachReply got = ojh::parse_attach_reply(text);
    FUZZ_REQUIRE(got.status >= 0 && got.status <= 255);
    const ojh::AttachReply again = ojh::fuzz::without_error(
        [&] { return ojh::parse_attach_reply(ojh::format_attach_reply(got)); });
    FUZZ_REQUIRE(again.status == got.status && again.out == got.out && again.err == got.err);
  } catch (const ojh::Error& e) {
    ojh::fuzz::require_well_formed(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = ojh::fuzz::as_text(data, size);
  request(text);
  reply(text);
  return 0;
}
