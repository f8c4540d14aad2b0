// Fuzzes the instance-file decoder (plugins/instance/file/instance_file_format): the bytes are
// the contents of the file of instance "fuzz-1". Invariants: a file that decodes encodes to one
// that decodes to the same description, and StoredForm of the description (when it has one)
// is that same description.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/instance/file/instance_file_format.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace file = infrakit::plugins::instance::file;
  using google::protobuf::util::MessageDifferencer;
  using infrakit::instance::v1::Description;
  using infrakit::tests::fuzz::Fail;
  const absl::string_view contents(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Description> decoded = file::DecodeInstanceFile("fuzz-1", contents);
  if (!decoded.ok()) return 0;
  if (decoded->id() != "fuzz-1") Fail("the decoded ID is not the file's name", decoded->id());
  absl::StatusOr<std::string> encoded = file::EncodeInstanceFile(*decoded);
  if (!encoded.ok()) Fail("a decoded instance does not encode", encoded.status().ToString());
  absl::StatusOr<Description> again = file::DecodeInstanceFile("fuzz-1", *encoded);
  if (!again.ok())
    Fail("an encoded instance does not decode", again.status().ToString() + "\n" + *encoded);
  if (!MessageDifferencer::Equals(*decoded, *again)) {
    Fail("decode(encode(x)) differs from x",
         decoded->DebugString() + "\n---\n" + again->DebugString());
  }
  std::optional<Description> stored = file::StoredForm(*decoded);
  if (stored.has_value() && !MessageDifferencer::Equals(*stored, *again)) {
    Fail("StoredForm differs from the JSON round trip",
         stored->DebugString() + "\n---\n" + again->DebugString());
  }
  return 0;
}
