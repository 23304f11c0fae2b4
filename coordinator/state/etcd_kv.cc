#include "coordinator/state/etcd_kv.h"

#include <string>

namespace bdcoord::coordinator {

std::string EtcdPrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  // The last byte that can be incremented is; the bytes after it go (0xff cannot be).
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key (etcd's convention)
}

EtcdOp EtcdOp::GetPrefix(const std::string& prefix) {
  return {Kind::kRange, prefix, EtcdPrefixEnd(prefix), "", 0};
}

EtcdOp EtcdOp::DeletePrefix(const std::string& prefix) {
  return {Kind::kDelete, prefix, EtcdPrefixEnd(prefix), "", 0};
}

absl::Status EtcdKv::Put(const std::string& key, const std::string& value, int64_t lease) {
  return Txn({}, {EtcdOp::Put(key, value, lease)}, {}).status();
}

absl::Status EtcdKv::Delete(const std::string& key) {
  return Txn({}, {EtcdOp::Delete(key)}, {}).status();
}

}  // namespace bdcoord::coordinator
