#include "plugins/flavor/zookeeper/member_init.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace infrakit::plugins::flavor::zookeeper {
namespace {

// `word` as one shell word: single-quoted, with embedded quotes escaped.
std::string ShellQuote(const std::string& word) {
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

}  // namespace

std::vector<std::string> ZooCfgLines(const ZookeeperProperties& properties,
                                     const std::vector<Member>& members, const Member& self) {
  std::vector<std::string> lines = {
      absl::StrCat("tickTime=", properties.tick_time_ms),
      absl::StrCat("initLimit=", properties.init_limit),
      absl::StrCat("syncLimit=", properties.sync_limit),
      "dataDir=$ZK_DIR/data",
      absl::StrCat("clientPort=", properties.client_port),
      absl::StrCat("clientPortAddress=", self.ip),
      "4lw.commands.whitelist=srvr,mntr,ruok",
      "admin.enableServer=false",
  };
  for (const Member& member : members) {
    lines.push_back(absl::StrCat("server.", member.id, "=", member.ip, ":", properties.peer_port,
                                 ":", properties.election_port));
  }
  if (self.observer) {
    lines.push_back("peerType=observer");
    lines.push_back(absl::StrCat("server.", self.id, "=", self.ip, ":", properties.peer_port, ":",
                                 properties.election_port, ":observer"));
  }
  return lines;
}

std::string JavaCommand(const ZookeeperProperties& properties) {
  std::string command = absl::StrCat("exec java -Xms16m -Xmx", properties.jvm_heap_mb,
                                     "m -XX:+UseSerialGC -XX:TieredStopAtLevel=1");
  for (const std::string& flag : properties.jvm_flags) {
    absl::StrAppend(&command, " ", ShellQuote(flag));
  }
  absl::StrAppend(&command, " -cp ", kZookeeperClassPath,
                  " org.apache.zookeeper.server.quorum.QuorumPeerMain \"$ZK_DIR/zoo.cfg\"");
  return command;
}

std::string MemberInit(const ZookeeperProperties& properties, const std::vector<Member>& members,
                       const Member& self) {
  std::vector<std::string> lines = {
      absl::StrCat("# flavor-zookeeper: ", self.observer ? "observer " : "member ", self.id, " (",
                   self.ip, ") of an ensemble of ", members.size()),
      "set -e",
      "ZK_DIR=\"${INFRAKIT_INSTANCE_DIR:-$PWD}\"",
      "mkdir -p \"$ZK_DIR/data\"",
      absl::StrCat("echo ", self.id, " > \"$ZK_DIR/data/myid\""),
      "cat > \"$ZK_DIR/zoo.cfg\" <<ZOO_CFG_END",
  };
  for (std::string& line : ZooCfgLines(properties, members, self)) lines.push_back(std::move(line));
  lines.push_back("ZOO_CFG_END");
  lines.push_back(JavaCommand(properties));
  return absl::StrJoin(lines, "\n");
}

}  // namespace infrakit::plugins::flavor::zookeeper
