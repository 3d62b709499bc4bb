// SPDX-License-Identifier: Apache-2.0
// What a CRI-O node hands the hook for a Kubernetes pod (fixtures/crio/README.md): 64-hex ids,
// pod annotations merged into the container's, CRI-O's JSON-encoded annotation values and a
// kubectl last-applied-configuration well over 4 KiB, a systemd-style cgroupsPath.
#include <fstream>
#include <string>

#include "oci/annotations.hpp"
#include "oci/cgroup.hpp"
#include "oci/config.hpp"
#include "oci/policy.hpp"
#include "oci/state.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

namespace {

constexpr const char* kContainerId =
    "01fa50a1ce074ab879985343ee4eedd55e663918094472b8a0f295958f3896fb";
constexpr const char* kSandboxId =
    "67c5a20664cdf51c09d11ee2bc23749b2a60c81a813402aa5be5aad66d3ff8fe";
constexpr const char* kPodSlice =
    "kubepods-besteffort-pod6f3c2a1e_9b4d_4e8f_a7c5_1d2e3f4a5b6c.slice";

std::string crio_fixture(const std::string& name) { return ojh::unit::fixture("crio/" + name); }

std::string userdata(const std::string& id) {
  return "/run/containers/storage/overlay-containers/" + id + "/userdata";
}

}  // namespace

TEST_CASE("CRI-O state: id, pid, bundle and every annotation survive parsing", "[crio]") {
  const ojh::State state = ojh::parse_state(crio_fixture("state.json"));
  CHECK(state.id == kContainerId);
  CHECK(ojh::is_valid_container_id(state.id));
  CHECK(state.status == "creating");
  CHECK(state.pid == 48213);
  CHECK(state.bundle == userdata(kContainerId));

  const ojh::Annotations& a = state.annotations;
  CHECK(a.size() == 39);
  CHECK(a.at("jail.block-host") == "true");
  CHECK(a.at("jail.block-host.allow") == "tcp:127.0.0.1:11434,udp:*:53");
  CHECK(a.at("io.kubernetes.cri-o.ContainerID") == kContainerId);
  CHECK(a.at("io.kubernetes.cri-o.SandboxID") == kSandboxId);
  CHECK(a.at("io.kubernetes.pod.namespace") == "sandbox");
  CHECK(a.at("org.systemd.property.After") == "['crio.service']");
  // JSON-encoded values stay opaque strings, quotes and all.
  CHECK(a.at("io.kubernetes.cri-o.Annotations") ==
        R"({"io.kubernetes.container.hash":"8a3f9c21","io.kubernetes.container.restartCount":"0",)"
        R"("io.kubernetes.container.terminationMessagePath":"/dev/termination-log",)"
        R"("io.kubernetes.container.terminationMessagePolicy":"File",)"
        R"("io.kubernetes.pod.terminationGracePeriod":"30"})");
  CHECK(a.at("io.kubernetes.cri-o.Labels").front() == '{');
  const std::string& last_applied = a.at("kubectl.kubernetes.io/last-applied-configuration");
  CHECK(last_applied.size() > 4096);
  CHECK(last_applied.find(R"("jail.block-host":"true")") != std::string::npos);
  CHECK(last_applied.back() == '\n');
}

TEST_CASE("CRI-O config.json: cgroupsPath, pod netns, resolv.conf, same annotations", "[crio]") {
  const ojh::BundleConfig config = ojh::parse_bundle_config(crio_fixture("config.json"));
  CHECK(config.resolv_conf_source == userdata(kSandboxId) + "/resolv.conf");
  REQUIRE(config.root_path);
  CHECK(config.root_path->starts_with("/var/lib/containers/storage/overlay/"));
  CHECK(ojh::container_root_dir(config, userdata(kContainerId)) == *config.root_path);

  const ojh::State state = ojh::parse_state(crio_fixture("state.json"));
  CHECK(config.annotations == state.annotations);
}

TEST_CASE("CRI-O annotations: the pod's jail policy is read, the rest ignored", "[crio]") {
  const ojh::State state = ojh::parse_state(crio_fixture("state.json"));
  CHECK(ojh::block_host_mode(state.annotations) == ojh::BlockHost::Enforce);
  const ojh::ContainerPolicy policy = ojh::parse_container_policy(state.annotations);
  CHECK(policy.enforce);
  CHECK(policy.mode == ojh::PolicyMode::Enforce);
  CHECK(policy.allow_dns);
  CHECK(policy.cidrs.empty());
  REQUIRE(policy.exceptions.size() == 2);
  CHECK(ojh::format_exception(policy.exceptions[0]) == "tcp:127.0.0.1:11434");
  CHECK(ojh::format_exception(policy.exceptions[1]) == "udp:*:53");

  SECTION("a pod without the annotation: nothing to enforce, even though last-applied quotes it") {
    ojh::Annotations a = state.annotations;
    a.erase("jail.block-host");
    a.erase("jail.block-host.allow");
    CHECK(ojh::block_host_mode(a) == ojh::BlockHost::Absent);
    CHECK_FALSE(ojh::parse_container_policy(a).enforce);
  }
  SECTION("a sub-key without the switch is refused, as for any runtime") {
    ojh::Annotations a = state.annotations;
    a.erase("jail.block-host");
    CHECK_THROWS_WITH(ojh::parse_container_policy(a),
                      Catch::Matchers::StartsWith("annotation jail.block-host.allow is set but"));
  }
}

TEST_CASE("CRI-O systemd scopes: the container's scope is chosen, never a slice above conmon",
          "[crio]") {
  const std::string pod = std::string("/kubepods.slice/kubepods-besteffort.slice/") + kPodSlice;
  const std::string scope = pod + "/crio-" + kContainerId + ".scope";
  const std::string mountinfo = ojh::unit::fixture("mountinfo-v2");
  // conmon (and so the hook) in system.slice, CRI-O's default with systemd, or in the pod.
  for (const char* hook : {"cgroup-hook", "cgroup-hook-pod-monitor"}) {
    INFO(hook);
    const ojh::CgroupTarget target = ojh::resolve_container_cgroup(
        mountinfo, crio_fixture("cgroup-container"), crio_fixture(hook));
    CHECK(target.path == scope);
    CHECK(target.fs_path == "/sys/fs/cgroup" + scope);
  }
  // With conmon in the pod's slice, attaching to the slice would cut off conmon and the hook.
  CHECK_THROWS_WITH(ojh::resolve_container_cgroup(mountinfo, "0::" + pod + "\n",
                                                  crio_fixture("cgroup-hook-pod-monitor")),
                    Catch::Matchers::ContainsSubstring("contains the hook's own cgroup"));
}
