// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <linux/openat2.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "oci/config.hpp"

namespace ojh {

// Reads `path` (relative to `dir`, resolved as `how` says) if it is a regular file, at most
// `max_bytes`. It is first opened with O_PATH, which opens nothing for reading: a FIFO's
// open would wait for a writer and a device's may block or act, either hanging the hook and
// the container start with it. Only a regular file is then opened for reading, through the
// descriptor already held, so the file checked is the file read. With `owner`, the file
// must also belong to that uid: what root reads on a user's behalf (the attach service) is
// only ever a file the user owns, never one the user merely names.
std::string read_regular_file(int dir, const char* path, open_how how, const std::string& what,
                              std::size_t max_bytes, std::optional<uid_t> owner = std::nullopt);

// read_regular_file of an absolute `path` that a runtime or a user names (a bind-mount
// source, a bundle's config.json): a symlink in its last component is not followed, nor a
// magic link anywhere (/proc/<pid>/root/...), so a directory that someone else can write
// cannot point the reader at another file.
std::string read_named_regular_file(const std::string& path, std::size_t max_bytes,
                                    std::optional<uid_t> owner = std::nullopt);

// <bundle_dir>/config.json, read as read_named_regular_file does (at most kMaxConfigBytes),
// then parse_bundle_config. The bundle must be an absolute path, as the runtime spec has it.
BundleConfig read_bundle_config(const std::string& bundle_dir,
                                std::optional<uid_t> owner = std::nullopt);

}  // namespace ojh
