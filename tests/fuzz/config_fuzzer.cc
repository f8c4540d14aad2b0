// Fuzzes the group config parser (client/config) in every form it accepts, JSON and YAML.
// The first byte picks the format (detect, JSON, YAML); the rest is the config's text.
// Invariants: a config that parses renders (ToJson) to a config that parses again, to the same
// rendering; a spec the parser returns passes spec::ValidateGroupSpec.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/config/group_config.h"
#include "common/config_text.h"
#include "spec/group_spec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using infrakit::client::config::ParseConfig;
  using infrakit::client::config::ParsedConfig;
  using infrakit::client::config::ToJson;
  using infrakit::common::ConfigFormat;
  using infrakit::tests::fuzz::Fail;
  if (size == 0) return 0;
  static constexpr ConfigFormat kFormats[] = {ConfigFormat::kDetect, ConfigFormat::kJson,
                                              ConfigFormat::kYaml};
  const ConfigFormat format = kFormats[data[0] % 3];
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  absl::StatusOr<ParsedConfig> parsed = ParseConfig(text, format);
  if (!parsed.ok()) return 0;
  if (absl::Status valid = infrakit::spec::ValidateGroupSpec(parsed->spec); !valid.ok()) {
    Fail("a parsed config's spec fails ValidateGroupSpec", valid.ToString());
  }
  const std::string rendered = ToJson(*parsed);
  absl::StatusOr<ParsedConfig> again = ParseConfig(rendered, ConfigFormat::kJson);
  if (!again.ok())
    Fail("the rendering of a parsed config does not parse",
         again.status().ToString() + "\n" + rendered);
  const std::string rerendered = ToJson(*again);
  if (rerendered != rendered) Fail("rendering is not stable", rendered + "\n---\n" + rerendered);
  return 0;
}
