// SPDX-License-Identifier: Apache-2.0
// Socket rows: each worker is a process in its own cgroup and its own network namespace,
// pinned to the same CPU as every other worker. The parent hands out blocks in rotating
// order (ABC, BCA, CAB, ...) so that drift of the VM over the run hits every worker alike,
// and compares medians of per-block ns/op.
#include "bench/socket_bench.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "bench/nft_baseline.hpp"
#include "bench/stats.hpp"
#include "hook/enforcement.hpp"
#include "hook/event_records.hpp"
#include "hook/host_network.hpp"
#include "hook/rules.hpp"
#include "oci/error.hpp"
#include "tests/support/sandbox.hpp"

namespace ojh::bench {
using test::enter_private_netns;
using test::fork_in_cgroup;
using test::Sandbox;
using test::wait_exit_status;

namespace {

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof(set), &set) != 0)
    throw Error("pin to CPU " + std::to_string(cpu), errno);
}

int last_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  int last = 0;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) last = i;
  return last;
}

// The allowed destination: an address on the worker's own lo. It sits in a /24 that the
// 10,000-CIDR policy leaves out of a dense run of /24s, so its LPM lookup walks the deepest
// path that policy has (a worst case, not a lucky miss near the root).
constexpr const char* kDestination = "100.80.0.1";
// For contrast: a destination far from every CIDR rule, where the lookup leaves the
// policy's part of the trie after a few nodes.
constexpr const char* kShallowDestination = "10.77.0.1";
constexpr std::uint16_t kPort = 5001;
constexpr std::size_t kDatagram = 64;  // UDP header + payload

enum class Op { UdpConnect, TcpConnectClose, UdpSend, UdpSendto, RawSend, UdpConnectOrEperm };
// Refused to every enforced container (a metadata rule): the denied path.
constexpr const char* kDeniedDestination = "169.254.169.254";

struct RowSpec {
  std::string name;
  Op op;
  long ops_per_block;
  bool per_packet;  // report packets/s (higher is better) instead of ns/op
  std::string metric;
  double bound;  // ratio bound: <= for latency rows, >= for packet rate rows
};

struct Command {
  char kind;  // 'b' run a block, 'v' verify denials, 'q' quit
  long ops;
};

struct BlockResult {
  double ns_per_op = 0;      // wall clock
  double cpu_ns_per_op = 0;  // CPU time of the worker (user + system, softirqs it ran)
  long errors = 0;
  int first_errno = 0;
  long received = 0;
  unsigned denied_mask = 0;  // 'v': bit i set when probe i was refused with EPERM
};

// Probes for 'v': which destinations does the worker's cgroup refuse?
constexpr const char* kProbes[] = {"169.254.169.254", "100.64.0.1"};
constexpr unsigned kMetadataDenied = 1u << 0;
constexpr unsigned kCidrDenied = 1u << 1;

double now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

sockaddr_in address(const char* text, std::uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (::inet_pton(AF_INET, text, &sin.sin_addr) != 1)
    throw Error(std::string("bad address ") + text);
  return sin;
}

const sockaddr* sa(const sockaddr_in& sin) { return reinterpret_cast<const sockaddr*>(&sin); }

Fd make_socket(int type, int protocol = 0) {
  Fd fd(::socket(AF_INET, type | SOCK_CLOEXEC, protocol));
  if (!fd) throw Error("socket", errno);
  return fd;
}

// The operation under test, set up once per worker inside its private netns.
class OpRunner {
 public:
  OpRunner(Op op, const char* destination) : op_(op), dst_(address(destination, kPort)) {
    std::memset(datagram_, 'x', sizeof(datagram_));
    switch (op) {
      case Op::UdpConnect:
      case Op::UdpConnectOrEperm:
        tx_ = make_socket(SOCK_DGRAM);
        break;
      case Op::TcpConnectClose: {
        listener_ = make_socket(SOCK_STREAM);
        const int one = 1;
        ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (::bind(listener_.get(), sa(dst_), sizeof(dst_)) != 0 ||
            ::listen(listener_.get(), 1024) != 0)
          throw Error("tcp listener", errno);
        break;
      }
      case Op::UdpSend:
      case Op::UdpSendto:
      case Op::RawSend:
        rx_ = make_socket(SOCK_DGRAM | SOCK_NONBLOCK);
        if (::bind(rx_.get(), sa(dst_), sizeof(dst_)) != 0) throw Error("udp receiver", errno);
        if (op == Op::RawSend) {
          // No sock_addr program sees a raw socket: only the egress backstop judges it.
          tx_ = make_socket(SOCK_RAW | SOCK_NONBLOCK, IPPROTO_UDP);
          udphdr h{};
          h.source = htons(40000);
          h.dest = htons(kPort);
          h.len = htons(kDatagram);
          h.check = 0;  // "no checksum" is valid for UDP over IPv4
          std::memcpy(datagram_, &h, sizeof(h));
        } else {
          tx_ = make_socket(SOCK_DGRAM);
          if (op == Op::UdpSend && ::connect(tx_.get(), sa(dst_), sizeof(dst_)) != 0)
            throw Error("connect udp sender", errno);
        }
        break;
    }
  }

  BlockResult run(long ops) {
    BlockResult r;
    const bool drains = rx_.get() >= 0;
    const double start = now_ns();
    const double start_cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < ops; ++i) {
      if (!once() && r.errors++ == 0) r.first_errno = errno;
      // Receive as we go so that every datagram is delivered (a full receive queue would
      // turn the rest of the block into drops, a different and cheaper path).
      if (drains && (i & 31) == 31) r.received += drain();
    }
    if (drains) r.received += drain();
    r.cpu_ns_per_op = (now_ns(CLOCK_THREAD_CPUTIME_ID) - start_cpu) / static_cast<double>(ops);
    r.ns_per_op = (now_ns() - start) / static_cast<double>(ops);
    return r;
  }

  // A datagram, not a connect(): a UDP connect() sends nothing, so an nftables baseline
  // would never see it.
  static unsigned denied_mask() {
    unsigned mask = 0;
    for (std::size_t i = 0; i < std::size(kProbes); ++i) {
      Fd s = make_socket(SOCK_DGRAM);
      const sockaddr_in to = address(kProbes[i], 80);
      const char byte = 0;
      if (::sendto(s.get(), &byte, 1, 0, sa(to), sizeof(to)) != 1 && errno == EPERM)
        mask |= 1u << i;
    }
    return mask;
  }

 private:
  bool once() {
    switch (op_) {
      case Op::UdpConnect:
        return ::connect(tx_.get(), sa(dst_), sizeof(dst_)) == 0;
      case Op::UdpConnectOrEperm:
        // The denied path: EPERM is the expected outcome (a worker with an allowed
        // destination takes the allowed path and succeeds).
        return ::connect(tx_.get(), sa(dst_), sizeof(dst_)) == 0 || errno == EPERM;
      case Op::TcpConnectClose: {
        Fd client = make_socket(SOCK_STREAM);
        if (::connect(client.get(), sa(dst_), sizeof(dst_)) != 0) return false;
        Fd server(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!server) return false;
        // Abortive close: no TIME_WAIT piles up over a run (tens of thousands of
        // connections would exhaust ephemeral ports and slow the port search).
        const linger abort{1, 0};
        ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
        client.reset();
        return true;
      }
      case Op::UdpSend:
        return ::send(tx_.get(), datagram_, kDatagram, 0) == static_cast<ssize_t>(kDatagram);
      case Op::UdpSendto:
        return ::sendto(tx_.get(), datagram_, kDatagram, 0, sa(dst_), sizeof(dst_)) ==
               static_cast<ssize_t>(kDatagram);
      case Op::RawSend:
        return ::sendto(tx_.get(), datagram_, kDatagram, 0, sa(dst_), sizeof(dst_)) ==
               static_cast<ssize_t>(kDatagram);
    }
    return false;
  }

  long drain() {
    long n = 0;
    n += drain_socket(rx_.get());
    // A raw IPPROTO_UDP socket also receives a copy of every UDP datagram in the netns.
    if (op_ == Op::RawSend) drain_socket(tx_.get());
    return n;
  }

  static long drain_socket(int fd) {
    constexpr unsigned kBatch = 64;
    static char bufs[kBatch][128];
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    long total = 0;
    for (;;) {
      for (unsigned i = 0; i < kBatch; ++i) {
        iov[i] = {bufs[i], sizeof(bufs[i])};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int got = ::recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return total;
      total += got;
      if (static_cast<unsigned>(got) < kBatch) return total;
    }
  }

  Op op_;
  sockaddr_in dst_;
  Fd tx_;
  Fd rx_;
  Fd listener_;
  char datagram_[kDatagram];
};

void read_full(int fd, void* buf, std::size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    const ssize_t n = ::read(fd, p, len);
    if (n == 0) throw Error("worker pipe closed");
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("read worker pipe", errno);
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
}

void write_full(int fd, const void* buf, std::size_t len) {
  if (::write(fd, buf, len) != static_cast<ssize_t>(len)) throw Error("write worker pipe", errno);
}

int worker_main(const std::string& comm, const char* destination, Op op, int cpu,
                const std::string& nft_ruleset, int cmd_fd, int result_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, comm.c_str());  // tells the workers apart in perf
  pin_to_cpu(cpu);
  enter_private_netns(destination);
  if (!nft_ruleset.empty()) {
    // Routes for the probes' destinations: without one a send fails before it reaches the
    // output hook, where nftables judges (the hook's programs judge before routing).
    for (const char* route : {"169.254.0.0/16", "100.64.0.0/10"}) {
      const std::string cmd = std::string("ip route add ") + route + " dev lo";
      if (std::system(cmd.c_str()) != 0) throw Error("`" + cmd + "` failed");
    }
    apply_nft_ruleset(nft_ruleset);
  }
  OpRunner runner(op, destination);
  for (;;) {
    Command c{};
    read_full(cmd_fd, &c, sizeof(c));
    BlockResult r;
    if (c.kind == 'q') return 0;
    if (c.kind == 'v') r.denied_mask = OpRunner::denied_mask();
    if (c.kind == 'b') r = runner.run(c.ops);
    write_full(result_fd, &r, sizeof(r));
  }
}

class Worker {
 public:
  Worker(std::string name, const std::string& comm, const char* destination,
         const std::string& cgroup, Op op, int cpu, const std::string& nft_ruleset)
      : name_(std::move(name)) {
    int cmd[2], result[2];
    if (::pipe2(cmd, O_CLOEXEC) != 0 || ::pipe2(result, O_CLOEXEC) != 0) throw Error("pipe", errno);
    pid_ = fork_in_cgroup(cgroup, [&] {
      ::close(cmd[1]);
      ::close(result[0]);
      return worker_main(comm, destination, op, cpu, nft_ruleset, cmd[0], result[1]);
    });
    ::close(cmd[0]);
    ::close(result[1]);
    cmd_ = Fd(cmd[1]);
    result_ = Fd(result[0]);
  }
  ~Worker() {
    const Command quit{'q', 0};
    if (cmd_) ::write(cmd_.get(), &quit, sizeof(quit));
    cmd_.reset();
    wait_exit_status(pid_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  BlockResult ask(char kind, long ops = 0) {
    const Command c{kind, ops};
    write_full(cmd_.get(), &c, sizeof(c));
    BlockResult r;
    read_full(result_.get(), &r, sizeof(r));
    return r;
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
  Fd cmd_;
  Fd result_;
};

struct Cgroups {
  std::string enforced;
  std::string enforced_cidrs;
  std::string judge_all;  // enforced, every egress packet judged (CAP_NET_ADMIN accepted)
  std::string floor;
  std::string unenforced;
};

// The cost of the mechanism itself: a two-instruction program ("allow") attached to the
// same hooks of another cgroup. Whatever an enforced worker pays above this worker is the
// work our programs do; what this worker pays above the unenforced one is the kernel's
// cgroup BPF dispatch, which no program can avoid.
class FloorPrograms {
 public:
  explicit FloorPrograms(const std::string& cgroup) {
    Fd cg(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cg) throw Error("open " + cgroup, errno);
    const struct {
      bpf_prog_type type;
      bpf_attach_type attach;
    } hooks[] = {{BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT},
                 {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG},
                 {BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS}};
    for (const auto& h : hooks) {
      bpf_insn insns[2] = {};
      insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 1: allow / pass
      insns[0].dst_reg = BPF_REG_0;
      insns[0].imm = 1;
      insns[1].code = BPF_JMP | BPF_EXIT;
      LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = h.attach);
      Fd prog(bpf_prog_load(h.type, "ojhb_floor", "GPL", insns, 2, &opts));
      if (!prog) throw Error("load trivial program", errno);
      Fd link(bpf_link_create(prog.get(), cg.get(), h.attach, nullptr));
      if (!link) throw Error("attach trivial program to " + cgroup, errno);
      links_.push_back(std::move(link));
    }
  }

 private:
  std::vector<Fd> links_;  // closing them detaches
};

// 10,000 distinct /24s of 100.64.0.0/10: the first 10,001 of them without the one that
// holds kDestination.
std::vector<Cidr> extra_cidrs(int count) {
  std::vector<Cidr> out;
  const in_addr_t base = ntohl(address("100.64.0.0", 0).sin_addr.s_addr);
  const in_addr_t skip = ntohl(address(kDestination, 0).sin_addr.s_addr) & ~0xffu;
  for (in_addr_t net = base; static_cast<int>(out.size()) < count; net += 256) {
    if (net == skip) continue;
    Cidr c;
    c.address.family = AF_INET;
    const in_addr_t be = htonl(net);
    std::memcpy(c.address.bytes.data(), &be, 4);
    c.prefixlen = 24;
    c.origin = "bench";
    out.push_back(std::move(c));
  }
  return out;
}

struct RowResult {
  std::vector<std::string> names;
  std::vector<std::vector<double>> ns;     // per worker, per measured block: the chosen clock
  std::vector<std::vector<double>> other;  // the same blocks on the other clock
  std::vector<long> received;
  std::vector<long> sent;
  std::string program_times;
};

struct WorkerSpec {
  std::string name;    // as reported
  std::string comm;    // process name (15 characters at most)
  std::string cgroup;  // cgroup directory
  unsigned expected_denials;
  const char* destination = kDestination;
  std::string nft_ruleset = {};  // the nftables baseline's, loaded in the worker's netns
};

// Average run time of each of our programs over one extra block of each worker, from the
// kernel's own per-program statistics (BPF_ENABLE_STATS): the program's share of the
// per-operation difference, without a profiler. Stats are on only for that block.
std::string program_run_times(const SharedObjects& objs,
                              std::vector<std::unique_ptr<Worker>>& workers, long ops) {
  const auto snapshot = [&] {
    std::vector<std::pair<__u64, __u64>> v;
    for (const Fd& p : objs.programs) {
      if (!p) {  // a program this kernel did not load (socket_create without the BPF LSM)
        v.emplace_back(0, 0);
        continue;
      }
      bpf_prog_info info{};
      __u32 len = sizeof(info);
      // An optional program this kernel lacks (AF_UNIX before 6.7) never runs.
      if (p && bpf_obj_get_info_by_fd(p.get(), &info, &len) != 0) throw Error("prog info", errno);
      v.emplace_back(info.run_time_ns, info.run_cnt);
    }
    return v;
  };
  Fd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
  if (!stats) return "unavailable (BPF_ENABLE_STATS: " + std::string(std::strerror(errno)) + ")";
  std::string out;
  for (auto& w : workers) {
    const auto before = snapshot();
    w->ask('b', ops);
    const auto after = snapshot();
    std::string progs;
    for (std::size_t i = 0; i < kPrograms.size(); ++i) {
      const __u64 runs = after[i].second - before[i].second;
      if (runs == 0) continue;
      progs += std::string(progs.empty() ? "" : ", ") + std::string(kPrograms[i].name) + " " +
               fixed(static_cast<double>(after[i].first - before[i].first) / runs, 0) + " ns x " +
               fixed(static_cast<double>(runs) / ops, 2) + "/op";
    }
    if (!progs.empty()) out += std::string(out.empty() ? "" : "; ") + w->name() + ": " + progs;
  }
  return out.empty() ? "no program ran" : out;
}

RowResult alternate(const RowSpec& row, const std::vector<WorkerSpec>& specs,
                    const SocketRowsOptions& opt, int cpu, const SharedObjects& objs) {
  std::vector<std::unique_ptr<Worker>> workers;
  for (const WorkerSpec& s : specs)
    workers.push_back(std::make_unique<Worker>(s.name, s.comm, s.destination, s.cgroup, row.op, cpu,
                                               s.nft_ruleset));
  for (std::size_t w = 0; w < workers.size(); ++w) {
    const unsigned mask = workers[w]->ask('v').denied_mask;
    const unsigned expected = specs[w].expected_denials;
    if (mask != expected)
      throw Error("worker " + workers[w]->name() + ": denial probes gave mask " +
                  std::to_string(mask) + ", expected " + std::to_string(expected) +
                  " (is the policy attached?)");
  }
  const long ops = std::max(1L, static_cast<long>(row.ops_per_block * opt.scale));
  RowResult out;
  out.ns.resize(workers.size());
  out.other.resize(workers.size());
  out.received.assign(workers.size(), 0);
  out.sent.assign(workers.size(), 0);
  for (const auto& w : workers) out.names.push_back(w->name());
  for (int round = 0; round < opt.warmup + opt.blocks; ++round) {
    for (std::size_t k = 0; k < workers.size(); ++k) {
      const std::size_t w = (round + k) % workers.size();
      const BlockResult r = workers[w]->ask('b', ops);
      if (r.errors)
        throw Error(row.name + ": worker " + workers[w]->name() + ": " + std::to_string(r.errors) +
                        " of " + std::to_string(ops) + " operations failed",
                    r.first_errno);
      if (round < opt.warmup) continue;
      out.ns[w].push_back(opt.wall_clock ? r.ns_per_op : r.cpu_ns_per_op);
      out.other[w].push_back(opt.wall_clock ? r.cpu_ns_per_op : r.ns_per_op);
      out.received[w] += r.received;
      out.sent[w] += ops;
    }
  }
  out.program_times = program_run_times(objs, workers, ops);
  return out;
}

std::string describe(const RowSpec& row, const Summary& s) {
  if (row.per_packet)
    return fixed(1e9 / s.median / 1000.0, 0) + "k pkt/s (p10-p90 " + fixed(1e9 / s.p90 / 1000, 0) +
           "k-" + fixed(1e9 / s.p10 / 1000, 0) + "k)";
  return fixed(s.median, 0) + " ns/op (p10-p90 " + fixed(s.p10, 0) + "-" + fixed(s.p90, 0) + ")";
}

// Reports worker `w` against the baseline worker `base` as one table row.
void report(const RowSpec& row, const RowResult& res, std::size_t w, std::size_t base,
            const std::string& metric, bool wall_clock) {
  const Summary sw = summarize(res.ns[w]);
  const Summary sb = summarize(res.ns[base]);
  // Latency rows: enforced / unenforced time. Rate rows: enforced / unenforced packets/s.
  const double ratio = row.per_packet ? sb.median / sw.median : sw.median / sb.median;
  std::vector<double> paired;
  for (std::size_t i = 0; i < res.ns[w].size() && i < res.ns[base].size(); ++i)
    paired.push_back(row.per_packet ? res.ns[base][i] / res.ns[w][i]
                                    : res.ns[w][i] / res.ns[base][i]);
  const Summary sp = summarize(paired);
  Row r;
  r.metric = metric;
  r.target = std::string(row.per_packet ? "≥ " : "≤ ") + fixed(row.bound, 2);
  r.measured =
      res.names[w] + " " + describe(row, sw) + "; " + res.names[base] + " " + describe(row, sb);
  r.ratio = fixed(ratio, 3);
  r.met = row.per_packet ? ratio >= row.bound : ratio <= row.bound;
  print_row(r);
  std::string detail = metric + ": " + std::to_string(sw.n) + " blocks per worker; per-block " +
                       (row.per_packet ? "rate" : "time") + " ratio of the same round: median " +
                       fixed(sp.median, 3) + ", p10-p90 " + fixed(sp.p10, 3) + "-" +
                       fixed(sp.p90, 3);
  if (row.per_packet) {
    detail += "; datagrams received/sent: " + res.names[w] + " " + std::to_string(res.received[w]) +
              "/" + std::to_string(res.sent[w]) + ", " + res.names[base] + " " +
              std::to_string(res.received[base]) + "/" + std::to_string(res.sent[base]);
  }
  const double other_ratio =
      row.per_packet ? summarize(res.other[base]).median / summarize(res.other[w]).median
                     : summarize(res.other[w]).median / summarize(res.other[base]).median;
  detail += "; on the " + std::string(wall_clock ? "CPU-time" : "wall") + " clock the ratio is " +
            fixed(other_ratio, 3) + " (" + fixed(summarize(res.other[w]).median, 0) + " vs " +
            fixed(summarize(res.other[base]).median, 0) + " ns/op)";
  print_detail(detail);
}

// How the enforced worker's extra cost splits into dispatch (trivial program vs none) and
// the work of our programs (enforced vs trivial program).
void report_floor(const RowSpec& row, const RowResult& res, std::size_t enforced, std::size_t floor,
                  std::size_t base) {
  const double e = summarize(res.ns[enforced]).median;
  const double f = summarize(res.ns[floor]).median;
  const double b = summarize(res.ns[base]).median;
  // Noise yardstick: half the p10-p90 width of the same-round enforced/unenforced ratio.
  std::vector<double> paired;
  for (std::size_t i = 0; i < res.ns[enforced].size() && i < res.ns[base].size(); ++i)
    paired.push_back(res.ns[enforced][i] / res.ns[base][i]);
  const Summary sp = summarize(paired);
  const double noise = (sp.p90 - sp.p10) / 2 * b;
  print_detail(row.name + ": " + res.names[floor] + " (two-instruction allow program on the same " +
               "hooks) " + fixed(f, 0) + " ns/op = " + fixed(f / b, 3) + " x unenforced; of the " +
               fixed(e - b, 0) + " ns/op the enforced worker pays above unenforced, " +
               fixed(f - b, 0) + " are the kernel's cgroup BPF dispatch and " + fixed(e - f, 0) +
               " the work of our programs (block-to-block noise is about ±" + fixed(noise, 0) +
               " ns/op: smaller parts are not resolved)");
}

}  // namespace

int run_socket_rows(const SocketRowsOptions& opt) {
  const std::vector<RowSpec> specs = {
      {"udp-connect", Op::UdpConnect, 5000, false, "UDP connect() to an allowed address", 1.03},
      {"tcp-connect", Op::TcpConnectClose, 500, false,
       "TCP connect+accept+close over the private netns's lo, enforced / unenforced", 1.03},
      {"udp-flood", Op::UdpSend, 5000, true,
       "UDP flood (connected send(), 64 B) through the skb backstop, enforced / unenforced", 0.95},
      {"udp-sendto-flood", Op::UdpSendto, 5000, true,
       "UDP flood, unconnected sendto() (sendmsg4 + backstop), enforced / unenforced", 0.95},
      {"raw-flood", Op::RawSend, 5000, true,
       "raw IPPROTO_UDP flood (backstop judges every packet), enforced / unenforced", 0.95},
      // A container that may hold CAP_NET_ADMIN has its TCP and UDP judged at egress too:
      // what that costs it, against an enforced container without the flag.
      {"judge-all-udp-flood", Op::UdpSend, 5000, true,
       "UDP flood (connected send(), 64 B), every packet judged at egress (CAP_NET_ADMIN "
       "accepted) / enforced without",
       0.90},
      {"judge-all-tcp-connect", Op::TcpConnectClose, 500, false,
       "TCP connect+accept+close, every packet judged at egress (CAP_NET_ADMIN accepted) / "
       "enforced without",
       1.10},
      // The nearest alternative, side by side: the same rules as an nftables set in each
      // container's netns (bench/nft_baseline.hpp). Ratios of this hook to it.
      {"nft-tcp-connect", Op::TcpConnectClose, 500, false,
       "TCP connect+accept+close, this hook / the nftables baseline", 1.0},
      {"nft-udp-flood", Op::UdpSend, 5000, true,
       "UDP flood (connected send(), 64 B), this hook / the nftables baseline", 1.0},
      // Denial records (issue 14): a container that floods denied connects, every one
      // refused and offered to the token bucket (all but the burst dropped), against the same
      // container's allowed connect.
      {"denied-connect-flood", Op::UdpConnectOrEperm, 5000, false,
       "UDP connect() refused (metadata) in a flood, records rate-limited / the same "
       "container's allowed connect()",
       1.50},
  };
  for (const std::string& name : opt.rows) {
    if (std::none_of(specs.begin(), specs.end(), [&](const RowSpec& s) { return s.name == name; }))
      throw Error("unknown socket row \"" + name + "\"");
  }
  const int cpu = opt.cpu >= 0 ? opt.cpu : last_cpu();
  if (cpu != 0) pin_to_cpu(0);  // the coordinator stays off the workers' CPU

  Sandbox sandbox("bench-sockets");
  const Cgroups cg{sandbox.make_cgroup("enforced"), sandbox.make_cgroup("enforced-cidrs"),
                   sandbox.make_cgroup("judge-all"), sandbox.make_cgroup("floor"),
                   sandbox.make_cgroup("unenforced")};
  const FloorPrograms floor(cg.floor);
  const PinDir pins = PinDir::open(sandbox.pin_dir());
  const Fd lock = pins.lock_exclusive();
  const SharedObjects objs = SharedObjects::open_or_load(pins);

  // The policy the hook would write for a container started here: metadata and every host
  // interface address, the runtime's (here: this) netns as the host.
  const auto host = host_addresses();
  EnforceRequest plain;
  plain.container_id = "bench-enforced";
  plain.cgroup_fs_path = cg.enforced;
  plain.rules = container_rules(host);
  plain.host_netns_cookie = current_netns_cookie();
  enforce(pins, objs, plain);
  EnforceRequest with_cidrs = plain;
  with_cidrs.container_id = "bench-enforced-cidrs";
  with_cidrs.cgroup_fs_path = cg.enforced_cidrs;
  with_cidrs.rules = container_rules(host, extra_cidrs(opt.extra_cidrs));
  enforce(pins, objs, with_cidrs);
  EnforceRequest judge_all = plain;
  judge_all.container_id = "bench-judge-all";
  judge_all.cgroup_fs_path = cg.judge_all;
  judge_all.judge_all_egress = true;
  enforce(pins, objs, judge_all);
  const std::string nft_plain = nft_ruleset(plain.rules);
  const std::string nft_cidrs = nft_ruleset(with_cidrs.rules);
  print_detail(
      std::string("socket rows: per-block time is ") +
      (opt.wall_clock ? "wall-clock time"
                      : "the worker's CPU time (CLOCK_THREAD_CPUTIME_ID: user + "
                        "system, including the loopback softirq work done in its "
                        "context; time it waited while other jobs of this shared VM ran "
                        "is not counted)") +
      "; workers pinned to CPU " + std::to_string(cpu) + ", each in its own " + "netns with " +
      kDestination + "/32 on lo; default policy = " + std::to_string(plain.rules.size()) +
      " rules (metadata + this host's " + std::to_string(host.size()) +
      " interface addresses); CIDR policy = " + std::to_string(with_cidrs.rules.size()) + " rules");

  for (const RowSpec& row : specs) {
    if (!opt.rows.empty() &&
        std::find(opt.rows.begin(), opt.rows.end(), row.name) == opt.rows.end())
      continue;
    std::fprintf(stderr, "ojh-bench: sockets: %s\n", row.name.c_str());
    if (row.op == Op::UdpConnect) {
      const RowResult res = alternate(
          row,
          {{"enforced", "ojhb-enforced", cg.enforced, kMetadataDenied},
           {"enforced+" + std::to_string(opt.extra_cidrs) + " CIDRs", "ojhb-enf-cidrs",
            cg.enforced_cidrs, kMetadataDenied | kCidrDenied},
           {"trivial-program", "ojhb-floor", cg.floor, 0},
           {"unenforced", "ojhb-unenforced", cg.unenforced, 0},
           {"enforced+" + std::to_string(opt.extra_cidrs) + " CIDRs, far destination",
            "ojhb-enf-far", cg.enforced_cidrs, kMetadataDenied | kCidrDenied, kShallowDestination}},
          opt, cpu, objs);
      RowSpec r1 = row;
      report(r1, res, 0, 3,
             "UDP connect() to an allowed address, enforced / unenforced sibling (default rules)",
             opt.wall_clock);
      RowSpec r2 = row;
      r2.bound = 1.10;
      report(r2, res, 1, 3,
             "UDP connect() to an allowed address, enforced / unenforced sibling (default + " +
                 std::to_string(opt.extra_cidrs) + " extra CIDRs)",
             opt.wall_clock);
      print_detail(row.name +
                   ": program run time per call (bpf_stats, one extra block of each "
                   "worker): " +
                   res.program_times);
      report_floor(row, res, 0, 2, 3);
      const double far = summarize(res.ns[4]).median;
      print_detail(row.name + ": the CIDR policy with a destination (" + kShallowDestination +
                   ") far from its ranges, where the trie walk is short: " + fixed(far, 0) +
                   " ns/op = " + fixed(far / summarize(res.ns[3]).median, 3) +
                   " x unenforced (the table row uses " + kDestination +
                   ", inside the dense run of /24s: the deepest walk that policy has)");
    } else if (row.name.starts_with("nft-")) {
      const std::string cidrs = std::to_string(opt.extra_cidrs) + " CIDRs";
      const RowResult res = alternate(
          row,
          {{"this hook", "ojhb-enforced", cg.enforced, kMetadataDenied},
           {"nftables", "ojhb-nft", cg.unenforced, kMetadataDenied, kDestination, nft_plain},
           {"this hook+" + cidrs, "ojhb-enf-cidrs", cg.enforced_cidrs,
            kMetadataDenied | kCidrDenied},
           {"nftables+" + cidrs, "ojhb-nft-cidrs", cg.unenforced, kMetadataDenied | kCidrDenied,
            kDestination, nft_cidrs},
           {"unenforced", "ojhb-unenforced", cg.unenforced, 0}},
          opt, cpu, objs);
      report(row, res, 0, 1, row.metric + " (default rules)", opt.wall_clock);
      report(row, res, 2, 3, row.metric + " (default + " + cidrs + ")", opt.wall_clock);
      const Summary u = summarize(res.ns[4]);
      std::string each;
      for (std::size_t w = 0; w < 4; ++w) {
        const double m = summarize(res.ns[w]).median;
        each += std::string(w ? ", " : "") + res.names[w] + " " +
                fixed(row.per_packet ? u.median / m : m / u.median, 3);
      }
      print_detail(row.name + ": each against the unenforced worker of the same run (" +
                   (row.per_packet ? "rate" : "time") + " ratios): " + each);
    } else if (row.op == Op::UdpConnectOrEperm) {
      const RowResult res = alternate(
          row,
          {{"enforced, denied", "ojhb-denied", cg.enforced, kMetadataDenied, kDeniedDestination},
           {"enforced, allowed", "ojhb-enforced", cg.enforced, kMetadataDenied},
           {"unenforced", "ojhb-unenforced", cg.unenforced, 0}},
          opt, cpu, objs);
      report(row, res, 0, 1, row.metric, opt.wall_clock);
      print_detail(row.name +
                   ": program run time per call (bpf_stats, one extra block of each "
                   "worker): " +
                   res.program_times);
      std::uint64_t cgroup_id = 0;
      for (const EnforcedContainer& c : list_enforced(pins, objs))
        if (c.id == plain.container_id) cgroup_id = c.cgroup_id;
      const auto state = event_state(objs, cgroup_id);
      print_detail(row.name + ": the container's records: " +
                   (state ? std::to_string(state->seq) + " kept, " +
                                std::to_string(state->dropped) + " dropped by the rate limit"
                          : std::string("none")) +
                   "; enforced allowed / unenforced: " +
                   fixed(summarize(res.ns[1]).median / summarize(res.ns[2]).median, 3));
    } else if (row.name.starts_with("judge-all-")) {
      const RowResult res =
          alternate(row,
                    {{"judge-all-egress", "ojhb-judge-all", cg.judge_all, kMetadataDenied},
                     {"enforced", "ojhb-enforced", cg.enforced, kMetadataDenied},
                     {"unenforced", "ojhb-unenforced", cg.unenforced, 0}},
                    opt, cpu, objs);
      report(row, res, 0, 1, row.metric, opt.wall_clock);
      print_detail(row.name +
                   ": program run time per call (bpf_stats, one extra block of each "
                   "worker): " +
                   res.program_times);
      const Summary a = summarize(res.ns[0]);
      const Summary e = summarize(res.ns[1]);
      const Summary u = summarize(res.ns[2]);
      const auto vs_unenforced = [&](const Summary& x) {
        return fixed(row.per_packet ? u.median / x.median : x.median / u.median, 3);
      };
      print_detail(row.name +
                   ": against the unenforced sibling of the same run: judge-all-egress " +
                   vs_unenforced(a) + ", enforced " + vs_unenforced(e) +
                   (row.per_packet ? " (rate ratios)" : " (time ratios)"));
    } else {
      const RowResult res = alternate(row,
                                      {{"enforced", "ojhb-enforced", cg.enforced, kMetadataDenied},
                                       {"trivial-program", "ojhb-floor", cg.floor, 0},
                                       {"unenforced", "ojhb-unenforced", cg.unenforced, 0}},
                                      opt, cpu, objs);
      report(row, res, 0, 2, row.metric, opt.wall_clock);
      print_detail(row.name +
                   ": program run time per call (bpf_stats, one extra block of each "
                   "worker): " +
                   res.program_times);
      report_floor(row, res, 0, 1, 2);
    }
  }

  if (!release(pins, objs, {plain.container_id, "", 0}) ||
      !release(pins, objs, {with_cidrs.container_id, "", 0}) ||
      !release(pins, objs, {judge_all.container_id, "", 0}))
    throw Error("release of the bench policies found nothing to release");
  return 0;
}

}  // namespace ojh::bench
