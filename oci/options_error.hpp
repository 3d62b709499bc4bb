// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <boost/program_options/errors.hpp>
#include <string>

namespace ojh {

// The message of a Boost.Program_options error, without calling what() on errors that name an
// option. Boost (1.74) builds that message by replacing "%placeholder%" tokens with their
// values until none is left, which never ends when a value contains its own token: a config
// line "%invalid_line%" or an argument "--%original_token%" hangs what() while the message
// grows without bound. Here each placeholder is filled in once, with the untrusted text escaped
// (oci/quote.hpp); the wording follows Boost's.
std::string describe_options_error(const boost::program_options::error& error);

}  // namespace ojh
