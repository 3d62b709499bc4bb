// SPDX-License-Identifier: Apache-2.0
#include "oci/user_namespace.hpp"
#include "tests/support/catch.hpp"

TEST_CASE("the initial user namespace is recognised from uid_map", "[userns]") {
  CHECK(ojh::is_initial_user_namespace("         0          0 4294967295\n"));
  // rootless podman: root maps to the user, the rest to subuids
  CHECK_FALSE(
      ojh::is_initial_user_namespace("         0       1000          1\n"
                                     "         1     100000      65536\n"));
  CHECK_FALSE(ojh::is_initial_user_namespace("         0     100000      65536\n"));
  CHECK_FALSE(ojh::is_initial_user_namespace("0 0 4294967294\n"));
  CHECK_FALSE(ojh::is_initial_user_namespace(""));
  CHECK_FALSE(ojh::is_initial_user_namespace("garbage"));
}
