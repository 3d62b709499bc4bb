// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace ojh {

using Annotations = std::map<std::string, std::string>;

// Bounds applied wherever annotations are parsed (state JSON, config.json). Annotations come
// from whoever starts the container, so they are untrusted input. Other tools' annotations
// pass through unread and can be large (CRI-O packs every pod annotation into one JSON
// value; kubectl's last-applied-configuration often exceeds 4 KiB), so only the count, the
// key length (Kubernetes allows 253 + 1 + 63) and the whole input size bound them; values
// in our own namespace (kJailAnnotationPrefix) are held to a tight limit.
inline constexpr std::size_t kMaxAnnotations = 4096;
inline constexpr std::size_t kMaxAnnotationKeyBytes = 512;
inline constexpr std::size_t kMaxJailAnnotationValueBytes = 4096;
inline constexpr std::string_view kJailAnnotationPrefix = "jail.";

inline constexpr std::string_view kBlockHostAnnotation = "jail.block-host";
// Its sub-keys (the per-container policy, oci/policy.hpp) share the prefix
// kBlockHostAnnotation + ".".
inline constexpr std::string_view kBlockHostAllowAnnotation = "jail.block-host.allow";
inline constexpr std::string_view kBlockHostCidrsAnnotation = "jail.block-host.cidrs";
inline constexpr std::string_view kBlockHostModeAnnotation = "jail.block-host.mode";
inline constexpr std::string_view kBlockHostDnsAnnotation = "jail.block-host.dns";
inline constexpr std::string_view kBlockHostUnixAnnotation = "jail.block-host.unix";

// Every annotation this hook understands. A key in our namespace that is not listed here is
// most likely a typo of one that is, and silently ignoring it could leave a container
// unprotected, so it is an error. New keys are added here.
inline constexpr std::array<std::string_view, 6> kKnownAnnotations = {
    kBlockHostAnnotation,     kBlockHostAllowAnnotation, kBlockHostCidrsAnnotation,
    kBlockHostModeAnnotation, kBlockHostDnsAnnotation,   kBlockHostUnixAnnotation};

enum class BlockHost { Absent, Off, Enforce };

// Throws ojh::Error for a key starting with "jail.block-host." that is not in
// kKnownAnnotations.
void check_known_annotations(const Annotations& annotations);

// check_known_annotations, then the jail.block-host value: "true" -> Enforce,
// "false" -> Off, absent -> Absent, anything else -> ojh::Error. A sub-key set while the
// switch is absent or "false" is an ojh::Error too: whoever writes policy expects protection.
// The sub-keys' values are checked by parse_container_policy (oci/policy.hpp).
BlockHost block_host_mode(const Annotations& annotations);

}  // namespace ojh
