// SPDX-License-Identifier: Apache-2.0
#include "oci/options_error.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string_view>

#include "oci/quote.hpp"

namespace po = boost::program_options;

namespace ojh {
namespace {

// Boost's wording of a message about an option: the words before and after its name.
struct Wording {
  std::string_view before;
  std::string_view after;
};

template <typename Kind>
struct KindWording {
  Kind kind;
  Wording wording;
};

// The message of an error of `kind`, worded as `table` has it, or as `otherwise`.
template <typename Kind, std::size_t N>
std::string worded(const KindWording<Kind> (&table)[N], Kind kind, Wording otherwise,
                   const std::string& option) {
  const auto* it = std::find_if(std::begin(table), std::end(table),
                                [&](const KindWording<Kind>& k) { return k.kind == kind; });
  const Wording& w = it == std::end(table) ? otherwise : it->wording;
  return std::string(w.before) + option + std::string(w.after);
}

using Syntax = po::invalid_syntax;
constexpr KindWording<Syntax::kind_t> kSyntaxWordings[] = {
    {Syntax::long_not_allowed, {"the unabbreviated option ", " is not valid"}},
    {Syntax::long_adjacent_not_allowed,
     {"the unabbreviated option ", " does not take any arguments"}},
    {Syntax::short_adjacent_not_allowed,
     {"the abbreviated option ", " does not take any arguments"}},
    {Syntax::empty_adjacent_parameter,
     {"the argument for option ", " should follow immediately after the equal sign"}},
    {Syntax::missing_parameter, {"the required argument for option ", " is missing"}},
    {Syntax::extra_parameter, {"option ", " does not take any arguments"}},
};

using Validation = po::validation_error;
constexpr KindWording<Validation::kind_t> kValidationWordings[] = {
    {Validation::multiple_values_not_allowed, {"option ", " only takes a single argument"}},
    {Validation::at_least_one_value_required, {"option ", " requires at least one argument"}},
    {Validation::invalid_bool_value, {"the argument for option ", " is invalid"}},
    {Validation::invalid_option_value, {"the argument for option ", " is invalid"}},
};

}  // namespace

std::string describe_options_error(const po::error& error) {
  if (const auto* line = dynamic_cast<const po::invalid_config_file_syntax*>(&error)) {
    return "the options configuration file contains an invalid line '" +
           escape_untrusted(line->tokens()) + "'";
  }
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&error);
  // The other errors have fixed messages, or ones built without placeholders.
  if (!named) return error.what();

  // get_option_name() assembles the name without the placeholder loop.
  const std::string option = "'" + escape_untrusted(named->get_option_name()) + "'";
  if (dynamic_cast<const po::unknown_option*>(&error)) return "unrecognised option " + option;
  if (dynamic_cast<const po::ambiguous_option*>(&error))
    return "option " + option + " is ambiguous";
  if (dynamic_cast<const po::multiple_occurrences*>(&error)) {
    return "option " + option + " cannot be specified more than once";
  }
  if (dynamic_cast<const po::multiple_values*>(&error)) {
    return "option " + option + " only takes a single argument";
  }
  if (dynamic_cast<const po::required_option*>(&error)) {
    return "the option " + option + " is required but missing";
  }
  if (const auto* syntax = dynamic_cast<const po::invalid_syntax*>(&error)) {
    return worded(kSyntaxWordings, syntax->kind(), {"invalid syntax for option ", ""}, option);
  }
  if (const auto* validation = dynamic_cast<const po::validation_error*>(&error)) {
    return worded(kValidationWordings, validation->kind(), {"option ", " is not valid"}, option);
  }
  return "invalid option " + option;
}

}  // namespace ojh
