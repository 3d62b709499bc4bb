// SPDX-License-Identifier: Apache-2.0
#include "oci/json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstddef>
#include <set>

#include "oci/error.hpp"
#include "oci/quote.hpp"

namespace ojh::json {
namespace {

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). kParseValidateEncodingFlag checks the raw text only: a \u escape of a
// lone UTF-16 surrogate still decodes into bytes that are not UTF-8.
bool is_utf8(const char* s, std::size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;  // U+D800..U+DFFF are surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const unsigned char b = p[i + k];
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return false;
    }
    i += len;
  }
  return true;
}

// Forwards SAX events to the document and aborts the parse once nesting exceeds the limit,
// so neither parsing nor later traversal can exhaust the stack.
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(rapidjson::Document& doc, unsigned max_depth)
      : doc_(doc), max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }
  bool bad_string() const { return bad_string_; }

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return utf8(s, n) && doc_.String(s, n, copy);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return utf8(s, n) && doc_.Key(s, n, copy);
  }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      too_deep_ = true;
      return false;
    }
    return true;
  }

  bool utf8(const char* s, rapidjson::SizeType n) {
    bad_string_ = !is_utf8(s, n);
    return !bad_string_;
  }

  rapidjson::Document& doc_;
  unsigned max_depth_;
  unsigned depth_ = 0;
  bool bad_string_ = false;
  bool too_deep_ = false;
};

[[noreturn]] void fail(std::string_view what, const std::string& message) {
  throw Error(std::string(what) + ": " + message);
}

}  // namespace

void parse(std::string_view text, std::string_view what, unsigned max_depth,
           rapidjson::Document& doc) {
  // RapidJSON reads a NUL byte as the end of input and would ignore whatever follows it.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    fail(what, "invalid at offset " + std::to_string(nul) + ": NUL byte");
  }
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::ParseResult result;
  bool too_deep = false;
  bool bad_string = false;
  auto generator = [&](rapidjson::Document& target) {
    rapidjson::MemoryStream memory(text.data(), text.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> input(memory);
    DepthLimitedHandler handler(target, max_depth);
    rapidjson::Reader reader;
    result = reader.Parse<kFlags>(input, handler);
    too_deep = handler.too_deep();
    bad_string = handler.bad_string();
    return !result.IsError();
  };
  doc.Populate(generator);
  if (too_deep) {
    fail(what, "nested deeper than " + std::to_string(max_depth) + " levels at offset " +
                   std::to_string(result.Offset()));
  }
  if (bad_string) {
    fail(what, "invalid at offset " + std::to_string(result.Offset()) +
                   ": a string escapes a lone UTF-16 surrogate (not UTF-8)");
  }
  if (result.IsError()) {
    fail(what, "invalid at offset " + std::to_string(result.Offset()) + ": " +
                   rapidjson::GetParseError_En(result.Code()));
  }
}

void parse_object(std::string_view text, std::string_view what, unsigned max_depth,
                  rapidjson::Document& doc) {
  parse(text, what, max_depth, doc);
  if (!doc.IsObject()) fail(what, "top level must be an object");
  require_unique_keys(doc, what, "");
}

void require_unique_keys(const rapidjson::Value& object, std::string_view what,
                         std::string_view path_prefix) {
  std::set<std::string_view> seen;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view key = view(it->name);
    if (!seen.insert(key).second) {
      fail(what, "duplicate key " + quote_untrusted(std::string(path_prefix) + std::string(key)));
    }
  }
}

Annotations parse_annotations(const rapidjson::Value& object, std::string_view what) {
  if (!object.IsObject()) fail(what, "\"annotations\" must be an object");
  if (object.MemberCount() > kMaxAnnotations) {
    fail(what, "more than " + std::to_string(kMaxAnnotations) + " annotations");
  }
  Annotations annotations;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    const std::string_view key = view(it->name);
    if (key.size() > kMaxAnnotationKeyBytes) {
      fail(what, "annotation key " + quote_untrusted(key) + " is longer than " +
                     std::to_string(kMaxAnnotationKeyBytes) + " bytes");
    }
    if (!it->value.IsString()) {
      fail(what, "annotation " + quote_untrusted(key) + " must be a string");
    }
    const std::string_view value = view(it->value);
    if (key.substr(0, kJailAnnotationPrefix.size()) == kJailAnnotationPrefix &&
        value.size() > kMaxJailAnnotationValueBytes) {
      fail(what, "annotation " + quote_untrusted(key) + " is longer than " +
                     std::to_string(kMaxJailAnnotationValueBytes) + " bytes");
    }
    if (!annotations.emplace(key, value).second) {
      fail(what, "duplicate annotation " + quote_untrusted(key));
    }
  }
  return annotations;
}

}  // namespace ojh::json
