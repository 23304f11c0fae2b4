#ifndef BDCOORD_TESTS_BENCH_PROC_STAT_H_
#define BDCOORD_TESTS_BENCH_PROC_STAT_H_

// What the benches read of a process they started from /proc: its CPU time and /proc/PID/status
// fields (VmRSS, VmHWM, Threads).
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace bdcoord::bench {

// utime + stime of the process in seconds (/proc/PID/stat fields 14 and 15); -1 when gone.
inline double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A numeric field of /proc/PID/status: VmRSS and VmHWM in KiB, Threads a count; -1 when absent.
inline long StatusField(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) return std::stol(line.substr(name.size() + 1));
  }
  return -1;
}

}  // namespace bdcoord::bench

#endif  // BDCOORD_TESTS_BENCH_PROC_STAT_H_
