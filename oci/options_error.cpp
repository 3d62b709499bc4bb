// SPDX-License-Identifier: Apache-2.0
#include "oci/options_error.hpp"

#include "oci/quote.hpp"

namespace po = boost::program_options;

namespace ojh {
namespace {

std::string invalid_syntax_message(const po::invalid_syntax& error, const std::string& option) {
  switch (error.kind()) {
    case po::invalid_syntax::long_not_allowed:
      return "the unabbreviated option " + option + " is not valid";
    case po::invalid_syntax::long_adjacent_not_allowed:
      return "the unabbreviated option " + option + " does not take any arguments";
    case po::invalid_syntax::short_adjacent_not_allowed:
      return "the abbreviated option " + option + " does not take any arguments";
    case po::invalid_syntax::empty_adjacent_parameter:
      return "the argument for option " + option +
             " should follow immediately after the equal sign";
    case po::invalid_syntax::missing_parameter:
      return "the required argument for option " + option + " is missing";
    case po::invalid_syntax::extra_parameter:
      return "option " + option + " does not take any arguments";
    case po::invalid_syntax::unrecognized_line:
      break;
  }
  return "invalid syntax for option " + option;
}

std::string validation_message(const po::validation_error& error, const std::string& option) {
  switch (error.kind()) {
    case po::validation_error::multiple_values_not_allowed:
      return "option " + option + " only takes a single argument";
    case po::validation_error::at_least_one_value_required:
      return "option " + option + " requires at least one argument";
    case po::validation_error::invalid_bool_value:
    case po::validation_error::invalid_option_value:
      return "the argument for option " + option + " is invalid";
    case po::validation_error::invalid_option:
      break;
  }
  return "option " + option + " is not valid";
}

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
    return invalid_syntax_message(*syntax, option);
  }
  if (const auto* validation = dynamic_cast<const po::validation_error*>(&error)) {
    return validation_message(*validation, option);
  }
  return "invalid option " + option;
}

}  // namespace ojh
