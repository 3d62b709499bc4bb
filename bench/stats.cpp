// SPDX-License-Identifier: Apache-2.0
#include "bench/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ojh::bench {

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * samples.size()));
  return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

Summary summarize(std::vector<double> samples) {
  Summary s;
  s.n = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  s.median = n % 2 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
  s.p10 = percentile(samples, 10);
  s.p90 = percentile(samples, 90);
  s.p99 = percentile(samples, 99);
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, value);
  return buf;
}

void print_row(const Row& row) {
  std::printf("ROW\t%s\t%s\t%s\t%s\t%s\n", row.metric.c_str(), row.target.c_str(),
              row.measured.c_str(), row.ratio.c_str(), row.met ? "met" : "**MISSED**");
  std::fflush(stdout);
}

void print_detail(const std::string& text) {
  std::printf("DETAIL\t%s\n", text.c_str());
  std::fflush(stdout);
}

}  // namespace ojh::bench
