// SPDX-License-Identifier: Apache-2.0
#include "bench/runc_bench.hpp"

#include <cstdio>
#include <utility>
#include <vector>

#include "bench/stats.hpp"
#include "bench/timed_exec.hpp"
#include "oci/error.hpp"

namespace ojh::bench {

int run_runc_row(const RuncOptions& opt) {
  TimedExec exec;
  std::vector<double> with_ms, without_ms, with_cpu, without_cpu;
  int serial = 0;
  const auto once = [&](bool hooked) {
    const std::string id = std::string(hooked ? "bh-" : "bn-") + std::to_string(++serial);
    const ExecResult r =
        exec.run({opt.runc, "--root", opt.root, "run", "--bundle",
                  hooked ? opt.bundle_with : opt.bundle_without, id},
                 "");
    if (r.status != 0)
      throw Error("runc run " + id + " exited " + std::to_string(r.status) + ": " + r.stderr_text);
    return std::pair{r.wall_us / 1000.0, r.cpu_us / 1000.0};
  };
  std::fprintf(stderr, "ojh-bench: runc: %d + %d runs of each\n", opt.warmup, opt.runs);
  for (int i = 0; i < opt.warmup + opt.runs; ++i) {
    // ABBA order: position effects (caches warmed by the previous run) cancel out.
    const bool hooked_first = i % 2 == 0;
    const auto a = once(hooked_first);
    const auto b = once(!hooked_first);
    if (i < opt.warmup) continue;
    with_ms.push_back(hooked_first ? a.first : b.first);
    without_ms.push_back(hooked_first ? b.first : a.first);
    with_cpu.push_back(hooked_first ? a.second : b.second);
    without_cpu.push_back(hooked_first ? b.second : a.second);
  }
  const Summary w = summarize(with_ms);
  const Summary o = summarize(without_ms);
  Row row;
  row.metric = "runc run of busybox /bin/true, with the hook / without (createRuntime + poststop)";
  row.target = "≤ 1.10";
  row.measured = "with: median " + fixed(w.median, 1) + " ms, p99 " + fixed(w.p99, 1) +
                 " ms; without: median " + fixed(o.median, 1) + " ms, p99 " + fixed(o.p99, 1) +
                 " ms (" + std::to_string(w.n) + " runs each, interleaved)";
  const double ratio = w.median / o.median;
  row.ratio = fixed(ratio, 3);
  row.met = ratio <= 1.10;
  print_row(row);
  print_detail("runc: p10-p90 with " + fixed(w.p10, 1) + "-" + fixed(w.p90, 1) + " ms, without " +
               fixed(o.p10, 1) + "-" + fixed(o.p90, 1) + " ms; p99 ratio " +
               fixed(w.p99 / o.p99, 3) + "; median difference " + fixed(w.median - o.median, 1) +
               " ms (what the two hook runs add); CPU time of runc and everything it waited for "
               "(container, hooks): median with " + fixed(summarize(with_cpu).median, 1) +
               " ms, without " + fixed(summarize(without_cpu).median, 1) + " ms (ratio " +
               fixed(summarize(with_cpu).median / summarize(without_cpu).median, 3) + ")");
  return 0;
}

}  // namespace ojh::bench
