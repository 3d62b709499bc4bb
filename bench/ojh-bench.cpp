// SPDX-License-Identifier: Apache-2.0
// ojh-bench: the measurements behind BENCHMARKS.md (ISSUE 4). Each subcommand prints ROW
// and DETAIL lines (tab-separated) that bench/run.sh turns into the results table. Needs
// root; attaches only to cgroups it creates and pins only in a bpffs of its own.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/hook_scale.hpp"
#include "bench/hook_start.hpp"
#include "bench/nft_baseline.hpp"
#include "bench/runc_bench.hpp"
#include "bench/socket_bench.hpp"
#include "oci/error.hpp"
#include "tests/support/sandbox.hpp"

namespace po = boost::program_options;
using namespace ojh::bench;

namespace {

constexpr const char* kUsage =
    "Usage: ojh-bench COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  sockets     connect()/flood rows: enforced cgroup vs unenforced sibling, alternating\n"
    "  hook-scale  the installed hook for N containers: time, kernel memory, leaks\n"
    "  runc        runc run of a busybox /bin/true bundle with the hook vs without\n"
    "  hook-start  the hook's own start: statically vs dynamically linked, and /bin/true\n"
    "  nft-hook    the nftables baseline's createRuntime hook (state JSON on stdin)\n"
    "\n"
    "Run `ojh-bench COMMAND --help` for a command's options; bench/run.sh runs them all.\n";

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Parses `args` against `desc`; returns false when --help was asked for (and printed).
bool parse(const std::vector<std::string>& args, po::options_description& desc) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

int sockets(const std::vector<std::string>& args) {
  SocketRowsOptions o;
  std::string rows;
  po::options_description desc("ojh-bench sockets");
  desc.add_options()("rows", po::value(&rows),
                     "comma-separated subset of: udp-connect, tcp-connect, udp-flood, "
                     "udp-sendto-flood, raw-flood (default: all)")(
      "blocks", po::value(&o.blocks)->default_value(o.blocks), "measured blocks per worker")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup), "discarded blocks per worker")(
      "scale", po::value(&o.scale)->default_value(o.scale), "multiplier of operations per block")(
      "cpu", po::value(&o.cpu)->default_value(o.cpu), "CPU of the workers (-1: the last one)")(
      "extra-cidrs", po::value(&o.extra_cidrs)->default_value(o.extra_cidrs),
      "extra /24 rules of the CIDR policy")(
      "wall-clock", po::bool_switch(&o.wall_clock),
      "compare wall time per block instead of the workers' CPU time");
  if (!parse(args, desc)) return 0;
  o.rows = split_commas(rows);
  return run_socket_rows(o);
}

int hook_scale(const std::vector<std::string>& args) {
  HookScaleOptions o;
  po::options_description desc("ojh-bench hook-scale");
  desc.add_options()("hook", po::value(&o.hook)->required(), "installed oci-jail-hook binary")(
      "count", po::value(&o.count)->default_value(o.count), "enforced containers")(
      "window", po::value(&o.window)->default_value(o.window),
      "containers per sample around the 1st, 100th, ..., last")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup),
      "containers enforced and released first (the first one loads the programs)")(
      "pairs", po::value(&o.pairs)->default_value(o.pairs),
      "create-runtime runs with all containers enforced and with none, interleaved")(
      "memcg", po::value(&o.memcg), "memory cgroup directory the hook processes join");
  if (!parse(args, desc)) return 0;
  return run_hook_scale(o);
}

int hook_start(const std::vector<std::string>& args) {
  HookStartOptions o;
  po::options_description desc("ojh-bench hook-start");
  desc.add_options()("hook", po::value(&o.hook)->required(), "installed oci-jail-hook binary")(
      "shared-hook", po::value(&o.shared_hook)->required(),
      "the same hook linked to shared libraries (bench/oci-jail-hook-shared)")(
      "runs", po::value(&o.runs)->default_value(o.runs), "measured runs of each")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup), "discarded runs of each");
  if (!parse(args, desc)) return 0;
  return run_hook_start_row(o);
}

int runc(const std::vector<std::string>& args) {
  RuncOptions o;
  po::options_description desc("ojh-bench runc");
  desc.add_options()("runc", po::value(&o.runc)->default_value(o.runc), "runc binary")(
      "root", po::value(&o.root)->required(), "runc --root state directory")(
      "bundle-with", po::value(&o.bundle_with)->required(), "bundle with the hooks wired")(
      "bundle-without", po::value(&o.bundle_without)->required(), "the same bundle, no hooks")(
      "bundle-noop", po::value(&o.bundle_noop),
      "optional: the same bundle with hook entries that run /bin/true")(
      "bundle-nft", po::value(&o.bundle_nft),
      "optional: the same bundle with the nftables baseline's createRuntime hook")(
      "runs", po::value(&o.runs)->default_value(o.runs), "measured runs of each")(
      "warmup", po::value(&o.warmup)->default_value(o.warmup), "discarded runs of each");
  if (!parse(args, desc)) return 0;
  return run_runc_row(o);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    // A hook a runtime runs: nothing of the bench's own set-up on its path.
    if (command == "nft-hook") return run_nft_hook();
    if (const std::string why = ojh::test::why_unsupported(); !why.empty()) {
      std::fprintf(stderr, "ojh-bench: %s\n", why.c_str());
      return 77;
    }
    if (command == "sockets") return sockets(args);
    if (command == "hook-scale") return hook_scale(args);
    if (command == "runc") return runc(args);
    if (command == "hook-start") return hook_start(args);
    std::fprintf(stderr, "ojh-bench: unknown command \"%s\"\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const po::error& e) {
    std::fprintf(stderr, "ojh-bench %s: %s (try --help)\n", command.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ojh-bench %s: %s\n", command.c_str(), e.what());
    return 1;
  }
}
