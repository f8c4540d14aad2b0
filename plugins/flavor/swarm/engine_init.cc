#include "plugins/flavor/swarm/engine_init.h"

#include <arpa/inet.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "plugins/flavor/swarm/engine_client.h"

namespace infrakit::plugins::flavor::swarm {
namespace {

// `word` as one shell word: single-quoted, with embedded quotes escaped.
std::string Quote(const std::string& word) {
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

// An IPv4 address as the integer the script's pool walk counts with.
uint32_t Ipv4Number(const std::string& text) {
  in_addr address{};
  inet_pton(AF_INET, text.c_str(), &address);
  return ntohl(address.s_addr);
}

// The helpers every script defines.
constexpr char kFunctions[] = R"sh(log() { echo "flavor-swarm: $*" >&2; }
# Kills what is left of an engine in $1 (its containerd, and container shims, which leave the
# instance's process group: they name the directory on their command lines), unmounts what is
# left under $1, deepest first, and removes it.
clear_dir() {
  for p in /proc/[0-9]*; do
    if grep -qas -- "$1/" "$p/cmdline"; then kill -KILL "${p#/proc/}" 2>/dev/null || true; fi
  done
  awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$1"
}
# The start time of process $1 (field 22 of /proc/<pid>/stat); empty once it is gone.
started() {
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  set -- ${s##*) }
  echo "${20}"
})sh";

// Leases the first free address of the pool into $addr and $lease (see engine_init.h).
std::string LeaseLines(const SwarmProperties& properties) {
  return absl::StrCat(R"sh(leases="$base/.leases"
mkdir -p "$leases"
addr=''
lease=''
n=)sh",
                      Ipv4Number(properties.pool_first),
                      "\nlast=", Ipv4Number(properties.pool_last), R"sh(
cleared=''
while [ "$n" -le "$last" ]; do
  ip="$((n >> 24 & 255)).$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255))"
  if mkdir "$leases/$ip" 2>/dev/null; then
    echo "$$ $(started $$) $id" > "$leases/$ip/holder"
    addr="$ip"
    lease="$leases/$ip"
    break
  fi
  stale=''
  if read -r pid start holder < "$leases/$ip/holder" 2>/dev/null; then
    [ "$(started "$pid")" = "$start" ] || stale="$holder"
  elif [ -n "$(find "$leases/$ip" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
    stale='(unknown: the lease was never completed)'
  fi
  if [ -n "$stale" ] && [ "$cleared" != "$ip" ]; then
    log "address $ip: its holder $stale is gone; clearing what it left"
    case "$stale" in '('*) ;; *) clear_dir "$base/$stale" ;; esac
    rm -rf "$leases/$ip"
    cleared="$ip"
    continue
  fi
  n=$((n + 1))
done
if [ -z "$addr" ]; then
  log "no free address in AddressPool )sh",
                      properties.address_pool, R"sh(: every one is held by a running worker"
  exit 1
fi)sh");
}

// Starts dockerd in the background as $engine.
std::string DockerdLines(const SwarmProperties& properties, const EngineInitParams& params) {
  std::vector<std::string> args = {
      "dockerd",
      "--data-root=\"$dir/data\"",
      "--exec-root=\"$dir/x\"",
      "--containerd=\"$dir/x/containerd/containerd.sock\"",
      "--host=\"unix://$sock\"",
      "--pidfile=\"$dir/docker.pid\"",
      "--cgroup-parent=\"infrakit-swarm-$name\"",
  };
  for (const char* flag : kSharedMachineFlags) args.push_back(flag);
  args.push_back(absl::StrCat("--label=\"", kInstanceLabel, "=$id\""));
  args.push_back(Quote(absl::StrCat("--label=", kGroupLabel, "=", params.group)));
  for (const auto& [key, value] : properties.labels) {
    args.push_back(Quote(absl::StrCat("--label=", key, "=", value)));
  }
  for (const std::string& flag : properties.daemon_flags) args.push_back(Quote(flag));
  return absl::StrCat(absl::StrJoin(args, " \\\n  "), " &\nengine=$!");
}

// Checks the engine's directory, clears what an earlier engine left there and starts
// containerd in the instance's process group.
std::string EngineDirLines() {
  return absl::StrCat(R"sh(dir="$base/$name"
sock="$dir/docker.sock"
if [ "${#dir}" -gt )sh",
                      kMaxExecRoot - 2, R"sh( ]; then
  log "$dir/x is too long for an exec root (at most )sh",
                      kMaxExecRoot, R"sh( bytes): use a shorter DataRootBase"
  exit 1
fi
old=$(cat "$dir/docker.pid" 2>/dev/null || true)
if [ -n "$old" ] && grep -qas -- "$dir/data" "/proc/$old/cmdline"; then
  log "an engine (pid $old) still runs in $dir; not starting another"
  exit 1
fi
clear_dir "$dir"
mkdir -p "$dir/x/containerd"
log "starting the engine of $id in $dir (address ${addr:-chosen by the engine})"
# containerd runs in the instance's process group (dockerd would start its own in a session of
# its own, which outlives the instance when the instance is killed).
cat > "$dir/containerd.toml" <<EOF
version = 2
root = "$dir/data/containerd"
state = "$dir/x/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/x/containerd/containerd.sock"
[debug]
  level = "warn"
EOF
containerd --config "$dir/containerd.toml" &
containerd=$!
i=0
until [ -S "$dir/x/containerd/containerd.sock" ]; do
  if ! kill -0 "$containerd" 2>/dev/null || [ "$i" -ge 600 ]; then
    log "containerd did not start"
    clear_dir "$dir"
    [ -z "$lease" ] || rm -rf "$lease"
    exit 1
  fi
  i=$((i + 1))
  sleep 0.05
done)sh");
}

// Once dockerd answers, POSTs the swarm action to it; then waits for it and clears up.
std::string SwarmActionLines(const EngineInitParams& params) {
  const bool manager = !params.manager_address.empty();
  const bool init = params.action.kind == SwarmAction::Kind::kInit;
  const char* path = init ? "swarm/init" : "swarm/join";
  const std::string body =
      absl::StrReplaceAll(SwarmRequestBody(params.action, "$addr"), {{"\"", "\\\""}});
  const std::string body_without =
      absl::StrReplaceAll(SwarmRequestBody(params.action, ""), {{"\"", "\\\""}});
  return absl::StrCat(R"sh(trap 'kill -TERM "$engine" 2>/dev/null' TERM INT HUP
api() { curl -sS --max-time 60 --unix-socket "$sock" "$@"; }
i=0
until api -o /dev/null http://engine/_ping 2>/dev/null; do
  if ! kill -0 "$engine" 2>/dev/null || [ "$i" -ge 1200 ]; then break; fi
  i=$((i + 1))
  sleep 0.05
done
if [ -n "$addr" ]; then body=")sh",
                      body, R"sh("; else body=")sh", body_without, R"sh("; fi
if answer=$(api --fail-with-body -X POST -H 'Content-Type: application/json' -d "$body" \
    http://engine/)sh",
                      kEngineApiVersion, "/", path, R"sh( 2>&1); then
  log ")sh",
                      init ? "initialized the swarm"
                           : absl::StrCat("joined the swarm as a ", manager ? "manager" : "worker"),
                      R"sh("
else
  log ")sh",
                      path, R"sh( failed: $answer; stopping the engine"
  kill -TERM "$engine" 2>/dev/null
fi
status=0
while :; do
  wait "$engine"
  status=$?
  kill -0 "$engine" 2>/dev/null || break
done
log "the engine exited (status $status); clearing $dir"
clear_dir "$dir"
[ -z "$lease" ] || rm -rf "$lease"
exit "$status")sh");
}

}  // namespace

std::string SwarmRequestBody(const SwarmAction& action, const std::string& address) {
  std::vector<std::string> fields;
  if (address.empty()) {
    fields.push_back(absl::StrCat("\"ListenAddr\":\"0.0.0.0:", kSwarmPort, "\""));
  } else {
    fields.push_back(absl::StrCat("\"ListenAddr\":\"", address, ":", kSwarmPort, "\""));
    fields.push_back(absl::StrCat("\"AdvertiseAddr\":\"", address, "\""));
    fields.push_back(absl::StrCat("\"DataPathAddr\":\"", address, "\""));
  }
  if (action.kind == SwarmAction::Kind::kJoin) {
    std::vector<std::string> remotes;
    for (const std::string& remote : action.remote_addrs) {
      remotes.push_back(absl::StrCat("\"", remote, "\""));
    }
    fields.push_back(absl::StrCat("\"RemoteAddrs\":[", absl::StrJoin(remotes, ","), "]"));
    fields.push_back(absl::StrCat("\"JoinToken\":\"", action.join_token, "\""));
  }
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

std::string EngineInit(const SwarmProperties& properties, const EngineInitParams& params) {
  const bool manager = !params.manager_address.empty();
  const bool init = params.action.kind == SwarmAction::Kind::kInit;
  std::vector<std::string> lines = {
      absl::StrCat("# flavor-swarm: the Docker engine of ",
                   manager ? absl::StrCat("manager ", params.manager_address) : "a worker",
                   init ? ", which initializes the swarm" : " of the swarm"),
      "set -u",
      "id=\"${INFRAKIT_INSTANCE_ID:?flavor-swarm: INFRAKIT_INSTANCE_ID is not set "
      "(instance-process sets it)}\"",
      absl::StrCat("base=", Quote(properties.data_root_base)),
      kFunctions,
  };
  if (manager) {
    lines.push_back(absl::StrCat("name=", Quote(params.manager_address)));
    lines.push_back(absl::StrCat("addr=", Quote(params.manager_address)));
    lines.push_back("lease=''");
  } else {
    lines.push_back("name=\"$id\"");
    if (properties.address_pool.empty()) {
      lines.push_back("addr=''");
      lines.push_back("lease=''");
    } else {
      lines.push_back(LeaseLines(properties));
    }
  }
  lines.push_back(EngineDirLines());
  lines.push_back(DockerdLines(properties, params));
  lines.push_back(SwarmActionLines(params));
  return absl::StrJoin(lines, "\n");
}

}  // namespace infrakit::plugins::flavor::swarm
