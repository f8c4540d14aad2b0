// The init script that makes an instance a ZooKeeper server, a voting member of an ensemble or
// an observer of it: what flavor-zookeeper's Prepare appends to the spec's init.
//
// The script (run by /bin/sh, e.g. by instance-process in the instance's directory) stops at
// the first failing line, creates <dir>/data, writes <dir>/data/myid and <dir>/zoo.cfg, and
// ends with `exec java ... QuorumPeerMain <dir>/zoo.cfg`: the ZooKeeper server, in the
// foreground, is the instance. <dir> is $INFRAKIT_INSTANCE_DIR (set by instance-process), or the
// working directory without it, so destroying an instance-process instance deletes its data.
// It needs Debian's `zookeeper` package (/usr/share/java/zookeeper.jar, slf4j-simple.jar) and a
// `java` on the PATH.
#ifndef INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_MEMBER_INIT_H_
#define INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_MEMBER_INIT_H_

#include <string>
#include <vector>

#include "plugins/flavor/zookeeper/zookeeper_properties.h"

namespace infrakit::plugins::flavor::zookeeper {

// Where Debian's `zookeeper` package puts the jars the server needs.
inline constexpr char kZookeeperClassPath[] =
    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar";

// The lines of `self`'s zoo.cfg in an ensemble of `members`: tickTime, initLimit, syncLimit,
// dataDir ($ZK_DIR/data, expanded by the script), clientPort, clientPortAddress (self's IP), the
// four-letter words srvr, mntr and ruok, no admin server, and one server.N=ip:peer:election line
// per voting member, in ID order. For an observer `self`, then peerType=observer and its own
// server.N=ip:peer:election:observer line: the members need not list it (a ZooKeeper 3.8 leader
// takes an observer it does not know as a learner), so observers come and go without touching
// the members. Thread-safe (pure).
std::vector<std::string> ZooCfgLines(const ZookeeperProperties& properties,
                                     const std::vector<Member>& members, const Member& self);

// The java command line that runs the server on $ZK_DIR/zoo.cfg, JvmFlags single-quoted.
// Thread-safe (pure).
std::string JavaCommand(const ZookeeperProperties& properties);

// The whole script for `self` (lines joined by newlines, no trailing newline). Thread-safe
// (pure).
std::string MemberInit(const ZookeeperProperties& properties, const std::vector<Member>& members,
                       const Member& self);

}  // namespace infrakit::plugins::flavor::zookeeper

#endif  // INFRAKIT_PLUGINS_FLAVOR_ZOOKEEPER_MEMBER_INIT_H_
