// SPDX-License-Identifier: Apache-2.0
// Internal to ojh_oci: the hardened RapidJSON front end shared by the state and config.json
// parsers. Every error is an ojh::Error whose message starts with "<what>: ".
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "oci/annotations.hpp"

namespace ojh::json {

// Parses a complete JSON text: UTF-8 is validated, nesting deeper than max_depth is refused
// without recursion, raw NUL bytes and trailing data are refused.
void parse(std::string_view text, std::string_view what, unsigned max_depth,
           rapidjson::Document& doc);

// parse, then the top level must be an object with unique keys: the start of every document
// the hook reads (the state, config.json, the attach service's request and reply).
void parse_object(std::string_view text, std::string_view what, unsigned max_depth,
                  rapidjson::Document& doc);

// RapidJSON keeps duplicate keys and FindMember returns the first one, while other readers
// of the same text may use the last: refuse the ambiguity. path_prefix names the object in
// the message ("" for the top level, "linux." for linux).
void require_unique_keys(const rapidjson::Value& object, std::string_view what,
                         std::string_view path_prefix);

// Strings may contain \u0000, so never use the NUL-terminated GetString() alone.
inline std::string_view view(const rapidjson::Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

// An object of string values, within kMaxAnnotations / kMaxAnnotationKeyBytes /
// kMaxJailAnnotationValueBytes and without duplicate keys.
Annotations parse_annotations(const rapidjson::Value& object, std::string_view what);

}  // namespace ojh::json
