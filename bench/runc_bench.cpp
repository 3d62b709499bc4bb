// SPDX-License-Identifier: Apache-2.0
#include "bench/runc_bench.hpp"

#include <cstdio>
#include <vector>

#include "bench/stats.hpp"
#include "bench/timed_exec.hpp"
#include "oci/error.hpp"

namespace ojh::bench {
namespace {

struct Variant {
  std::string tag;  // container id prefix
  std::string bundle;
  std::vector<double> wall_ms;
  std::vector<double> cpu_ms;
};

std::string spread(const Summary& s) {
  return "median " + fixed(s.median, 1) + " ms, p99 " + fixed(s.p99, 1) + " ms";
}

}  // namespace

int run_runc_row(const RuncOptions& opt) {
  // The runtime as rows name it: runc and crun take the same command line.
  const std::string name = opt.runc.substr(opt.runc.find_last_of('/') + 1);
  TimedExec exec;
  std::vector<Variant> variants = {{"bh-", opt.bundle_with, {}, {}},
                                   {"bn-", opt.bundle_without, {}, {}}};
  if (!opt.bundle_noop.empty()) variants.push_back({"bt-", opt.bundle_noop, {}, {}});
  const std::size_t nft = variants.size();
  if (!opt.bundle_nft.empty()) variants.push_back({"bf-", opt.bundle_nft, {}, {}});
  int serial = 0;
  std::fprintf(stderr, "ojh-bench: %s: %d + %d runs of each of %zu bundles\n", name.c_str(),
               opt.warmup, opt.runs, variants.size());
  for (int round = 0; round < opt.warmup + opt.runs; ++round) {
    // Rotating order (AB, BA / ABC, BCA, CAB): position effects cancel out.
    for (std::size_t k = 0; k < variants.size(); ++k) {
      Variant& v = variants[(round + k) % variants.size()];
      const std::string id = v.tag + std::to_string(++serial);
      const ExecResult r =
          exec.run({opt.runc, "--root", opt.root, "run", "--bundle", v.bundle, id}, "");
      if (r.status != 0)
        throw Error(name + " run " + id + " exited " + std::to_string(r.status) + ": " +
                    r.stderr_text);
      if (round < opt.warmup) continue;
      v.wall_ms.push_back(r.wall_us / 1000.0);
      v.cpu_ms.push_back(r.cpu_us / 1000.0);
    }
  }
  const Summary w = summarize(variants[0].wall_ms);
  const Summary o = summarize(variants[1].wall_ms);
  const Summary wc = summarize(variants[0].cpu_ms);
  const Summary oc = summarize(variants[1].cpu_ms);
  Row row;
  row.metric =
      name + " run of busybox /bin/true, with the hook / without (createRuntime + poststop)";
  row.target = "≤ 1.10";
  row.measured = "with: " + spread(w) + "; without: " + spread(o) + " (" + std::to_string(w.n) +
                 " runs each, interleaved)";
  const double ratio = w.median / o.median;
  row.ratio = fixed(ratio, 3);
  row.met = ratio <= 1.10;
  print_row(row);
  print_detail(name + ": p10-p90 with " + fixed(w.p10, 1) + "-" + fixed(w.p90, 1) +
               " ms, without " + fixed(o.p10, 1) + "-" + fixed(o.p90, 1) + " ms; p99 ratio " +
               fixed(w.p99 / o.p99, 3) + "; median difference " + fixed(w.median - o.median, 1) +
               " ms; CPU time of runc and everything it waited for (container, hooks): median "
               "with " +
               fixed(wc.median, 1) + " ms, without " + fixed(oc.median, 1) + " ms (ratio " +
               fixed(wc.median / oc.median, 3) + ")");
  if (nft < variants.size()) {
    const Summary f = summarize(variants[nft].wall_ms);
    Row vs;
    vs.metric = name +
                " run of busybox /bin/true, with this hook / with the nftables baseline hook "
                "(bench/nft_baseline.hpp)";
    vs.target = "≤ 1.00";
    vs.measured = "this hook: " + spread(w) + "; nftables: " + spread(f);
    vs.ratio = fixed(w.median / f.median, 3);
    vs.met = w.median <= f.median;
    print_row(vs);
    print_detail(name + ": the nftables baseline's start against none: " +
                 fixed(f.median / o.median, 3) + " (" + fixed(f.median - o.median, 1) +
                 " ms more; one createRuntime hook, nothing at poststop: its rules go with the "
                 "container's netns)");
  }
  if (!opt.bundle_noop.empty()) {
    const Summary t = summarize(variants[2].wall_ms);
    const Summary tc = summarize(variants[2].cpu_ms);
    print_detail(name +
                 ": the same two hook entries running a no-op (/bin/true; dd for crun, which needs "
                 "its stdin read) (what " +
                 name +
                 "'s hook "
                 "machinery costs by itself): " +
                 spread(t) + ", ratio " + fixed(t.median / o.median, 3) +
                 " to without; CPU median " + fixed(tc.median, 1) + " ms. So of the " +
                 fixed(w.median - o.median, 1) + " ms the hooks add, " +
                 fixed(t.median - o.median, 1) + " ms is running any two hooks and " +
                 fixed(w.median - t.median, 1) +
                 " ms is oci-jail-hook's own (exec of its binary included)");
  }
  return 0;
}

}  // namespace ojh::bench
