#include "common/etcd/etcd_client.h"

#include <utility>

namespace infrakit::etcd {

Compare Compare::CreateRevisionIs(std::string key, int64_t revision) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kCreateRevision;
  c.number = revision;
  return c;
}

Compare Compare::ModRevisionIs(std::string key, int64_t revision) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kModRevision;
  c.number = revision;
  return c;
}

Compare Compare::ValueIs(std::string key, std::string value) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kValue;
  c.value = std::move(value);
  return c;
}

Op Op::Put(std::string key, std::string value, int64_t lease) {
  Op op;
  op.type = Type::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

Op Op::Delete(std::string key) {
  Op op;
  op.type = Type::kDelete;
  op.key = std::move(key);
  return op;
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace infrakit::etcd
