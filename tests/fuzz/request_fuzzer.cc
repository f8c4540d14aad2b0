// Fuzzes what the RPC handlers do with a request before any work: the bytes (after the first,
// which picks the request type) are parsed as that request message, as gRPC does, and handed to
// the checks the handlers run: spi/request_limits on IDs, tags and specs, spec::ValidateGroupSpec
// on group specs (whose valid ones must render as a config that parses back), and every
// plugin's properties parser on the properties. Invariant: no crash; a refusal is a status.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/config/group_config.h"
#include "google/protobuf/struct.pb.h"
#include "infrakit/flavor/v1/flavor.pb.h"
#include "infrakit/group/v1/group.pb.h"
#include "infrakit/instance/v1/instance.pb.h"
#include "plugins/flavor/swarm/swarm_properties.h"
#include "plugins/flavor/vanilla/vanilla_properties.h"
#include "plugins/flavor/zookeeper/zookeeper_properties.h"
#include "plugins/instance/process/properties.h"
#include "plugins/instance/terraform/properties.h"
#include "plugins/instance/vagrant/properties.h"
#include "spec/group_spec.h"
#include "spi/request_limits.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

namespace fv1 = infrakit::flavor::v1;
namespace gv1 = infrakit::group::v1;
namespace iv1 = infrakit::instance::v1;
using infrakit::tests::fuzz::Fail;

// Every plugin's parser, as its Validate / Provision / Prepare handler runs it.
void ParseProperties(const google::protobuf::Struct& properties) {
  if (!infrakit::spi::CheckPropertiesSize(properties, "properties").ok()) return;
  (void)infrakit::plugins::instance::process::ParseProcessProperties(properties);
  (void)infrakit::plugins::instance::vagrant::ParseVagrantProperties(properties);
  (void)infrakit::plugins::instance::terraform::ParseTerraformProperties(properties);
  (void)infrakit::plugins::flavor::vanilla::ParseVanillaProperties(properties);
  (void)infrakit::plugins::flavor::zookeeper::ParseZookeeperProperties(properties);
  (void)infrakit::plugins::flavor::swarm::ParseSwarmProperties(properties);
}

void CheckSpec(const iv1::Spec& spec) {
  if (infrakit::spi::CheckSpecSize(spec, "spec").ok()) ParseProperties(spec.properties());
}

void CheckDescription(const iv1::Description& instance) {
  if (infrakit::spi::CheckDescriptionSize(instance, "instance").ok()) {
    ParseProperties(instance.spec().properties());
  }
}

// The group service's handlers validate the spec; a valid one renders as a config that parses.
void CheckGroupSpec(const gv1::GroupSpec& spec) {
  if (!infrakit::spec::ValidateGroupSpec(spec).ok()) return;
  const std::string rendered = infrakit::client::config::ToJson(spec);
  absl::StatusOr<gv1::GroupSpec> parsed = infrakit::client::config::ParseGroupConfig(rendered);
  if (!parsed.ok())
    Fail("a valid spec's config does not parse", parsed.status().ToString() + "\n" + rendered);
}

template <typename Request>
bool Parse(const uint8_t* data, size_t size, Request* request) {
  return request->ParseFromArray(data, static_cast<int>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using infrakit::spi::CheckIdSize;
  using infrakit::spi::CheckTagsSize;
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  ++data;
  --size;
  switch (selector % 16) {
    case 0: {
      iv1::ValidateRequest r;
      if (Parse(data, size, &r)) ParseProperties(r.properties());
      break;
    }
    case 1: {
      iv1::ProvisionRequest r;
      if (Parse(data, size, &r)) CheckSpec(r.spec());
      break;
    }
    case 2: {
      iv1::BatchProvisionRequest r;
      if (Parse(data, size, &r)) {
        for (const iv1::ProvisionRequest& p : r.requests()) CheckSpec(p.spec());
      }
      break;
    }
    case 3: {
      iv1::DestroyRequest r;
      if (Parse(data, size, &r)) (void)CheckIdSize(r.id(), "id");
      break;
    }
    case 4: {
      iv1::BatchDestroyRequest r;
      if (Parse(data, size, &r)) {
        for (const iv1::DestroyRequest& d : r.requests()) (void)CheckIdSize(d.id(), "id");
      }
      break;
    }
    case 5: {
      iv1::DescribeRequest r;
      if (Parse(data, size, &r)) {
        (void)CheckTagsSize(r.tags(), "tags");
        (void)CheckIdSize(r.page_token(), "page_token");
      }
      break;
    }
    case 6: {
      iv1::LabelRequest r;
      if (Parse(data, size, &r) && CheckIdSize(r.id(), "id").ok()) {
        (void)CheckTagsSize(r.labels(), "labels");
      }
      break;
    }
    case 7: {
      iv1::WatchRequest r;
      if (Parse(data, size, &r)) (void)CheckTagsSize(r.tags(), "tags");
      break;
    }
    case 8: {
      fv1::ValidateRequest r;
      if (Parse(data, size, &r)) ParseProperties(r.properties());
      break;
    }
    case 9: {
      fv1::PrepareRequest r;
      if (Parse(data, size, &r)) {
        ParseProperties(r.properties());
        CheckSpec(r.spec());
      }
      break;
    }
    case 10: {
      fv1::BatchPrepareRequest r;
      if (Parse(data, size, &r)) {
        ParseProperties(r.properties());
        CheckSpec(r.spec());
      }
      break;
    }
    case 11: {
      fv1::HealthyRequest r;
      if (Parse(data, size, &r)) CheckDescription(r.instance());
      break;
    }
    case 12: {
      fv1::BatchDrainRequest r;
      if (Parse(data, size, &r)) {
        ParseProperties(r.properties());
        for (const iv1::Description& d : r.instances()) CheckDescription(d);
      }
      break;
    }
    case 13: {
      gv1::UpdateGroupRequest r;
      if (Parse(data, size, &r)) CheckGroupSpec(r.spec());
      break;
    }
    case 14: {
      gv1::WatchGroupRequest r;
      if (Parse(data, size, &r)) CheckGroupSpec(r.spec());
      break;
    }
    default: {
      gv1::DestroyInstancesRequest r;
      if (Parse(data, size, &r) && CheckIdSize(r.id(), "id").ok()) {
        for (const std::string& id : r.instance_ids()) (void)CheckIdSize(id, "instance_ids");
      }
      break;
    }
  }
  return 0;
}
