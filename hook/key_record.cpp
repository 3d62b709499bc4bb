// SPDX-License-Identifier: Apache-2.0
#include "hook/key_record.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdint>

#include "hook/pin_dir.hpp"
#include "oci/error.hpp"

namespace ojh {
namespace {

// Record names: "keys-<n>". write_record's temporary names ("keys-<n>-new-<pid>") do not
// parse as one, so a reader never takes a half-written record for a record.
constexpr std::string_view kKeysPrefix = "keys-";
// A symlink target holds at most PATH_MAX - 1 bytes.
constexpr std::size_t kMaxRecordBytes = PATH_MAX - 96;

// Tokens, separated by one space:
//   rule       <4|6><prefixlen>:<hex>            e.g. 432:a9fea9fe, 68:ff
//   exception  x<protocol>,<family>,<port>:<hex> e.g. x17,2,53:0a000001; family 0 = any
// <hex> is the address without its trailing zero bytes (empty for an all-zero one).
void append_hex(std::string& out, const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  while (size > 0 && bytes[size - 1] == 0) --size;
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
}

std::size_t address_size(int family) { return family == AF_INET ? 4 : 16; }

std::string rule_token(const Rule& r) {
  std::string t = (r.family == AF_INET ? "4" : "6") + std::to_string(r.prefixlen) + ":";
  append_hex(t, r.bytes.data(), address_size(r.family));
  return t;
}

std::string exception_token(const Exception& e) {
  const int family = e.any_host_address ? 0 : e.address.family;
  std::string t = "x" + std::to_string(e.protocol) + "," + std::to_string(family) + "," +
                  std::to_string(e.port) + ":";
  if (family != 0) append_hex(t, e.address.bytes.data(), address_size(family));
  return t;
}

// Reads a decimal number up to `end_char` and moves past it.
template <typename T>
bool take_number(std::string_view& s, char end_char, T& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr == s.data() + s.size() || *ptr != end_char) return false;
  s.remove_prefix(static_cast<std::size_t>(ptr - s.data()) + 1);
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool take_hex(std::string_view s, std::array<std::uint8_t, 16>& bytes, std::size_t size) {
  if (s.size() % 2 != 0 || s.size() / 2 > size) return false;
  bytes = {};
  for (std::size_t i = 0; i < s.size(); i += 2) {
    const int hi = hex_value(s[i]);
    const int lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i / 2] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool parse_rule(std::string_view t, Rule& r) {
  r = Rule{};
  r.family = t[0] == '4' ? AF_INET : AF_INET6;
  t.remove_prefix(1);
  if (!take_number(t, ':', r.prefixlen) || r.prefixlen > address_size(r.family) * 8) return false;
  return take_hex(t, r.bytes, address_size(r.family));
}

bool parse_exception(std::string_view t, Exception& e) {
  e = Exception{};
  int family = 0;
  t.remove_prefix(1);
  if (!take_number(t, ',', e.protocol) || !take_number(t, ',', family) ||
      !take_number(t, ':', e.port))
    return false;
  if (family == 0) {
    e.any_host_address = true;
    return t.empty();
  }
  if (family != AF_INET && family != AF_INET6) return false;
  e.address.family = family;
  return take_hex(t, e.address.bytes, address_size(family));
}

// The numbers n of the entry's "keys-<n>" records.
std::vector<unsigned long> record_numbers(const std::string& dir) {
  std::vector<unsigned long> numbers;
  for (const std::string& name : list_dir(dir)) {
    if (name.rfind(kKeysPrefix, 0) != 0) continue;
    std::string_view rest = std::string_view(name).substr(kKeysPrefix.size());
    unsigned long n = 0;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec == std::errc() && ptr == rest.data() + rest.size()) numbers.push_back(n);
  }
  return numbers;
}

std::string record_name(unsigned long n) { return std::string(kKeysPrefix) + std::to_string(n); }

}  // namespace

std::vector<std::string> format_key_records(const OwnKeys& keys) {
  std::vector<std::string> records(1);
  const auto add = [&](const std::string& token) {
    if (!records.back().empty() && records.back().size() + 1 + token.size() > kMaxRecordBytes)
      records.emplace_back();
    if (!records.back().empty()) records.back() += ' ';
    records.back() += token;
  };
  for (const Rule& r : keys.rules) add(rule_token(r));
  for (const Exception& e : keys.exceptions) add(exception_token(e));
  // A symlink cannot have an empty target; a space is an empty list of tokens.
  if (records.back().empty()) records.back() = " ";
  return records;
}

bool parse_key_record(std::string_view text, OwnKeys& into) {
  OwnKeys parsed;
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view token = text.substr(0, space);
    text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
    if (token.empty()) continue;
    if (token[0] == '4' || token[0] == '6') {
      if (!parse_rule(token, parsed.rules.emplace_back())) return false;
    } else if (token[0] == 'x') {
      if (!parse_exception(token, parsed.exceptions.emplace_back())) return false;
    } else {
      return false;
    }
  }
  into.rules.insert(into.rules.end(), parsed.rules.begin(), parsed.rules.end());
  into.exceptions.insert(into.exceptions.end(), parsed.exceptions.begin(), parsed.exceptions.end());
  return true;
}

std::optional<OwnKeys> read_own_keys(const std::string& entry_dir) {
  const std::vector<unsigned long> numbers = record_numbers(entry_dir);
  if (numbers.empty()) return std::nullopt;
  OwnKeys keys;
  for (unsigned long n : numbers) {
    const std::optional<std::string> text = read_record(entry_dir, record_name(n));
    if (!text || !parse_key_record(*text, keys)) return std::nullopt;
  }
  return keys;
}

void record_own_keys(const std::string& entry_dir, const OwnKeys& keys,
                     const std::function<void()>& change) {
  const std::vector<unsigned long> old = record_numbers(entry_dir);
  unsigned long next = old.empty() ? 0 : *std::max_element(old.begin(), old.end()) + 1;
  for (const std::string& text : format_key_records(keys))
    write_record(entry_dir, record_name(next++), text);
  change();
  for (unsigned long n : old) {
    const std::string path = entry_dir + "/" + record_name(n);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw Error("remove record " + path, errno);
  }
}

}  // namespace ojh
