// The one piece of gRPC metadata of the group contract, shared by the service and the
// forwarder that relays its streams.
#ifndef INFRAKIT_SERVICES_GROUP_SERVER_STREAM_METADATA_H_
#define INFRAKIT_SERVICES_GROUP_SERVER_STREAM_METADATA_H_

namespace infrakit::services::group::server {

// Initial metadata key a stream (UpdateGroup, StreamGroupEvents) sends once the Controller has
// accepted the subscription, before any message: a client that must not miss an event can wait
// for it (grpc::ClientReader::WaitForInitialMetadata) before it acts.
inline constexpr char kStreamSubscribedMetadataKey[] = "infrakit-stream";

}  // namespace infrakit::services::group::server

#endif  // INFRAKIT_SERVICES_GROUP_SERVER_STREAM_METADATA_H_
