// SPDX-License-Identifier: Apache-2.0
#include "oci/policy.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "oci/error.hpp"
#include "oci/quote.hpp"

namespace ojh {
namespace {

constexpr std::string_view kExceptionSyntax = "PROTO:ADDR:PORT";
constexpr std::string_view kCidrSyntax = "a.b.c.d/n, x::/n, an address or \"private\"";
constexpr std::string_view kOriginAnnotation = "annotation";
constexpr std::string_view kOriginPrivate = "private";

// Non-public ranges a pod author can block in one word: RFC 1918, CGNAT (RFC 6598; also
// Tailscale and Alibaba's metadata 100.100.100.200), IPv4 link-local (cloud metadata), IPv6
// unique local and link-local.
constexpr std::array<std::string_view, 7> kPrivateCidrs = {
    "10.0.0.0/8",     "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "169.254.0.0/16", "fc00::/7",      "fe80::/10"};

[[noreturn]] void entry_error(std::string_view entry, std::string_view detail) {
  throw Error("entry " + quote_untrusted(entry) + ": " + std::string(detail));
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_decimal(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}
bool looks_like_ipv4(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; });
}

// Strict inet_pton: the text is checked byte by byte first, because inet_pton stops at a NUL
// that a std::string_view may carry ("127.0.0.1\0junk" must not be 127.0.0.1).
std::optional<AddressBytes> parse_ip(std::string_view text, int family) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const bool ok = std::all_of(text.begin(), text.end(), [family](char c) {
    return is_digit(c) || c == '.' || (family == AF_INET6 && (is_hex(c) || c == ':'));
  });
  if (!ok) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN] = {};
  std::copy(text.begin(), text.end(), buffer);
  AddressBytes address;
  address.family = family;
  if (inet_pton(family, buffer, address.bytes.data()) != 1) return std::nullopt;
  return address;
}

bool is_v4_mapped(const AddressBytes& a) {
  return a.family == AF_INET6 &&
         std::all_of(a.bytes.begin(), a.bytes.begin() + 10,
                     [](std::uint8_t b) { return b == 0; }) &&
         a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

// ::ffff:a.b.c.d -> a.b.c.d; anything else unchanged.
AddressBytes unmap(const AddressBytes& a) {
  if (!is_v4_mapped(a)) return a;
  AddressBytes v4;
  v4.family = AF_INET;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

unsigned address_bits(int family) { return family == AF_INET ? 32 : 128; }

AddressBytes network_of(AddressBytes a, unsigned prefixlen) {
  for (unsigned bit = prefixlen; bit < address_bits(a.family); ++bit) {
    a.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return a;
}

// Only digits, at most five of them, and at most max; nullopt else.
std::optional<unsigned> parse_small_decimal(std::string_view text, unsigned max) {
  if (!is_decimal(text) || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > max) return std::nullopt;
  return value;
}

bool has_leading_zero(std::string_view text) {
  return text.size() > 1 && text.front() == '0' && is_decimal(text);
}

// Calls parse(entry) for every comma-separated entry after the checks both lists share.
template <typename Parse>
void for_each_entry(std::string_view value, std::string_view syntax, Parse&& parse) {
  if (value.empty()) {
    throw Error("value is empty: expected a comma-separated list of " + std::string(syntax));
  }
  std::size_t index = 1;
  for (;; ++index) {
    const std::size_t comma = value.find(',');
    const std::string_view entry = value.substr(0, comma);
    if (entry.empty()) {
      throw Error("entry " + std::to_string(index) + " is empty: expected " + std::string(syntax));
    }
    if (std::any_of(entry.begin(), entry.end(), [](char c) { return is_blank(c) || c == '\n'; })) {
      entry_error(entry, "whitespace is not allowed");
    }
    parse(entry);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// ADDR of an exception: a.b.c.d, [IPv6] or *.
void parse_exception_address(std::string_view entry, std::string_view text, Exception& out) {
  if (text == "*") {
    out.any_host_address = true;
    return;
  }
  if (text.starts_with('[')) {
    const std::string_view inside = text.substr(1, text.size() - 2);
    if (inside.find('%') != std::string_view::npos) {
      entry_error(entry, "IPv6 zone ids (%...) are not supported");
    }
    const auto address = parse_ip(inside, AF_INET6);
    if (!address) entry_error(entry, "invalid IPv6 address");
    out.address = unmap(*address);
    return;
  }
  if (text.find(':') != std::string_view::npos) {
    entry_error(entry, "IPv6 addresses must be in brackets, e.g. tcp:[::1]:8080");
  }
  const auto address = parse_ip(text, AF_INET);
  if (!address) {
    entry_error(entry, looks_like_ipv4(text)
                           ? "invalid IPv4 address"
                           : "address must be an IPv4 address, a bracketed IPv6 address or *");
  }
  out.address = *address;
}

Exception parse_exception(std::string_view entry) {
  const std::string expected = "expected " + std::string(kExceptionSyntax);
  const std::size_t colon = entry.find(':');
  if (colon == std::string_view::npos) entry_error(entry, expected);

  Exception exception;
  const std::string_view protocol = entry.substr(0, colon);
  if (protocol == "tcp") {
    exception.protocol = IPPROTO_TCP;
  } else if (protocol == "udp") {
    exception.protocol = IPPROTO_UDP;
  } else {
    entry_error(entry, "protocol must be tcp or udp");
  }

  // ADDR may hold colons only inside brackets, so the port follows "]:" or the last colon.
  const std::string_view rest = entry.substr(colon + 1);
  std::size_t port_colon;
  if (rest.starts_with('[')) {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) entry_error(entry, "missing ']' after the IPv6 address");
    port_colon = close + 1;
    if (port_colon >= rest.size() || rest[port_colon] != ':') entry_error(entry, expected);
  } else {
    port_colon = rest.rfind(':');
    if (port_colon == std::string_view::npos) entry_error(entry, expected);
  }
  parse_exception_address(entry, rest.substr(0, port_colon), exception);

  const std::string_view port = rest.substr(port_colon + 1);
  if (has_leading_zero(port)) entry_error(entry, "port must not have leading zeros");
  const auto number = parse_small_decimal(port, 65535);
  if (!number || *number == 0) entry_error(entry, "port must be 1-65535");
  exception.port = static_cast<std::uint16_t>(*number);
  return exception;
}

// One CIDR entry (not "private"), normalized; origin is left to the caller.
Cidr parse_one_cidr(std::string_view entry) {
  const std::size_t slash = entry.find('/');
  const std::string_view text = entry.substr(0, slash);
  if (text.starts_with('[')) {
    entry_error(entry, "IPv6 CIDRs are written without brackets, e.g. fd00::/8");
  }
  if (text.find('%') != std::string_view::npos) {
    entry_error(entry, "IPv6 zone ids (%...) are not supported");
  }
  const bool v6 = text.find(':') != std::string_view::npos;
  const auto address = parse_ip(text, v6 ? AF_INET6 : AF_INET);
  if (!address) {
    if (v6) entry_error(entry, "invalid IPv6 address");
    if (looks_like_ipv4(text)) entry_error(entry, "invalid IPv4 address");
    entry_error(entry, "expected " + std::string(kCidrSyntax));
  }

  Cidr cidr;
  cidr.address = *address;
  cidr.prefixlen = address_bits(address->family);
  if (slash != std::string_view::npos) {
    const std::string_view length = entry.substr(slash + 1);
    if (has_leading_zero(length)) entry_error(entry, "prefix length must not have leading zeros");
    const auto number = parse_small_decimal(length, cidr.prefixlen);
    if (!number) {
      entry_error(entry,
                  v6 ? "IPv6 prefix length must be 0-128" : "IPv4 prefix length must be 0-32");
    }
    cidr.prefixlen = *number;
  }

  const AddressBytes network = network_of(cidr.address, cidr.prefixlen);
  if (network != cidr.address) {
    Cidr suggestion = cidr;
    suggestion.address = network;
    entry_error(entry, "host bits are set; did you mean " + format_cidr(suggestion) + "?");
  }
  // The BPF programs judge a mapped destination as IPv4, so only an IPv4 rule can match it.
  // With the host bits clear a mapped network has a prefix of at least 96; checked anyway.
  if (is_v4_mapped(cidr.address) && cidr.prefixlen >= 96) {
    cidr.address = unmap(cidr.address);
    cidr.prefixlen -= 96;
  }
  return cidr;
}

[[noreturn]] void annotation_error(std::string_view key, const Error& e) {
  throw Error("annotation " + std::string(key) + ": " + e.context());
}

// The value of a sub-key when present, bounded again here so that this parser is safe
// whoever built the map.
std::optional<std::string_view> sub_key_value(const Annotations& annotations,
                                              std::string_view key) {
  const auto it = annotations.find(std::string(key));
  if (it == annotations.end()) return std::nullopt;
  if (it->second.size() > kMaxJailAnnotationValueBytes) {
    throw Error("annotation " + std::string(key) + " is longer than " +
                std::to_string(kMaxJailAnnotationValueBytes) + " bytes");
  }
  return it->second;
}

[[noreturn]] void invalid_value(std::string_view key, std::string_view value,
                                std::string_view expected) {
  throw Error("annotation " + std::string(key) + "=" + quote_untrusted(value) +
              " is invalid: expected " + std::string(expected));
}

// The annotation `key`, one of two words, as the value paired with it; `out` is left as it
// is when the annotation is absent.
template <typename T>
void read_choice(const Annotations& annotations, std::string_view key,
                 const std::pair<std::string_view, T> (&choices)[2], T& out) {
  const auto value = sub_key_value(annotations, key);
  if (!value) return;
  for (const auto& [word, meaning] : choices)
    if (*value == word) {
      out = meaning;
      return;
    }
  invalid_value(
      key, *value,
      "\"" + std::string(choices[0].first) + "\" or \"" + std::string(choices[1].first) + "\"");
}

}  // namespace

// Appends `value`, read from `entry`, to a list unless an equal value was read before: then
// the error names the earlier entry too. `text` is the value as the message shows it.
template <typename T, typename Same = std::equal_to<T>>
void add_unique(std::vector<T>& values, std::vector<std::string_view>& entries,
                std::string_view entry, T value, const std::string& text, Same same = {}) {
  const auto it =
      std::find_if(values.begin(), values.end(), [&](const T& v) { return same(v, value); });
  if (it != values.end())
    entry_error(entry, text + " duplicates entry " + quote_untrusted(entries[it - values.begin()]));
  values.push_back(std::move(value));
  entries.push_back(entry);
}

std::vector<Exception> parse_exceptions(std::string_view value) {
  std::vector<Exception> exceptions;
  std::vector<std::string_view> entries;  // for naming the first of two duplicates
  for_each_entry(value, kExceptionSyntax, [&](std::string_view entry) {
    if (exceptions.size() == kMaxExceptions) {
      throw Error("more than " + std::to_string(kMaxExceptions) + " entries");
    }
    const Exception exception = parse_exception(entry);
    add_unique(exceptions, entries, entry, exception, format_exception(exception));
  });
  return exceptions;
}

std::vector<Cidr> parse_cidrs(std::string_view value) {
  std::vector<Cidr> cidrs;
  std::vector<std::string_view> entries;
  auto add = [&](std::string_view entry, Cidr cidr, std::string_view origin) {
    if (cidrs.size() == kMaxCidrs) {
      throw Error("more than " + std::to_string(kMaxCidrs) + " entries (\"private\" counts as " +
                  std::to_string(kPrivateCidrs.size()) + ")");
    }
    cidr.origin = origin;
    const std::string text = format_cidr(cidr);
    add_unique(cidrs, entries, entry, std::move(cidr), text, [](const Cidr& a, const Cidr& b) {
      return a.address == b.address && a.prefixlen == b.prefixlen;
    });
  };
  for_each_entry(value, kCidrSyntax, [&](std::string_view entry) {
    if (entry == kOriginPrivate) {
      for (const std::string_view range : kPrivateCidrs) {
        add(entry, parse_one_cidr(range), kOriginPrivate);
      }
    } else {
      add(entry, parse_one_cidr(entry), kOriginAnnotation);
    }
  });
  return cidrs;
}

std::vector<AddressBytes> parse_addresses(std::string_view value) {
  constexpr std::string_view kSyntax = "an IPv4 or IPv6 address";
  std::vector<AddressBytes> addresses;
  std::vector<std::string_view> entries;
  for_each_entry(value, kSyntax, [&](std::string_view entry) {
    if (addresses.size() == kMaxAddresses) {
      throw Error("more than " + std::to_string(kMaxAddresses) + " entries");
    }
    auto address = parse_ip(entry, AF_INET);
    if (!address) address = parse_ip(entry, AF_INET6);
    if (!address) entry_error(entry, "expected " + std::string(kSyntax));
    const AddressBytes normalized = unmap(*address);
    add_unique(addresses, entries, entry, normalized, format_address(normalized));
  });
  return addresses;
}

ContainerPolicy parse_container_policy(const Annotations& annotations) {
  ContainerPolicy policy;
  if (block_host_mode(annotations) != BlockHost::Enforce) return policy;
  policy.enforce = true;

  if (const auto value = sub_key_value(annotations, kBlockHostAllowAnnotation)) {
    try {
      policy.exceptions = parse_exceptions(*value);
    } catch (const Error& e) {
      annotation_error(kBlockHostAllowAnnotation, e);
    }
  }
  if (const auto value = sub_key_value(annotations, kBlockHostCidrsAnnotation)) {
    try {
      policy.cidrs = parse_cidrs(*value);
    } catch (const Error& e) {
      annotation_error(kBlockHostCidrsAnnotation, e);
    }
  }
  read_choice<PolicyMode>(annotations, kBlockHostModeAnnotation,
                          {{"enforce", PolicyMode::Enforce}, {"audit", PolicyMode::Audit}},
                          policy.mode);
  read_choice<bool>(annotations, kBlockHostDnsAnnotation, {{"true", true}, {"false", false}},
                    policy.allow_dns);
  read_choice<UnixPolicy>(
      annotations, kBlockHostUnixAnnotation,
      {{"host-abstract", UnixPolicy::HostAbstract}, {"deny-all", UnixPolicy::DenyAll}},
      policy.unix_sockets);
  return policy;
}

std::string format_address(const AddressBytes& address) {
  if (address.family != AF_INET && address.family != AF_INET6) return "?";
  char buffer[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(address.family, address.bytes.data(), buffer, sizeof buffer)) return "?";
  return buffer;
}

std::string format_exception(const Exception& exception) {
  std::string text = exception.protocol == IPPROTO_TCP   ? "tcp"
                     : exception.protocol == IPPROTO_UDP ? "udp"
                                                         : std::to_string(exception.protocol);
  text += ':';
  if (exception.any_host_address) {
    text += '*';
  } else if (exception.address.family == AF_INET6) {
    text += '[' + format_address(exception.address) + ']';
  } else {
    text += format_address(exception.address);
  }
  text += ':';
  text += std::to_string(exception.port);
  return text;
}

std::string format_cidr(const Cidr& cidr) {
  return format_address(cidr.address) + "/" + std::to_string(cidr.prefixlen);
}

std::vector<AddressBytes> parse_resolv_conf_nameservers(std::string_view text) {
  constexpr std::string_view kKeyword = "nameserver";
  std::vector<AddressBytes> nameservers;
  while (!text.empty() && nameservers.size() < kMaxNameservers) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);

    // Like glibc: the keyword at the very start of the line, then at least one blank.
    if (!line.starts_with(kKeyword)) continue;
    line.remove_prefix(kKeyword.size());
    if (line.empty() || !is_blank(line.front())) continue;
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    const std::string_view token =
        line.substr(0, std::find_if(line.begin(), line.end(), is_blank) - line.begin());

    auto address = parse_ip(token, AF_INET);
    if (!address) address = parse_ip(token.substr(0, token.find('%')), AF_INET6);
    if (!address) continue;
    const AddressBytes nameserver = unmap(*address);
    if (std::find(nameservers.begin(), nameservers.end(), nameserver) == nameservers.end()) {
      nameservers.push_back(nameserver);
    }
  }
  return nameservers;
}

}  // namespace ojh
