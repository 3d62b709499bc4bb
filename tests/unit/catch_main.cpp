// SPDX-License-Identifier: Apache-2.0
#define OJH_CATCH_SESSION
#include "tests/support/catch.hpp"

int main(int argc, char** argv) { return Catch::Session().run(argc, argv); }
