// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace ojh::bench {

// `runc run` of the same busybox /bin/true bundle with the hooks wired (hooks.d JSON) and
// without (and optionally with hook entries that run /bin/true), interleaved in rotating
// order so that no variant always goes first.
struct RuncOptions {
  std::string runc = "/usr/sbin/runc";
  std::string root;            // runc --root (state directory)
  std::string bundle_with;     // config.json has the createRuntime + poststop hooks
  std::string bundle_without;  // the same config.json without hooks
  std::string bundle_noop;     // optional: the same hook entries, but running /bin/true
  std::string bundle_nft;      // optional: the nftables baseline's createRuntime hook instead
  int runs = 40;               // measured runs of each
  int warmup = 3;
};

int run_runc_row(const RuncOptions& options);

}  // namespace ojh::bench
