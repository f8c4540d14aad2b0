// Between the plain types of etcd_client.h and etcd's protos.
#ifndef INFRAKIT_COMMON_ETCD_PROTO_CONVERT_H_
#define INFRAKIT_COMMON_ETCD_PROTO_CONVERT_H_

#include "common/etcd/etcd_client.h"
#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "etcd/mvcc/mvccpb/kv.pb.h"

namespace infrakit::etcd {

// Pure functions, thread-safe.
KeyValue FromProto(const mvccpb::KeyValue& kv);
WatchEvent FromProto(const mvccpb::Event& event);
etcdserverpb::Compare ToProto(const Compare& compare);
etcdserverpb::RequestOp ToProto(const Op& op);

}  // namespace infrakit::etcd

#endif  // INFRAKIT_COMMON_ETCD_PROTO_CONVERT_H_
