// SPDX-License-Identifier: Apache-2.0
#include "bench/hook_start.hpp"

#include <cstdio>
#include <vector>

#include "bench/stats.hpp"
#include "bench/timed_exec.hpp"
#include "oci/error.hpp"

namespace ojh::bench {
namespace {

// No annotation: the hook reads the state and exits 0 without touching the kernel.
constexpr const char* kNoOpState =
    R"({"ociVersion":"1.0.2","id":"ojh-bench-start","status":"creating","pid":1,)"
    R"("bundle":"/nonexistent","annotations":{}})";

struct Variant {
  std::string name;
  std::vector<std::string> argv;
  std::string input;  // its stdin (/bin/true reads none: a write to it could meet EPIPE)
  std::vector<double> wall_us;
  std::vector<double> cpu_us;
};

}  // namespace

int run_hook_start_row(const HookStartOptions& opt) {
  TimedExec exec;
  std::vector<Variant> variants = {
      {"static", {opt.hook, "create-runtime"}, kNoOpState, {}, {}},
      {"shared", {opt.shared_hook, "create-runtime"}, kNoOpState, {}, {}},
      {"/bin/true", {"/bin/true"}, "", {}, {}},
  };
  std::fprintf(stderr, "ojh-bench: hook-start: %d + %d runs of each of %zu programs\n", opt.warmup,
               opt.runs, variants.size());
  for (int round = 0; round < opt.warmup + opt.runs; ++round) {
    // Rotating order: no variant always runs right after another.
    for (std::size_t k = 0; k < variants.size(); ++k) {
      Variant& v = variants[(round + k) % variants.size()];
      const ExecResult r = exec.run(v.argv, v.input);
      if (r.status != 0)
        throw Error(v.argv[0] + " exited " + std::to_string(r.status) + ": " + r.stderr_text);
      if (round < opt.warmup) continue;
      v.wall_us.push_back(r.wall_us);
      v.cpu_us.push_back(r.cpu_us);
    }
  }
  const Summary st = summarize(variants[0].wall_us);
  const Summary sh = summarize(variants[1].wall_us);
  const Summary tr = summarize(variants[2].wall_us);
  Row row;
  row.metric =
      "hook start (a createRuntime with nothing to enforce): static libraries / shared libraries";
  row.target = "< 1 (start cost of issue 15)";
  row.measured = "static: median " + fixed(st.median / 1000.0, 2) + " ms; shared: median " +
                 fixed(sh.median / 1000.0, 2) + " ms; /bin/true: median " +
                 fixed(tr.median / 1000.0, 2) + " ms (" + std::to_string(st.n) +
                 " runs each, interleaved)";
  const double ratio = st.median / sh.median;
  row.ratio = fixed(ratio, 3);
  row.met = ratio < 1.0;
  print_row(row);
  const Summary stc = summarize(variants[0].cpu_us);
  const Summary shc = summarize(variants[1].cpu_us);
  print_detail("hook start: above the floor of an exec (/bin/true), the static hook takes " +
               fixed((st.median - tr.median) / 1000.0, 2) + " ms and the shared one " +
               fixed((sh.median - tr.median) / 1000.0, 2) + " ms; CPU time median " +
               fixed(stc.median / 1000.0, 2) + " ms vs " + fixed(shc.median / 1000.0, 2) +
               " ms; p90 " + fixed(st.p90 / 1000.0, 2) + " ms vs " + fixed(sh.p90 / 1000.0, 2) +
               " ms. A runtime runs the hook twice per container (createRuntime, poststop)");
  return 0;
}

}  // namespace ojh::bench
