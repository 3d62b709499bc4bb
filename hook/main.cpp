// SPDX-License-Identifier: Apache-2.0
// oci-jail-hook: OCI runtime hook that cuts a container off from its host.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "hook/admin_config_file.hpp"
#include "hook/capabilities.hpp"
#include "hook/commands.hpp"
#include "hook/file.hpp"
#include "hook/logging.hpp"
#include "hook/phase_timer.hpp"
#include "oci/error.hpp"
#include "oci/user_namespace.hpp"

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "Usage: oci-jail-hook [options] COMMAND\n"
    "\n"
    "Commands:\n"
    "  create-runtime  read the OCI state on stdin and block the container from the host\n"
    "                  (createRuntime hook; for annotation jail.block-host=true, or for\n"
    "                  every container with enforce-all = true in the admin config)\n"
    "  poststop        read the OCI state on stdin and remove what create-runtime attached\n"
    "  status          list enforced containers, their rules and denial counters\n"
    "  refresh         re-read the host's addresses and update every running enforced\n"
    "                  container (run it when host addresses change)\n"
    "  gc              release containers whose cgroup is gone (poststop never ran) and\n"
    "                  leftovers of interrupted hooks; safe to run any time\n"
    "  watch           follow the host's address changes and refresh at once (the\n"
    "                  oci-jail-hook-watch.service; runs until stopped)\n"
    "  serve           the attach service: enforce rootless users' containers on their\n"
    "                  hooks' behalf (oci-jail-hook.socket; runs until stopped)\n"
    "  events          the last denials of each container (which process tried to reach\n"
    "                  what); --follow streams new ones (oci-jail-hook-events.service)\n"
    "  metrics         denial counters, records dropped and map use as OpenMetrics text\n"
    "  advise          --container ID: the jail.block-host.allow that would have let through\n"
    "                  what the container was refused (or, in audit mode, would have been)\n"
    "\n"
    "Run by a user other than root, or inside a user namespace (rootless podman),\n"
    "create-runtime, poststop, status, gc and events go through the attach service and see\n"
    "only that user's containers.\n"
    "\n"
    "Options";

}  // namespace

int main(int argc, char** argv) {
  ojh::Options opts;
  std::string command;
  std::string config_path(ojh::kDefaultAdminConfigPath);
  po::options_description visible(kUsage);
  visible.add_options()("help,h", "show this help")("version", "show the version")(
      "config", po::value(&config_path),
      "admin config file (default /etc/containers/oci-jail-hook.conf; a missing default "
      "file means defaults)")(
      "pin-dir", po::value(&opts.pin_dir)->default_value(opts.pin_dir),
      "bpffs directory for pinned programs and links (bpffs is mounted on its parent "
      "when missing, if that is an empty directory)")(
      "socket", po::value(&opts.attach_socket)->default_value(opts.attach_socket),
      "the attach service's Unix socket: where serve listens without systemd, and where "
      "rootless commands send their requests")("json", po::bool_switch(&opts.json),
                                               "status, events, advise: machine-readable output")(
      "follow,f", po::bool_switch(&opts.follow), "events: stream new denials until interrupted")(
      "container", po::value(&opts.container),
      "events: only the container with this id; advise: the container to advise on")(
      "journal", po::bool_switch(&opts.journal),
      "events: send each denial to the journal with structured fields (syslog without one)")(
      "max-per-second", po::value(&opts.max_per_second),
      "events --follow: at most this many lines per container per second; the rest are "
      "counted in one line (default: no limit)")("verbose,v", po::bool_switch(&opts.verbose),
                                                 "log every step and libbpf output to stderr")(
      "show-capabilities", po::bool_switch(&opts.show_capabilities),
      "create-runtime: print the capability sets at each phase to stderr")(
      "timing", po::bool_switch(&opts.timing),
      "create-runtime: print the time of each phase (parse, resolve, host, lock, load, "
      "populate, attach, pin) to stderr");
  po::options_description all;
  all.add(visible).add_options()("command", po::value(&command));
  po::positional_options_description positional;
  positional.add("command", 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "oci-jail-hook: %s (try --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (vm.count("version")) {
    std::printf("oci-jail-hook %s\n", OJH_VERSION);
    return 0;
  }

  if (opts.attach_socket.empty() || opts.attach_socket.front() != '/') {
    std::fprintf(stderr, "oci-jail-hook: --socket must be an absolute path\n");
    return 2;
  }
  if (opts.pin_dir.empty() || opts.pin_dir.front() != '/') {
    std::fprintf(stderr, "oci-jail-hook: --pin-dir must be an absolute path\n");
    return 2;
  }
  try {
    // Root of a user namespace is not root to the kernel's BPF and cgroup checks.
    opts.rootless = ::geteuid() != 0 || !ojh::is_initial_user_namespace(
                                            ojh::read_file_bounded("/proc/self/uid_map", 4096));
    if (opts.rootless && (command == "refresh" || command == "watch" || command == "serve"))
      throw ojh::Error(command +
                       " must run as root of the host (it loads and attaches BPF programs)");
    // For a rootless user the attach service applies the admin config it reads as root.
    // Here only enforce-all is taken, unverified (inside a user namespace root's file shows
    // as owned by nobody): it can only send more containers to the service.
    if (opts.rootless)
      opts.admin.enforce_all = ojh::load_enforce_all_unverified(config_path);
    else
      opts.admin = ojh::load_admin_config(config_path, vm.count("config") > 0);
  } catch (const ojh::Error& e) {
    ojh::log_init(opts.verbose, ojh::LogLevel::Info);
    ojh::log_error("", e.what());
    return 1;
  }
  if (opts.admin.pin_dir && vm["pin-dir"].defaulted()) opts.pin_dir = *opts.admin.pin_dir;
  ojh::log_init(opts.verbose, opts.admin.log_level);
  if (opts.timing) ojh::PhaseTimer::instance().enable();
  ojh::show_capabilities(opts.show_capabilities);
  std::string container_id;
  try {
    if (command == "create-runtime") {
      const int rc = ojh::run_create_runtime(opts, container_id);
      ojh::PhaseTimer::instance().report();
      return rc;
    }
    if (command == "poststop") return ojh::run_poststop(opts, container_id);
    if (command == "status") return ojh::run_status(opts);
    if (command == "refresh") return ojh::run_refresh(opts);
    if (command == "gc") return ojh::run_gc(opts);
    if (command == "watch") return ojh::run_watch(opts);
    if (command == "serve") return ojh::run_serve(opts);
    if (command == "events") return ojh::run_events(opts);
    if (command == "metrics") return ojh::run_metrics(opts);
    if (command == "advise") return ojh::run_advise(opts);
    if (command.empty())
      std::fprintf(stderr, "oci-jail-hook: missing command (try --help)\n");
    else
      std::fprintf(stderr, "oci-jail-hook: unknown command \"%s\" (try --help)\n", command.c_str());
    return 2;
  } catch (const ojh::Error& e) {
    ojh::log_error(container_id, e.what());
  } catch (const std::exception& e) {
    ojh::log_error(container_id, std::string("unexpected error: ") + e.what());
  }
  return 1;
}
