#include "common/etcd/proto_convert.h"

namespace infrakit::etcd {

KeyValue FromProto(const mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

WatchEvent FromProto(const mvccpb::Event& event) {
  WatchEvent out;
  out.type =
      event.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
  out.kv = FromProto(event.kv());
  return out;
}

etcdserverpb::Compare ToProto(const Compare& compare) {
  etcdserverpb::Compare out;
  out.set_key(compare.key);
  out.set_result(etcdserverpb::Compare::EQUAL);
  switch (compare.target) {
    case Compare::Target::kCreateRevision:
      out.set_target(etcdserverpb::Compare::CREATE);
      out.set_create_revision(compare.number);
      break;
    case Compare::Target::kModRevision:
      out.set_target(etcdserverpb::Compare::MOD);
      out.set_mod_revision(compare.number);
      break;
    case Compare::Target::kVersion:
      out.set_target(etcdserverpb::Compare::VERSION);
      out.set_version(compare.number);
      break;
    case Compare::Target::kValue:
      out.set_target(etcdserverpb::Compare::VALUE);
      out.set_value(compare.value);
      break;
  }
  return out;
}

etcdserverpb::RequestOp ToProto(const Op& op) {
  etcdserverpb::RequestOp out;
  if (op.type == Op::Type::kPut) {
    etcdserverpb::PutRequest* put = out.mutable_request_put();
    put->set_key(op.key);
    put->set_value(op.value);
    put->set_lease(op.lease);
  } else {
    etcdserverpb::DeleteRangeRequest* del = out.mutable_request_delete_range();
    del->set_key(op.key);
    del->set_range_end(op.range_end);
  }
  return out;
}

}  // namespace infrakit::etcd
