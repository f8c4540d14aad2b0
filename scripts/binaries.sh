# The binaries InfraKit ships, as Bazel labels (sourced by scripts/run.sh, scripts/setup.sh and
# scripts/install.sh): the group service, every bundled plugin, and the CLI.
INFRAKIT_BINARIES=(
  //services/group/server:infrakit-group
  //plugins/instance/file:infrakit-instance-file
  //plugins/instance/process:infrakit-instance-process
  //plugins/instance/vagrant:infrakit-instance-vagrant
  //plugins/flavor/vanilla:infrakit-flavor-vanilla
  //plugins/flavor/zookeeper:infrakit-flavor-zookeeper
  //plugins/flavor/swarm:infrakit-flavor-swarm
  //tools/infrakitctl:infrakitctl
)
