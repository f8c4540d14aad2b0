#include "tools/version/version_info.h"

namespace infrakit::tools::version {
namespace internal {
// Defined in the generated version_info_stamp.cc.
extern const char kStampedRevision[];
extern const char kStampedVersion[];
}  // namespace internal

absl::string_view Revision() { return internal::kStampedRevision; }

absl::string_view Version() { return internal::kStampedVersion; }

}  // namespace infrakit::tools::version
