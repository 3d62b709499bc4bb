// SPDX-License-Identifier: Apache-2.0
// What every harness shares: how a broken invariant is reported, and the property every
// ojh::Error must have.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "oci/error.hpp"

// A broken invariant must stop libFuzzer with a crash and a saved reproducer whatever NDEBUG
// says; a macro, so that the top frame of the report is the line of the failed check.
#define FUZZ_REQUIRE(condition)         \
  do {                                  \
    if (!(condition)) __builtin_trap(); \
  } while (0)

namespace ojh::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The hook prints an ojh::Error as its one stderr line, and untrusted text inside it is
// escaped (oci/quote.hpp): a message must not be able to start a second line, carry terminal
// control sequences or flood the log. 4 KiB is far above any legitimate message (each quoted
// piece is at most 2 + 4 * kMaxQuotedChars + 3 bytes).
inline constexpr std::size_t kMaxErrorBytes = 4096;

inline bool is_one_printable_line(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte < 0x7f;
  });
}

// For calls that must succeed because an equivalent call already did: an ojh::Error here is
// a broken invariant, not a rejected input, so it must not reach the harness's catch.
template <typename Call>
auto without_error(Call&& call) {
  try {
    return call();
  } catch (const Error&) {
    __builtin_trap();
  }
}

inline void require_well_formed(const Error& error) {
  const std::string_view message = error.what();
  FUZZ_REQUIRE(!message.empty());
  FUZZ_REQUIRE(message.size() <= kMaxErrorBytes);
  FUZZ_REQUIRE(is_one_printable_line(message));
}

}  // namespace ojh::fuzz
