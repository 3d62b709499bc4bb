// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/config.hpp"
#include "oci/policy.hpp"

namespace ojh {

// Exceptions that keep name resolution working: TCP and UDP port 53 to each nameserver of
// the resolv.conf the container will use, even when that nameserver is a host address
// (aardvark-dns on podman's bridge gateway, pasta's 169.254.1.1, systemd-resolved's
// 127.0.0.53 for host-netns containers). Nothing else on those addresses is opened.
//
// Where the file comes from (config.json): the source of the bind mount onto
// /etc/resolv.conf when the runtime provides one (podman, CRI-O: runtime-written, trusted
// as much as config.json), else <rootfs>/etc/resolv.conf resolved inside the rootfs
// (openat2 RESOLVE_IN_ROOT: an image's symlink cannot point the hook at a host file).
// Only a regular file is read (never a FIFO or device, which could block the hook), and
// the bind-mount source not through a symlink in its last component nor a /proc magic link.
// An unreadable, missing or refused file yields no exception: DNS is then blocked like the
// rest. For a rootless user's container (`owner`, the attach service) only the bind-mount
// source is read, and only if that user owns it: root reads no file on a user's say-so.
std::vector<Exception> dns_exceptions(const BundleConfig& config, const std::string& bundle_dir,
                                      std::optional<uid_t> owner = std::nullopt);

std::vector<Exception> dns_exceptions_for(const std::vector<AddressBytes>& nameservers);

// The host's own resolver configuration, read by the hook in the runtime's mount namespace:
// root's file (followed through symlinks: systemd-resolved and NetworkManager link it), so
// its nameservers are the admin's. A missing or unreadable file, or anything but a regular
// file, is no nameserver.
inline constexpr std::string_view kHostResolvConfPath = "/etc/resolv.conf";
std::vector<AddressBytes> read_host_nameservers(const std::string& path);

}  // namespace ojh
