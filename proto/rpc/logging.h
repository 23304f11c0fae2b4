#ifndef BDCOORD_PROTO_RPC_LOGGING_H_
#define BDCOORD_PROTO_RPC_LOGGING_H_

#include <memory>
#include <string>

#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace bdcoord::rpc {

// The logger of one component (e.g. "docker"): on stderr like the program's own, created
// once, safe to call from any thread.
inline std::shared_ptr<spdlog::logger> NamedLogger(const std::string& name) {
  if (std::shared_ptr<spdlog::logger> existing = spdlog::get(name)) return existing;
  try {
    return spdlog::stderr_color_mt(name);
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get(name);  // registered by another thread meanwhile
  }
}

}  // namespace bdcoord::rpc

#endif  // BDCOORD_PROTO_RPC_LOGGING_H_
