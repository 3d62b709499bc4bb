// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ojh {

// Untrusted text (container ids, annotation keys and values, cgroup paths) ends up in the one
// error line the runtime shows; it must not be able to forge lines, hide itself or flood it.
inline constexpr std::size_t kMaxQuotedChars = 64;

// Printable ASCII stays, '"' and '\' are backslash-escaped, every other byte becomes \xNN;
// input beyond kMaxQuotedChars bytes is replaced by "...".
std::string escape_untrusted(std::string_view text);

// escape_untrusted wrapped in double quotes.
std::string quote_untrusted(std::string_view text);

}  // namespace ojh
