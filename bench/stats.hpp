// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace ojh::bench {

// Order statistics of one series of samples. Percentiles are nearest-rank, so with n
// samples p99 is the ceil(0.99 n)-th smallest: with 40 samples it is the maximum.
struct Summary {
  std::size_t n = 0;
  double median = 0;
  double p10 = 0;
  double p90 = 0;
  double p99 = 0;
  double min = 0;
  double max = 0;
};

Summary summarize(std::vector<double> samples);
double percentile(std::vector<double> samples, double p);  // p in [0, 100]

// "12.3" style: `digits` after the point.
std::string fixed(double value, int digits);

// One line of the result table: bench/run.sh turns ROW lines into the markdown table and
// DETAIL lines into the notes under it, so every subcommand reports the same way.
struct Row {
  std::string metric;
  std::string target;
  std::string measured;
  std::string ratio;
  bool met = false;
};
void print_row(const Row& row);
void print_detail(const std::string& text);

}  // namespace ojh::bench
