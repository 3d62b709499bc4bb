// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "hook/cgroup_namespace.hpp"
#include "oci/cgroup.hpp"
#include "oci/error.hpp"
#include "tests/support/catch.hpp"
#include "tests/unit/unit_support.hpp"

namespace {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

using ojh::unit::error_of;
using ojh::unit::fixture;

std::string resolve_error(const std::string& mountinfo, const std::string& container,
                          const std::string& hook) {
  return error_of([&] { ojh::resolve_container_cgroup(mountinfo, container, hook); }).what();
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<ojh::Cgroup2Mount> {
  static std::string convert(const ojh::Cgroup2Mount& m) {
    return "{" + m.mount_point + ", root " + m.root + "}";
  }
};
}  // namespace Catch

TEST_CASE("find_cgroup2_mount on real layouts", "[cgroup]") {
  CHECK(ojh::find_cgroup2_mount(fixture("mountinfo-hybrid")) ==
        ojh::Cgroup2Mount{"/sys/fs/cgroup/unified", "/"});
  CHECK(ojh::find_cgroup2_mount(fixture("mountinfo-v2")) ==
        ojh::Cgroup2Mount{"/sys/fs/cgroup", "/"});
  CHECK(ojh::find_cgroup2_mount(fixture("mountinfo-nonroot")) ==
        ojh::Cgroup2Mount{"/sys/fs/cgroup", "/kubepods.slice/pod1"});
  CHECK_FALSE(ojh::find_cgroup2_mount(fixture("mountinfo-no-cgroup2")));
}

TEST_CASE("find_cgroup2_mount on a host that runs from its initramfs", "[cgroup]") {
  // Captured on Debian's 6.1 and 6.12 kernels booted without a root disk (tests/vm/kernels.sh):
  // rootfs names itself as its parent, and is not a sibling mounted over /sys.
  constexpr std::string_view kInitramfs =
      "1 1 0:2 / / rw - rootfs rootfs rw,size=482576k,nr_inodes=120644,inode64\n"
      "22 1 0:20 / /proc rw,relatime - proc proc rw\n"
      "23 1 0:21 / /sys rw,relatime - sysfs sysfs rw\n"
      "27 23 0:24 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n";
  CHECK(ojh::find_cgroup2_mount(kInitramfs) == ojh::Cgroup2Mount{"/sys/fs/cgroup", "/"});
  // A root mounted over rootfs (switch_root) still covers it.
  CHECK_FALSE(
      ojh::find_cgroup2_mount("1 1 0:2 / / rw - rootfs rootfs rw\n"
                              "20 1 0:20 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                              "30 1 8:1 / / rw - ext4 /dev/sda1 rw\n"));
}

TEST_CASE("find_cgroup2_mount unescapes octal escapes", "[cgroup]") {
  CHECK(ojh::find_cgroup2_mount(fixture("mountinfo-escaped")) ==
        ojh::Cgroup2Mount{"/run/my cgroup\tv2\\x", "/"});
  CHECK(ojh::find_cgroup2_mount("40 1 0:40 /a\\012b /cg\\0 rw - cgroup2 none rw\n"
                                "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n") ==
        ojh::Cgroup2Mount{"/cg\\0", "/a\nb"});
}

TEST_CASE("find_cgroup2_mount skips mounts that are covered", "[cgroup]") {
  struct Case {
    const char* what;
    std::string mountinfo;
    std::optional<ojh::Cgroup2Mount> found;  // nullopt: every cgroup2 mount is covered
  };
  const ojh::Cgroup2Mount sys_fs_cgroup{"/sys/fs/cgroup", "/"};
  const Case cases[] = {
      // Captured on this host: the old /sys/fs/cgroup/unified (root /.. in the new cgroupns)
      // is listed first but hidden under the new /sys/fs/cgroup.
      {"cgroup2 mounted over a hybrid host's /sys/fs/cgroup in a private mount namespace",
       fixture("mountinfo-isolated"), sys_fs_cgroup},
      {"something mounted on top of the cgroup2 mount",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "30 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
       "31 30 0:31 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n",
       std::nullopt},
      {"a sibling mounted over a directory above it",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "20 1 0:20 / /sys rw - sysfs sysfs rw\n"
       "30 20 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
       "31 20 0:31 / /sys/fs rw - tmpfs tmpfs rw\n",
       std::nullopt},
      {"its parent is covered",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "20 1 0:20 / /sys rw - sysfs sysfs rw\n"
       "30 20 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
       "40 20 0:40 / /sys rw - sysfs sysfs rw\n",
       std::nullopt},
      // Hybrid layout with a fresh sysfs mounted over /sys: only the walk up the parents sees it.
      {"a mount further up is covered",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "20 1 0:20 / /sys rw - sysfs sysfs rw\n"
       "25 20 0:25 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
       "30 25 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
       "40 20 0:40 / /sys rw - sysfs sysfs rw\n",
       std::nullopt},
      {"line order does not matter: moved mounts are listed before /",
       "20 27 0:20 / /sys rw shared:7 - sysfs sysfs rw\n"
       "31 20 0:26 / /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
       "27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n",
       sys_fs_cgroup},
      {"a covered one and a visible one",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "30 1 0:30 / /a rw - cgroup2 cgroup2 rw\n"
       "31 30 0:31 / /a rw - tmpfs tmpfs rw\n"
       "32 1 0:30 /x /b rw - cgroup2 cgroup2 rw\n",
       ojh::Cgroup2Mount{"/b", "/x"}},
      {"a cycle in the parent links (malformed input) counts as covered",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "30 31 0:30 / /a rw - cgroup2 cgroup2 rw\n"
       "31 30 0:31 / /b rw - tmpfs tmpfs rw\n",
       std::nullopt},
      // /other's walk finds /sys covered by the cgroup2 overmount; that overmount's own walk
      // passes the same /sys, which does not cover its own overmount.
      {"a parent covered for one child is the way up for its overmount",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "20 1 0:20 / /sys rw - sysfs sysfs rw\n"
       "30 20 0:30 / /other rw - cgroup2 cgroup2 rw\n"
       "21 20 0:21 / /sys rw - cgroup2 cgroup2 rw\n",
       ojh::Cgroup2Mount{"/sys", "/"}},
      {"a mount below it does not cover it",
       "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
       "30 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
       "31 30 0:31 / /sys/fs/cgroup/sub rw - tmpfs tmpfs rw\n"
       "32 1 0:32 / /sys/fs/cgroupx rw - tmpfs tmpfs rw\n",
       sys_fs_cgroup},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.what) { CHECK(ojh::find_cgroup2_mount(c.mountinfo) == c.found); }
  }
}

TEST_CASE("find_cgroup2_mount reads the fstype after the separator", "[cgroup]") {
  // Optional fields (shared:N, master:N) come before " - "; the source may say cgroup2.
  CHECK_FALSE(
      ojh::find_cgroup2_mount("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                              "30 1 0:30 / /x rw shared:1 - tmpfs cgroup2 rw\n"
                              "31 1 0:31 / /cgroup2 rw - cgroup cgroup2 rw,cpu\n"));
  CHECK_FALSE(ojh::find_cgroup2_mount(""));
  CHECK_FALSE(ojh::find_cgroup2_mount("cgroup2\n - cgroup2\n30 1 0:30 / /x - cgroup2\n"));
  CHECK(ojh::find_cgroup2_mount("30 1 0:30 / /x rw shared:1 master:2 - cgroup2 cgroup2 rw") ==
        ojh::Cgroup2Mount{"/x", "/"});
}

TEST_CASE("unified_cgroup_path", "[cgroup]") {
  CHECK(ojh::unified_cgroup_path(fixture("cgroup-hybrid-container")) == "/c1");
  CHECK(ojh::unified_cgroup_path(fixture("cgroup-hybrid-hook")) == "/");
  CHECK(ojh::unified_cgroup_path(fixture("cgroup-v2-container")) ==
        "/machine.slice/"
        "libpod-4b1c9ad0e8d4a7f5b2c3d6e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3.scope/container");
  CHECK_FALSE(ojh::unified_cgroup_path(fixture("cgroup-v1-only")));
  CHECK_FALSE(ojh::unified_cgroup_path(""));
  CHECK(ojh::unified_cgroup_path("0::/libpod_parent/libpod-abc") == "/libpod_parent/libpod-abc");
  CHECK(ojh::unified_cgroup_path("0::/a/b (deleted)\n") == "/a/b");
  CHECK(ojh::unified_cgroup_path("0::/a:b\n") == "/a:b");
  CHECK(ojh::unified_cgroup_path("0::\n") == "");
  CHECK_FALSE(ojh::unified_cgroup_path("10::/x\n1:name=systemd:/y\n"));
  CHECK_THROWS_AS(ojh::unified_cgroup_path("0::/a\n0::/b\n"), ojh::Error);
}

TEST_CASE("resolve_container_cgroup on a hybrid host", "[cgroup]") {
  const auto target =
      ojh::resolve_container_cgroup(fixture("mountinfo-hybrid"), fixture("cgroup-hybrid-container"),
                                    fixture("cgroup-hybrid-hook"));
  CHECK(target.path == "/c1");
  CHECK(target.fs_path == "/sys/fs/cgroup/unified/c1");
}

TEST_CASE("resolve_container_cgroup on a pure v2 host", "[cgroup]") {
  const auto target = ojh::resolve_container_cgroup(
      fixture("mountinfo-v2"), fixture("cgroup-v2-container"), fixture("cgroup-v2-hook"));
  CHECK(target.path ==
        "/machine.slice/"
        "libpod-4b1c9ad0e8d4a7f5b2c3d6e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3.scope/container");
  CHECK(target.fs_path == "/sys/fs/cgroup" + target.path);
}

TEST_CASE("resolve_container_cgroup in the isolated test view", "[cgroup]") {
  const auto target =
      ojh::resolve_container_cgroup(fixture("mountinfo-isolated"), "0::/c1\n", "0::/launcher\n");
  CHECK(target.path == "/c1");
  CHECK(target.fs_path == "/sys/fs/cgroup/c1");
}

TEST_CASE("resolve_container_cgroup with an escaped mount point", "[cgroup]") {
  const auto target =
      ojh::resolve_container_cgroup(fixture("mountinfo-escaped"), "0::/x/y\n", "0::/user.slice\n");
  CHECK(target.fs_path == "/run/my cgroup\tv2\\x/x/y");
}

TEST_CASE("resolve_container_cgroup below a mount root other than /", "[cgroup]") {
  const std::string mountinfo = fixture("mountinfo-nonroot");
  const std::string hook = "0::/kubepods.slice/pod1/hook\n";
  SECTION("nested below the root") {
    const auto target =
        ojh::resolve_container_cgroup(mountinfo, "0::/kubepods.slice/pod1/ctr/sub\n", hook);
    CHECK(target.path == "/kubepods.slice/pod1/ctr/sub");
    CHECK(target.fs_path == "/sys/fs/cgroup/ctr/sub");
  }
  SECTION("outside the root is not visible") {
    CHECK(resolve_error(mountinfo, "0::/kubepods.slice/pod2/ctr\n", hook) ==
          "container cgroup /kubepods.slice/pod2/ctr is not visible in the hook's cgroup2 "
          "mount at /sys/fs/cgroup (its root is /kubepods.slice/pod1)");
    CHECK_THAT(resolve_error(mountinfo, "0::/kubepods.slice/pod10/ctr\n", hook),
               ContainsSubstring("is not visible"));
    CHECK_THAT(resolve_error(mountinfo, "0::/kubepods.slice\n", "0::/system.slice\n"),
               ContainsSubstring("is not visible"));
  }
  SECTION("the mount root itself, when the hook is elsewhere") {
    const auto target =
        ojh::resolve_container_cgroup(mountinfo, "0::/kubepods.slice/pod1\n", "0::/system.slice\n");
    CHECK(target.fs_path == "/sys/fs/cgroup");
  }
  SECTION("a mount root with .. is refused") {
    CHECK_THAT(resolve_error("57 47 0:38 /.. /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
                             "0::/c1\n", "0::/launcher\n"),
               StartsWith(R"(cgroup2 mount root "/.." is invalid)"));
  }
}

TEST_CASE("the root cgroup is refused", "[cgroup]") {
  CHECK(resolve_error(fixture("mountinfo-hybrid"), fixture("cgroup-hybrid-hook"),
                      "0::/user.slice\n") ==
        "container cgroup is the root cgroup; refusing to attach to the whole host");
  CHECK(resolve_error(fixture("mountinfo-v2"), "0::/\n", "0::/\n") ==
        "container cgroup is the root cgroup; refusing to attach to the whole host");
}

TEST_CASE("the hook's own cgroup and its ancestors are refused", "[cgroup]") {
  const std::string mountinfo = fixture("mountinfo-v2");
  SECTION("the hook's own cgroup") {
    CHECK(resolve_error(mountinfo, "0::/a/b\n", "0::/a/b\n") ==
          "container cgroup /a/b contains the hook's own cgroup /a/b; refusing to attach to a "
          "cgroup shared with the host");
  }
  SECTION("an ancestor") {
    CHECK(resolve_error(mountinfo, "0::/system.slice\n", "0::/system.slice/containerd.service\n") ==
          "container cgroup /system.slice contains the hook's own cgroup "
          "/system.slice/containerd.service; refusing to attach to a cgroup shared with the host");
    CHECK_THAT(resolve_error(mountinfo, "0::/a\n", "0::/a/b/c/d\n"),
               ContainsSubstring("contains the hook's own cgroup"));
  }
  SECTION("siblings and descendants are allowed") {
    CHECK(ojh::resolve_container_cgroup(mountinfo, "0::/ab\n", "0::/a\n").path == "/ab");
    CHECK(ojh::resolve_container_cgroup(mountinfo, "0::/a\n", "0::/ab\n").path == "/a");
    CHECK(ojh::resolve_container_cgroup(mountinfo, "0::/a/b2\n", "0::/a/b\n").path == "/a/b2");
    CHECK(ojh::resolve_container_cgroup(mountinfo, "0::/a/b/c\n", "0::/a/b\n").path == "/a/b/c");
  }
}

TEST_CASE("malformed cgroup paths are refused", "[cgroup]") {
  const std::string mountinfo = fixture("mountinfo-v2");
  for (const std::string path :
       {"/a/../b", "/..", "/../../x", "/a/..", "a/b", "", "/a//b", "/a/", "//", "/./a", "/a/."}) {
    CAPTURE(path);
    CHECK_THAT(resolve_error(mountinfo, "0::" + path + "\n", "0::/user.slice\n"),
               StartsWith("container cgroup path \"") && ContainsSubstring("is invalid"));
  }
  CHECK(resolve_error(mountinfo, "0::/c1/../..\n", "0::/user.slice\n") ==
        R"(container cgroup path "/c1/../.." is invalid (must be absolute, without empty, "." )"
        R"(or ".." components))");
  // Outside the hook's cgroup namespace the kernel shows paths starting with /..
  CHECK_THAT(resolve_error(mountinfo, "0::/c1\n", "0::/../../user.slice\n"),
             StartsWith(R"(hook's own cgroup path "/../../user.slice" is invalid)"));
}

TEST_CASE("missing cgroup information", "[cgroup]") {
  CHECK(resolve_error(fixture("mountinfo-no-cgroup2"), fixture("cgroup-hybrid-container"),
                      fixture("cgroup-hybrid-hook")) ==
        "no cgroup2 (unified) hierarchy mounted; oci-jail-hook needs cgroup v2 or a hybrid host");
  CHECK(resolve_error(fixture("mountinfo-hybrid"), fixture("cgroup-v1-only"),
                      fixture("cgroup-hybrid-hook")) ==
        "container is in no cgroup v2 (unified) cgroup");
  CHECK(resolve_error(fixture("mountinfo-hybrid"), fixture("cgroup-hybrid-container"),
                      fixture("cgroup-v1-only")) ==
        "the hook's own process is in no cgroup v2 (unified) cgroup");
}

namespace {

// A fake /proc: self/mountinfo, self/cgroup and <pid>/cgroup.
struct FakeProc {
  std::filesystem::path root;
  FakeProc() {
    char name[] = "/tmp/ojh-proc-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    root = name;
    std::filesystem::create_directories(root / "self");
  }
  ~FakeProc() { std::filesystem::remove_all(root); }
  void write(const std::string& relative, const std::string& data) const {
    std::filesystem::create_directories((root / relative).parent_path());
    std::ofstream(root / relative, std::ios::binary) << data;
  }
};

}  // namespace

TEST_CASE("resolve_container_cgroup_for_pid reads a proc root", "[cgroup]") {
  FakeProc proc;
  proc.write("self/mountinfo", fixture("mountinfo-hybrid"));
  proc.write("self/cgroup", fixture("cgroup-hybrid-hook"));
  proc.write("1234/cgroup", fixture("cgroup-hybrid-container"));
  SECTION("the container's cgroup") {
    const auto target = ojh::resolve_container_cgroup_for_pid(1234, proc.root.string());
    CHECK(target.path == "/c1");
    CHECK(target.fs_path == "/sys/fs/cgroup/unified/c1");
  }
  SECTION("the checks apply") {
    proc.write("self/cgroup", "0::/c1/runc\n");
    CHECK_THAT(
        error_of([&] { ojh::resolve_container_cgroup_for_pid(1234, proc.root.string()); }).what(),
        ContainsSubstring("contains the hook's own cgroup /c1/runc"));
  }
  SECTION("no pid") {
    for (const pid_t pid : {0, -1}) {
      CHECK(std::string(error_of([&] {
                          ojh::resolve_container_cgroup_for_pid(pid, proc.root.string());
                        }).what()) == "state has no container pid");
    }
  }
  SECTION("a pid without a /proc entry") {
    const ojh::Error e =
        error_of([&] { ojh::resolve_container_cgroup_for_pid(999, proc.root.string()); });
    CHECK(e.code() == ENOENT);
    CHECK(e.context() == "read " + proc.root.string() + "/999/cgroup");
  }
  SECTION("a missing mountinfo") {
    std::filesystem::remove(proc.root / "self/mountinfo");
    const ojh::Error e =
        error_of([&] { ojh::resolve_container_cgroup_for_pid(1234, proc.root.string()); });
    CHECK(e.code() == ENOENT);
    CHECK(e.context() == "read " + proc.root.string() + "/self/mountinfo");
  }
}

TEST_CASE("resolve_container_cgroup_for_pid refuses the hook's own process", "[cgroup]") {
  // With the real /proc, the test process is both the "container" and the hook, so its
  // cgroup is always the hook's own (or the root): it must be refused whatever this host is.
  CHECK_THAT(error_of([] { ojh::resolve_container_cgroup_for_pid(getpid()); }).what(),
             ContainsSubstring("refusing to attach"));
}

TEST_CASE("the root of a container's cgroup namespace", "[cgroup]") {
  // crun with run.oci.delegate-cgroup starts the process in <cgroupsPath>/payload.
  CHECK(ojh::cgroup_namespace_root("/ctr/payload", "/payload") == "/ctr");
  CHECK(ojh::cgroup_namespace_root("/a/b/c/d", "/c/d") == "/a/b");
  CHECK(ojh::cgroup_namespace_root("/ctr", "/") == "/ctr");
  CHECK(ojh::cgroup_namespace_root("/payload", "/payload") == "/");  // refused later as root
  CHECK_THROWS_WITH(ojh::cgroup_namespace_root("/ctr/xpayload", "/payload"),
                    Catch::Matchers::ContainsSubstring("does not end with"));
  CHECK_THROWS_WITH(ojh::cgroup_namespace_root("/ctr", "/../other"),
                    Catch::Matchers::ContainsSubstring("outside its cgroup namespace"));
  CHECK_THROWS(ojh::cgroup_namespace_root("/ctr", ""));
}
