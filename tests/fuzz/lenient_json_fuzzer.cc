// Fuzzes infrakitctl's lenient JSON / YAML reader (tools/infrakitctl/lenient_json) into each
// message the CLI reads from the user. The first byte picks the message and the format; the
// rest is the text. Invariant: no crash, and a failure is INVALID_ARGUMENT.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/config_text.h"
#include "google/protobuf/message.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "tests/fuzz/fuzz_util.h"
#include "tools/infrakitctl/lenient_json.h"

namespace {

std::unique_ptr<google::protobuf::Message> MessageFor(uint8_t selector) {
  switch (selector % 6) {
    case 0:
      return std::make_unique<infrakit::group::v1::GroupSpec>();
    case 1:
      return std::make_unique<infrakit::instance::v1::Spec>();
    case 2:
      return std::make_unique<infrakit::instance::v1::Description>();
    case 3:
      return std::make_unique<infrakit::flavor::v1::Allocation>();
    case 4:
      return std::make_unique<infrakit::flavor::v1::PrepareRequest>();
    default:
      return std::make_unique<infrakit::instance::v1::BatchProvisionRequest>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using infrakit::common::ConfigFormat;
  if (size == 0) return 0;
  static constexpr ConfigFormat kFormats[] = {ConfigFormat::kDetect, ConfigFormat::kJson,
                                              ConfigFormat::kYaml};
  std::unique_ptr<google::protobuf::Message> message = MessageFor(data[0] / 3);
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::Status status =
      infrakit::tools::infrakitctl::ParseLenientJson(text, message.get(), kFormats[data[0] % 3]);
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) {
    infrakit::tests::fuzz::Fail("ParseLenientJson failed with a code other than INVALID_ARGUMENT",
                                status.ToString());
  }
  return 0;
}
