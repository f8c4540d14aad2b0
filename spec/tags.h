// The tags InfraKit writes on every instance of a group: how the group service finds its
// members, tells their config apart and knows a pet's logical ID. Every part of the project
// names them through these constants.
#ifndef INFRAKIT_SPEC_TAGS_H_
#define INFRAKIT_SPEC_TAGS_H_

namespace infrakit::spec {

// The ID of the group the instance belongs to.
inline constexpr char kGroupTag[] = "infrakit.group";
// The config_sha of the spec the instance was created from (see spec/group_spec.h ConfigSha).
inline constexpr char kShaTag[] = "infrakit.config_sha";
// A pet's logical ID.
inline constexpr char kLogicalIdTag[] = "infrakit.logical_id";

}  // namespace infrakit::spec

#endif  // INFRAKIT_SPEC_TAGS_H_
